/**
 * One orchestration turn, as pure functions.
 *
 *   prepareTurn(history, inbox, now)           -> PreparedTurn   (what the worker sees)
 *   applyTurn(prepared, workerResult, ids)     -> TurnOutcome    (what the store commits)
 *
 * `prepareTurn` appends an OrchestratorStarted event and the instance's inbox events,
 * dropping duplicates and no-ops, and decides whether a worker must run. `applyTurn` turns
 * the worker's actions into history events plus an outbox of effects (activities to queue,
 * timers, children to create, messages to other instances). Nothing here performs I/O: the
 * time and every new ID arrive as arguments, and the caller commits the outcome in one
 * transaction.
 */
import type { CompleteOrchestrationAction, OrchestratorAction, TurnResult } from "./actions.js";
import {
  definedOnly,
  newEvent,
  type ExecutionStarted,
  type FailureDetails,
  type HistoryEvent,
  type HistoryPropagationScope,
  type OrchestratorStarted,
  type PropagatedHistory,
  type StalledReason,
  type SubOrchestrationInstanceCreated,
  type TaskScheduled,
  type TimerCreated,
  type TimerFired,
  type WireValue,
  type WorkflowVersion,
} from "./history.js";
import { appOfStart, startRouter, targetAppOf } from "./apps.js";
import { childInstanceId } from "./instance-id.js";
import { foldHistory, HistoryError, HistoryFold, type InstanceState } from "./state.js";

/**
 * An inbox row as the engine sees it: `seq` identifies the row for deletion at commit.
 * `executionId` is set on rows that answer one execution's own work (timers, activity
 * results, child completions); after a continue-as-new they are stale and dropped, since
 * the new execution reuses the same action IDs. Rows without it (raised events, terminate,
 * suspend, resume) go to whichever execution is current.
 */
export interface InboxItem {
  seq: number;
  event: HistoryEvent;
  executionId?: string | undefined;
}

/**
 * - execute: a worker must run the turn.
 * - record: the engine applies the new events alone (terminate, suspend); no worker needed.
 * - drop: nothing to run (instance already finished, or every event was a duplicate or no-op);
 *   the consumed inbox rows are deleted and history is unchanged.
 * - wait: the instance has not started yet and its start event is not visible; consume nothing.
 */
export type TurnDisposition = "execute" | "record" | "drop" | "wait";

export interface PreparedTurn {
  instanceId: string;
  disposition: TurnDisposition;
  pastEvents: readonly HistoryEvent[];
  /** Starts with OrchestratorStarted when non-empty. */
  newEvents: readonly HistoryEvent[];
  /** Inbox rows this turn consumes (including dropped ones). */
  consumedSeqs: readonly number[];
  /** The workflow name, once known (from history or the start event in this turn). */
  workflowName: string | undefined;
  fold: HistoryFold;
}

/**
 * `pastFold`, when given, must be the fold of exactly `pastEvents` (a cache of the last
 * turn's outcome); it is not modified. Without it the history is folded from scratch.
 */
