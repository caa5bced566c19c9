/**
 * The CLI's pure parts, in-process: flag values (durations, times, statuses, JSON bodies),
 * the address rules, argv parsing with `dapr workflow` aliases, table and history
 * formatting. The binary itself is tested against a real server in the other files.
 */
import { describe, expect, it } from "vitest";
import type { CommandSpec } from "../../src/cli/command.js";
import { UsageError } from "../../src/cli/errors.js";
import { age, humanDuration, isoTime, table, truncate } from "../../src/cli/format.js";
import { historyRow } from "../../src/cli/history-rows.js";
import { resolveTarget } from "../../src/cli/http-client.js";
import { parseCommandLine } from "../../src/cli/parse.js";
import { parseAgeOrTime, parseCount, parseDuration, parseStatuses, purgeableStatuses, readJsonBody } from "../../src/cli/values.js";

describe("durations and times", () => {
  it("reads Go durations, plus days", () => {
    expect(parseDuration("24h", "--x")).toBe(24 * 3_600_000);
    expect(parseDuration("1h30m", "--x")).toBe(90 * 60_000);
    expect(parseDuration("1.5h", "--x")).toBe(90 * 60_000);
    expect(parseDuration("300ms", "--x")).toBe(300);
    expect(parseDuration("10s", "--x")).toBe(10_000);
    expect(parseDuration("7d", "--x")).toBe(7 * 86_400_000);
    expect(parseDuration("0", "--x")).toBe(0);
  });

  it.each(["", "24", "h", "1x", "-1h", "1h 30m", "yesterday", "1..5h"])("refuses %j naming the flag", (text) => {
    expect(() => parseDuration(text, "--older-than")).toThrow(UsageError);
    expect(() => parseDuration(text, "--older-than")).toThrow(/^--older-than: .* is not a duration/);
  });

  it("reads an age as a time before now, and times as UTC when they have no zone", () => {
    const now = new Date("2026-05-10T12:00:00Z");
    expect(parseAgeOrTime("24h", "--x", now).toISOString()).toBe("2026-05-09T12:00:00.000Z");
    expect(parseAgeOrTime("2023-01-02", "--x", now).toISOString()).toBe("2023-01-02T00:00:00.000Z");
    expect(parseAgeOrTime("2023-01-02T15:04:05", "--x", now).toISOString()).toBe("2023-01-02T15:04:05.000Z");
    expect(parseAgeOrTime("2023-01-02T15:04:05+02:00", "--x", now).toISOString()).toBe("2023-01-02T13:04:05.000Z");
    expect(() => parseAgeOrTime("2023-13-45", "--x", now)).toThrow(/is not a time/);
    expect(() => parseAgeOrTime("2023-01-02 15:04", "--x", now)).toThrow(/is not a time/);
  });
});

describe("statuses, counts and JSON bodies", () => {
  it("takes statuses repeated or comma-separated, in any case, upper-cased and deduplicated", () => {
    expect(parseStatuses(["running,Failed", "RUNNING", " suspended "], "--status")).toEqual(["RUNNING", "FAILED", "SUSPENDED"]);
  });

  it("refuses unknown statuses, the ones workflowd never stores, and non-final ones for purges", () => {
    expect(() => parseStatuses(["DONE"], "--status")).toThrow(/--status: unknown status 'DONE'; use RUNNING, COMPLETED/);
    expect(() => parseStatuses(["canceled"], "--status")).toThrow(/never stores CANCELED/);
    expect(() => parseStatuses(["continued_as_new"], "--status")).toThrow(/never stores CONTINUED_AS_NEW/);
    expect(() => parseStatuses(["RUNNING"], "--status", purgeableStatuses)).toThrow(/use COMPLETED, FAILED, TERMINATED/);
    expect(() => parseStatuses([","], "--status")).toThrow(/at least one status/);
  });

  it("reads whole numbers only", () => {
    expect(parseCount("0", "--limit")).toBe(0);
    expect(parseCount("25", "--limit")).toBe(25);
    for (const bad of ["-1", "1.5", "ten", "", "1e3"]) expect(() => parseCount(bad, "--limit")).toThrow(/--limit: .* is not a whole number/);
    expect(() => parseCount("0", "--page-size", 1)).toThrow(/of at least 1/);
  });

  it("passes JSON through exactly as written and refuses anything else", () => {
    expect(readJsonBody(' { "b": 1,  "a": [1,2] } ', "--input")).toBe(' { "b": 1,  "a": [1,2] } ');
    expect(readJsonBody('"Berlin"', "--input")).toBe('"Berlin"');
    expect(readJsonBody("42", "--data")).toBe("42");
    expect(() => readJsonBody("Berlin", "--input")).toThrow(/--input must be JSON .*e\.g\. --input '"Berlin"'/);
    expect(() => readJsonBody("{oops", "--data")).toThrow(/--data must be JSON/);
    expect(() => readJsonBody("@/no/such/file.json", "--input")).toThrow(/--input: cannot read '\/no\/such\/file.json': ENOENT/);
  });
});

