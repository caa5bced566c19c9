/**
 * Activity leases: an activity that hangs keeps its lease only until it expires; then the
 * activity runs again (at-least-once) and the workflow completes with the second result.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseActivityLog } from "./expected.js";
import { fixtureWorkflows, outputOf, useProcesses } from "./harness.js";
import { problemsOf, readStore } from "./store-check.js";

const processes = useProcesses();

describe("activity lease recovery", () => {
  it("runs a hung activity again once its lease (WORKFLOWD_ACTIVITY_LEASE_MS=500) expires", async () => {
    const dir = processes.tempDir();
    const db = join(dir, "wf.db");
    const log = join(dir, "activities.log");
    const server = await processes.spawn({
      env: {
        WORKFLOWD_WORKFLOWS: fixtureWorkflows,
        WORKFLOWD_DB: db,
        WORKFLOWD_ACTIVITY_LEASE_MS: "500",
        // The hung first attempt never settles; do not let it hold the shutdown for long.
        WORKFLOWD_SHUTDOWN_GRACE_MS: "200",
        LOG_LEVEL: "warn",
        FIXTURE_LOG: log,
      },
      label: "lease 500 ms",
    });
    await server.waitHealthy();
    const startedAt = Date.now();
    await server.start("hangOnce", "hang-1", "done");
    const state = await server.waitTerminal("hang-1", 8_000);
    const tookMs = Date.now() - startedAt;

    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toBe("done on attempt 2");
    expect(tookMs, "ms until completion (the lease is 500 ms)").toBeGreaterThanOrEqual(500);
    const runs = parseActivityLog(existsSync(log) ? readFileSync(log, "utf8") : "");
    expect(runs.map((r) => `${r.instanceId} ${r.activity} attempt ${r.attempt}`)).toEqual([
      "hang-1 hangsFirst attempt 1",
      "hang-1 hangsFirst attempt 2",
    ]);

    const exit = await server.stop("SIGTERM", 8_000);
    expect(exit, "exit after SIGTERM with the first attempt still hung").toEqual({ code: 0, signal: null });
    const snapshot = readStore(db);
    expect(problemsOf(snapshot, { instanceId: "hang-1", output: "done on attempt 2", tasks: 1 })).toEqual([]);
  });
});
