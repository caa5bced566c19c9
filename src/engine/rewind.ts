/**
 * Rewind (Durable Functions' rewind, durabletask's old `RewindInstance`): a FAILED instance
 * continues from its failure point under the same instance and execution ID. Pure: the
 * caller reads the instance's history and its children's outcomes, and commits the plan.
 *
 * Where the history is cut: at the start of the turn that first delivered a failure (an
 * activity's TaskFailed or a child's failure), or, when nothing the workflow called failed
 * (its own code threw), at the start of its last turn. Everything before that turn stands and
 * is replayed as it is: the prefix is a history the SDKs have already replayed once, and the
 * workflow's code decided nothing yet with the failure in view. From the cut on:
 *   - what arrived from outside (raised events, timers that fired, results of activities and
 *     children scheduled before the cut) is queued again, in its order, for the next turn,
 *     so succeeded work is not run twice;
 *   - a failed activity scheduled before the cut is queued to run again, as is one that was
 *     still running when the instance failed; an unfired timer is armed again;
 *   - a failed child is rewound too (the caller does it, recursively); a child that finished
 *     after its parent failed delivers its result again;
 *   - what the workflow decided after the cut (retries, later activities, timers, children)
 *     is decided again by the replay. Children created after the cut are purged so that the
 *     replay can create them under the same IDs (all must be finished).
 * The rewind itself is recorded at the end of the prefix as a turn of its own, an
 * OrchestratorStarted and an ExecutionResumed carrying the reason, as a resume is recorded
 * (the protocol has no rewind event; every SDK replays an ExecutionResumed of a running
 * instance as a no-op). A workflow that failed in its very first turn has no prefix: its start
 * event is queued again and nothing else is recorded.
 */
import { newEvent, type FailureDetails, type HistoryEvent, type TaskScheduled } from "./history.js";
import { foldHistory, isTerminal, type InstanceState, type RuntimeStatus } from "./state.js";
import { timerFiredFor, type Effect } from "./turn.js";

/** A child workflow as the rewind needs to know it (undefined: purged or never started). */
export interface ChildOutcome {
  status: RuntimeStatus;
  output?: string | undefined;
  failureDetails?: FailureDetails | undefined;
}

export interface RewindRequest {
  instanceId: string;
  history: readonly HistoryEvent[];
  /** The outcome of each child instance the history created, by instance ID. */
  children: ReadonlyMap<string, ChildOutcome | undefined>;
  reason?: string | undefined;
  now: number;
}

export interface RewindPlan {
  kind: "rewind";
  /** The history that stands (a prefix of the old one), with the rewind's record turn. */
  events: HistoryEvent[];
  /** The instance after the rewind: RUNNING (PENDING when it failed in its first turn). */
  state: InstanceState;
  /** Work to queue again: activities and timers. */
  effects: Effect[];
  /** Events for the instance's inbox, in delivery order. */
  inbox: HistoryEvent[];
  /** Failed children to rewind as well. */
  rewindChildren: string[];
  /** Finished children created after the cut, to purge (with their own children). */
  purgeChildren: string[];
}

export type RewindProblem =
  | { kind: "not-failed"; status: RuntimeStatus }
  | { kind: "child-running"; instanceId: string; status: RuntimeStatus };