describe("the server's address", () => {
  it("takes --address as a URL, host:port or a port, before DAPR_HTTP_ENDPOINT and DAPR_HTTP_PORT", () => {
    const env = { DAPR_HTTP_ENDPOINT: "http://endpoint:1234", DAPR_HTTP_PORT: "4000" };
    expect(resolveTarget("http://example.com:8080/", env)).toEqual({ baseUrl: "http://example.com:8080", source: "--address" });
    expect(resolveTarget("https://example.com/prefix/", env).baseUrl).toBe("https://example.com/prefix");
    expect(resolveTarget("localhost:3600", env).baseUrl).toBe("http://localhost:3600");
    expect(resolveTarget("3700", env).baseUrl).toBe("http://127.0.0.1:3700");
    expect(resolveTarget(undefined, env)).toEqual({ baseUrl: "http://endpoint:1234", source: "DAPR_HTTP_ENDPOINT" });
    expect(resolveTarget(undefined, { DAPR_HTTP_PORT: "4000" })).toEqual({ baseUrl: "http://127.0.0.1:4000", source: "DAPR_HTTP_PORT" });
    expect(resolveTarget(undefined, {})).toEqual({ baseUrl: "http://127.0.0.1:3500", source: "the default port" });
  });

  it("refuses what is not an http address", () => {
    expect(() => resolveTarget("ftp://example.com", {})).toThrow(/--address: 'ftp:\/\/example.com' must be an http/);
    expect(() => resolveTarget("http://", {})).toThrow(/is not an address/);
    expect(() => resolveTarget(undefined, { DAPR_HTTP_PORT: "http" })).toThrow(/DAPR_HTTP_PORT: 'http' is not a port number/);
  });
});

describe("parsing a command line", () => {
  const spec: CommandSpec = {
    name: "demo",
    aliases: ["dm"],
    summary: "a demo",
    usage: ["demo <id>"],
    positionals: { min: 1, max: 1 },
    options: {
      id: { type: "string", short: "i", aliases: ["instance-id"], help: "" },
      status: { type: "string", short: "s", multiple: true, aliases: ["filter-status"], help: "" },
      data: { type: "string", short: "d", aliases: ["input"], aliasShorts: { input: "x" }, help: "" },
      all: { type: "boolean", help: "" },
    },
    outputs: ["table", "json"],
    compat: { force: { type: "boolean", ignored: false, reason: "never" } },
    run: async () => {},
  };

  it("folds dapr's spellings into the option and keeps every value of a repeatable one", () => {
    const parsed = parseCommandLine(spec, ["x", "--instance-id", "a", "-s", "RUNNING", "--filter-status=FAILED", "-x", "1", "--all", "-o", "short"], "demo");
    expect(parsed.positionals).toEqual(["x"]);
    expect(Object.fromEntries(parsed.values)).toEqual({ id: ["a"], status: ["RUNNING", "FAILED"], data: ["1"], all: true, output: ["short"] });
    expect(parsed.output).toBe("table");
  });

  it("drops the flags that cannot matter and refuses the ones it cannot honour", () => {
    const parsed = parseCommandLine(spec, ["x", "--app-id", "orders", "-n", "prod"], "demo");
    expect(Object.fromEntries(parsed.values)).toEqual({});
    expect(() => parseCommandLine(spec, ["x", "-k"], "demo")).toThrow(/-k\/--kubernetes is not supported by workflowd: .*--address/);
    expect(() => parseCommandLine(spec, ["x", "--force"], "demo")).toThrow(/--force is not supported by workflowd: never/);
  });

  it("says what is wrong in one line", () => {
    const message = (argv: string[]) => {
      try {
        parseCommandLine(spec, argv, "dm");
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        expect((error as UsageError).command).toBe("demo");
        return (error as Error).message;
      }
      throw new Error("no error");
    };
    expect(message(["x", "--bogus"])).toBe("unknown flag '--bogus' for 'workflowd dm'");
    expect(message(["x", "-q"])).toBe("unknown flag '-q' for 'workflowd dm'");
    expect(message(["x", "--id"])).toBe("-i, --id needs a value");
    expect(message(["x", "--all=yes"])).toBe("--all is a switch and takes no value");
    expect(message(["x", "--id", "-1"])).toBe("--id needs a value; to give one that starts with '-', write --id=<value>");
    expect(message(["x", "--id", "a", "--instance-id", "b"])).toBe("--id (or --instance-id) was given more than once");
    expect(message([])).toBe("'dm' needs an argument: workflowd demo <id>");
    expect(message(["x", "y"])).toBe("'dm' takes at most 1; unexpected 'y'");
    expect(message(["x", "-o", "yaml"])).toBe("-o yaml is not supported; use -o json");
    expect(message(["x", "-o", "wide"])).toBe("--output: 'wide' is not one of table, json");
  });
});