export function prepareTurn(
  instanceId: string,
  pastEvents: readonly HistoryEvent[],
  inbox: readonly InboxItem[],
  now: number,
  pastFold?: HistoryFold,
  retryStalled = false,
): PreparedTurn {
  const fold = pastFold ? pastFold.clone() : foldHistory(instanceId, pastEvents);
  const consumedSeqs = inbox.map((item) => item.seq);
  const base = { instanceId, pastEvents, consumedSeqs, fold };
  // A stalled instance keeps its events queued until a worker connects (`retryStalled`),
  // as daprd holds it; only a terminate goes through at once.
  const stalled = fold.isStalled;
  if (stalled && !retryStalled && !fold.isCompleted && !inbox.some((item) => item.event.kind === "executionTerminated")) {
    return { ...base, consumedSeqs: [], disposition: "wait", newEvents: [], workflowName: fold.state(instanceId)?.name };
  }

  if (fold.isCompleted) {
    // A finished instance takes no more events: late activity results, timers and raised
    // events are discarded (never re-create state).
    return { ...base, disposition: "drop", newEvents: [], workflowName: fold.state(instanceId)?.name };
  }
  // The start event always goes first, whatever the inbox order (a continue-as-new puts
  // the next execution's start back into the inbox behind events that were already queued).
  const ordered = [...inbox].sort(
    (a, b) => Number(b.event.kind === "executionStarted") - Number(a.event.kind === "executionStarted"),
  );
  if (!fold.isStarted && ordered[0]?.event.kind !== "executionStarted") {
    return { ...base, consumedSeqs: [], disposition: "wait", newEvents: [], workflowName: undefined };
  }

  const added: HistoryEvent[] = [];
  for (const { event, executionId } of ordered) {
    if (executionId !== undefined && event.kind !== "executionStarted" && executionId !== fold.executionId) continue;
    if (isNoOp(fold, event)) continue;
    if (fold.add(event)) added.push(event);
  }
  const workflowName = fold.state(instanceId)?.name;
  // A stalled instance retried runs even with nothing new: the turn tells whether the
  // workers now run a compatible version.
  if (added.length === 0 && !stalled) {
    return { ...base, disposition: "drop", newEvents: [], workflowName };
  }
  const newEvents = [newEvent({ kind: "orchestratorStarted" }, now), ...added];
  fold.add(newEvents[0]!);
  const needsWorker = !added.some((e) => e.kind === "executionTerminated") &&
    added.some((e) => e.kind !== "executionSuspended");
  return { ...base, disposition: needsWorker ? "execute" : "record", newEvents, workflowName };
}

/** Suspending a suspended instance, or resuming a running one, changes nothing. */
function isNoOp(fold: HistoryFold, event: HistoryEvent): boolean {
  if (event.kind === "executionSuspended") return fold.isSuspended;
  if (event.kind === "executionResumed") return !fold.isSuspended;
  return false;
}

// ---------------------------------------------------------------------------------------

/** Side effects of a turn, committed in the same transaction as its history. */
export type Effect =
  /** `scheduled` is the TaskScheduled event, whose protocol fields the activity request carries. */
  | {
      kind: "scheduleActivity";
      taskId: number;
      name: string;
      input?: string | undefined;
      scheduled: TaskScheduled;
      propagatedHistory?: PropagatedHistory | undefined;
    }
  | { kind: "scheduleTimer"; fireAt: number; event: TimerFired }
  | { kind: "createChild"; event: ExecutionStarted; created: SubOrchestrationInstanceCreated }
  /** A detached (top-level) instance to start; an ID already taken leaves it unstarted, as daprd. */
  | { kind: "startDetached"; event: ExecutionStarted }
  /** An event for another instance's inbox, optionally bound to one of its executions. */
  | { kind: "deliver"; instanceId: string; event: HistoryEvent; executionId?: string | undefined };

export interface TurnOutcome {
  /** append: add `events` to history. replace: history becomes `events` (continue-as-new). */
  historyMode: "append" | "replace";
  events: HistoryEvent[];
  effects: Effect[];
  /** Rows to put back into this instance's own inbox ahead of everything (continue-as-new). */
  requeue: HistoryEvent[];
  customStatus: string | undefined;
  /** The instance after the turn (undefined only for a drop turn of an unstarted instance). */
  state: InstanceState | undefined;
  /** The fold of the history after the turn (append mode), to start the next turn from. */
  fold?: HistoryFold | undefined;
  /** The turn consumed none of its inbox rows (a stalled turn: they wait for the retry). */
  inboxKept?: boolean | undefined;
}

export interface TurnIds {
  now: number;
  /** Returns a fresh execution ID (for children and continue-as-new). */
  newExecutionId: () => string;
  /**
   * The W3C trace context of this turn (durabletask's TraceContext message), recorded on what
   * the turn creates: its TaskScheduled and child-creation events, the children's and a
   * continued execution's ExecutionStarted, and detached workflows the worker gave none.
   * Activities and children then continue the run's trace, on this sidecar and in SDK workers.
   */
  traceContext?: WireValue | undefined;
}

