/**
 * The acceptance criterion: SIGKILL the server in the middle of real work, twice, restart it
 * on the same database file each time, and every workflow still completes with exactly the
 * right output and a sound history (no lost or duplicated event, no leftover queue rows).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chainOutput, fanOutOutput, parseActivityLog } from "./expected.js";
import { eventually, Fatal, fixtureWorkflows, outputOf, type ServerProcess, useProcesses } from "./harness.js";
import { problemsOf, readStore, type InstanceExpectation } from "./store-check.js";

const processes = useProcesses();

describe("crash recovery (SIGKILL mid-run)", () => {
  it("completes every workflow exactly once across two SIGKILLs and restarts on the same database", async () => {
    const dir = processes.tempDir();
    const db = join(dir, "wf.db");
    const log = join(dir, "activities.log");
    // Activities take 150-450 ms: a chain runs for over a second, so both kills land mid-run
    // even on a slow, busy machine.
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: db, LOG_LEVEL: "warn", FIXTURE_LOG: log, FIXTURE_DELAY_MS: "150" };
    const activityRuns = () => parseActivityLog(existsSync(log) ? readFileSync(log, "utf8") : "");

    const workflows: (InstanceExpectation & { name: string; input: number })[] = [];
    for (let i = 1; i <= 10; i++) {
      workflows.push({ name: "chain", instanceId: `chain-${i}`, input: i, output: chainOutput(i), tasks: 5 });
      workflows.push({ name: "fanOut", instanceId: `fan-${i}`, input: i, output: fanOutOutput(i), tasks: 10 });
    }

    /** Polls every instance; counts the completed ones and those showing progress. */
    const survey = async (server: ServerProcess) => {
      const states = await Promise.all(workflows.map((w) => server.get(w.instanceId)));
      const completed = states.filter((s) => s?.runtimeStatus === "COMPLETED").length;
      const failed = states.filter((s) => s && s.runtimeStatus !== "COMPLETED" && s.runtimeStatus !== "RUNNING" && s.runtimeStatus !== "PENDING");
      if (failed.length > 0) throw new Fatal(`unexpected status: ${failed.map((s) => `${s!.instanceID}=${s!.runtimeStatus}`).join(", ")}`);
      const progressed = states.filter((s) => s?.runtimeStatus === "COMPLETED" || s?.properties?.["dapr.workflow.custom_status"]).length;
      return { completed, progressed };
    };

    /** Waits until at least `minRuns` more activities ran, some progress shows, and work remains; then SIGKILL. */
    const killMidRun = async (server: ServerProcess, minRuns: number) => {
      const before = activityRuns().length;
      await eventually(`${server.label} to make progress (>= ${minRuns} more activity runs) with workflows still unfinished`, async () => {
        const runs = activityRuns().length - before;
        const { completed, progressed } = await survey(server);
        if (completed === workflows.length) throw new Fatal(`all ${completed} workflows finished before the kill; the fixture is too fast`);
        return (runs >= minRuns && progressed > 0) || `${runs} activity runs, ${progressed} progressed, ${completed} completed`;
      }, 15_000, 10);
      const exit = await server.kill();
      expect(exit.signal).toBe("SIGKILL");
    };

    // Run 1: start everything, kill early.
    const first = await processes.spawn({ env, label: "run 1" });
    await first.waitHealthy();
    await Promise.all(workflows.map((w) => first.start(w.name, w.instanceId, w.input)));
    await killMidRun(first, 5);
    const runsAfterFirstKill = activityRuns().length;

    // Run 2: recovers and resumes; kill again mid-run.
    const second = await processes.spawn({ env, label: "run 2" });
    await second.waitHealthy();
    await killMidRun(second, 5);
    const runsAfterSecondKill = activityRuns().length;
    expect(runsAfterSecondKill).toBeGreaterThan(runsAfterFirstKill);

    // Run 3: everything must finish with exactly the right output.
    const third = await processes.spawn({ env, label: "run 3" });
    await third.waitHealthy();
    await eventually("every workflow to be COMPLETED after the last restart", async () => {
      const { completed } = await survey(third);
      return completed === workflows.length || `${completed} of ${workflows.length} completed`;
    }, 20_000, 50);
    for (const w of workflows) {
      const state = await third.get(w.instanceId);
      expect(state?.runtimeStatus, w.instanceId).toBe("COMPLETED");
      expect(outputOf(state), `${w.instanceId} output`).toEqual(w.output);
      expect(state?.workflowName).toBe(w.name);
    }

    // Every activity ran at least once; the kills interrupted leased work, which ran again.
    const runs = activityRuns();
    for (const w of workflows) {
      const taskIds = new Set(runs.filter((r) => r.instanceId === w.instanceId).map((r) => r.taskId));
      expect(taskIds.size, `distinct activities run for ${w.instanceId}`).toBe(w.tasks);
    }
    const again = runs.filter((r) => r.attempt > 1).length;
    console.info(`crash test: ${runs.length} activity runs (${runsAfterFirstKill} before kill 1, ${runsAfterSecondKill} before kill 2), ${again} with attempt > 1`);
    expect(
      again > 0,
      "some activity ran again (attempt > 1) after a kill: the kills did not hit any leased activity",
    ).toBe(true);

    const exit = await third.stop("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });

    // The database, read directly with the server stopped.
    const snapshot = readStore(db);
    expect(snapshot.instances.size).toBe(workflows.length);
    const problems = workflows.flatMap((w) => problemsOf(snapshot, w));
    expect(problems).toEqual([]);
    expect([...snapshot.inbox.values()].reduce((a, b) => a + b, 0), "inbox rows left").toBe(0);
    expect([...snapshot.activities.values()].reduce((a, b) => a + b, 0), "activities rows left").toBe(0);
  }, 50_000);

  it("an acknowledged start (202) survives a SIGKILL right after it", async () => {
    const dir = processes.tempDir();
    const db = join(dir, "wf.db");
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: db, LOG_LEVEL: "warn" };
    const first = await processes.spawn({ env, label: "killed after 202" });
    await first.waitHealthy();
    const seeds = [11, 12, 13, 14, 15];
    for (const seed of seeds) await first.start("chain", `early-${seed}`, seed);
    await first.kill();

    const second = await processes.spawn({ env, label: "restarted" });
    await second.waitHealthy();
    for (const seed of seeds) {
      const state = await second.waitTerminal(`early-${seed}`, 10_000);
      expect(state.runtimeStatus).toBe("COMPLETED");
      expect(outputOf(state)).toBe(chainOutput(seed));
    }
    expect(await second.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    const snapshot = readStore(db);
    const problems = seeds.flatMap((seed) => problemsOf(snapshot, { instanceId: `early-${seed}`, output: chainOutput(seed), tasks: 5 }));
    expect(problems).toEqual([]);
  });
});
