/**
 * replay() against hand-built ("golden") histories: the replayer's contract with the engine,
 * independent of scheduling. Each test states the history a real run would have written and
 * the exact actions the runtime must answer with (the Dapr SDK's behaviour, see
 * durabletask-protocol.md §5).
 */
import { describe, expect, it } from "vitest";
import type { WorkflowContext } from "../../src/runtime/context.js";
import { WorkflowRegistry } from "../../src/runtime/registry.js";
import type { Task } from "../../src/runtime/task.js";
import { completionOf, h, nonCompletion, runReplay, T0 } from "./helpers.js";

const T1 = T0 + 1_000;
const T2 = T0 + 2_000;
const T3 = T0 + 3_000;

function registryWith(name: string, workflow: (ctx: WorkflowContext, input: any) => unknown): WorkflowRegistry {
  return new WorkflowRegistry().registerWorkflowWithName(name, workflow);
}

describe("replay: scheduling and completion", () => {
  const chain = registryWith("chain", async function* (ctx: WorkflowContext, input: { x: number }) {
    const a: number = yield ctx.callActivity("a", input);
    const b: number = yield ctx.callActivity("b", a + 1);
    return { a, b };
  });

  it("a first turn returns the first activity with ID 1 and its JSON input", async () => {
    const result = await runReplay(chain, [], [h.orchStarted(T0), h.started("chain", '{"x":1}')]);
    expect(result.actions).toEqual([{ kind: "scheduleTask", id: 1, name: "a", input: '{"x":1}' }]);
    expect(result.customStatus).toBeUndefined();
  });

  it("a replay turn returns only the actions history has not recorded yet", async () => {
    const past = [h.orchStarted(T0), h.started("chain", '{"x":1}'), h.taskScheduled(1, "a", '{"x":1}'), h.orchCompleted()];
    const result = await runReplay(chain, past, [h.orchStarted(T1), h.taskCompleted(1, "5", T1)]);
    expect(result.actions).toEqual([{ kind: "scheduleTask", id: 2, name: "b", input: "6" }]);
  });

  it("a turn with nothing new to schedule returns no actions", async () => {
    const past = [h.orchStarted(T0), h.started("chain", '{"x":1}'), h.taskScheduled(1, "a")];
    const result = await runReplay(chain, past, [h.orchStarted(T1), h.raised("unrelated", "1")]);
    expect(result.actions).toEqual([]);
  });

  it("the last result completes the workflow: COMPLETED with the JSON result, ID after the last action", async () => {
    const past = [
      h.orchStarted(T0), h.started("chain", '{"x":1}'), h.taskScheduled(1, "a"),
      h.orchStarted(T1), h.taskCompleted(1, "5", T1), h.taskScheduled(2, "b", "6", T1),
    ];
    const result = await runReplay(chain, past, [h.orchStarted(T2), h.taskCompleted(2, "36", T2)]);
    expect(result.actions).toEqual([{ kind: "completeOrchestration", id: 3, status: "COMPLETED", result: '{"a":5,"b":36}' }]);
  });

  it("a result for an unknown task ID is ignored (stale result)", async () => {
    const past = [h.orchStarted(T0), h.started("chain", '{"x":1}'), h.taskScheduled(1, "a")];
    const result = await runReplay(chain, past, [h.orchStarted(T1), h.taskCompleted(7, "99", T1)]);
    expect(result.actions).toEqual([]);
  });

  it("an unregistered workflow fails with WorkflowNotRegisteredError", async () => {
    const result = await runReplay(chain, [], [h.orchStarted(T0), h.started("missing")]);
    expect(result.actions).toHaveLength(1);
    expect(completionOf(result)).toMatchObject({
      status: "FAILED",
      failureDetails: { errorType: "WorkflowNotRegisteredError", errorMessage: expect.stringContaining("missing") },
    });
  });

  it("the execution's input is JSON-parsed; non-JSON input arrives as the plain string; empty is undefined", async () => {
    const seen: unknown[] = [];
    const registry = registryWith("echo", (_ctx: WorkflowContext, input: unknown) => {
      seen.push(input);
      return input;
    });
    await runReplay(registry, [], [h.orchStarted(), h.started("echo", '{"k":[1,2]}')]);
    await runReplay(registry, [], [h.orchStarted(), h.started("echo", "not json")]);
    const empty = await runReplay(registry, [], [h.orchStarted(), h.started("echo", "")]);
    await runReplay(registry, [], [h.orchStarted(), h.started("echo", undefined)]);
    expect(seen).toEqual([{ k: [1, 2] }, "not json", undefined, undefined]);
    expect(completionOf(empty)).toEqual({ kind: "completeOrchestration", id: 1, status: "COMPLETED", result: undefined });
  });

  it("customStatus is reported on every turn, including replay-only turns", async () => {
    const registry = registryWith("status", async function* (ctx: WorkflowContext) {
      ctx.setCustomStatus("step 1");
      yield ctx.waitForExternalEvent("go");
      ctx.setCustomStatus("step 2");
      yield ctx.waitForExternalEvent("go");
    });
    const first = await runReplay(registry, [], [h.orchStarted(), h.started("status")]);
    expect(first.customStatus).toBe("step 1");
    const second = await runReplay(registry, [h.orchStarted(), h.started("status")], [h.orchStarted(T1), h.raised("go")]);
    expect(second.customStatus).toBe("step 2");
    expect(second.actions).toEqual([]);
  });

  it("ExecutionTerminated completes with TERMINATED and the reason as the result", async () => {
    const past = [h.orchStarted(T0), h.started("chain", '{"x":1}'), h.taskScheduled(1, "a")];
    const result = await runReplay(chain, past, [h.orchStarted(T1), h.terminated('"stop"', T1)]);
    expect(result.actions).toEqual([{ kind: "completeOrchestration", id: 2, status: "TERMINATED", result: '"stop"' }]);
  });
  it("a completing turn keeps the actions issued in it (fire-and-forget children are created)", async () => {
    // Current behaviour, documented: the SDK's setComplete drops pending actions, but
    // workflowd sends them with the completion, and the engine then creates fire-and-forget
    // children (test/api relies on this) while dropping activities and timers.
    const registry = registryWith("fireAndForget", (ctx: WorkflowContext) => {
      ctx.callChildWorkflow("orphan", { n: 1 });
      return "done";
    });
    const result = await runReplay(registry, [], [h.orchStarted(), h.started("fireAndForget")]);
    expect(result.actions).toEqual([
      { kind: "createSubOrchestration", id: 1, name: "orphan", instanceId: "", input: '{"n":1}' },
      { kind: "completeOrchestration", id: 2, status: "COMPLETED", result: '"done"' },
    ]);
  });

  it("an action confirmed by history is not sent again with the completion", async () => {
    const registry = registryWith("confirmed", async function* (ctx: WorkflowContext) {
      ctx.callActivity("notAwaited");
      yield ctx.createTimer(0);
      return "done";
    });
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("confirmed"), h.taskScheduled(1, "notAwaited"), h.timerCreated(2, T0)],
      [h.orchStarted(T1), h.timerFired(2, T0)],
    );
    expect(result.actions).toEqual([{ kind: "completeOrchestration", id: 3, status: "COMPLETED", result: '"done"' }]);
  });
});

