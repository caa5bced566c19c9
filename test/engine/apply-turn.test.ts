import { describe, expect, it } from "vitest";
import type { OrchestratorAction } from "../../src/engine/actions.js";
import type { FailureDetails, HistoryEvent, ParentInstance } from "../../src/engine/history.js";
import {
  applyTurn,
  prepareTurn,
  workerProtocolErrorType,
  type Effect,
  type TurnOutcome,
} from "../../src/engine/turn.js";
import { ev, inbox, kinds, result, runTurn, startedHistory, T0, turnIds } from "./builders.js";

const NOW = T0 + 5000;

/** A running instance "inst" (workflow "wf", execution "exec-0") that gets one raised event. */
function execute(actions: OrchestratorAction[], history: HistoryEvent[] = startedHistory({}), customStatus?: string) {
  return runTurn(history, [ev.raised("go")], result(actions, customStatus), NOW).outcome;
}

function effectKinds(outcome: TurnOutcome): string[] {
  return outcome.effects.map((e) => e.kind);
}

function delivers(outcome: TurnOutcome): Extract<Effect, { kind: "deliver" }>[] {
  return outcome.effects.filter((e): e is Extract<Effect, { kind: "deliver" }> => e.kind === "deliver");
}

function lastEvent(outcome: TurnOutcome): HistoryEvent | undefined {
  return outcome.events[outcome.events.length - 1];
}

const complete = (
  status: "COMPLETED" | "FAILED" | "TERMINATED" | "CONTINUED_AS_NEW",
  extra: { id?: number; result?: string; failureDetails?: FailureDetails; carryoverEvents?: { name: string; input?: string }[] } = {},
): OrchestratorAction => ({
  kind: "completeOrchestration",
  id: extra.id ?? 9,
  status,
  ...extra,
  // The worker sends carried-over events as history events (event ID -1, time 0).
  ...(extra.carryoverEvents ? { carryoverEvents: extra.carryoverEvents.map((e) => ({ kind: "eventRaised" as const, eventId: -1, timestamp: 0, ...e })) } : {}),
});

