/**
 * Durable timers survive a crash: they live in the inbox (visible_at), so a restarted
 * server fires a timer that fell due while it was down at once, and re-arms one that is
 * still in the future for its original time.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, fixtureWorkflows, outputOf, useProcesses } from "./harness.js";
import { readStore } from "./store-check.js";

const processes = useProcesses();

describe("durable timers across a crash", () => {
  it("fires an overdue timer promptly after a restart and a future one at its time", async () => {
    const dir = processes.tempDir();
    const db = join(dir, "wf.db");
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: db, LOG_LEVEL: "warn" };

    const first = await processes.spawn({ env, label: "before kill" });
    await first.waitHealthy();
    await first.start("sleeper", "short", 2);
    await first.start("sleeper", "long", 4);
    const startedAt = Date.now();
    // The first turn has committed (its custom status is visible): the timers are in the store.
    for (const id of ["short", "long"]) {
      await eventually(`${id} to be sleeping`, async () => {
        const state = await first.get(id);
        return state?.properties?.["dapr.workflow.custom_status"] === "sleeping" || `${id} is ${state?.runtimeStatus}`;
      });
    }
    await first.kill();

    // Waiting for wall-clock time is the point: let the 2 s timer fall due while nothing runs.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 2_500 - Date.now())));

    const second = await processes.spawn({ env, label: "after kill" });
    await second.waitHealthy();
    const healthyAt = Date.now();
    const short = await second.waitTerminal("short", 5_000);
    expect(short.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(short)).toBe("woke after 2s");
    // Server-side: the completing turn's commit time against the moment it served requests.
    const shortDoneAfterStartMs = Date.parse(short.lastUpdatedAt) - healthyAt;
    expect(shortDoneAfterStartMs, "ms from start-up until the overdue timer's workflow completed").toBeLessThan(1_000);

    const long = await second.waitTerminal("long", 6_000);
    expect(long.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(long)).toBe("woke after 4s");
    // Neither timer fired early.
    for (const state of [short, long]) {
      const sleptMs = Date.parse(state.lastUpdatedAt) - Date.parse(state.createdAt);
      const seconds = state.instanceID === "short" ? 2 : 4;
      expect(sleptMs, `${state.instanceID}: ms from creation to completion`).toBeGreaterThanOrEqual(seconds * 1000);
    }
    expect(await second.stop("SIGTERM")).toEqual({ code: 0, signal: null });

    const snapshot = readStore(db);
    for (const id of ["short", "long"]) {
      const kinds = (snapshot.history.get(id) ?? []).map((r) => r.event.kind);
      expect(kinds.filter((k) => k === "timerCreated"), `${id} timerCreated`).toHaveLength(1);
      expect(kinds.filter((k) => k === "timerFired"), `${id} timerFired`).toHaveLength(1);
      expect(kinds.filter((k) => k === "executionCompleted"), `${id} executionCompleted`).toHaveLength(1);
      expect(snapshot.inbox.get(id) ?? 0, `${id} inbox rows left`).toBe(0);
    }
  });
});