describe("replay: time and isReplaying", () => {
  it("getCurrentUtcDateTime is each turn's OrchestratorStarted time, on replay too; isReplaying is true only for past events", async () => {
    const seen: [number, boolean][] = [];
    const registry = registryWith("clock", async function* (ctx: WorkflowContext) {
      seen.push([ctx.getCurrentUtcDateTime().getTime(), ctx.isReplaying()]);
      yield ctx.callActivity("a");
      seen.push([ctx.getCurrentUtcDateTime().getTime(), ctx.isReplaying()]);
      yield ctx.callActivity("b");
      seen.push([ctx.getCurrentUtcDateTime().getTime(), ctx.isReplaying()]);
      // A relative timer counts from the turn's time, not the wall clock.
      yield ctx.createTimer(10);
    });
    // ExecutionStarted is older than the turn's OrchestratorStarted: the turn's time wins.
    const past = [
      h.orchStarted(T1), h.started("clock", undefined, T0), h.taskScheduled(1, "a", undefined, T1),
      h.orchStarted(T2), h.taskCompleted(1, undefined, T2), h.taskScheduled(2, "b", undefined, T2),
    ];
    const result = await runReplay(registry, past, [h.orchStarted(T3), h.taskCompleted(2, undefined, T3)]);
    expect(seen).toEqual([
      [T1, true],
      [T2, true],
      [T3, false],
    ]);
    expect(result.actions).toEqual([{ kind: "createTimer", id: 3, fireAt: T3 + 10_000 }]);
  });

  it("createTimer(Date) uses the date as given", async () => {
    const at = new Date(T0 + 123_456);
    const registry = registryWith("dated", async function* (ctx: WorkflowContext) {
      yield ctx.createTimer(at);
      return "fired";
    });
    const first = await runReplay(registry, [], [h.orchStarted(T0), h.started("dated")]);
    expect(first.actions).toEqual([{ kind: "createTimer", id: 1, fireAt: at.getTime() }]);
    const fired = await runReplay(
      registry,
      [h.orchStarted(T0), h.started("dated"), h.timerCreated(1, at.getTime())],
      [h.orchStarted(at.getTime()), h.timerFired(1, at.getTime())],
    );
    expect(fired.actions).toEqual([{ kind: "completeOrchestration", id: 2, status: "COMPLETED", result: '"fired"' }]);
  });

  it("createTimer with an invalid date throws a TypeError into the workflow", async () => {
    const registry = registryWith("badTimer", async function* (ctx: WorkflowContext) {
      yield ctx.createTimer(new Date("nope"));
    });
    const result = await runReplay(registry, [], [h.orchStarted(T0), h.started("badTimer")]);
    expect(completionOf(result)).toMatchObject({ status: "FAILED", failureDetails: { errorType: "TypeError" } });
  });
});