describe("applyTurn: scheduling actions", () => {
  it("keeps the turn's new events first and appends", () => {
    const outcome = execute([]);
    expect(outcome.historyMode).toBe("append");
    expect(kinds(outcome.events)).toEqual(["orchestratorStarted", "eventRaised"]);
    expect(outcome.effects).toEqual([]);
    expect(outcome.requeue).toEqual([]);
    expect(outcome.state?.status).toBe("RUNNING");
    expect(outcome.state?.lastUpdatedAt).toBe(NOW);
  });

  it("passes customStatus through", () => {
    expect(execute([], startedHistory({}), "step 2").customStatus).toBe("step 2");
    expect(execute([]).customStatus).toBeUndefined();
  });

  it("scheduleTask → TaskScheduled with eventId = action id, and a scheduleActivity effect", () => {
    const outcome = execute([{ kind: "scheduleTask", id: 1, name: "charge", input: '{"amount":3}' }]);
    expect(lastEvent(outcome)).toEqual({
      kind: "taskScheduled",
      eventId: 1,
      timestamp: NOW,
      name: "charge",
      input: '{"amount":3}',
    });
    expect(outcome.effects).toEqual([{ kind: "scheduleActivity", taskId: 1, name: "charge", input: '{"amount":3}', scheduled: outcome.events.at(-1) }]);
    expect(outcome.state?.scheduledIds.has(1)).toBe(true);
  });

  it("createTimer → TimerCreated and a scheduleTimer effect carrying TimerFired", () => {
    const fireAt = NOW + 60_000;
    const outcome = execute([{ kind: "createTimer", id: 2, fireAt }]);
    expect(lastEvent(outcome)).toEqual({ kind: "timerCreated", eventId: 2, timestamp: NOW, fireAt });
    expect(outcome.effects).toHaveLength(1);
    expect(outcome.effects[0]).toMatchObject({
      kind: "scheduleTimer",
      fireAt,
      event: { kind: "timerFired", timerId: 2, fireAt, eventId: -1 },
    });
  });

  const childIds: { actionId: number; requested: string; expected: string }[] = [
    { actionId: 1, requested: "", expected: "inst:0001" },
    { actionId: 3, requested: "", expected: "inst:0003" },
    { actionId: 26, requested: "", expected: "inst:001a" },
    { actionId: 0xbeef, requested: "", expected: "inst:beef" },
    { actionId: 4, requested: "my-child", expected: "my-child" },
  ];
  it.each(childIds)("createSubOrchestration id=$actionId, instanceId='$requested' → $expected", ({ actionId, requested, expected }) => {
    const outcome = execute([
      { kind: "createSubOrchestration", id: actionId, instanceId: requested, name: "child", input: "42" },
    ]);
    expect(lastEvent(outcome)).toEqual({
      kind: "subOrchestrationInstanceCreated",
      eventId: actionId,
      timestamp: NOW,
      instanceId: expected,
      name: "child",
      input: "42",
    });
    expect(outcome.effects).toEqual([
      {
        kind: "createChild",
        created: outcome.events.at(-1),
        event: {
          kind: "executionStarted",
          eventId: -1,
          timestamp: NOW,
          name: "child",
          instanceId: expected,
          executionId: "new-exec-1",
          input: "42",
          parentInstance: { taskScheduledId: actionId, name: "wf", instanceId: "inst", executionId: "exec-0" },
        },
      },
    ]);
    expect([...(outcome.state?.openChildren ?? [])]).toEqual([[actionId, expected]]);
  });

  it("derived child IDs use 4 lowercase hex digits", () => {
    const outcome = execute([{ kind: "createSubOrchestration", id: 171, instanceId: "", name: "c" }]);
    const created = outcome.effects[0];
    expect(created?.kind === "createChild" ? created.event.instanceId : undefined).toMatch(/^inst:[0-9a-f]{4}$/);
  });

  it("gives every child a fresh execution ID", () => {
    const outcome = execute([
      { kind: "createSubOrchestration", id: 1, instanceId: "", name: "c" },
      { kind: "createSubOrchestration", id: 2, instanceId: "", name: "c" },
    ]);
    const execIds = outcome.effects.flatMap((e) => (e.kind === "createChild" ? [e.event.executionId] : []));
    expect(execIds).toHaveLength(2);
    expect(new Set(execIds).size).toBe(2);
  });

  it("sendEvent → EventSent in history and an EventRaised delivered to the target", () => {
    const outcome = execute([{ kind: "sendEvent", id: 5, instanceId: "other", name: "ping", data: '"hi"' }]);
    expect(lastEvent(outcome)).toEqual({
      kind: "eventSent",
      eventId: 5,
      timestamp: NOW,
      instanceId: "other",
      name: "ping",
      input: '"hi"',
    });
    expect(outcome.effects).toEqual([
      {
        kind: "deliver",
        instanceId: "other",
        event: { kind: "eventRaised", eventId: -1, timestamp: NOW, name: "ping", input: '"hi"' },
      },
    ]);
  });

  it("terminateOrchestration → no history event, ExecutionTerminated delivered to the target", () => {
    const outcome = execute([{ kind: "terminateOrchestration", id: 6, instanceId: "other", reason: "stop", recurse: true }]);
    expect(kinds(outcome.events)).toEqual(["orchestratorStarted", "eventRaised"]);
    expect(outcome.effects).toEqual([
      {
        kind: "deliver",
        instanceId: "other",
        event: { kind: "executionTerminated", eventId: -1, timestamp: NOW, input: "stop", recurse: true },
      },
    ]);
  });

  it("keeps action order in history and effects", () => {
    const outcome = execute([
      { kind: "scheduleTask", id: 1, name: "a" },
      { kind: "createTimer", id: 2, fireAt: NOW + 1 },
      { kind: "scheduleTask", id: 3, name: "b" },
    ]);
    expect(outcome.events.map((e) => e.eventId)).toEqual([-1, -1, 1, 2, 3]);
    expect(effectKinds(outcome)).toEqual(["scheduleActivity", "scheduleTimer", "scheduleActivity"]);
  });
});

