/**
 * Durable timers, external events, suspend/resume and continue-as-new, end to end.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it, onTestFinished, vi } from "vitest";
import type { ActivityContext, WorkflowContext } from "../../src/runtime/context.js";
import type { WorkflowRegistry } from "../../src/runtime/registry.js";
import { gate, harnesses, outputOf, tempDir } from "./helpers.js";

const open = harnesses();
afterEach(async () => open.closeAll());

function appWith(workflows: (registry: WorkflowRegistry) => void) {
  return open.create({ workflows });
}

describe("durable timers", () => {
  it("createTimer(seconds) waits at least that long, measured in turn time", async () => {
    async function* nap(ctx: WorkflowContext): AsyncGenerator<unknown, number[], any> {
      const before = ctx.getCurrentUtcDateTime().getTime();
      yield ctx.createTimer(0.2);
      const after = ctx.getCurrentUtcDateTime().getTime();
      return [before, after];
    }
    const app = await appWith((r) => r.registerWorkflow(nap));
    const wallStart = Date.now();
    const state = await app.waitForTerminal(await app.start("nap"));
    expect(state.runtimeStatus).toBe("COMPLETED");
    const [before, after] = outputOf(state) as [number, number];
    expect(after - before).toBeGreaterThanOrEqual(200);
    expect(Date.now() - wallStart).toBeGreaterThanOrEqual(200);
    const timer = (await app.history(state.instanceID)).find((e) => e.kind === "timerCreated");
    expect(timer).toMatchObject({ eventId: 1, fireAt: before + 200 });
  });

  it("createTimer(Date) fires at that date", async () => {
    async function* alarm(ctx: WorkflowContext): AsyncGenerator<unknown, number[], any> {
      const at = new Date(ctx.getCurrentUtcDateTime().getTime() + 250);
      yield ctx.createTimer(at);
      return [at.getTime(), ctx.getCurrentUtcDateTime().getTime()];
    }
    const app = await appWith((r) => r.registerWorkflow(alarm));
    const state = await app.waitForTerminal(await app.start("alarm"));
    const [at, firedTurn] = outputOf(state) as [number, number];
    expect(firedTurn).toBeGreaterThanOrEqual(at);
    const fired = (await app.history(state.instanceID)).find((e) => e.kind === "timerFired");
    expect(fired).toMatchObject({ timerId: 1, fireAt: at });
  });

  it("a timer in the past fires at once", async () => {
    async function* past(ctx: WorkflowContext): AsyncGenerator<unknown, string, any> {
      yield ctx.createTimer(new Date(ctx.getCurrentUtcDateTime().getTime() - 60_000));
      yield ctx.createTimer(0);
      return "done";
    }
    const app = await appWith((r) => r.registerWorkflow(past));
    const state = await app.waitForTerminal(await app.start("past"));
    expect(outputOf(state)).toBe("done");
  });

  it("timers run in parallel: whenAll of three 0.2 s timers takes about 0.2 s of turn time", async () => {
    async function* parallel(ctx: WorkflowContext): AsyncGenerator<unknown, number, any> {
      const start = ctx.getCurrentUtcDateTime().getTime();
      yield ctx.whenAll([ctx.createTimer(0.2), ctx.createTimer(0.2), ctx.createTimer(0.2)]);
      return ctx.getCurrentUtcDateTime().getTime() - start;
    }
    const app = await appWith((r) => r.registerWorkflow(parallel));
    const state = await app.waitForTerminal(await app.start("parallel"));
    const elapsed = outputOf(state) as number;
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(elapsed).toBeLessThan(5_000);
  });
});

describe("external events", () => {
  it("an event raised after the workflow waits completes the wait with its payload", async () => {
    async function* waiter(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      ctx.setCustomStatus("waiting");
      return yield ctx.waitForExternalEvent("go");
    }
    const app = await appWith((r) => r.registerWorkflow(waiter));
    const id = await app.start("waiter");
    await app.waitForCustomStatus(id, "waiting");
    await app.raise(id, "go", { payload: [1, "two"] });
    expect(outputOf(await app.waitForTerminal(id))).toEqual({ payload: [1, "two"] });
  });

  it("events raised before the workflow waits are buffered; same-name events arrive in order; names are case-insensitive", async () => {
    const held = gate();
    async function hold(): Promise<void> {
      await held.promise;
    }
    async function* collector(ctx: WorkflowContext): AsyncGenerator<unknown, unknown[], any> {
      yield ctx.callActivity(hold);
      const a: unknown = yield ctx.waitForExternalEvent("item");
      const b: unknown = yield ctx.waitForExternalEvent("ITEM");
      const c: unknown = yield ctx.waitForExternalEvent("Other");
      return [a, b, c];
    }
    const app = await appWith((r) => r.registerWorkflow(collector).registerActivity(hold));
    const id = await app.start("collector");
    // The workflow is blocked on the held activity: nobody waits for events yet.
    await vi.waitFor(async () => expect((await app.history(id)).some((e) => e.kind === "taskScheduled")).toBe(true));
    await app.raise(id, "Item", 1);
    await app.raise(id, "OTHER", "o");
    await app.raise(id, "item", 2);
    await vi.waitFor(async () => expect((await app.history(id)).filter((e) => e.kind === "eventRaised")).toHaveLength(3));
    held.open();
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toEqual([1, 2, "o"]);
  });

  it("an event raised with no body completes the wait with undefined", async () => {
    async function* bare(ctx: WorkflowContext): AsyncGenerator<unknown, string, any> {
      ctx.setCustomStatus("waiting");
      const value: unknown = yield ctx.waitForExternalEvent("ping");
      return value === undefined ? "undefined" : JSON.stringify(value);
    }
    const app = await appWith((r) => r.registerWorkflow(bare));
    const id = await app.start("bare");
    await app.waitForCustomStatus(id, "waiting");
    await app.raise(id, "ping");
    expect(outputOf(await app.waitForTerminal(id))).toBe("undefined");
  });

  it("an event for a finished instance is accepted and changes nothing", async () => {
    const app = await appWith((r) => r.registerWorkflowWithName("quick", () => "done"));
    const id = await app.start("quick");
    const before = await app.waitForTerminal(id);
    await app.raise(id, "late", 1);
    const after = await app.get(id);
    expect(after).toEqual(before);
  });
});

describe("suspend and resume", () => {
  it("events raised while suspended are processed only after resume", async () => {
    async function* approval(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      ctx.setCustomStatus("waiting");
      const answer: unknown = yield ctx.waitForExternalEvent("answer");
      return { answer };
    }
    const app = await appWith((r) => r.registerWorkflow(approval));
    const id = await app.start("approval");
    await app.waitForCustomStatus(id, "waiting");

    await app.command(id, "pause");
    await app.waitForStatus(id, "SUSPENDED");
    await app.raise(id, "answer", "yes");
    // The event is in history, yet the instance has not acted on it.
    await vi.waitFor(async () => expect((await app.history(id)).some((e) => e.kind === "eventRaised")).toBe(true));
    const suspended = await app.get(id);
    expect(suspended?.runtimeStatus).toBe("SUSPENDED");
    expect(suspended?.properties?.["dapr.workflow.output"]).toBeUndefined();

    await app.command(id, "resume");
    const done = await app.waitForTerminal(id);
    expect(done.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(done)).toEqual({ answer: "yes" });
  });

  it("an activity that finishes while suspended is applied after resume", async () => {
    const held = gate();
    async function slowStep(): Promise<string> {
      await held.promise;
      return "step done";
    }
    async function* stepper(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callActivity(slowStep);
    }
    const app = await appWith((r) => r.registerWorkflow(stepper).registerActivity(slowStep));
    const id = await app.start("stepper");
    await vi.waitFor(async () => expect((await app.history(id)).some((e) => e.kind === "taskScheduled")).toBe(true));
    await app.command(id, "pause");
    await app.waitForStatus(id, "SUSPENDED");
    held.open();
    await vi.waitFor(async () => expect((await app.history(id)).some((e) => e.kind === "taskCompleted")).toBe(true));
    expect((await app.get(id))?.runtimeStatus).toBe("SUSPENDED");
    await app.command(id, "resume");
    expect(outputOf(await app.waitForTerminal(id))).toBe("step done");
  });

  it("terminate works on a suspended instance", async () => {
    async function* forever(ctx: WorkflowContext): AsyncGenerator<unknown, void, any> {
      yield ctx.waitForExternalEvent("never");
    }
    const app = await appWith((r) => r.registerWorkflow(forever));
    const id = await app.start("forever");
    await app.waitForStatus(id, "RUNNING");
    await app.command(id, "pause");
    await app.waitForStatus(id, "SUSPENDED");
    await app.command(id, "terminate");
    await app.waitForStatus(id, "TERMINATED");
  });
});

describe("continueAsNew", () => {
  it("a counter continues as new until n reaches 3, then returns n", async () => {
    const executions: number[] = [];
    async function* counter(ctx: WorkflowContext, n: number): AsyncGenerator<unknown, number | undefined, any> {
      if (!ctx.isReplaying()) executions.push(n ?? 0);
      yield ctx.createTimer(0);
      if ((n ?? 0) >= 3) return n;
      ctx.continueAsNew((n ?? 0) + 1);
      return undefined;
    }
    const app = await appWith((r) => r.registerWorkflow(counter));
    const id = await app.start("counter");
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toBe(3);
    expect(state.properties?.["dapr.workflow.input"]).toBe("3");
    expect(executions).toEqual([0, 1, 2, 3]);
    // History holds the last execution only, restarting at action ID 1.
    const history = await app.history(id);
    expect(history.filter((e) => e.kind === "executionStarted")).toHaveLength(1);
    expect(history.find((e) => e.kind === "timerCreated")?.eventId).toBe(1);
  });

  /** Waits for "tick" and continues as new (keeping unconsumed events) until it has seen three. */
  async function* tickUntilThree(ctx: WorkflowContext, state?: { n: number; seen: unknown[] }): AsyncGenerator<unknown, unknown, any> {
    const current = state ?? { n: 0, seen: [] };
    ctx.setCustomStatus(`waiting ${current.n}`);
    const tick: unknown = yield ctx.waitForExternalEvent("tick");
    const next = { n: current.n + 1, seen: [...current.seen, tick] };
    if (next.n >= 3) return next;
    ctx.continueAsNew(next, true);
    return undefined;
  }

  it("events raised between executions are not lost (saveEvents true)", async () => {
    const app = await appWith((r) => r.registerWorkflowWithName("ticker", tickUntilThree));
    const id = await app.start("ticker");
    await app.waitForCustomStatus(id, "waiting 0");
    // All three at once: the later ones arrive while the instance continues as new.
    await app.raise(id, "tick", "a");
    await app.raise(id, "tick", "b");
    await app.raise(id, "tick", "c");
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toEqual({ n: 3, seen: ["a", "b", "c"] });
  });

  it("events delivered in the same turn as the continueAsNew are carried over (saveEvents true)", async () => {
    // Suspending makes the three events reach the workflow in one turn (at resume): the
    // first one triggers continueAsNew, the other two must be carried into the next execution.
    const app = await appWith((r) => r.registerWorkflowWithName("batcher", tickUntilThree));
    const id = await app.start("batcher");
    await app.waitForCustomStatus(id, "waiting 0");
    await app.command(id, "pause");
    await app.waitForStatus(id, "SUSPENDED");
    await app.raise(id, "tick", "a");
    await app.raise(id, "tick", "b");
    await app.raise(id, "tick", "c");
    await vi.waitFor(async () => expect((await app.history(id)).filter((e) => e.kind === "eventRaised")).toHaveLength(3));
    await app.command(id, "resume");
    const state = await app.waitFor(id, (s) => s.runtimeStatus !== "RUNNING" && s.runtimeStatus !== "SUSPENDED", 3_000)
      .catch(async () => app.get(id));
    expect(state?.runtimeStatus, `instance state: ${JSON.stringify(state)}`).toBe("COMPLETED");
    expect(outputOf(state!)).toEqual({ n: 3, seen: ["a", "b", "c"] });
  });

  it("without saveEvents, a continueAsNew still sees events raised after it", async () => {
    async function* loop(ctx: WorkflowContext, n?: number): AsyncGenerator<unknown, number, any> {
      const count = n ?? 0;
      ctx.setCustomStatus(`at ${count}`);
      yield ctx.waitForExternalEvent("next");
      if (count + 1 >= 2) return count + 1;
      ctx.continueAsNew(count + 1);
      return -1;
    }
    const app = await appWith((r) => r.registerWorkflow(loop));
    const id = await app.start("loop");
    await app.waitForCustomStatus(id, "at 0");
    await app.raise(id, "next");
    await app.waitForCustomStatus(id, "at 1");
    await app.raise(id, "next");
    expect(outputOf(await app.waitForTerminal(id))).toBe(2);
  });
});