describe("replay: composite tasks", () => {
  it("whenAll returns results in scheduling order whatever order they complete in", async () => {
    const registry = registryWith("fan", async function* (ctx: WorkflowContext) {
      return (yield ctx.whenAll([ctx.callActivity("a", 1), ctx.callActivity("a", 2), ctx.callActivity("a", 3)])) as unknown;
    });
    const first = await runReplay(registry, [], [h.orchStarted(), h.started("fan")]);
    expect(first.actions.map((a) => a.id)).toEqual([1, 2, 3]);
    const past = [h.orchStarted(), h.started("fan"), h.taskScheduled(1, "a", "1"), h.taskScheduled(2, "a", "2"), h.taskScheduled(3, "a", "3")];
    const partial = await runReplay(registry, past, [h.orchStarted(T1), h.taskCompleted(3, '"three"'), h.taskCompleted(1, '"one"')]);
    expect(partial.actions).toEqual([]);
    const done = await runReplay(
      registry,
      [...past, h.orchStarted(T1), h.taskCompleted(3, '"three"'), h.taskCompleted(1, '"one"')],
      [h.orchStarted(T2), h.taskCompleted(2, '"two"')],
    );
    expect(completionOf(done)).toMatchObject({ status: "COMPLETED", result: '["one","two","three"]' });
  });

  it("whenAll fails on the first failure without waiting for the others", async () => {
    const registry = registryWith("fanFail", async function* (ctx: WorkflowContext) {
      try {
        yield ctx.whenAll([ctx.callActivity("a"), ctx.waitForExternalEvent("never")]);
        return "no";
      } catch (error) {
        return (error as Error).name;
      }
    });
    const past = [h.orchStarted(), h.started("fanFail"), h.taskScheduled(1, "a")];
    const result = await runReplay(registry, past, [h.orchStarted(T1), h.taskFailed(1, { errorType: "Error", errorMessage: "x" })]);
    expect(completionOf(result)).toMatchObject({ status: "COMPLETED", result: '"TaskFailedError"' });
  });

  it("whenAll([]) completes at once with []", async () => {
    const registry = registryWith("empty", async function* (ctx: WorkflowContext) {
      return (yield ctx.whenAll([])) as unknown;
    });
    const result = await runReplay(registry, [], [h.orchStarted(), h.started("empty")]);
    expect(result.actions).toEqual([{ kind: "completeOrchestration", id: 1, status: "COMPLETED", result: "[]" }]);
  });

  it("whenAny yields the first task to complete; its result is read with getResult()", async () => {
    const registry = registryWith("race", async function* (ctx: WorkflowContext) {
      const slow = ctx.callActivity("slow");
      const fast = ctx.callActivity("fast");
      const winner: Task<unknown> = yield ctx.whenAny([slow, fast]);
      return { fastWon: winner === fast, value: winner.getResult() };
    });
    const past = [h.orchStarted(), h.started("race"), h.taskScheduled(1, "slow"), h.taskScheduled(2, "fast")];
    const result = await runReplay(registry, past, [h.orchStarted(T1), h.taskCompleted(2, '"quick"'), h.taskCompleted(1, '"late"')]);
    expect(completionOf(result)).toMatchObject({ status: "COMPLETED", result: '{"fastWon":true,"value":"quick"}' });
  });
});