describe("applyTurn: completion", () => {
  it("COMPLETED → ExecutionCompleted and state COMPLETED with output", () => {
    const outcome = execute([complete("COMPLETED", { id: 4, result: '"done"' })]);
    expect(lastEvent(outcome)).toMatchObject({ kind: "executionCompleted", eventId: 4, status: "COMPLETED", result: '"done"' });
    expect(outcome.state?.status).toBe("COMPLETED");
    expect(outcome.state?.output).toBe('"done"');
    expect(outcome.state?.failureDetails).toBeUndefined();
    expect(outcome.historyMode).toBe("append");
    expect(outcome.requeue).toEqual([]);
  });

  it("COMPLETED without a result has no output", () => {
    const outcome = execute([complete("COMPLETED")]);
    expect(outcome.state?.status).toBe("COMPLETED");
    expect(outcome.state?.output).toBeUndefined();
  });

  const failures: { name: string; details: FailureDetails | undefined; errorType?: string; errorMessage?: string }[] = [
    { name: "no failure details", details: undefined },
    { name: "empty type and message", details: { errorType: "", errorMessage: "" } },
    { name: "empty message", details: { errorType: "TypeError", errorMessage: "" }, errorType: "TypeError" },
    { name: "empty type", details: { errorType: "", errorMessage: "oops" }, errorMessage: "oops" },
    { name: "full details", details: { errorType: "RangeError", errorMessage: "too big" }, errorType: "RangeError", errorMessage: "too big" },
  ];
  it.each(failures)("FAILED ($name) → non-empty errorType and errorMessage, no output", ({ details, errorType, errorMessage }) => {
    const outcome = execute([complete("FAILED", { result: '"ignored"', ...(details ? { failureDetails: details } : {}) })]);
    const state = outcome.state;
    expect(state?.status).toBe("FAILED");
    expect(state?.output).toBeUndefined();
    expect(state?.failureDetails?.errorType).toBeTruthy();
    expect(state?.failureDetails?.errorMessage).toBeTruthy();
    if (errorType) expect(state?.failureDetails?.errorType).toBe(errorType);
    if (errorMessage) expect(state?.failureDetails?.errorMessage).toBe(errorMessage);
    expect(lastEvent(outcome)).toMatchObject({ kind: "executionCompleted", status: "FAILED", result: undefined });
  });

  it("FAILED keeps the stack trace and inner failure", () => {
    const details: FailureDetails = {
      errorType: "Error",
      errorMessage: "outer",
      stackTrace: "at f()",
      innerFailure: { errorType: "Inner", errorMessage: "inner" },
    };
    const outcome = execute([complete("FAILED", { failureDetails: details })]);
    expect(outcome.state?.failureDetails).toEqual(details);
  });

  it("TERMINATED from the worker → state TERMINATED with the result as output", () => {
    const outcome = execute([complete("TERMINATED", { result: "why" })]);
    expect(outcome.state?.status).toBe("TERMINATED");
    expect(outcome.state?.output).toBe("why");
  });

  const firstWins: { name: string; actions: OrchestratorAction[]; status: string; output: string | undefined }[] = [
    {
      name: "COMPLETED then FAILED",
      actions: [complete("COMPLETED", { id: 1, result: "1" }), complete("FAILED", { id: 2 })],
      status: "COMPLETED",
      output: "1",
    },
    {
      name: "FAILED then COMPLETED",
      actions: [complete("FAILED", { id: 1 }), complete("COMPLETED", { id: 2, result: "2" })],
      status: "FAILED",
      output: undefined,
    },
    {
      name: "COMPLETED then CONTINUED_AS_NEW",
      actions: [complete("COMPLETED", { id: 1, result: "1" }), complete("CONTINUED_AS_NEW", { id: 2, result: "x" })],
      status: "COMPLETED",
      output: "1",
    },
  ];
  it.each(firstWins)("only the first completion counts: $name", ({ actions, status, output }) => {
    const outcome = execute(actions);
    expect(outcome.historyMode).toBe("append");
    expect(outcome.requeue).toEqual([]);
    expect(outcome.events.filter((e) => e.kind === "executionCompleted")).toHaveLength(1);
    expect(outcome.state?.status).toBe(status);
    expect(outcome.state?.output).toBe(output);
  });

  it("actions after the completion are ignored", () => {
    const outcome = execute([
      complete("COMPLETED", { id: 1 }),
      { kind: "scheduleTask", id: 2, name: "late" },
      { kind: "sendEvent", id: 3, instanceId: "other", name: "late" },
    ]);
    expect(kinds(outcome.events)).toEqual(["orchestratorStarted", "eventRaised", "executionCompleted"]);
    expect(outcome.effects).toEqual([]);
  });

  it("activities and timers scheduled in the completing turn produce no effects but stay in history", () => {
    const outcome = execute([
      { kind: "scheduleTask", id: 1, name: "a" },
      { kind: "createTimer", id: 2, fireAt: NOW + 1000 },
      { kind: "sendEvent", id: 3, instanceId: "other", name: "bye" },
      complete("COMPLETED", { id: 4 }),
    ]);
    expect(effectKinds(outcome)).not.toContain("scheduleActivity");
    expect(effectKinds(outcome)).not.toContain("scheduleTimer");
    expect(delivers(outcome).map((d) => d.instanceId)).toEqual(["other"]);
    expect(kinds(outcome.events)).toEqual([
      "orchestratorStarted",
      "eventRaised",
      "taskScheduled",
      "timerCreated",
      "eventSent",
      "executionCompleted",
    ]);
  });

  it("a top-level instance sends no completion notice", () => {
    for (const status of ["COMPLETED", "FAILED", "TERMINATED"] as const) {
      expect(execute([complete(status)]).effects).toEqual([]);
    }
  });
});