describe("unregistered activity", () => {
  it("stays queued (never claimed) and the instance keeps RUNNING", async () => {
    function real(): string {
      return "real";
    }
    async function* usesGhost(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      const ghost = ctx.callActivity("ghost", { x: 1 });
      const r: string = yield ctx.callActivity(real);
      ctx.setCustomStatus(`${r} done`);
      return yield ghost;
    }
    const app = await appWith((r) => r.registerWorkflow(usesGhost).registerActivity(real));
    const id = await app.start("usesGhost");
    // "real" was scheduled in the same turn as "ghost" and has finished.
    await app.waitForCustomStatus(id, "real done");
    const state = await app.get(id);
    expect(state?.runtimeStatus).toBe("RUNNING");
    expect((await app.history(id)).filter((e) => e.kind === "taskFailed")).toEqual([]);
    // The ghost row is still in the activity queue and was never leased: a claim for any
    // name gets it as its first attempt.
    const claimed = await app.wd.store.claimActivities("probe", Date.now(), 60_000, 10);
    expect(claimed).toEqual([
      expect.objectContaining({ instanceId: id, name: "ghost", taskId: 1, input: '{"x":1}', attempts: 1 }),
    ]);
  });
});

describe("unregistered activity after a restart", () => {
  it("is picked up once a process that registers it serves the database", async () => {
    const dir = tempDir();
    // Runs after the afterEach hooks, so the apps are closed before their files go.
    onTestFinished(() => dir.cleanup());
    const dbPath = join(dir.path, "wf.db");
    async function* later(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      ctx.setCustomStatus("scheduled");
      return yield ctx.callActivity("lateActivity", 2);
    }
    const first = await open.create({ workflows: (r) => r.registerWorkflowWithName("later", later), dbPath });
    const id = await first.start("later");
    await first.waitForCustomStatus(id, "scheduled");
    await first.close();

    const second = await open.create({
      workflows: (r) => r.registerWorkflowWithName("later", later).registerActivityWithName("lateActivity", (_c, n: number) => n * 21),
      dbPath,
    });
    const state = await second.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toBe(42);
  });
});

describe("activity context: reused function names", () => {
  it("callActivity accepts the function or its registered name", async () => {
    function shout(_ctx: ActivityContext, s: string): string {
      return s.toUpperCase();
    }
    async function* names(ctx: WorkflowContext): AsyncGenerator<unknown, string[], any> {
      const a: string = yield ctx.callActivity(shout, "by function");
      const b: string = yield ctx.callActivity("shout", "by name");
      const c: string = yield ctx.callActivity("aliased", "by alias");
      return [a, b, c];
    }
    const app = await appWith((r) =>
      r.registerWorkflow(names).registerActivity(shout).registerActivityWithName("aliased", shout),
    );
    expect(outputOf(await app.waitForTerminal(await app.start("names")))).toEqual(["BY FUNCTION", "BY NAME", "BY ALIAS"]);
  });
});