describe("formatting", () => {
  it("aligns columns under their headers and keeps every cell on one line", () => {
    expect(table(["ID", "NAME", "NOTE"], [["a", "long name", "x"], ["bbbb", "n", "two\nlines\u001b[31m"]])).toBe(
      "ID    NAME       NOTE\n" +
      "a     long name  x\n" +
      "bbbb  n          two\\nlines\\u001b[31m\n",
    );
  });

  it("shows times as ISO UTC and ages as kubectl does", () => {
    expect(isoTime("2026-01-02T03:04:05.678+01:00")).toBe("2026-01-02T02:04:05.678Z");
    expect(isoTime("2026-01-02T03:04:05.678Z", "s")).toBe("2026-01-02T03:04:05Z");
    expect(isoTime("not a time")).toBe("not a time");
    expect([5_000, 150_000, 600_000, 3 * 3_600_000 + 60_000, 30 * 3_600_000, 3 * 86_400_000 + 3_600_000, 40 * 86_400_000].map(humanDuration))
      .toEqual(["5s", "2m30s", "10m", "3h1m", "30h", "3d1h", "40d"]);
    expect(age("2026-01-01T00:00:00Z", new Date("2026-01-01T00:00:42Z"))).toBe("42s");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
  });

  it("turns a history event into its type, name and details", () => {
    expect(historyRow({ eventId: 3, timestamp: "2026-01-01T00:00:00Z", taskScheduled: { name: "charge", input: "{\"total\":5}" } })).toEqual({
      eventId: "3", time: "2026-01-01T00:00:00.000Z", type: "TaskScheduled", name: "charge", details: "input={\"total\":5}",
    });
    expect(historyRow({ eventId: -1, timestamp: "2026-01-01T00:00:00Z", executionCompleted: {
      workflowStatus: "ORCHESTRATION_STATUS_FAILED", failureDetails: { errorType: "Error", errorMessage: "boom" },
    } })).toMatchObject({ eventId: "", type: "ExecutionCompleted", details: "status=FAILED  error=Error: boom" });
    // protojson leaves a zero eventId out.
    expect(historyRow({ timestamp: "2026-01-01T00:00:00Z", taskCompleted: { taskScheduledId: 0, result: "1" } }))
      .toMatchObject({ eventId: "0", type: "TaskCompleted", details: "scheduledId=0  output=1" });
    expect(historyRow({ eventId: 1, timestamp: "x", somethingNew: {} })).toMatchObject({ type: "SomethingNew", name: "", details: "" });
    expect(historyRow({ eventId: 1, eventRaised: { name: "go", input: "x".repeat(100) } }, 20).details).toBe(`input=${"x".repeat(13)}…`);
  });
});