describe("applyTurn: child completion notifies the parent", () => {
  const parent: ParentInstance = { taskScheduledId: 5, name: "parentWf", instanceId: "p", executionId: "pe" };
  const childHistory = startedHistory({ instanceId: "p:0005", parent });

  it("COMPLETED → SubOrchestrationInstanceCompleted with the parent's taskScheduledId and the result", () => {
    const outcome = execute([complete("COMPLETED", { result: '"r"' })], childHistory);
    expect(delivers(outcome)).toEqual([
      {
        kind: "deliver",
        instanceId: "p",
        // Bound to the parent's execution, so a parent that continued as new ignores it.
        executionId: "pe",
        event: { kind: "subOrchestrationInstanceCompleted", eventId: -1, timestamp: NOW, taskScheduledId: 5, result: '"r"' },
      },
    ]);
  });

  const failed: { name: string; action: OrchestratorAction; errorType?: string }[] = [
    { name: "FAILED", action: complete("FAILED", { failureDetails: { errorType: "Boom", errorMessage: "x" } }), errorType: "Boom" },
    { name: "FAILED without details", action: complete("FAILED") },
    { name: "TERMINATED by the worker", action: complete("TERMINATED", { result: "r" }) },
    { name: "protocol error", action: { kind: "scheduleTask", id: 0, name: "a" }, errorType: workerProtocolErrorType },
  ];
  it.each(failed)("$name → SubOrchestrationInstanceFailed with the parent's taskScheduledId", ({ action, errorType }) => {
    const notices = delivers(execute([action], childHistory));
    expect(notices).toHaveLength(1);
    const notice = notices[0];
    expect(notice?.instanceId).toBe("p");
    expect(notice?.executionId).toBe("pe");
    expect(notice?.event).toMatchObject({ kind: "subOrchestrationInstanceFailed", taskScheduledId: 5 });
    const details = notice?.event.kind === "subOrchestrationInstanceFailed" ? notice.event.failureDetails : undefined;
    expect(details?.errorType).toBeTruthy();
    expect(details?.errorMessage).toBeTruthy();
    if (errorType) expect(details?.errorType).toBe(errorType);
  });

  it("a terminated child reports SubOrchestrationInstanceFailed to its parent", () => {
    const { prepared, outcome } = runTurn(childHistory, [ev.terminated("stop")], undefined, NOW, "p:0005");
    expect(prepared.disposition).toBe("record");
    const notices = delivers(outcome);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      instanceId: "p",
      executionId: "pe",
      event: { kind: "subOrchestrationInstanceFailed", taskScheduledId: 5 },
    });
    const details = notices[0]?.event.kind === "subOrchestrationInstanceFailed" ? notices[0].event.failureDetails : undefined;
    expect(details?.errorType).toBeTruthy();
    expect(details?.errorMessage).toBeTruthy();
  });

  it("a child that is still running sends nothing to its parent", () => {
    expect(delivers(execute([{ kind: "scheduleTask", id: 1, name: "a" }], childHistory))).toEqual([]);
  });
});