/** Raised when a worker's response breaks the protocol; the instance is failed with it. */
export const workerProtocolErrorType = "WorkerProtocolError";

export function applyTurn(
  prepared: PreparedTurn,
  result: TurnResult | undefined,
  ids: TurnIds,
): TurnOutcome {
  const { instanceId, fold } = prepared;
  const state = fold.state(instanceId);
  if (prepared.disposition === "drop" || prepared.disposition === "wait" || !state) {
    return { historyMode: "append", events: [], effects: [], requeue: [], customStatus: undefined, state };
  }
  const terminate = prepared.newEvents.find((e) => e.kind === "executionTerminated");
  if (terminate) {
    return applyTermination(prepared, state, terminate.input, terminate.recurse, ids.now);
  }
  if (prepared.disposition === "record" || !result) {
    return finish(prepared, [...prepared.newEvents], [], result?.customStatus);
  }
  const stall = findStall(prepared, result);
  if (stall) return stallTurn(prepared, stall, ids.now);
  const problem = findProtocolProblem(state, result.actions);
  const actions: OrchestratorAction[] = problem
    ? [failAction(workerProtocolErrorType, problem)]
    : result.actions;
  return applyActions(prepared, state, actions, result.customStatus, result.version, ids);
}

function applyActions(
  prepared: PreparedTurn,
  state: InstanceState,
  actions: readonly OrchestratorAction[],
  customStatus: string | undefined,
  versioned: WorkflowVersion | undefined,
  ids: TurnIds,
): TurnOutcome {
  const { instanceId } = prepared;
  const now = ids.now;
  const [started, ...rest] = prepared.newEvents;
  // The version the worker ran is recorded on the turn's OrchestratorStarted, as daprd does:
  // its name, and only the patches history does not hold yet, so that history's patches
  // are the concatenation of every turn's.
  const recorded = versioned && versionToRecord(prepared.fold.recordedPatches, versioned);
  const events: HistoryEvent[] = recorded
    ? [{ ...(started as OrchestratorStarted), version: recorded }, ...rest]
    : [...prepared.newEvents];
  const effects: Effect[] = [];
  for (const action of actions) {
    switch (action.kind) {
      case "scheduleTask": {
        const scheduled = newEvent(definedOnly({
          kind: "taskScheduled" as const,
          name: action.name,
          input: action.input,
          version: action.version,
          taskExecutionId: action.taskExecutionId,
          historyPropagationScope: action.historyPropagationScope,
          router: action.router,
          retryAttempt: action.retryAttempt,
          parentTraceContext: ids.traceContext,
        }), now, action.id);
        events.push(scheduled);
        effects.push(definedOnly({
          kind: "scheduleActivity" as const,
          taskId: action.id,
          name: action.name,
          input: action.input,
          scheduled,
          propagatedHistory: propagate(action.historyPropagationScope, state, prepared.pastEvents, events),
        }));
        break;
      }
      case "createTimer": {
        const created = newEvent(definedOnly({
          kind: "timerCreated" as const,
          fireAt: action.fireAt,
          fireAtNanos: action.fireAtNanos,
          name: action.name,
          origin: action.origin,
          router: action.router,
        }), now, action.id);
        events.push(created);
        effects.push({ kind: "scheduleTimer", fireAt: action.fireAt, event: timerFiredFor(created) });
        break;
      }
      case "createSubOrchestration": {
        const childId = action.instanceId || childInstanceId(instanceId, action.id);
        const created = newEvent(definedOnly({
          kind: "subOrchestrationInstanceCreated" as const,
          instanceId: childId,
          name: action.name,
          input: action.input,
          version: action.version,
          historyPropagationScope: action.historyPropagationScope,
          retryParentInstanceInfo: action.retryParentInstanceInfo,
          router: action.router,
          parentTraceContext: ids.traceContext,
        }), now, action.id);
        events.push(created);
        const received = propagate(action.historyPropagationScope, state, prepared.pastEvents, events);
        effects.push({ kind: "createChild", created, event: childStartEvent(created, state, ids.newExecutionId(), now, received) });
        break;
      }
      case "sendEvent":
        events.push(newEvent(
          { kind: "eventSent", instanceId: action.instanceId, name: action.name, input: action.data },
          now,
          action.id,
        ));
        effects.push({
          kind: "deliver",
          instanceId: action.instanceId,
          event: newEvent({ kind: "eventRaised", name: action.name, input: action.data }, now),
        });
        break;
      case "workflowVersionNotAvailable":
        // Handled before the actions are applied (findStall); never reaches here.
        break;
      case "createDetachedWorkflow": {
        events.push(newEvent(definedOnly({ kind: "detachedWorkflowInstanceCreated" as const, instanceId: action.instanceId, router: action.router }), now, action.id));
        const later = action.scheduledStartTimestamp !== undefined && action.scheduledStartTimestamp > now;
        effects.push({
          kind: "startDetached",
          event: newEvent(definedOnly({
            kind: "executionStarted" as const,
            name: action.name,
            instanceId: action.instanceId,
            executionId: action.executionId || ids.newExecutionId(),
            input: action.input,
            version: action.version,
            tags: action.tags,
            parentTraceContext: action.parentTraceContext ?? ids.traceContext,
            router: startRouter(appOfStart(state), targetAppOf(action.router)),
            scheduledStartTimestamp: later ? action.scheduledStartTimestamp : undefined,
            scheduledStartNanos: later ? action.scheduledStartNanos : undefined,
          }), now),
        });
        break;
      }
      case "terminateOrchestration":
        effects.push({
          kind: "deliver",
          instanceId: action.instanceId,
          event: newEvent({ kind: "executionTerminated", input: action.reason, recurse: action.recurse }, now),
        });
        break;
      case "completeOrchestration":
        // Only the first completion counts; whatever follows it is ignored.
        if (action.status === "CONTINUED_AS_NEW") {
          return continueAsNew(prepared, state, action, customStatus, ids);
        }
        events.push(completionEvent(action, now));
        return finish(prepared, events, withoutDeadWork(effects), customStatus, completionNotice(state, action, now));
      default:
        return assertNever(action);
    }
  }
  return finish(prepared, events, effects, customStatus);
}

