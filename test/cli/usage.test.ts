/**
 * The binary without a server: help (exit 0), usage errors (exit 2, one line and a hint,
 * decided before any request), and a server that cannot be reached (exit 3, naming the
 * address and where it came from).
 */
import { describe, expect, it } from "vitest";
import { serverFlags } from "../../src/config.js";
import { version } from "../../src/version.js";
import { cli, freePort } from "./helpers.js";

const commandNames = ["list", "get", "history", "start", "raise", "suspend", "resume", "terminate", "purge", "rerun", "rewind"];
const aliases: Record<string, string> = { ls: "list", run: "start", "raise-event": "raise" };

describe("help", () => {
  it("workflowd --help, -h and help print the commands and every server flag with its variable", async () => {
    const [long, short, word] = await Promise.all([cli(["--help"]), cli(["-h"]), cli(["help"])]);
    for (const result of [long, short, word]) {
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.stdout).toBe(long.stdout);
    }
    const text = long.stdout;
    for (const name of commandNames) expect(text).toMatch(new RegExp(`^  ${name}\\b`, "m"));
    expect(text).toMatch(/^ {2}list \(ls\) /m);
    expect(text).toMatch(/^ {2}start \(run\) /m);
    expect(text).toMatch(/^ {2}raise \(raise-event\) /m);
    expect(text).toContain("workflowd backup <file>");
    expect(text).toMatch(/Exit codes: 0 success, 1 the server\s+answered an error, 2 a usage error, 3 the server could not be reached/);
    for (const variable of ["DAPR_HTTP_PORT", "DAPR_HTTP_ENDPOINT", "DAPR_API_TOKEN"]) expect(text).toContain(variable);
    const serverPart = text.slice(text.indexOf("Server flags"));
    for (const [name, flag] of Object.entries(serverFlags)) {
      const value = flag.type === "boolean" ? "" : " <value>";
      expect(serverPart).toMatch(new RegExp(`--${name}${value} +${flag.env}\\n +${flag.help.slice(0, 30).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    }
  });

  it("<command> --help prints that command's usage and flags, for every command and alias", async () => {
    const names = [...commandNames, ...Object.keys(aliases)];
    const results = await Promise.all(names.map((name) => cli([name, "--help"])));
    for (const [i, name] of names.entries()) {
      const result = results[i]!;
      const canonical = aliases[name] ?? name;
      expect(result.code, name).toBe(0);
      expect(result.stderr, name).toBe("");
      expect(result.stdout, name).toMatch(new RegExp(`^Usage:\\n  workflowd ${canonical}\\b`, "m"));
      expect(result.stdout, name).toContain("--address <url>");
      expect(result.stdout, name).toContain("-h, --help");
      expect(result.stdout, name).toContain("Accepted for `dapr workflow` compatibility and ignored:");
    }
  });

  it("shows dapr workflow's flag names beside workflowd's", async () => {
    // Help text wraps; compare with single spaces.
    const [list, start, raise, purge, rerun, terminate] = (await Promise.all(
      ["list", "start", "raise", "purge", "rerun", "terminate"].map((name) => cli([name, "-h"])),
    )).map((result) => ({ ...result, stdout: result.stdout.replace(/\s+/g, " ") }));
    expect(list!.stdout).toMatch(/-s, --status <status> [^(]*\(also --filter-status\)/);
    expect(list!.stdout).toContain("(also --filter-name)");
    expect(list!.stdout).toContain("(also --filter-max-age)");
    expect(list!.stdout).toMatch(/-c, --connection-string <value> +workflowd keeps its own database/);
    expect(start!.stdout).toContain("(also --instance-id)");
    expect(start!.stdout).toMatch(/-s, --start-time <value> +the HTTP API starts a workflow at once/);
    expect(raise!.stdout).toContain("(also -x/--input)");
    expect(purge!.stdout).toContain("(also --older-than)");
    expect(purge!.stdout).toContain("(also --all-filter-status)");
    expect(purge!.stdout).toMatch(/--force +workflowd never purges a running instance/);
    expect(rerun!.stdout).toContain("(also --event-id)");
    expect(rerun!.stdout).toContain("(also --new-instance-id)");
    expect(terminate!.stdout).toMatch(/-o, --output <value> +dapr's terminate --output sets/);
    for (const result of [list, start, raise, purge, rerun, terminate]) {
      expect(result!.stdout).toMatch(/-k, --kubernetes +workflowd is reached over HTTP only/);
    }
  });

  it("help <command> is <command> --help; --help wins over bad flags; `workflow`/`wf` prefixes work", async () => {
    const [byWord, byFlag, withBadFlag, grouped, wf] = await Promise.all([
      cli(["help", "purge"]),
      cli(["purge", "--help"]),
      cli(["purge", "--bogus", "-o", "yaml", "--help"]),
      cli(["workflow", "purge", "--help"]),
      cli(["wf", "help", "purge"]),
    ]);
    for (const result of [byWord, withBadFlag, grouped, wf]) {
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(byFlag.stdout);
    }
  });

  it("version prints the version", async () => {
    const [word, flag] = await Promise.all([cli(["version"]), cli(["--version"])]);
    expect(word).toEqual({ code: 0, stdout: `workflowd ${version}\n`, stderr: "" });
    expect(flag).toEqual(word);
  });
});

describe("usage errors exit 2 with one line and a hint, before any request", () => {
  // Every case runs against a port nothing listens on: had the CLI sent a request, it would
  // have exited 3, not 2.
  const cases: [string[], RegExp, string][] = [
    [["lst"], /^unknown command 'lst' \(the commands: list, get, /, "workflowd --help"],
    [["help", "lst"], /^unknown command 'lst'$/, "workflowd --help"],
    [["list", "--bogus"], /^unknown flag '--bogus' for 'workflowd list'$/, "workflowd list --help"],
    [["ls", "-q"], /^unknown flag '-q' for 'workflowd ls'$/, "workflowd list --help"],
    [["list", "extra"], /^'list' takes no arguments; unexpected 'extra'$/, "workflowd list --help"],
    [["list", "--status"], /^-s, --status needs a value$/, "workflowd list --help"],
    [["list", "--status", "done"], /^--status: unknown status 'done'; use RUNNING, COMPLETED, FAILED, TERMINATED, PENDING, SUSPENDED, STALLED$/, "workflowd list --help"],
    [["list", "--filter-status", "CANCELED"], /^--status: workflowd never stores CANCELED instances/, "workflowd list --help"],
    [["list", "--older-than", "yesterday"], /^--older-than: 'yesterday' is not a duration \(examples: 90s, 30m, 1h30m, 24h, 7d\)$/, "workflowd list --help"],
    [["list", "--filter-max-age", "2023-02-30T99:00:00"], /^--newer-than: '2023-02-30T99:00:00' is not a time/, "workflowd list --help"],
    [["list", "--limit", "ten"], /^--limit: 'ten' is not a whole number$/, "workflowd list --help"],
    [["list", "--page-size", "1001"], /^--page-size: at most 1000$/, "workflowd list --help"],
    [["list", "-o", "yaml"], /^-o yaml is not supported; use -o json$/, "workflowd list --help"],
    [["list", "--output", "xml"], /^--output: 'xml' is not one of table, wide, json, ids$/, "workflowd list --help"],
    [["list", "--count", "-o", "ids"], /^--count prints a table or json, not ids$/, "workflowd list --help"],
    [["list", "--count", "--limit", "5"], /^--count counts every match; it takes no --limit or --page-size$/, "workflowd list --help"],
    [["list", "--kubernetes"], /^-k\/--kubernetes is not supported by workflowd: workflowd is reached over HTTP only; port-forward to it and use --address$/, "workflowd list --help"],
    [["list", "--address", "ftp://example.com"], /^--address: 'ftp:\/\/example.com' must be an http:\/\/ or https:\/\/ address$/, "workflowd list --help"],
    [["get"], /^'get' needs an argument: workflowd get <instance-id>/, "workflowd get --help"],
    [["get", "a", "b"], /^'get' takes at most 1; unexpected 'b'$/, "workflowd get --help"],
    [["history", "a", "--page-size", "0"], /^--page-size: '0' is not a whole number of at least 1$/, "workflowd history --help"],
    [["start"], /^'start' needs an argument: workflowd start <workflow-name>/, "workflowd start --help"],
    [["start", "echo", "--input", "Berlin"], /^--input must be JSON \(.*\); a string is written with its quotes, e\.g\. --input '"Berlin"'$/, "workflowd start --help"],
    [["run", "echo", "-x", "{\"a\":"], /^--input must be JSON/, "workflowd start --help"],
    [["start", "echo", "--id", "a", "--instance-id", "b"], /^--id \(or --instance-id\) was given more than once$/, "workflowd start --help"],
    [["run", "echo", "--start-time", "1h"], /^-s\/--start-time is not supported by workflowd: the HTTP API starts a workflow at once/, "workflowd start --help"],
    [["raise", "order-7"], /^'raise' needs an instance ID and an event name: workflowd raise <instance-id> <event-name>$/, "workflowd raise --help"],
    [["raise-event", "order-7/"], /^'raise-event' needs an instance ID and an event name/, "workflowd raise --help"],
    [["raise", "order-7", "go", "--data", "yes"], /^--data must be JSON/, "workflowd raise --help"],
    [["suspend", "x", "-o", "json"], /^'suspend' has no -o\/--output: the server answers it with an empty body/, "workflowd suspend --help"],
    [["terminate", "x", "--output", "{\"done\":true}"], /^-o\/--output is not supported by workflowd: dapr's terminate --output sets the terminated workflow's output; workflowd's HTTP API cannot$/, "workflowd terminate --help"],
    [["purge"], /^give the instance IDs to purge, or --all-older-than <age>, or --all$/, "workflowd purge --help"],
    [["purge", "x", "--all"], /^give instance IDs or --all\/--all-older-than \[--status\] \[--prefix\], not both$/, "workflowd purge --help"],
    [["purge", "--prefix", "test-"], /^--prefix narrows a bulk purge: add --all-older-than <age> or --all$/, "workflowd purge --help"],
    [["purge", "--all-filter-status", "FAILED"], /^--status narrows a bulk purge: add --all-older-than <age> or --all$/, "workflowd purge --help"],
    [["purge", "--all", "--all-older-than", "1h"], /^--all and --all-older-than exclude each other$/, "workflowd purge --help"],
    [["purge", "--all", "--status", "running"], /^--status: unknown status 'running'; use COMPLETED, FAILED, TERMINATED$/, "workflowd purge --help"],
    [["purge", "--all-older-than", "1w"], /^--all-older-than: '1w' is not a duration/, "workflowd purge --help"],
    [["purge", "--all", "--force"], /^--force is not supported by workflowd: workflowd never purges a running instance; terminate it first$/, "workflowd purge --help"],
    [["purge", "x", "-o", "json"], /^-o json applies to bulk purges; purging by ID answers with an empty body$/, "workflowd purge --help"],
    [["rerun", "x", "--event", "first"], /^--event: 'first' is not a whole number$/, "workflowd rerun --help"],
    [["rerun", "x", "-e", "1", "--input", "new input"], /^--input must be JSON/, "workflowd rerun --help"],
    [["rewind"], /^'rewind' needs an argument/, "workflowd rewind --help"],
  ];

  // Concurrent: each case is a process start, and they do not share anything.
  it.concurrent.each(cases)("workflowd %j", async (args, message, help) => {
    const port = await freePort();
    const result = await cli(args, { DAPR_HTTP_PORT: String(port) });
    expect(result.stdout).toBe("");
    const lines = result.stderr.split("\n");
    expect(lines, result.stderr).toHaveLength(3);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]!.slice("error: ".length)).toMatch(message);
    expect(lines[1]).toBe(`Run '${help}' for usage.`);
    expect(result.code).toBe(2);
  });

  it("a DAPR_HTTP_PORT that is not a port is a usage error", async () => {
    const result = await cli(["list"], { DAPR_HTTP_PORT: "http://localhost:3500" });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: DAPR_HTTP_PORT: 'http:\/\/localhost:3500' is not a port number\n/);
  });
});

describe("a server that cannot be reached: exit 3", () => {
  it("names the address and where it came from", async () => {
    const port = await freePort();
    const [fromEnv, fromFlag, fromEndpoint] = await Promise.all([
      cli(["list"], { DAPR_HTTP_PORT: String(port) }),
      cli(["get", "x", "--address", `localhost:${port}`]),
      cli(["start", "echo"], { DAPR_HTTP_ENDPOINT: `http://127.0.0.1:${port}`, DAPR_HTTP_PORT: "1" }),
    ]);
    expect(fromEnv).toEqual({
      code: 3,
      stdout: "",
      stderr: `error: cannot reach workflowd at http://127.0.0.1:${port}: connection refused (the address came from DAPR_HTTP_PORT; ` +
        "set another with --address, DAPR_HTTP_ENDPOINT or DAPR_HTTP_PORT)\n",
    });
    expect(fromFlag.code).toBe(3);
    expect(fromFlag.stderr).toMatch(new RegExp(`^error: cannot reach workflowd at http://localhost:${port}: .* \\(check --address\\)\\n$`));
    expect(fromEndpoint.code).toBe(3);
    expect(fromEndpoint.stderr).toContain(`at http://127.0.0.1:${port}: connection refused (the address came from DAPR_HTTP_ENDPOINT;`);
  });

  it("accepts dapr workflow's app, namespace and connection flags without acting on them", async () => {
    const port = await freePort();
    const result = await cli(["list", "--app-id", "orders", "-n", "prod", "-c", "postgres://x", "--table-name", "t"], { DAPR_HTTP_PORT: String(port) });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("cannot reach workflowd");
  });
});