describe("replay: errors", () => {
  it("a failed activity throws TaskFailedError into the workflow, with the activity's failure details", async () => {
    const registry = registryWith("catcher", async function* (ctx: WorkflowContext) {
      try {
        yield ctx.callActivity("charge");
      } catch (error) {
        const e = error as Error & { details?: unknown };
        return { name: e.name, message: e.message, details: e.details };
      }
    });
    const details = { errorType: "PaymentDeclined", errorMessage: "card declined", stackTrace: "at charge" };
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("catcher"), h.taskScheduled(1, "charge")],
      [h.orchStarted(T1), h.taskFailed(1, details)],
    );
    const completion = completionOf(result);
    expect(completion?.status).toBe("COMPLETED");
    const value = JSON.parse(completion!.result!) as { name: string; message: string; details: unknown };
    expect(value.name).toBe("TaskFailedError");
    expect(value.message).toContain("card declined");
    expect(value.details).toEqual(details);
  });

  it("an uncaught error fails the workflow with its type, message and stack", async () => {
    const registry = registryWith("thrower", async function* (ctx: WorkflowContext) {
      yield ctx.callActivity("a");
      throw new RangeError("out of range");
    });
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("thrower"), h.taskScheduled(1, "a")],
      [h.orchStarted(T1), h.taskCompleted(1)],
    );
    expect(result.actions).toHaveLength(1);
    const completion = completionOf(result)!;
    expect(completion.status).toBe("FAILED");
    expect(completion.failureDetails?.errorType).toBe("RangeError");
    expect(completion.failureDetails?.errorMessage).toBe("out of range");
    expect(completion.failureDetails?.stackTrace).toContain("out of range");
  });

  it("yielding something that is not a task fails the workflow with a clear TypeError", async () => {
    const registry = registryWith("badYield", async function* (_ctx: WorkflowContext) {
      yield Promise.resolve(42);
    });
    const result = await runReplay(registry, [], [h.orchStarted(), h.started("badYield")]);
    const completion = completionOf(result)!;
    expect(completion.status).toBe("FAILED");
    expect(completion.failureDetails?.errorType).toBe("TypeError");
    expect(completion.failureDetails?.errorMessage).toMatch(/may only yield tasks/);
  });

  it("a failed child workflow throws TaskFailedError into the parent", async () => {
    const registry = registryWith("parentWf", async function* (ctx: WorkflowContext) {
      try {
        yield ctx.callChildWorkflow("childWf", { n: 1 });
        return "no";
      } catch (error) {
        return (error as Error).message;
      }
    });
    const first = await runReplay(registry, [], [h.orchStarted(), h.started("parentWf")]);
    expect(first.actions).toEqual([{ kind: "createSubOrchestration", id: 1, name: "childWf", instanceId: "", input: '{"n":1}' }]);
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("parentWf"), h.childCreated(1, "childWf", "inst:0001")],
      [h.orchStarted(T1), h.childFailed(1, { errorType: "Error", errorMessage: "child broke" })],
    );
    const completion = completionOf(result)!;
    expect(completion.status).toBe("COMPLETED");
    expect(JSON.parse(completion.result!)).toContain("child broke");
  });
});