/**
 * Continue-as-new: the history is cleared and the next execution's start event (plus the
 * carried-over events) is put back into the instance's own inbox ahead of anything already
 * queued, so the next turn starts the new execution with events raised meanwhile still
 * queued behind it (dapr/dapr#8277 lost exactly those). Every other action of the
 * response is ignored, as in durabletask.
 */
function continueAsNew(
  prepared: PreparedTurn,
  state: InstanceState,
  action: CompleteOrchestrationAction,
  customStatus: string | undefined,
  ids: TurnIds,
): TurnOutcome {
  const start = newEvent(definedOnly({
    kind: "executionStarted" as const,
    name: state.name,
    instanceId: prepared.instanceId,
    executionId: ids.newExecutionId(),
    input: action.result,
    parentInstance: state.parentInstance,
    version: action.newVersion ?? state.version,
    propagatedHistory: state.propagatedHistory,
    parentTraceContext: ids.traceContext,
    router: state.router,
  }), ids.now);
  // Carried over exactly as the worker sent them (durabletask appends them unchanged).
  const carried: HistoryEvent[] = action.carryoverEvents ?? [];
  return {
    historyMode: "replace",
    events: [],
    effects: [],
    requeue: [start, ...carried],
    customStatus,
    state: { ...state, status: "RUNNING", executionId: start.executionId, input: start.input, lastUpdatedAt: ids.now },
  };
}