export function planRewind(request: RewindRequest): RewindPlan | RewindProblem {
  const { history, now } = request;
  const state = foldHistory(request.instanceId, history).state(request.instanceId);
  if (!state || state.status !== "FAILED") return { kind: "not-failed", status: state?.status ?? "PENDING" };

  const firstFailure = history.findIndex((e) => e.kind === "taskFailed" || e.kind === "subOrchestrationInstanceFailed");
  const failedAt = firstFailure >= 0 ? firstFailure : history.findIndex((e) => e.kind === "executionCompleted");
  const cut = turnStartBefore(history, failedAt);
  const prefix = history.slice(0, cut);
  const after = history.slice(cut);

  const scheduled = new Map<number, TaskScheduled>();
  const timers = new Map<number, Extract<HistoryEvent, { kind: "timerCreated" }>>();
  const children = new Map<number, string>();
  const resolved = new Set<string>();
  for (const event of prefix) {
    if (event.kind === "taskScheduled") scheduled.set(event.eventId, event);
    if (event.kind === "timerCreated") timers.set(event.eventId, event);
    if (event.kind === "subOrchestrationInstanceCreated") children.set(event.eventId, event.instanceId);
    if (event.kind === "taskCompleted" || event.kind === "taskFailed") resolved.add(`task:${event.taskScheduledId}`);
    if (event.kind === "timerFired") resolved.add(`timer:${event.timerId}`);
    if (event.kind === "subOrchestrationInstanceCompleted" || event.kind === "subOrchestrationInstanceFailed") {
      resolved.add(`child:${event.taskScheduledId}`);
    }
  }

  const inbox: HistoryEvent[] = [];
  const effects: Effect[] = [];
  const rewindChildren: string[] = [];
  const purgeChildren: string[] = [];
  const rerunActivity = (task: TaskScheduled) =>
    effects.push({ kind: "scheduleActivity", taskId: task.eventId, name: task.name, input: task.input, scheduled: task });

  for (const event of after) {
    switch (event.kind) {
      case "executionStarted":
      case "eventRaised":
        inbox.push(event);
        break;
      case "taskCompleted":
        if (scheduled.has(event.taskScheduledId)) inbox.push(event);
        break;
      case "taskFailed": {
        const task = scheduled.get(event.taskScheduledId);
        if (task) rerunActivity(task);
        break;
      }
      case "timerFired":
        if (timers.has(event.timerId)) inbox.push(event);
        break;
      case "subOrchestrationInstanceCompleted":
        if (children.has(event.taskScheduledId)) inbox.push(event);
        break;
      case "subOrchestrationInstanceFailed": {
        const childId = children.get(event.taskScheduledId);
        if (childId === undefined) break;
        // A failed child is rewound and reports again; any other failure (terminated, or a
        // child that could not be created) is delivered as it was.
        if (request.children.get(childId)?.status === "FAILED") rewindChildren.push(childId);
        else inbox.push(event);
        break;
      }
      case "subOrchestrationInstanceCreated": {
        const child = request.children.get(event.instanceId);
        if (!child) break;
        if (!isTerminal(child.status)) return { kind: "child-running", instanceId: event.instanceId, status: child.status };
        purgeChildren.push(event.instanceId);
        break;
      }
      default:
        // Turn markers, the workflow's own decisions, suspend/resume and the completion.
        break;
    }
  }

  // Work scheduled before the cut that had no result at all when the instance failed.
  const answeredAfter = new Set(after.map((e) => {
    if (e.kind === "taskCompleted" || e.kind === "taskFailed") return `task:${e.taskScheduledId}`;
    if (e.kind === "timerFired") return `timer:${e.timerId}`;
    if (e.kind === "subOrchestrationInstanceCompleted" || e.kind === "subOrchestrationInstanceFailed") return `child:${e.taskScheduledId}`;
    return "";
  }));
  for (const task of scheduled.values()) {
    const key = `task:${task.eventId}`;
    if (!resolved.has(key) && !answeredAfter.has(key)) rerunActivity(task);
  }
  for (const timer of timers.values()) {
    const key = `timer:${timer.eventId}`;
    if (!resolved.has(key) && !answeredAfter.has(key)) effects.push({ kind: "scheduleTimer", fireAt: timer.fireAt, event: timerFiredFor(timer) });
  }
  for (const [taskScheduledId, childId] of children) {
    const key = `child:${taskScheduledId}`;
    if (resolved.has(key) || answeredAfter.has(key)) continue;
    const child = request.children.get(childId);
    // Still running: its result reaches the parent when it finishes, as before.
    if (!child || !isTerminal(child.status)) continue;
    if (child.status === "FAILED") rewindChildren.push(childId);
    else if (child.status === "COMPLETED") {
      inbox.push(newEvent({ kind: "subOrchestrationInstanceCompleted", taskScheduledId, result: child.output }, now));
    } else {
      inbox.push(newEvent({
        kind: "subOrchestrationInstanceFailed",
        taskScheduledId,
        failureDetails: child.failureDetails ?? { errorType: "WorkflowTerminated", errorMessage: `child workflow '${childId}' was terminated` },
      }, now));
    }
  }

  if (prefix.length === 0) {
    // Failed in its first turn: back to a queued start.
    const start = foldHistory(request.instanceId, after.filter((e) => e.kind === "executionStarted")).state(request.instanceId)!;
    return { kind: "rewind", events: [], state: { ...start, status: "PENDING", lastUpdatedAt: now }, effects, inbox, rewindChildren, purgeChildren };
  }
  const record = [
    newEvent({ kind: "orchestratorStarted" }, now),
    newEvent({ kind: "executionResumed", input: `rewound${request.reason ? `: ${request.reason}` : ""}` }, now),
  ];
  const events = [...prefix, ...record];
  const folded = foldHistory(request.instanceId, events).state(request.instanceId)!;
  return {
    kind: "rewind",
    events,
    state: { ...folded, status: "RUNNING", lastUpdatedAt: now },
    effects,
    inbox,
    rewindChildren,
    purgeChildren,
  };
}

/** The index of the OrchestratorStarted that opens the turn holding history[index]. */
function turnStartBefore(history: readonly HistoryEvent[], index: number): number {
  for (let i = Math.min(index, history.length - 1); i >= 0; i--) {
    if (history[i]!.kind === "orchestratorStarted") return i;
  }
  return 0;
}