describe("applyTurn: continue-as-new", () => {
  const parent: ParentInstance = { taskScheduledId: 2, name: "parentWf", instanceId: "p", executionId: "pe" };
  const history = startedHistory(
    { name: "loop", instanceId: "inst", executionId: "exec-0", input: "1", parent },
    ev.taskScheduled(1),
    ev.taskCompleted(1),
  );

  function continueTurn(actions: OrchestratorAction[]) {
    return runTurn(history, [ev.raised("tick")], result(actions, "cs"), NOW).outcome;
  }

  it("replaces history, emits nothing and requeues the new start then the carried events", () => {
    const outcome = continueTurn([
      complete("CONTINUED_AS_NEW", {
        result: "2",
        carryoverEvents: [{ name: "a", input: '"x"' }, { name: "b" }],
      }),
    ]);
    expect(outcome.historyMode).toBe("replace");
    expect(outcome.events).toEqual([]);
    expect(outcome.effects).toEqual([]);
    expect(kinds(outcome.requeue)).toEqual(["executionStarted", "eventRaised", "eventRaised"]);
    expect(outcome.requeue[0]).toMatchObject({
      kind: "executionStarted",
      name: "loop",
      instanceId: "inst",
      executionId: "new-exec-1",
      input: "2",
      parentInstance: parent,
    });
    expect(outcome.requeue.slice(1)).toMatchObject([
      { kind: "eventRaised", name: "a", input: '"x"' },
      { kind: "eventRaised", name: "b" },
    ]);
    expect(outcome.customStatus).toBe("cs");
  });

  it("uses a new execution ID and reports the new execution as RUNNING", () => {
    const outcome = continueTurn([complete("CONTINUED_AS_NEW", { result: "2" })]);
    const start = outcome.requeue[0];
    expect(start?.kind === "executionStarted" ? start.executionId : undefined).not.toBe("exec-0");
    expect(outcome.state).toMatchObject({ status: "RUNNING", input: "2", executionId: "new-exec-1", name: "loop" });
    expect(outcome.requeue).toHaveLength(1);
  });

  it("ignores every other action of the response", () => {
    const outcome = continueTurn([
      { kind: "scheduleTask", id: 2, name: "a" },
      { kind: "createTimer", id: 3, fireAt: NOW + 1 },
      { kind: "sendEvent", id: 4, instanceId: "other", name: "x" },
      complete("CONTINUED_AS_NEW", { result: "2" }),
      { kind: "scheduleTask", id: 6, name: "b" },
    ]);
    expect(outcome.historyMode).toBe("replace");
    expect(outcome.events).toEqual([]);
    expect(outcome.effects).toEqual([]);
  });

  it("does not notify the parent", () => {
    expect(delivers(continueTurn([complete("CONTINUED_AS_NEW", { result: "2" })]))).toEqual([]);
  });

  it("the requeued start begins the next generation ahead of events queued meanwhile", () => {
    const outcome = continueTurn([complete("CONTINUED_AS_NEW", { result: "2", carryoverEvents: [{ name: "kept" }] })]);
    const queuedMeanwhile = ev.raised("late", undefined, NOW + 1);
    const next = prepareTurn("inst", [], inbox([queuedMeanwhile, ...outcome.requeue]), NOW + 10);
    expect(next.disposition).toBe("execute");
    expect(kinds(next.newEvents)).toEqual(["orchestratorStarted", "executionStarted", "eventRaised", "eventRaised"]);
    expect(next.newEvents.flatMap((e) => (e.kind === "eventRaised" ? [e.name] : []))).toEqual(["late", "kept"]);
    // Action IDs restart at 1 in the new execution, so a new child gets the same derived ID.
    const second = applyTurn(next, result([{ kind: "createSubOrchestration", id: 1, instanceId: "", name: "c" }]), turnIds(NOW + 10));
    expect(second.state?.executionId).toBe("new-exec-1");
    expect(second.effects[0]).toMatchObject({ kind: "createChild", event: { instanceId: "inst:0001" } });
  });
});

