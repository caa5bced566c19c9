/**
 * The commands on one instance, against a real server: start, get, raise, suspend, resume,
 * terminate and purge by ID. Each checks what the command printed and exit code, and what
 * the server then holds (read over HTTP, not through the CLI). The tests use their own
 * instance IDs and run concurrently against the one server.
 */
import { describe, it } from "vitest";
import { eventually } from "../process/harness.js";
import { useSharedServer } from "./helpers.js";

const shared = useSharedServer();
const run = (...args: string[]) => shared.run(args);
const ok = (stdout: string) => ({ code: 0, stdout, stderr: "" });

describe.concurrent("start", () => {
  it("prints the instance ID; the input reaches the workflow exactly as written", async ({ expect }) => {
    expect(await run("start", "echo", "--id", "start-1", "--input", '"Berlin"')).toEqual(ok("start-1\n"));
    const state = await shared.server.waitTerminal("start-1");
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(state.properties?.["dapr.workflow.input"]).toBe('"Berlin"');
    expect(state.properties?.["dapr.workflow.output"]).toBe('"BERLIN"');
  });

  it("takes dapr's run, --instance-id and -x, and an input from stdin with @-", async ({ expect }) => {
    expect(await run("run", "echo", "--instance-id", "start-2", "-x", ' { "b": 1, "a": 2 } ')).toEqual(ok("start-2\n"));
    expect((await shared.server.waitTerminal("start-2")).properties?.["dapr.workflow.input"]).toBe(' { "b": 1, "a": 2 } ');
    expect(await shared.run(["workflow", "start", "echo", "-i", "start-3", "--input", "@-"], {}, '["from stdin"]')).toEqual(ok("start-3\n"));
    expect((await shared.server.waitTerminal("start-3")).properties?.["dapr.workflow.output"]).toBe('["from stdin"]');
  });

  it("without --id the server picks an ID; -o json prints the API's body", async ({ expect }) => {
    const generated = await run("start", "echo");
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/);
    expect(await shared.server.get(generated.stdout.trim())).toBeDefined();
    expect(await run("start", "echo", "--id", "start-json", "-o", "json")).toEqual(ok('{"instanceID":"start-json"}\n'));
  });

  it("a taken or invalid ID is the server's error: exit 1, its code, message and status", async ({ expect }) => {
    await shared.server.start("echo", "start-taken");
    expect(await run("start", "echo", "--id", "start-taken")).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: ERR_START_WORKFLOW: error starting workflow 'echo': workflow instance ID 'start-taken' already exists; " +
        "purge it before reusing the ID (HTTP 409)\n",
    });
    const invalid = await run("start", "echo", "--id", "no spaces");
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error: ERR_INSTANCE_ID_INVALID: workflow instance ID 'no spaces' is invalid.*\(HTTP 400\)\n$/);
  });
});

describe.concurrent("get", () => {
  it("prints the state as aligned keys; -o json prints GET's body exactly", async ({ expect }) => {
    await shared.server.start("echo", "get-1", "x");
    await shared.server.waitTerminal("get-1");
    const table = await run("get", "get-1");
    expect(table.code).toBe(0);
    expect(table.stderr).toBe("");
    const state = await shared.server.get("get-1");
    expect(table.stdout).toBe(
      "INSTANCE ID   get-1\n" +
      "NAME          echo\n" +
      "STATUS        COMPLETED\n" +
      `CREATED       ${new Date(state!.createdAt).toISOString()}\n` +
      `LAST UPDATED  ${new Date(state!.lastUpdatedAt).toISOString()}\n` +
      'INPUT         "x"\n' +
      'OUTPUT        "X"\n',
    );
    const direct = await fetch(`${shared.server.baseUrl}/v1.0/workflows/dapr/get-1`).then((r) => r.text());
    expect(await run("get", "get-1", "-o", "json")).toEqual(ok(`${direct}\n`));
  });

  it("shows the custom status while running, and an unknown ID is exit 1 with the 404", async ({ expect }) => {
    await shared.server.start("waiter", "get-2");
    await shared.server.waitFor("get-2", "to be waiting", (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for go");
    const table = await run("get", "get-2");
    expect(table.stdout).toMatch(/^STATUS +RUNNING$/m);
    expect(table.stdout).toMatch(/^CUSTOM STATUS {2}waiting for go$/m);
    expect(await run("get", "nobody")).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: ERR_INSTANCE_ID_NOT_FOUND: unable to find workflow with the provided instance ID: nobody (HTTP 404)\n",
    });
  });
});

describe.concurrent("output into a pipe", () => {
  it("a reader that stops early (| head) ends the command quietly, exit 0 and no stack trace", async ({ expect }) => {
    // The body is far larger than a pipe's buffer, so writes continue after the reader left.
    await shared.server.start("echo", "big-1", "z".repeat(400_000));
    await shared.server.waitTerminal("big-1");
    const result = await shared.run(["get", "big-1", "-o", "json"], {}, undefined, true);
    expect(result.stdout.length).toBeLessThan(800_000);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });
});

