/**
 * Graceful shutdown: SIGTERM and SIGINT stop the server with exit code 0 within a few
 * seconds, even with work in flight, and a restart on the same file finishes that work.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chainOutput, fanOutOutput } from "./expected.js";
import { eventually, fixtureWorkflows, outputOf, useProcesses } from "./harness.js";
import { problemsOf, readStore } from "./store-check.js";

const processes = useProcesses();

describe("graceful shutdown", () => {
  it("SIGTERM with workflows running exits 0 within a few seconds; a restart completes them", async () => {
    const dir = processes.tempDir();
    const db = join(dir, "wf.db");
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: db, LOG_LEVEL: "warn" };
    const workflows = [
      ...[1, 2, 3, 4, 5].map((i) => ({ name: "chain", instanceId: `chain-${i}`, input: i, output: chainOutput(i) as unknown, tasks: 5 })),
      ...[1, 2, 3].map((i) => ({ name: "fanOut", instanceId: `fan-${i}`, input: i, output: fanOutOutput(i) as unknown, tasks: 10 })),
    ];

    const first = await processes.spawn({ env, label: "before SIGTERM" });
    await first.waitHealthy();
    await Promise.all(workflows.map((w) => first.start(w.name, w.instanceId, w.input)));
    // Running, not finished: the first chain step is done (custom status) but no chain is.
    await eventually("a chain to have finished a step", async () => {
      const state = await first.get("chain-1");
      return state?.properties?.["dapr.workflow.custom_status"] !== undefined || `chain-1 is ${state?.runtimeStatus}`;
    });
    const unfinished = (await Promise.all(workflows.map((w) => first.get(w.instanceId))))
      .filter((s) => s?.runtimeStatus !== "COMPLETED").length;
    expect(unfinished, "workflows still running when SIGTERM is sent").toBeGreaterThan(0);

    const sentAt = Date.now();
    const exit = await first.stop("SIGTERM", 8_000);
    const tookMs = Date.now() - sentAt;
    expect(exit, `exit after SIGTERM; stderr: ${first.stderr}`).toEqual({ code: 0, signal: null });
    expect(tookMs, "milliseconds from SIGTERM to exit").toBeLessThan(5_000);
    expect(first.stderr).toBe("");

    const second = await processes.spawn({ env, label: "after SIGTERM" });
    await second.waitHealthy();
    for (const w of workflows) {
      const state = await second.waitTerminal(w.instanceId, 15_000);
      expect(state.runtimeStatus, w.instanceId).toBe("COMPLETED");
      expect(outputOf(state), w.instanceId).toEqual(w.output);
    }
    expect(await second.stop("SIGTERM")).toEqual({ code: 0, signal: null });

    const snapshot = readStore(db);
    expect(workflows.flatMap((w) => problemsOf(snapshot, w))).toEqual([]);
  });

  it("SIGINT with workflows running exits 0", async () => {
    const dir = processes.tempDir();
    const db = join(dir, "wf.db");
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: db, LOG_LEVEL: "warn" };
    const server = await processes.spawn({ env, label: "SIGINT" });
    await server.waitHealthy();
    await server.start("chain", "chain-int", 7);
    await eventually("chain-int to be RUNNING", async () => {
      const state = await server.get("chain-int");
      return state?.runtimeStatus === "RUNNING" || `status is ${state?.runtimeStatus}`;
    });
    const exit = await server.stop("SIGINT", 8_000);
    expect(exit, `exit after SIGINT; stderr: ${server.stderr}`).toEqual({ code: 0, signal: null });

    const again = await processes.spawn({ env, label: "after SIGINT" });
    await again.waitHealthy();
    const state = await again.waitTerminal("chain-int", 10_000);
    expect(outputOf(state)).toBe(chainOutput(7));
  });

  it("SIGTERM on an idle server exits 0 promptly and leaves a database that reopens", async () => {
    const dir = processes.tempDir();
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: join(dir, "wf.db"), LOG_LEVEL: "warn" };
    const server = await processes.spawn({ env, label: "idle" });
    await server.waitHealthy();
    const sentAt = Date.now();
    expect(await server.stop("SIGTERM", 8_000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - sentAt).toBeLessThan(2_000);
    const again = await processes.spawn({ env, label: "reopen" });
    await again.waitHealthy();
  });
});
