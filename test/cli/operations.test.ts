/**
 * rerun, rewind and bulk purge against a real server: what the command prints, its exit
 * code, and what the server holds afterwards (read over HTTP). Instances are created over
 * plain HTTP; each test uses its own IDs (bulk purges are confined with --prefix), so the
 * tests run concurrently.
 */
import { describe, it } from "vitest";
import { outputOf } from "../process/harness.js";
import { useSharedServer } from "./helpers.js";

const shared = useSharedServer();
const run = (...args: string[]) => shared.run(args);
const ok = (stdout: string) => ({ code: 0, stdout, stderr: "" });

interface HistoryEvent {
  eventId?: number;
  [type: string]: unknown;
}

async function history(id: string): Promise<HistoryEvent[]> {
  const response = await fetch(`${shared.server.baseUrl}/v1.0/workflows/dapr/${id}/history`);
  return ((await response.json()) as { events: HistoryEvent[] }).events;
}

/** The eventIds of an instance's taskScheduled events, in order. */
async function scheduledIds(id: string): Promise<number[]> {
  return (await history(id)).filter((event) => "taskScheduled" in event).map((event) => event.eventId ?? 0);
}

describe.concurrent("rerun", () => {
  it("re-runs from the chosen event with a new input under the new ID, and prints that ID", async ({ expect }) => {
    await shared.server.start("twice", "re-1", "go");
    expect(outputOf(await shared.server.waitTerminal("re-1"))).toEqual(["GO", "GO!"]);
    const [, second] = await scheduledIds("re-1");
    expect(await run("rerun", "re-1", "--event", String(second), "--new-id", "re-1b", "--input", '"again"')).toEqual(ok("re-1b\n"));
    const rerun = await shared.server.waitTerminal("re-1b");
    expect(rerun.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(rerun)).toEqual(["GO", "AGAIN"]);
    expect(outputOf(await shared.server.get("re-1")), "the source is left as it was").toEqual(["GO", "GO!"]);
  });

  it("without --event re-runs from the first activity; dapr's flag names; -o json prints the API's body", async ({ expect }) => {
    await shared.server.start("twice", "re-2", "hi");
    await shared.server.waitTerminal("re-2");
    const fromStart = await run("rerun", "re-2");
    expect(fromStart.code, fromStart.stderr).toBe(0);
    const newId = fromStart.stdout.trim();
    expect(newId).toMatch(/^[0-9a-f-]{36}$/);
    expect(outputOf(await shared.server.waitTerminal(newId))).toEqual(["HI", "HI!"]);
    // The whole history was run again: both activities were scheduled anew.
    expect((await scheduledIds(newId)).length).toBe(2);

    const [first] = await scheduledIds("re-2");
    expect(await run("rerun", "re-2", "--event-id", String(first), "--new-instance-id", "re-2c", "-o", "json"))
      .toEqual(ok('{"instanceID":"re-2c"}\n'));
    expect(outputOf(await shared.server.waitTerminal("re-2c"))).toEqual(["HI", "HI!"]);
  });

  it("the server's refusals are exit 1 with its code: running, unknown event, taken ID, unknown instance", async ({ expect }) => {
    await shared.server.start("waiter", "re-3");
    await shared.server.start("echo", "re-4", "x");
    await shared.server.waitTerminal("re-4");
    const [first] = await scheduledIds("re-4");
    const [running, noEvent, taken, unknown] = await Promise.all([
      run("rerun", "re-3", "--event", "0"),
      run("rerun", "re-4", "--event", "999"),
      run("rerun", "re-4", "--event", String(first), "--new-id", "re-3"),
      run("rerun", "nobody", "--event", "0"),
    ]);
    expect(running).toMatchObject({ code: 1, stdout: "" });
    expect(running.stderr).toMatch(/^error: ERR_RERUN_WORKFLOW: .*RUNNING.* \(HTTP 409\)\n$/);
    expect(noEvent.code).toBe(1);
    expect(noEvent.stderr).toMatch(/^error: ERR_MALFORMED_REQUEST: .*fromEventID.*999.* \(HTTP 400\)\n$/);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^error: ERR_RERUN_WORKFLOW: .*'re-3' exists.* \(HTTP 409\)\n$/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: ERR_INSTANCE_ID_NOT_FOUND: .* \(HTTP 404\)\n$/);
  });

  it("without --event, an instance with no activity or child workflow has nothing to re-run from", async ({ expect }) => {
    await shared.server.start("waiter", "re-5");
    await shared.server.raise("re-5", "go", 1);
    await shared.server.waitTerminal("re-5");
    expect(await run("rerun", "re-5")).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: instance 're-5' has no activity or child workflow to re-run from\n",
    });
  });
});