function applyTermination(
  prepared: PreparedTurn,
  state: InstanceState,
  reason: string | undefined,
  recurse: boolean,
  now: number,
): TurnOutcome {
  const action: CompleteOrchestrationAction = { kind: "completeOrchestration", id: -1, status: "TERMINATED", result: reason };
  const events = [...prepared.newEvents, completionEvent(action, now)];
  const cascade: Effect[] = recurse
    ? [...state.openChildren.values()].map((childId) => ({
        kind: "deliver" as const,
        instanceId: childId,
        event: newEvent({ kind: "executionTerminated", input: reason, recurse: true }, now),
      }))
    : [];
  return finish(prepared, events, cascade, undefined, completionNotice(state, action, now));
}

function finish(
  prepared: PreparedTurn,
  events: HistoryEvent[],
  effects: Effect[],
  customStatus: string | undefined,
  parentNotice?: Effect,
): TurnOutcome {
  const fold = foldAfter(prepared, events);
  return {
    historyMode: "append",
    events,
    effects: parentNotice ? [...effects, parentNotice] : effects,
    requeue: [],
    customStatus,
    state: fold.state(prepared.instanceId),
    fold,
  };
}

/**
 * The fold of past events plus `events`. The prepared fold already holds the past and the
 * new events, so only the events the turn added after them are folded (on a copy: the
 * prepared turn stays as it was); anything else is folded from scratch.
 */
function foldAfter(prepared: PreparedTurn, events: readonly HistoryEvent[]): HistoryFold {
  const fresh = prepared.newEvents;
  // The turn's OrchestratorStarted may have been replaced by a copy carrying the version.
  const first = events[0];
  const versioned = first !== fresh[0] && first?.kind === "orchestratorStarted" ? first.version : undefined;
  if (fresh.length === 0 || !fresh.every((event, i) => events[i] === event || (i === 0 && versioned))) {
    return foldHistory(prepared.instanceId, [...prepared.pastEvents, ...events]);
  }
  const fold = prepared.fold.clone();
  if (versioned) fold.recordVersion(versioned.patches);
  for (const event of events.slice(fresh.length)) {
    if (!fold.add(event)) throw new HistoryError(`turn of '${prepared.instanceId}' records a duplicate ${event.kind} event`);
  }
  return fold;
}

/** Activities and timers scheduled by a turn that also completes the instance can never matter. */
function withoutDeadWork(effects: Effect[]): Effect[] {
  return effects.filter((e) => e.kind !== "scheduleActivity" && e.kind !== "scheduleTimer");
}

function completionEvent(action: CompleteOrchestrationAction, now: number): HistoryEvent {
  const status = action.status === "CONTINUED_AS_NEW" ? "COMPLETED" : action.status;
  return newEvent({
    kind: "executionCompleted",
    status,
    result: status === "FAILED" ? undefined : action.result,
    failureDetails: status === "FAILED" ? completeFailure(action.failureDetails) : undefined,
  }, now, action.id);
}

/** FAILED always carries a non-empty type and message (the Node client needs both). */
function completeFailure(details: FailureDetails | undefined): FailureDetails {
  return {
    ...details,
    errorType: details?.errorType || "Error",
    errorMessage: details?.errorMessage || "workflow failed without an error message",
  };
}

/** The message a finished child sends to its parent; anything but COMPLETED is a failure. */
function completionNotice(
  state: InstanceState,
  action: CompleteOrchestrationAction,
  now: number,
): Effect | undefined {
  const parent = state.parentInstance;
  if (!parent) return undefined;
  const taskScheduledId = parent.taskScheduledId;
  const event: HistoryEvent =
    action.status === "COMPLETED"
      ? newEvent({ kind: "subOrchestrationInstanceCompleted", taskScheduledId, result: action.result }, now)
      : newEvent({
          kind: "subOrchestrationInstanceFailed",
          taskScheduledId,
          failureDetails:
            action.status === "FAILED"
              ? completeFailure(action.failureDetails)
              : {
                  errorType: "WorkflowTerminated",
                  errorMessage: `child workflow '${state.instanceId}' was terminated`,
                },
        }, now);
  return { kind: "deliver", instanceId: parent.instanceId, executionId: parent.executionId, event };
}