describe("applyTurn: termination", () => {
  const history = startedHistory(
    {},
    ev.childCreated(1, "c1"),
    ev.childCreated(2, "c2"),
    ev.childCreated(3, "c3"),
    ev.childCompleted(2),
    ev.taskScheduled(4),
  );

  it("records ExecutionTerminated and ExecutionCompleted TERMINATED with the terminate input, without a worker", () => {
    const { prepared, outcome } = runTurn(history, [ev.terminated("bye")], undefined);
    expect(prepared.disposition).toBe("record");
    expect(kinds(outcome.events)).toEqual(["orchestratorStarted", "executionTerminated", "executionCompleted"]);
    expect(lastEvent(outcome)).toMatchObject({ kind: "executionCompleted", status: "TERMINATED", result: "bye" });
    expect(outcome.state?.status).toBe("TERMINATED");
    expect(outcome.state?.output).toBe("bye");
    expect(outcome.historyMode).toBe("append");
  });

  it("recurse=true delivers ExecutionTerminated{recurse:true} to every open child", () => {
    const { outcome } = runTurn(history, [ev.terminated("bye", true)], undefined);
    const notices = delivers(outcome);
    expect(notices.map((d) => d.instanceId).sort()).toEqual(["c1", "c3"]);
    for (const notice of notices) {
      expect(notice.event).toMatchObject({ kind: "executionTerminated", recurse: true, input: "bye" });
    }
  });

  it("recurse=false leaves the children alone", () => {
    const { outcome } = runTurn(history, [ev.terminated("bye", false)], undefined);
    expect(outcome.effects).toEqual([]);
  });

  it("a child resolved in the terminating turn is not cascaded to", () => {
    const { outcome } = runTurn(history, [ev.childCompleted(1), ev.terminated("bye", true)], undefined);
    expect(delivers(outcome).map((d) => d.instanceId)).toEqual(["c3"]);
  });

  it("terminate wins over the worker's actions, including continue-as-new", () => {
    const { outcome } = runTurn(
      history,
      [ev.terminated("bye")],
      result([{ kind: "scheduleTask", id: 5, name: "a" }, complete("CONTINUED_AS_NEW", { result: "2" })]),
    );
    expect(outcome.historyMode).toBe("append");
    expect(outcome.requeue).toEqual([]);
    expect(outcome.effects).toEqual([]);
    expect(outcome.state?.status).toBe("TERMINATED");
    expect(kinds(outcome.events)).not.toContain("taskScheduled");
  });

  it("terminates a suspended instance", () => {
    const { outcome } = runTurn(startedHistory({}, ev.suspended()), [ev.terminated("bye")], undefined);
    expect(outcome.state?.status).toBe("TERMINATED");
  });

  it("terminates an instance whose start is in the same turn", () => {
    const { outcome } = runTurn([], [ev.started({ input: "in" }), ev.terminated("bye")], undefined);
    expect(kinds(outcome.events)).toEqual([
      "orchestratorStarted",
      "executionStarted",
      "executionTerminated",
      "executionCompleted",
    ]);
    expect(outcome.state).toMatchObject({ status: "TERMINATED", output: "bye", input: "in" });
  });

  it("terminate without a reason leaves the output empty", () => {
    const { outcome } = runTurn(history, [ev.terminated()], undefined);
    expect(outcome.state?.status).toBe("TERMINATED");
    expect(outcome.state?.output).toBeUndefined();
  });
});

describe("applyTurn: record turns without terminate", () => {
  it("a suspend turn appends its events and suspends the instance", () => {
    const { prepared, outcome } = runTurn(startedHistory({}), [ev.suspended()], undefined);
    expect(prepared.disposition).toBe("record");
    expect(kinds(outcome.events)).toEqual(["orchestratorStarted", "executionSuspended"]);
    expect(outcome.effects).toEqual([]);
    expect(outcome.state?.status).toBe("SUSPENDED");
  });
});

