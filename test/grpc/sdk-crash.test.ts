/**
 * Crashes on either side of the gRPC connection. The SDK app is its own process
 * (test/fixtures/sdk-app.mjs, the unchanged WorkflowRuntime); each test SIGKILLs the app or
 * workflowd while several five-step chains of slow activities are in flight, and checks that
 * every workflow still completes with the right output once the process is back.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, Fatal, outputOf } from "../process/harness.js";
import type { ServerProcess } from "../process/harness.js";
import { type AppProcess, connectedWorkers, sleep, useGrpcTest, waitWorkers } from "./helpers.js";
// @ts-expect-error -- a plain .mjs module shared with the fixture app (no declarations)
import { chainResult } from "../fixtures/sdk-workflows.mjs";

const t = useGrpcTest();

const instances = [1, 2, 3, 4].map((seed) => ({ id: `chain-${seed}`, seed }));
/** 150–300 ms per activity: a chain takes about a second. */
const delayMs = 150;

/** The activity log's lines, as [instanceId, taskId, activity]. */
function activityLog(file: string): string[][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => line.split(" "));
}

/** Waits until `n` activities have finished somewhere among the chains. */
async function whenActivitiesLogged(file: string, n: number): Promise<number> {
  return eventually(`${n} activities to finish`, () => {
    const count = activityLog(file).length;
    return count >= n ? count : `${count} so far`;
  }, 15_000, 10);
}

/**
 * Waits until the app's SDK worker is connected to `server` again. Fails at once when the
 * app's SDK logged that its worker gave up for good (it never retries after that).
 */
/**
 * workflowd has ended the app's first stream once it was idle and the SDK has reconnected:
 * from then on the Node SDK survives a workflowd crash (see src/grpc/reconnect-primer.ts).
 */
async function waitPrimed(app: AppProcess, server: ServerProcess): Promise<void> {
  await eventually("the app's first stream to be ended once idle", () =>
    app.output.includes("will retry the connection") ? true : "not yet", 15_000, 50);
  await waitReconnected(app, server, 5_000);
}

async function waitReconnected(app: AppProcess, server: ServerProcess, timeoutMs: number): Promise<void> {
  await eventually("the SDK app to reconnect", async () => {
    const gaveUp = app.output.split("\n").find((line) => line.includes("Worker failed"));
    if (gaveUp) throw new Fatal(`the app's SDK worker gave up instead of reconnecting: ${gaveUp}`);
    if (app.exitInfo) throw new Fatal(`the app exited: ${JSON.stringify(app.exitInfo)}`);
    const n = await connectedWorkers(server);
    return n >= 1 ? n : `connectedWorkers is ${n}`;
  }, timeoutMs, 50);
}

/** Every chain ran each of its steps at least once (at-least-once: some may have run twice). */
function expectEveryStepRan(file: string, steps = 5): void {
  const log = activityLog(file);
  for (const { id } of instances) {
    const taskIds = new Set(log.filter(([instance]) => instance === id).map(([, taskId]) => taskId));
    expect(taskIds.size, `distinct activities run for ${id}`).toBe(steps);
  }
}