/** The failure a parent receives when a child cannot be created under the ID it asked for. */
export function childCreationRejected(
  taskScheduledId: number,
  childId: string,
  reason: string,
  now: number,
): HistoryEvent {
  return newEvent({
    kind: "subOrchestrationInstanceFailed",
    taskScheduledId,
    failureDetails: { errorType: "ChildWorkflowCreationError", errorMessage: `cannot create child workflow '${childId}': ${reason}` },
  }, now);
}

/**
 * A worker must never reuse an action ID, schedule work with an ID that history already
 * holds, or send an ID below 1 for a scheduling action: replay could not match it. Such a
 * response fails the instance visibly instead of retrying the same broken turn forever.
 */
function findProtocolProblem(state: InstanceState, actions: readonly OrchestratorAction[]): string | undefined {
  const seen = new Set<number>();
  for (const action of actions) {
    // Everything after the first completion is ignored, so it cannot break anything.
    if (action.kind === "completeOrchestration") return undefined;
    if (action.kind === "terminateOrchestration") continue;
    if (action.kind === "createDetachedWorkflow" && !action.instanceId) return "CreateDetachedWorkflowAction requires an instance ID";
    if (!Number.isInteger(action.id) || action.id < 1) return `action ${action.kind} has invalid ID ${action.id}`;
    if (seen.has(action.id) || state.scheduledIds.has(action.id)) {
      return `action ${action.kind} reuses action ID ${action.id}`;
    }
    seen.add(action.id);
  }
  return undefined;
}

/** The TimerFired a timer delivers to its own instance when it is due. */
export function timerFiredFor(created: TimerCreated): TimerFired {
  return newEvent(definedOnly({ kind: "timerFired" as const, timerId: created.eventId, fireAt: created.fireAt, fireAtNanos: created.fireAtNanos }), created.fireAt);
}

/** The start event of the child a parent (`parent`, its current execution) creates under `created`. */
export function childStartEvent(
  created: SubOrchestrationInstanceCreated,
  parent: Pick<InstanceState, "instanceId" | "executionId" | "name" | "version" | "router">,
  executionId: string,
  now: number,
  propagatedHistory?: PropagatedHistory,
): ExecutionStarted {
  const parentApp = appOfStart(parent);
  return newEvent(definedOnly({
    kind: "executionStarted" as const,
    name: created.name,
    instanceId: created.instanceId,
    executionId,
    input: created.input,
    version: created.version,
    parentInstance: definedOnly({
      taskScheduledId: created.eventId,
      name: parent.name,
      instanceId: parent.instanceId,
      executionId: parent.executionId,
      version: parent.version,
      appId: parentApp,
    }),
    // As daprd: the child's start names the app that created it and, for a child in another
    // app, that app (an SDK worker learns its app ID from it).
    router: startRouter(parentApp, targetAppOf(created.router)),
    propagatedHistory,
    parentTraceContext: created.parentTraceContext,
  }), now);
}

/**
 * History propagation (Dapr 1.18, as durabletask-go's `propagation.go`): with OWN_HISTORY the
 * activity or child gets this instance's history as it stands when the action is applied
 * (committed events, this turn's new events and what the reply's earlier actions added, the
 * action's own event included); with LINEAGE, the chunks this instance received come first.
 * The app ID is empty until workflowd has app IDs.
 */
function propagate(
  scope: HistoryPropagationScope | undefined,
  state: InstanceState,
  pastEvents: readonly HistoryEvent[],
  turnEvents: readonly HistoryEvent[],
): PropagatedHistory | undefined {
  if (scope === undefined || scope === "NONE") return undefined;
  // The start event's own received history is not part of the chunk (it is in `received`).
  const events = [...pastEvents, ...turnEvents].map((e) => {
    if (e.kind !== "executionStarted" || !e.propagatedHistory) return e;
    const { propagatedHistory: _received, ...start } = e;
    return start;
  });
  const own = { appId: appOfStart(state) ?? "", instanceId: state.instanceId, workflowName: state.name, events };
  const received = scope === "LINEAGE" ? (state.propagatedHistory?.chunks ?? []) : [];
  return { scope, chunks: [...received, own] };
}