describe("applyTurn: worker protocol problems", () => {
  const cases: { name: string; history?: HistoryEvent[]; actions: OrchestratorAction[] }[] = [
    {
      name: "action ID reused within the response",
      actions: [
        { kind: "scheduleTask", id: 1, name: "a" },
        { kind: "createTimer", id: 1, fireAt: NOW + 1 },
      ],
    },
    {
      name: "action ID already in history (task)",
      history: startedHistory({}, ev.taskScheduled(1)),
      actions: [{ kind: "scheduleTask", id: 1, name: "a" }],
    },
    {
      name: "action ID already in history (timer vs child)",
      history: startedHistory({}, ev.timerCreated(2)),
      actions: [{ kind: "createSubOrchestration", id: 2, instanceId: "", name: "c" }],
    },
    { name: "action ID 0", actions: [{ kind: "scheduleTask", id: 0, name: "a" }] },
    { name: "negative action ID", actions: [{ kind: "createTimer", id: -1, fireAt: NOW + 1 }] },
    { name: "non-integer action ID", actions: [{ kind: "scheduleTask", id: 1.5, name: "a" }] },
    {
      name: "bad ID alongside a valid completion",
      actions: [{ kind: "scheduleTask", id: 0, name: "a" }, complete("COMPLETED", { result: "1" })],
    },
  ];
  it.each(cases)("$name → instance FAILED with WorkerProtocolError", ({ history, actions }) => {
    const outcome = execute(actions, history ?? startedHistory({}));
    expect(workerProtocolErrorType).toBe("WorkerProtocolError");
    expect(outcome.state?.status).toBe("FAILED");
    expect(outcome.state?.failureDetails?.errorType).toBe("WorkerProtocolError");
    expect(outcome.state?.failureDetails?.errorMessage).toBeTruthy();
    expect(kinds(outcome.events)).toEqual(["orchestratorStarted", "eventRaised", "executionCompleted"]);
    expect(outcome.effects).toEqual([]);
  });

  it("a completion with ID -1 is not a protocol problem", () => {
    const outcome = execute([complete("COMPLETED", { id: -1, result: "ok" })]);
    expect(outcome.state?.status).toBe("COMPLETED");
  });
});

describe("applyTurn: drop and wait turns", () => {
  const completed = startedHistory({}, ev.completed("COMPLETED"));
  const cases: { name: string; history: HistoryEvent[]; inbox: HistoryEvent[]; disposition: string; hasState: boolean }[] = [
    { name: "wait (not started)", history: [], inbox: [ev.raised("x")], disposition: "wait", hasState: false },
    { name: "drop (completed)", history: completed, inbox: [ev.taskCompleted(1)], disposition: "drop", hasState: true },
    { name: "drop (completed, recursive terminate)", history: completed, inbox: [ev.terminated("x", true)], disposition: "drop", hasState: true },
    {
      name: "drop (duplicates only)",
      history: startedHistory({}, ev.timerCreated(1), ev.timerFired(1)),
      inbox: [ev.timerFired(1)],
      disposition: "drop",
      hasState: true,
    },
    { name: "drop (no-op resume)", history: startedHistory({}), inbox: [ev.resumed()], disposition: "drop", hasState: true },
  ];
  it.each(cases)("$name → no events, no effects", ({ history, inbox: events, disposition, hasState }) => {
    const { prepared, outcome } = runTurn(
      history,
      events,
      result([{ kind: "scheduleTask", id: 7, name: "a" }, complete("COMPLETED")]),
    );
    expect(prepared.disposition).toBe(disposition);
    expect(outcome.historyMode).toBe("append");
    expect(outcome.events).toEqual([]);
    expect(outcome.effects).toEqual([]);
    expect(outcome.requeue).toEqual([]);
    expect(outcome.state !== undefined).toBe(hasState);
  });
});