describe("replay: external events", () => {
  const collector = registryWith("collect", async function* (ctx: WorkflowContext) {
    const first: unknown = yield ctx.waitForExternalEvent("Item");
    const second: unknown = yield ctx.waitForExternalEvent("ITEM");
    return [first, second];
  });

  it("events raised before the wait are buffered and delivered in order; names are case-insensitive", async () => {
    const result = await runReplay(
      collector,
      [],
      [h.orchStarted(), h.raised("item", "1"), h.raised("iTeM", "2"), h.started("collect")],
    );
    expect(completionOf(result)).toMatchObject({ status: "COMPLETED", result: "[1,2]" });
  });

  it("events raised after the wait complete it, one waiter per event", async () => {
    const past = [h.orchStarted(), h.started("collect")];
    const one = await runReplay(collector, past, [h.orchStarted(T1), h.raised("ITEM", '"a"')]);
    expect(one.actions).toEqual([]);
    const two = await runReplay(collector, [...past, h.orchStarted(T1), h.raised("ITEM", '"a"')], [h.orchStarted(T2), h.raised("item", '"b"')]);
    expect(completionOf(two)).toMatchObject({ status: "COMPLETED", result: '["a","b"]' });
  });

  it("an event with no payload completes the wait with undefined", async () => {
    const registry = registryWith("bare", async function* (ctx: WorkflowContext) {
      const value: unknown = yield ctx.waitForExternalEvent("go");
      return value === undefined ? "undefined" : value;
    });
    const result = await runReplay(registry, [h.orchStarted(), h.started("bare")], [h.orchStarted(T1), h.raised("go")]);
    expect(completionOf(result)?.result).toBe('"undefined"');
  });
});

describe("replay: suspension", () => {
  const waiter = registryWith("waiter", async function* (ctx: WorkflowContext) {
    return (yield ctx.waitForExternalEvent("go")) as unknown;
  });
  const base = [h.orchStarted(), h.started("waiter")];

  it("while suspended, new events are held back and no actions are returned", async () => {
    const result = await runReplay(waiter, [...base, h.orchStarted(T1), h.suspended(T1)], [h.orchStarted(T2), h.raised("go", '"x"')]);
    expect(result.actions).toEqual([]);
  });

  it("at resume the held-back events are processed", async () => {
    const past = [...base, h.orchStarted(T1), h.suspended(T1), h.orchStarted(T2), h.raised("go", '"x"')];
    const result = await runReplay(waiter, past, [h.orchStarted(T3), h.resumed(T3)]);
    expect(completionOf(result)).toMatchObject({ status: "COMPLETED", result: '"x"' });
  });

  it("terminate is not held back by suspension", async () => {
    const result = await runReplay(waiter, [...base, h.orchStarted(T1), h.suspended(T1)], [h.orchStarted(T2), h.terminated(undefined, T2)]);
    expect(completionOf(result)).toMatchObject({ status: "TERMINATED" });
  });
});

describe("replay: continue-as-new", () => {
  const counter = registryWith("counter", async function* (ctx: WorkflowContext, n: number) {
    const tick: number = yield ctx.waitForExternalEvent("tick");
    ctx.continueAsNew(n + tick, true);
  });

  it("continueAsNew is a single CONTINUED_AS_NEW completion carrying the new input", async () => {
    const result = await runReplay(counter, [h.orchStarted(), h.started("counter", "0")], [h.orchStarted(T1), h.raised("tick", "1")]);
    expect(result.actions).toEqual([
      { kind: "completeOrchestration", id: 1, status: "CONTINUED_AS_NEW", result: "1", carryoverEvents: [] },
    ]);
  });

  it("with saveEvents, unconsumed events already received are carried over (names lower-cased)", async () => {
    const result = await runReplay(
      counter,
      [h.orchStarted(), h.raised("Other", '"o"'), h.started("counter", "0")],
      [h.orchStarted(T1), h.raised("tick", "1")],
    );
    expect(completionOf(result)?.carryoverEvents).toEqual([{ kind: "eventRaised", eventId: -1, timestamp: 0, name: "other", input: '"o"' }]);
  });

  it("with saveEvents, events that arrive later in the same turn are carried over too (as the SDK does)", async () => {
    // The SDK keeps processing the turn's events after continueAsNew and builds the
    // carry-over list at the end of the turn. Three ticks in one turn: the first is consumed,
    // the other two must reach the next execution.
    const result = await runReplay(
      counter,
      [h.orchStarted(), h.started("counter", "0")],
      [h.orchStarted(T1), h.raised("tick", "1"), h.raised("tick", "2"), h.raised("tick", "3")],
    );
    expect(completionOf(result)).toMatchObject({ status: "CONTINUED_AS_NEW", result: "1" });
    expect(completionOf(result)?.carryoverEvents).toEqual([
      { kind: "eventRaised", eventId: -1, timestamp: 0, name: "tick", input: "2" },
      { kind: "eventRaised", eventId: -1, timestamp: 0, name: "tick", input: "3" },
    ]);
  });

  it("without saveEvents nothing is carried over", async () => {
    const registry = registryWith("noSave", async function* (ctx: WorkflowContext) {
      yield ctx.waitForExternalEvent("tick");
      ctx.continueAsNew(1);
    });
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.raised("other", "9"), h.started("noSave")],
      [h.orchStarted(T1), h.raised("tick", "1")],
    );
    expect(completionOf(result)?.carryoverEvents ?? []).toEqual([]);
  });
});