describe.concurrent("rewind", () => {
  it("sends a FAILED instance back to work with the reason; it completes", async ({ expect }) => {
    await shared.server.start("fragile", "rw-1", "v");
    expect((await shared.server.waitTerminal("rw-1")).runtimeStatus).toBe("FAILED");
    expect(await run("rewind", "rw-1", "--reason", "fixed the bug")).toEqual(ok("Rewinding workflow instance 'rw-1'.\n"));
    const state = await shared.server.waitFor("rw-1", "to complete", (s) => s.runtimeStatus === "COMPLETED");
    expect(outputOf(state)).toBe("recovered v");
    expect(JSON.stringify(await history("rw-1"))).toContain("fixed the bug");
    const shown = await run("history", "rw-1");
    expect(shown.stdout).toMatch(/ExecutionResumed +reason=.*fixed the bug/);
  });

  it("an instance that is not FAILED, or unknown, is exit 1 with the server's refusal", async ({ expect }) => {
    await shared.server.start("echo", "rw-2", "x");
    await shared.server.waitTerminal("rw-2");
    const [completed, unknown] = await Promise.all([run("rewind", "rw-2"), run("rewind", "nobody", "-r", "why")]);
    expect(completed).toMatchObject({ code: 1, stdout: "" });
    expect(completed.stderr).toMatch(/^error: ERR_REWIND_WORKFLOW: .*COMPLETED.* \(HTTP 409\)\n$/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: ERR_INSTANCE_ID_NOT_FOUND: .* \(HTTP 404\)\n$/);
  });
});

describe.concurrent("bulk purge", () => {
  it("--all-older-than purges finished instances created before then, never running ones", async ({ expect }) => {
    await shared.server.start("echo", "pb-c1", 1);
    await shared.server.start("echo", "pb-c2", 2);
    await shared.server.start("fragile", "pb-f1", 3);
    await shared.server.start("waiter", "pb-t1");
    await shared.server.start("waiter", "pb-r1");
    await shared.server.command("pb-t1", "terminate");
    for (const id of ["pb-c1", "pb-c2", "pb-f1", "pb-t1"]) await shared.server.waitTerminal(id);

    // All of them are younger than an hour.
    expect(await run("purge", "--all-older-than", "1h", "--prefix", "pb-")).toEqual(ok("Purged 0 workflow instances.\n"));
    // Only the failed one, with dapr's flag names; -o json is the API's body.
    expect(await run("purge", "--all", "--prefix", "pb-", "--all-filter-status", "failed", "-o", "json"))
      .toEqual(ok('{"deletedInstanceCount":1,"isComplete":true}\n'));
    expect(await shared.server.get("pb-f1")).toBeUndefined();
    // Everything finished up to now.
    expect(await run("purge", "--older-than", "0s", "--prefix", "pb-")).toEqual(ok("Purged 3 workflow instances.\n"));
    for (const id of ["pb-c1", "pb-c2", "pb-t1"]) expect(await shared.server.get(id), id).toBeUndefined();
    expect((await shared.server.get("pb-r1"))?.runtimeStatus).toBe("RUNNING");
  });

  it("--all-older-than takes a time as well as an age, and --status narrows it", async ({ expect }) => {
    await shared.server.start("echo", "pt-1", 1);
    await shared.server.start("waiter", "pt-2");
    await shared.server.command("pt-2", "terminate");
    await shared.server.waitTerminal("pt-1");
    await shared.server.waitTerminal("pt-2");
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(await run("purge", "--all-older-than", later, "--prefix", "pt-", "--status", "TERMINATED")).toEqual(ok("Purged 1 workflow instance.\n"));
    expect(await shared.server.get("pt-2")).toBeUndefined();
    expect(await shared.server.get("pt-1")).toBeDefined();
  });
});
