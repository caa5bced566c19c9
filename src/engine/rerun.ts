/**
 * Rerun from an event (durabletask's RerunWorkflowFromEvent, Dapr 1.16): a new instance whose
 * history is the finished source's history up to and including one scheduling event (an
 * activity, a timer or a child workflow), which is executed again, optionally with a new
 * input. Pure: the caller commits the fork as a new instance.
 *
 * The fork is the source's history prefix, in order, so it is a history the SDKs have already
 * replayed once. Everything that prefix scheduled and had not resolved yet (the target
 * included) runs again: activities are queued, timers armed at their original time (a past
 * one fires at once), children created anew under IDs of the new instance
 * (`<new>:<action ID as 4 hex digits>`, or the ID the caller chose for a child target).
 * The target carries `rerunParentInstanceInfo` naming the source, as daprd marks it.
 */
import { definedOnly, type HistoryEvent, type SubOrchestrationInstanceCreated } from "./history.js";
import { childInstanceId } from "./instance-id.js";
import { foldHistory, isTerminal, resolutionKey, type InstanceState } from "./state.js";
import { childStartEvent, timerFiredFor, type Effect } from "./turn.js";

export interface RerunRequest {
  sourceInstanceId: string;
  newInstanceId: string;
  /** The history event ID of the TaskScheduled, TimerCreated or child creation to run again. */
  eventId: number;
  /** With `overwriteInput`, the target's new input (`undefined`: none). */
  input?: string | undefined;
  overwriteInput: boolean;
  /** For a child-workflow target: the new child's instance ID. */
  newChildInstanceId?: string | undefined;
  /** Whether a timer may be the target (daprd's RPC allows it; the HTTP route does not). Default true. */
  timers?: boolean | undefined;
}

export type RerunProblem =
  | { kind: "not-terminal"; status: string }
  | { kind: "is-child" }
  | { kind: "no-event" }
  | { kind: "not-rerunnable"; eventKind: string }
  | { kind: "bad-option"; message: string };

export interface RerunFork {
  kind: "fork";
  events: HistoryEvent[];
  effects: Effect[];
  state: InstanceState;
}

export function forkForRerun(
  source: readonly HistoryEvent[],
  request: RerunRequest,
  ids: { now: number; newExecutionId: () => string },
): RerunFork | RerunProblem {
  const sourceState = foldHistory(request.sourceInstanceId, source).state(request.sourceInstanceId);
  if (!sourceState || !isTerminal(sourceState.status)) return { kind: "not-terminal", status: sourceState?.status ?? "PENDING" };
  if (sourceState.parentInstance) return { kind: "is-child" };
  const at = source.findIndex((e) => e.eventId === request.eventId && isScheduling(e) && (request.timers !== false || e.kind !== "timerCreated"));
  if (at < 0) {
    const other = source.find((e) => e.eventId === request.eventId);
    return other ? { kind: "not-rerunnable", eventKind: other.kind } : { kind: "no-event" };
  }
  const target = source[at]!;
  if (target.kind === "timerCreated" && request.overwriteInput) return { kind: "bad-option", message: "a timer takes no input" };
  if (target.kind !== "subOrchestrationInstanceCreated" && request.newChildInstanceId) {
    return { kind: "bad-option", message: `a new child workflow instance ID applies only to a child workflow, not to ${target.kind}` };
  }

  const resolved = new Set(source.slice(0, at).map(resolutionKey).filter((k) => k !== undefined));
  const executionId = ids.newExecutionId();
  const events: HistoryEvent[] = [];
  const effects: Effect[] = [];
  for (const [index, event] of source.slice(0, at + 1).entries()) {
    const isTarget = index === at;
    if (event.kind === "executionStarted") {
      events.push({ ...event, instanceId: request.newInstanceId, executionId, timestamp: ids.now });
      continue;
    }
    if (!isScheduling(event) || (!isTarget && resolved.has(pendingKey(event)))) {
      events.push(event);
      continue;
    }
    // Scheduled and not resolved in the fork: it runs again.
    const marked = isTarget ? { rerunParentInstanceInfo: { instanceID: request.sourceInstanceId } } : {};
    const input = isTarget && request.overwriteInput ? { input: request.input } : {};
    switch (event.kind) {
      case "taskScheduled": {
        const scheduled = definedOnly({ ...event, ...input, ...marked });
        events.push(scheduled);
        effects.push({ kind: "scheduleActivity", taskId: event.eventId, name: event.name, input: scheduled.input, scheduled });
        break;
      }
      case "timerCreated": {
        const created = { ...event, ...marked };
        events.push(created);
        effects.push({ kind: "scheduleTimer", fireAt: event.fireAt, event: timerFiredFor(created) });
        break;
      }
      case "subOrchestrationInstanceCreated": {
        const childId = (isTarget && request.newChildInstanceId) || childInstanceId(request.newInstanceId, event.eventId);
        const created: SubOrchestrationInstanceCreated = definedOnly({ ...event, ...input, ...marked, instanceId: childId });
        events.push(created);
        const parent = { instanceId: request.newInstanceId, executionId, name: sourceState.name, version: sourceState.version };
        effects.push({ kind: "createChild", created, event: childStartEvent(created, parent, ids.newExecutionId(), ids.now) });
        break;
      }
    }
  }
  const state = foldHistory(request.newInstanceId, events).state(request.newInstanceId)!;
  return { kind: "fork", events, effects, state: { ...state, lastUpdatedAt: ids.now } };
}

type Scheduling = Extract<HistoryEvent, { kind: "taskScheduled" | "timerCreated" | "subOrchestrationInstanceCreated" }>;

function isScheduling(event: HistoryEvent): event is Scheduling {
  return event.kind === "taskScheduled" || event.kind === "timerCreated" || event.kind === "subOrchestrationInstanceCreated";
}

/** The resolution key that would resolve a scheduling event (see `resolutionKey`). */
function pendingKey(event: Scheduling): string {
  switch (event.kind) {
    case "taskScheduled":
      return `task:${event.eventId}`;
    case "timerCreated":
      return `timer:${event.eventId}`;
    case "subOrchestrationInstanceCreated":
      return `child:${event.eventId}`;
  }
}