describe("replay: non-determinism", () => {
  it("history's TaskScheduled 'a' at ID 1 vs code calling 'b' → FAILED NonDeterminismError naming both", async () => {
    const registry = registryWith("wf", async function* (ctx: WorkflowContext) {
      yield ctx.callActivity("b");
    });
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("wf"), h.taskScheduled(1, "a")],
      [h.orchStarted(T1), h.taskCompleted(1, "1")],
    );
    const completion = completionOf(result)!;
    expect(completion.status).toBe("FAILED");
    expect(completion.failureDetails?.errorType).toBe("NonDeterminismError");
    expect(completion.failureDetails?.errorMessage).toContain("'a'");
    expect(completion.failureDetails?.errorMessage).toContain("'b'");
    expect(completion.failureDetails?.errorMessage).toContain("1");
  });

  it("a non-determinism failure is the turn's only action (pending actions are dropped, as the SDK's setFailed does)", async () => {
    // The engine rejects a response that re-uses a recorded action ID (WorkerProtocolError),
    // so any pending action left next to the FAILED completion hides the real error.
    const registry = registryWith("wf", async function* (ctx: WorkflowContext) {
      yield ctx.callActivity("b");
    });
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("wf"), h.taskScheduled(1, "a")],
      [h.orchStarted(T1), h.taskCompleted(1, "1")],
    );
    expect(nonCompletion(result)).toEqual([]);
    expect(result.actions).toHaveLength(1);
  });

  it("history's TimerCreated at ID 1 vs code calling an activity → NonDeterminismError naming both", async () => {
    const registry = registryWith("wf", async function* (ctx: WorkflowContext) {
      yield ctx.callActivity("x");
    });
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("wf"), h.timerCreated(1, T0 + 5_000)],
      [h.orchStarted(T0 + 5_000), h.timerFired(1, T0 + 5_000)],
    );
    const completion = completionOf(result)!;
    expect(completion.status).toBe("FAILED");
    expect(completion.failureDetails?.errorType).toBe("NonDeterminismError");
    expect(completion.failureDetails?.errorMessage).toMatch(/createTimer/);
    expect(completion.failureDetails?.errorMessage).toMatch(/callActivity\('x'\)/);
  });

  it("history's child workflow 'c1' vs code calling child 'c2' → NonDeterminismError", async () => {
    const registry = registryWith("wf", async function* (ctx: WorkflowContext) {
      yield ctx.callChildWorkflow("c2");
    });
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("wf"), h.childCreated(1, "c1", "inst:0001")],
      [h.orchStarted(T1), h.childCompleted(1)],
    );
    const completion = completionOf(result)!;
    expect(completion.failureDetails?.errorType).toBe("NonDeterminismError");
    expect(completion.failureDetails?.errorMessage).toContain("'c1'");
    expect(completion.failureDetails?.errorMessage).toContain("'c2'");
  });

  it("history has an action the code no longer issues → NonDeterminismError", async () => {
    const registry = registryWith("wf", async function* (ctx: WorkflowContext) {
      return (yield ctx.waitForExternalEvent("go")) as unknown;
    });
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("wf"), h.taskScheduled(1, "a")],
      [h.orchStarted(T1), h.taskCompleted(1)],
    );
    const completion = completionOf(result)!;
    expect(completion.status).toBe("FAILED");
    expect(completion.failureDetails?.errorType).toBe("NonDeterminismError");
    expect(completion.failureDetails?.errorMessage).toContain("callActivity('a')");
  });
});
