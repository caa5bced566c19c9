/**
 * Hot instances: the in-process worker keeps live replays between steps (replay-cache.ts).
 * The cache must change nothing but speed: code runs once per step instead of replaying,
 * histories and outputs are identical with and without it, and anything unexpected falls
 * back to a replay from history.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { HistoryEvent } from "../../src/engine/history.js";
import type { ActivityContext, WorkflowContext } from "../../src/runtime/context.js";
import { ReplayCache } from "../../src/runtime/replay-cache.js";
import { Replay } from "../../src/runtime/replayer.js";
import { WorkflowRegistry } from "../../src/runtime/registry.js";
import { h, harnesses, outputOf, T0 } from "./helpers.js";

const open = harnesses();
afterEach(async () => open.closeAll());

describe("with hot instances", () => {
  it("each step runs only the new code: nothing is replayed while the instance stays hot", async () => {
    const runs: string[] = [];
    function work(_ctx: ActivityContext, n: number): number {
      return n * 2;
    }
    async function* counted(ctx: WorkflowContext): AsyncGenerator<unknown, number, any> {
      runs.push(`start replaying=${ctx.isReplaying()}`);
      const a: number = yield ctx.callActivity(work, 1);
      runs.push(`after a replaying=${ctx.isReplaying()}`);
      const b: number = yield ctx.callActivity(work, a);
      runs.push(`after b replaying=${ctx.isReplaying()}`);
      return b;
    }
    const app = await open.create({ workflows: (r) => r.registerWorkflow(counted).registerActivity(work) });
    const state = await app.waitForTerminal(await app.start("counted"));
    expect(outputOf(state)).toBe(4);
    expect(runs).toEqual(["start replaying=false", "after a replaying=false", "after b replaying=false"]);
  });

  it("records the same actions and outputs as replaying every step (timers, events, children, fan-out, failures)", async () => {
    function double(_ctx: ActivityContext, n: number): number {
      if (n === 13) throw new Error("unlucky");
      return n * 2;
    }
    async function* child(ctx: WorkflowContext, n: number): AsyncGenerator<unknown, number, any> {
      yield ctx.createTimer(0.01);
      return (yield ctx.callActivity(double, n)) as number;
    }
    async function* mixed(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      const fanned: number[] = yield ctx.whenAll([1, 2, 3, 4].map((n) => ctx.callActivity(double, n)));
      const fromChildren: number[] = yield ctx.whenAll([5, 6].map((n) => ctx.callChildWorkflow(child, n)));
      let caught = "";
      try {
        yield ctx.callActivity(double, 13);
      } catch (error) {
        caught = (error as Error).message;
      }
      ctx.setCustomStatus("waiting");
      const event = yield ctx.waitForExternalEvent("go");
      yield ctx.createTimer(0.01);
      return { fanned, fromChildren, caught, event, guid: ctx.newGuid() };
    }
    const register = (r: WorkflowRegistry) => r.registerWorkflow(mixed).registerWorkflow(child).registerActivity(double);
    const run = async (hotInstancesMax: number) => {
      const app = await open.create({ workflows: register, hotInstancesMax });
      const id = await app.start("mixed", undefined, "m");
      await app.waitForCustomStatus(id, "waiting");
      await app.raise(id, "go", { ok: true });
      const state = await app.waitForTerminal(id);
      // How results are batched into turns depends on timing (two children finishing in one
      // turn or in two), so the comparison is of what the code decided: the recorded actions
      // in action-ID order, and every event kind with its count.
      const shape = (events: readonly HistoryEvent[]) => ({
        actions: events.filter((e) => e.eventId >= 0).sort((a, b) => a.eventId - b.eventId).map((e) => `${e.kind}#${e.eventId}`),
        kinds: events.filter((e) => e.kind !== "orchestratorStarted").map((e) => e.kind).sort(),
      });
      return { output: outputOf(state), history: shape(await app.history(id)), child: shape(await app.history("m:0005")) };
    };
    const cold = await run(0);
    const hot = await run(10_000);
    expect(hot.output).toMatchObject({ fanned: [2, 4, 6, 8], fromChildren: [10, 12], event: { ok: true } });
    expect((hot.output as { caught: string }).caught).toContain("unlucky");
    // newGuid depends on the turn's time, which differs between the two runs; the rest is equal.
    const { guid: _a, ...hotRest } = hot.output as Record<string, unknown>;
    const { guid: _b, ...coldRest } = cold.output as Record<string, unknown>;
    expect(hotRest).toEqual(coldRest);
    expect(hot.history).toEqual(cold.history);
    expect(hot.child).toEqual(cold.child);
    expect(hot.history.actions).toContain("subOrchestrationInstanceCreated#5");
  });

  it("a restart (empty cache) replays from history and completes the instance", async () => {
    const { tempDir } = await import("./helpers.js");
    const dir = tempDir();
    try {
      const dbPath = `${dir.path}/restart.db`;
      async function* waits(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
        const first = yield ctx.waitForExternalEvent("a");
        ctx.setCustomStatus("got a");
        const second = yield ctx.waitForExternalEvent("b");
        return [first, second];
      }
      const before = await open.create({ dbPath, workflows: (r) => r.registerWorkflow(waits) });
      const id = await before.start("waits", undefined, "w");
      await before.raise(id, "a", 1);
      await before.waitForCustomStatus(id, "got a");
      await before.close();
      const after = await open.create({ dbPath, workflows: (r) => r.registerWorkflow(waits) });
      await after.raise(id, "b", 2);
      expect(outputOf(await after.waitForTerminal(id))).toEqual([1, 2]);
    } finally {
      dir.cleanup();
    }
  });
});

describe("ReplayCache", () => {
  async function* twoSteps(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
    const a = yield ctx.callActivity("a");
    return yield ctx.callActivity("b", a);
  }
  const registry = new WorkflowRegistry().registerWorkflow(twoSteps);
  const first = { instanceId: "i", executionId: "exec-1", pastEvents: [] as HistoryEvent[], newEvents: [h.orchStarted(), h.started("twoSteps")] };
  const committed = [...first.newEvents, h.taskScheduled(1, "a")];
  const second = { instanceId: "i", executionId: "exec-1", pastEvents: committed, newEvents: [h.orchStarted(T0 + 5), h.taskCompleted(1, "\"x\"")] };

  async function warmed(cache: ReplayCache) {
    const replay = new Replay(registry, "i");
    await replay.feed(first.pastEvents, first.newEvents);
    replay.result();
    cache.keep(first, replay);
    return replay;
  }

  it("continues a live replay when the history is what it saw plus the recorded actions", async () => {
    const cache = new ReplayCache(10);
    const replay = await warmed(cache);
    const hot = cache.take(second);
    expect(hot?.replay).toBe(replay);
    expect(hot?.catchUp).toEqual([h.taskScheduled(1, "a")]);
    await hot!.replay.feed(hot!.catchUp, second.newEvents);
    expect(hot!.replay.result().actions).toEqual([{ kind: "scheduleTask", id: 2, name: "b", input: "\"x\"" }]);
    expect(cache.stats).toMatchObject({ hits: 1, misses: 0 });
  });

  it.each([
    ["another execution", { ...second, executionId: "exec-2" }],
    ["a history without its last turn (that commit failed)", { ...second, pastEvents: [] }],
    ["a different last turn in history (another turn committed)", { ...second, pastEvents: [h.orchStarted(T0 + 1), h.started("twoSteps"), h.taskScheduled(1, "a")] }],
  ])("replays from scratch for %s", async (_label, request) => {
    const cache = new ReplayCache(10);
    await warmed(cache);
    expect(cache.take(request)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.stats).toMatchObject({ hits: 0, misses: 1 });
  });

  it("evicts the least recently used instance beyond its capacity", async () => {
    const cache = new ReplayCache(2);
    for (const id of ["a", "b", "c"]) cache.keep({ ...first, instanceId: id }, new Replay(registry, id));
    expect(cache.size).toBe(2);
    expect(cache.stats.evictions).toBe(1);
    expect(cache.take({ ...second, instanceId: "a" })).toBeUndefined();
  });
});