describe.concurrent("raise", () => {
  it("delivers the payload as written, as <id> <event> and as dapr's <id>/<event>", async ({ expect }) => {
    await shared.server.start("waiter", "raise-1");
    expect(await run("raise", "raise-1", "go", "--data", '{"approved": true}')).toEqual(ok("Raised event 'go' on workflow instance 'raise-1'.\n"));
    const state = await shared.server.waitTerminal("raise-1");
    expect(state.properties?.["dapr.workflow.output"]).toBe('{"approved":true}');

    await shared.server.start("waiter", "raise-2");
    expect(await run("raise-event", "raise-2/GO", "--input", "42")).toEqual(ok("Raised event 'GO' on workflow instance 'raise-2'.\n"));
    expect((await shared.server.waitTerminal("raise-2")).properties?.["dapr.workflow.output"]).toBe("42");
  });

  it("without --data the event has no payload; an unknown instance is exit 1", async ({ expect }) => {
    await shared.server.start("waiter", "raise-3");
    expect((await run("raise", "raise-3", "go")).code).toBe(0);
    const state = await shared.server.waitTerminal("raise-3");
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(state.properties?.["dapr.workflow.output"]).toBeUndefined();
    const missing = await run("raise", "nobody", "go", "-d", "1");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: ERR_INSTANCE_ID_NOT_FOUND: .* nobody \(HTTP 404\)\n$/);
  });
});

describe.concurrent("suspend, resume, terminate", () => {
  it("change the status and say so in one line", async ({ expect }) => {
    await shared.server.start("waiter", "life-1");
    await shared.server.waitFor("life-1", "to run", (s) => s.runtimeStatus === "RUNNING");
    expect(await run("suspend", "life-1", "--reason", "maintenance")).toEqual(ok("Suspended workflow instance 'life-1'.\n"));
    await shared.server.waitFor("life-1", "to be suspended", (s) => s.runtimeStatus === "SUSPENDED");
    expect(await run("resume", "life-1", "-r", "done")).toEqual(ok("Resumed workflow instance 'life-1'.\n"));
    await shared.server.waitFor("life-1", "to run again", (s) => s.runtimeStatus === "RUNNING");
    expect(await run("terminate", "life-1")).toEqual(ok("Terminated workflow instance 'life-1'.\n"));
    await shared.server.waitFor("life-1", "to be terminated", (s) => s.runtimeStatus === "TERMINATED");
  });

  it("an unknown instance is exit 1 for each", async ({ expect }) => {
    const results = await Promise.all(["suspend", "resume", "terminate"].map((command) => run(command, "nobody")));
    for (const result of results) {
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(/^error: ERR_INSTANCE_ID_NOT_FOUND: .* nobody \(HTTP 404\)\n$/);
    }
  });
});

describe.concurrent("purge by ID", () => {
  it("deletes finished instances, each named; a running one is exit 1 and stops the rest", async ({ expect }) => {
    for (const id of ["purge-1", "purge-2", "purge-4"]) await shared.server.start("echo", id);
    await shared.server.start("waiter", "purge-3");
    for (const id of ["purge-1", "purge-2", "purge-4"]) await shared.server.waitTerminal(id);

    expect(await run("purge", "purge-1", "purge-2")).toEqual(ok(
      "Purged workflow instance 'purge-1'.\nPurged workflow instance 'purge-2'.\n",
    ));
    expect(await shared.server.get("purge-1")).toBeUndefined();
    expect(await shared.server.get("purge-2")).toBeUndefined();

    const blocked = await run("purge", "purge-3", "purge-4");
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toBe("");
    expect(blocked.stderr).toBe("error: ERR_PURGE_WORKFLOW: error purging workflow purge-3: workflow is RUNNING; " +
      "only COMPLETED, FAILED or TERMINATED workflows can be purged (HTTP 409)\n");
    expect(await shared.server.get("purge-3")).toBeDefined();
    expect(await shared.server.get("purge-4"), "the ID after the failed one is left alone").toBeDefined();

    const missing = await run("purge", "purge-1");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: ERR_INSTANCE_ID_NOT_FOUND: .* \(HTTP 404\)\n$/);
  });

  it("purges a parent with its child", async ({ expect }) => {
    await shared.server.start("family", "fam-1");
    const child = await eventually("the child to exist", async () => (await shared.server.get("fam-1:0001")) ?? false);
    expect(child.workflowName).toBe("waiter");
    await shared.server.raise("fam-1:0001", "go", "done");
    await shared.server.waitTerminal("fam-1");
    expect(await run("purge", "fam-1")).toEqual(ok("Purged workflow instance 'fam-1'.\n"));
    expect(await shared.server.get("fam-1:0001")).toBeUndefined();
  });
});