/**
 * Dapr 1.17 versioning (daprd's `versioning.go`): the patches recorded in history must be a
 * prefix of those the worker reports now (code may add patches, never drop or reorder
 * them), and a worker may say it cannot run the recorded version at all. Either way the
 * instance stalls (see `stallTurn`). Descriptions are daprd's, word for word.
 */
function findStall(prepared: PreparedTurn, result: TurnResult): { reason: StalledReason; description: string } | undefined {
  if (result.actions.some((a) => a.kind === "workflowVersionNotAvailable")) {
    const name = firstVersionName(prepared.pastEvents) ?? "";
    return { reason: "VERSION_NOT_AVAILABLE", description: `Version not available: ${name}` };
  }
  const recorded = prepared.fold.recordedPatches;
  const reported = result.version?.patches;
  if (reported === undefined || recorded.length === 0) return undefined;
  if (recorded.length <= reported.length && recorded.every((patch, i) => reported[i] === patch)) return undefined;
  return {
    reason: "PATCH_MISMATCH",
    description: `Patch mismatch. History patches: [${recorded.join(", ")}], current patches: [${reported.join(", ")}]. `,
  };
}

/** The version name of the first turn that recorded one (what daprd reports as the instance's). */
function firstVersionName(events: readonly HistoryEvent[]): string | undefined {
  for (const event of events) {
    if (event.kind === "orchestratorStarted" && event.version) return event.version.name;
  }
  return undefined;
}

/** What a compatible turn records: the version name and the patches history lacks (none: nothing). */
function versionToRecord(recorded: readonly string[], reported: WorkflowVersion): WorkflowVersion | undefined {
  const fresh = reported.patches.slice(recorded.length);
  if (fresh.length === 0 && reported.name === undefined) return undefined;
  return { ...(reported.name !== undefined ? { name: reported.name } : {}), patches: fresh };
}

/**
 * A stalled turn, as daprd records it: the turn's actions and new events are discarded, its
 * inbox rows stay queued for the retry, and one ExecutionStalled event is appended (not
 * again when the last event already is a stall for the same reason). A stall at the first
 * turn keeps that turn's events, start included.
 */
function stallTurn(prepared: PreparedTurn, stall: { reason: StalledReason; description: string }, now: number): TurnOutcome {
  const stalled = newEvent({ kind: "executionStalled", ...stall }, now);
  if (!prepared.pastEvents.some((e) => e.kind === "executionStarted")) {
    // Stalled at its very first turn: the start (and what came with it) must be recorded
    // for the instance to exist in history, so this turn's events are kept and consumed.
    const fold = foldHistory(prepared.instanceId, [...prepared.newEvents, stalled]);
    return { historyMode: "append", events: [...prepared.newEvents, stalled], effects: [], requeue: [], customStatus: undefined, state: fold.state(prepared.instanceId), fold };
  }
  const last = prepared.pastEvents.at(-1);
  const repeated = last?.kind === "executionStalled" && last.description === stall.description;
  const events: HistoryEvent[] = repeated ? [] : [stalled];
  // Folded from the committed history: the prepared fold holds this turn's discarded events.
  const fold = foldHistory(prepared.instanceId, [...prepared.pastEvents, ...events]);
  return { historyMode: "append", events, effects: [], requeue: [], customStatus: undefined, state: fold.state(prepared.instanceId), fold, inboxKept: true };
}

function failAction(errorType: string, errorMessage: string): CompleteOrchestrationAction {
  return { kind: "completeOrchestration", id: -1, status: "FAILED", failureDetails: { errorType, errorMessage } };
}

function assertNever(value: never): never {
  throw new Error(`unhandled action ${JSON.stringify(value)}`);
}