describe("applyTurn: the turn's trace context", () => {
  const traceContext = { traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" };
  const mine = { traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01" };

  function traced(actions: OrchestratorAction[]) {
    const prepared = prepareTurn("inst", startedHistory({}), inbox([ev.raised("go")]), NOW);
    return applyTurn(prepared, result(actions), { ...turnIds(NOW), traceContext });
  }

  it("is recorded on what the turn creates: activities, children (and their start), detached workflows without one of their own, a continued execution", () => {
    const outcome = traced([
      { kind: "scheduleTask", id: 1, name: "a" },
      { kind: "createSubOrchestration", id: 2, name: "child", instanceId: "c1" },
      { kind: "createDetachedWorkflow", id: 3, name: "d", instanceId: "d1" },
      { kind: "createDetachedWorkflow", id: 4, name: "d", instanceId: "d2", parentTraceContext: mine },
    ]);
    const scheduled = outcome.events.find((e) => e.kind === "taskScheduled");
    expect(scheduled).toMatchObject({ parentTraceContext: traceContext });
    expect(outcome.events.find((e) => e.kind === "subOrchestrationInstanceCreated")).toMatchObject({ parentTraceContext: traceContext });
    const child = outcome.effects.find((e) => e.kind === "createChild");
    expect(child).toMatchObject({ event: { kind: "executionStarted", parentTraceContext: traceContext } });
    const detached = outcome.effects.filter((e) => e.kind === "startDetached").map((e) => (e as { event: { parentTraceContext?: unknown } }).event.parentTraceContext);
    expect(detached).toEqual([traceContext, mine]);
    expect(outcome.effects.find((e) => e.kind === "scheduleActivity")).toMatchObject({ scheduled: { parentTraceContext: traceContext } });

    const continued = traced([complete("CONTINUED_AS_NEW", { result: "1" })]);
    expect(continued.requeue[0]).toMatchObject({ kind: "executionStarted", parentTraceContext: traceContext });
  });

  it("is left out when there is none (no field at all on the events)", () => {
    const outcome = execute([{ kind: "scheduleTask", id: 1, name: "a" }, { kind: "createSubOrchestration", id: 2, name: "child", instanceId: "c1" }]);
    for (const event of outcome.events) expect(Object.keys(event)).not.toContain("parentTraceContext");
  });
});

describe("multi-app routing (Dapr 1.16): the routers on the starts a turn makes", () => {
  // An instance of app "orders": its start names the app that made it.
  const ordersHistory = (): HistoryEvent[] => [ev.orchStarted(T0), { ...ev.started({}, T0), router: { sourceAppID: "orders" } }];
  const startOf = (effect: Effect | undefined) => (effect && "event" in effect ? effect.event : undefined);

  it("a child in another app: its start names the parent's app as source and the target app; parentInstance carries the parent's app", () => {
    const outcome = execute([{ kind: "createSubOrchestration", id: 1, name: "child", instanceId: "c", router: { sourceAppID: "orders", targetAppID: "shipping" } }], ordersHistory());
    expect(startOf(outcome.effects[0])).toMatchObject({
      kind: "executionStarted",
      router: { sourceAppID: "orders", targetAppID: "shipping" },
      parentInstance: { instanceId: "inst", appId: "orders" },
    });
  });

  it("a child without a target stays in the parent's app; a detached start with a target goes to it", () => {
    const outcome = execute([
      { kind: "createSubOrchestration", id: 1, name: "child", instanceId: "c" },
      { kind: "createDetachedWorkflow", id: 2, name: "other", instanceId: "d", router: { sourceAppID: "orders", targetAppID: "billing" } },
    ], ordersHistory());
    expect(startOf(outcome.effects[0])!.router).toEqual({ sourceAppID: "orders" });
    expect(startOf(outcome.effects[1])!.router).toEqual({ sourceAppID: "orders", targetAppID: "billing" });
  });

  it("continue-as-new keeps the instance's router (its app does not change)", () => {
    const outcome = execute([complete("CONTINUED_AS_NEW", { result: "1" })], ordersHistory());
    expect(outcome.requeue[0]).toMatchObject({ kind: "executionStarted", router: { sourceAppID: "orders" } });
  });

  it("history recorded before app IDs: a child's start names no app", () => {
    const outcome = execute([{ kind: "createSubOrchestration", id: 1, name: "child", instanceId: "c" }]);
    expect(startOf(outcome.effects[0])!.router).toBeUndefined();
  });
});
