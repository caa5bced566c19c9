/**
 * Tiny builders for engine tests: plain history events, inbox rows and turn helpers.
 * Every builder takes an optional timestamp so tests can pin times where they matter.
 */
import type { OrchestratorAction, TurnResult } from "../../src/engine/actions.js";
import type {
  CompletionStatus,
  EventRaised,
  ExecutionCompleted,
  ExecutionResumed,
  ExecutionStarted,
  ExecutionSuspended,
  ExecutionTerminated,
  FailureDetails,
  HistoryEvent,
  OrchestratorStarted,
  ParentInstance,
  SubOrchestrationInstanceCompleted,
  SubOrchestrationInstanceCreated,
  SubOrchestrationInstanceFailed,
  TaskCompleted,
  TaskFailed,
  TaskScheduled,
  TimerCreated,
  TimerFired,
} from "../../src/engine/history.js";
import {
  applyTurn,
  prepareTurn,
  type InboxItem,
  type PreparedTurn,
  type TurnIds,
  type TurnOutcome,
} from "../../src/engine/turn.js";

/** A fixed base time (ms since epoch); tests offset from it. */
export const T0 = 1_700_000_000_000;

export const ev = {
  orchStarted: (timestamp = T0): OrchestratorStarted => ({ kind: "orchestratorStarted", eventId: -1, timestamp }),
  started: (
    opts: { name?: string; instanceId?: string; executionId?: string; input?: string; parent?: ParentInstance } = {},
    timestamp = T0,
  ): ExecutionStarted => ({
    kind: "executionStarted",
    eventId: -1,
    timestamp,
    name: opts.name ?? "wf",
    instanceId: opts.instanceId ?? "inst",
    executionId: opts.executionId ?? "exec-0",
    input: opts.input,
    parentInstance: opts.parent,
  }),
  completed: (
    status: CompletionStatus,
    opts: { result?: string; failureDetails?: FailureDetails } = {},
    timestamp = T0,
  ): ExecutionCompleted => ({
    kind: "executionCompleted",
    eventId: -1,
    timestamp,
    status,
    result: opts.result,
    failureDetails: opts.failureDetails,
  }),
  terminated: (input?: string, recurse = false, timestamp = T0): ExecutionTerminated => ({
    kind: "executionTerminated",
    eventId: -1,
    timestamp,
    input,
    recurse,
  }),
  suspended: (timestamp = T0): ExecutionSuspended => ({ kind: "executionSuspended", eventId: -1, timestamp }),
  resumed: (timestamp = T0): ExecutionResumed => ({ kind: "executionResumed", eventId: -1, timestamp }),
  taskScheduled: (id: number, name = "act", timestamp = T0): TaskScheduled => ({
    kind: "taskScheduled",
    eventId: id,
    timestamp,
    name,
  }),
  taskCompleted: (taskScheduledId: number, result?: string, timestamp = T0): TaskCompleted => ({
    kind: "taskCompleted",
    eventId: -1,
    timestamp,
    taskScheduledId,
    result,
  }),
  taskFailed: (taskScheduledId: number, timestamp = T0): TaskFailed => ({
    kind: "taskFailed",
    eventId: -1,
    timestamp,
    taskScheduledId,
    failureDetails: { errorType: "Error", errorMessage: "boom" },
  }),
  timerCreated: (id: number, fireAt = T0 + 1000, timestamp = T0): TimerCreated => ({
    kind: "timerCreated",
    eventId: id,
    timestamp,
    fireAt,
  }),
  timerFired: (timerId: number, fireAt = T0 + 1000, timestamp = fireAt): TimerFired => ({
    kind: "timerFired",
    eventId: -1,
    timestamp,
    timerId,
    fireAt,
  }),
  childCreated: (id: number, instanceId: string, name = "child", timestamp = T0): SubOrchestrationInstanceCreated => ({
    kind: "subOrchestrationInstanceCreated",
    eventId: id,
    timestamp,
    instanceId,
    name,
  }),
  childCompleted: (taskScheduledId: number, result?: string, timestamp = T0): SubOrchestrationInstanceCompleted => ({
    kind: "subOrchestrationInstanceCompleted",
    eventId: -1,
    timestamp,
    taskScheduledId,
    result,
  }),
  childFailed: (taskScheduledId: number, timestamp = T0): SubOrchestrationInstanceFailed => ({
    kind: "subOrchestrationInstanceFailed",
    eventId: -1,
    timestamp,
    taskScheduledId,
    failureDetails: { errorType: "Error", errorMessage: "child failed" },
  }),
  raised: (name: string, input?: string, timestamp = T0): EventRaised => ({
    kind: "eventRaised",
    eventId: -1,
    timestamp,
    name,
    input,
  }),
};

/** A started history as a real turn writes it: OrchestratorStarted, then ExecutionStarted. */
export function startedHistory(
  opts: Parameters<typeof ev.started>[0] = {},
  ...rest: HistoryEvent[]
): HistoryEvent[] {
  return [ev.orchStarted(T0), ev.started(opts, T0), ...rest];
}

/** Inbox rows with seqs 1, 2, 3, ... (or from `firstSeq`). */
export function inbox(events: readonly HistoryEvent[], firstSeq = 1): InboxItem[] {
  return events.map((event, i) => ({ seq: firstSeq + i, event }));
}

/** Deterministic TurnIds: execution IDs "new-exec-1", "new-exec-2", ... */
export function turnIds(now: number): TurnIds {
  let n = 0;
  return { now, newExecutionId: () => `new-exec-${++n}` };
}

export function result(actions: OrchestratorAction[], customStatus?: string): TurnResult {
  return { actions, customStatus };
}

/** prepareTurn + applyTurn with one clock value; `worker` undefined means no worker reply. */
export function runTurn(
  history: readonly HistoryEvent[],
  inboxEvents: readonly HistoryEvent[],
  worker: TurnResult | undefined,
  now = T0 + 5000,
  instanceId = "inst",
): { prepared: PreparedTurn; outcome: TurnOutcome } {
  const prepared = prepareTurn(instanceId, history, inbox(inboxEvents), now);
  const outcome = applyTurn(prepared, worker, turnIds(now));
  return { prepared, outcome };
}

/** The kinds of a list of events, for compact order assertions. */
export function kinds(events: readonly HistoryEvent[]): string[] {
  return events.map((e) => e.kind);
}