describe("crashes", () => {
  it("SIGKILL of the SDK app mid-workflow: after the app starts again every workflow completes with the right output", async () => {
    const wd = await t.workflowd();
    const log = join(t.processes.tempDir(), "activities.log");
    const app = t.app(wd, { SDK_FIXTURE_LOG: log });
    await waitWorkers(wd.server, (n) => n >= 1, "to be at least 1 (the app)");
    await waitPrimed(app, wd.server);

    for (const { id, seed } of instances) await wd.server.start("sdkChain", id, { seed, delayMs });
    await whenActivitiesLogged(log, 6);
    await app.kill();
    const doneBeforeKill = activityLog(log).length;
    expect(doneBeforeKill).toBeLessThan(instances.length * 5);

    // No worker: nothing finishes, nothing fails.
    await waitWorkers(wd.server, (n) => n === 0, "to drop to 0");
    await sleep(500);
    for (const { id } of instances) expect((await wd.server.get(id))?.runtimeStatus, id).toBe("RUNNING");

    // The app comes back (a new process) and picks everything up.
    t.app(wd, { SDK_FIXTURE_LOG: log });
    for (const { id, seed } of instances) {
      const state = await wd.server.waitTerminal(id, 20_000);
      expect(state.runtimeStatus, id).toBe("COMPLETED");
      expect(outputOf(state), id).toBe(chainResult(seed));
    }
    expect(activityLog(log).length).toBeGreaterThan(doneBeforeKill);
    expectEveryStepRan(log);
  });

  // Note: @dapr/dapr 3.18's worker (task-hub-grpc-worker.js, internalRunWorker) re-throws
  // any error of its FIRST GetWorkItems stream — not only a failed first Hello — because
  // `isFirstAttempt` is cleared only after an iteration that ended without an error; the
  // worker then logs "Worker failed" and never retries. A SIGKILLed server is such an error
  // (UNAVAILABLE: Connection dropped) for an app that has not reconnected before; the test
  // below fails fast on that log line. The next test shows the same crash is survived once the
  // app's first stream has ended cleanly (a graceful restart).
  it("SIGKILL of workflowd mid-workflow: restarted on the same DB and gRPC port, the app reconnects by itself and every workflow completes", async () => {
    const wd = await t.workflowd();
    const log = join(t.processes.tempDir(), "activities.log");
    const app = t.app(wd, { SDK_FIXTURE_LOG: log });
    await waitWorkers(wd.server, (n) => n >= 1, "to be at least 1 (the app)");
    await waitPrimed(app, wd.server);

    for (const { id, seed } of instances) await wd.server.start("sdkChain", id, { seed, delayMs });
    await whenActivitiesLogged(log, 6);
    await wd.server.kill();
    const doneBeforeKill = activityLog(log).length;
    expect(doneBeforeKill).toBeLessThan(instances.length * 5);

    const restartedAt = Date.now();
    const again = await t.workflowd({}, wd);
    expect(again.grpcPort).toBe(wd.grpcPort);
    // The SDK's back-off starts at 1 s and doubles up to 30 s.
    await waitReconnected(app, again.server, 40_000);
    console.log(`sdk app reconnected ${Date.now() - restartedAt} ms after workflowd restarted`);

    for (const { id, seed } of instances) {
      const state = await again.server.waitTerminal(id, 15_000);
      expect(state.runtimeStatus, id).toBe("COMPLETED");
      expect(outputOf(state), id).toBe(chainResult(seed));
    }
    // The same app process did it: it was never restarted.
    expect(app.exitInfo).toBeUndefined();
    expect(activityLog(log).length).toBeGreaterThan(doneBeforeKill);
    expectEveryStepRan(log);
  }, 70_000);

  it("workflowd restarted gracefully (SIGTERM) and then SIGKILLed, both mid-workflow: the app reconnects both times and every workflow completes", async () => {
    const steps = 8;
    const wd = await t.workflowd();
    const log = join(t.processes.tempDir(), "activities.log");
    const app = t.app(wd, { SDK_FIXTURE_LOG: log });
    await waitWorkers(wd.server, (n) => n >= 1, "to be at least 1 (the app)");
    await waitPrimed(app, wd.server);
    for (const { id, seed } of instances) await wd.server.start("sdkChain", id, { seed, steps, delayMs });

    // Graceful: in-flight work is answered, the streams end cleanly, the app reconnects.
    await whenActivitiesLogged(log, 4);
    const exit = await wd.server.stop("SIGTERM");
    expect(exit.code).toBe(0);
    const second = await t.workflowd({}, wd);
    await waitReconnected(app, second.server, 40_000);

    // Hard: SIGKILL while activities are in flight.
    const beforeKill = activityLog(log).length;
    await whenActivitiesLogged(log, beforeKill + 4);
    await second.server.kill();
    expect(activityLog(log).length).toBeLessThan(instances.length * steps);
    const third = await t.workflowd({}, wd);
    await waitReconnected(app, third.server, 40_000);

    for (const { id, seed } of instances) {
      const state = await third.server.waitTerminal(id, 15_000);
      expect(state.runtimeStatus, id).toBe("COMPLETED");
      expect(outputOf(state), id).toBe(chainResult(seed, steps));
    }
    expect(app.exitInfo).toBeUndefined();
    expectEveryStepRan(log, steps);
  }, 70_000);
});
