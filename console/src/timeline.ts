/**
 * A run's timeline from its history (pure: tested on plain data): one bar per activity
 * attempt, timer, child workflow and external-event wait, from when it was scheduled to when it
 * resolved (or until now while it is open). The history is the protobuf JSON mapping the
 * history route answers.
 *
 * Retries show as attempts: an activity or child scheduled again under the same name after a
 * failure is attempt 2, 3, ... of it. A wait for an external event has no history event of its
 * own (the SDKs record only the event's arrival), so its bar runs from the end of the last turn
 * before the event arrived to the arrival; a wait with a time-out is a timer whose origin names
 * the event, and shows as that wait.
 */
import type { HistoryEvent } from "./api";

export type BarKind = "activity" | "timer" | "child" | "event";
export type BarState = "completed" | "failed" | "open";

export interface Bar {
  kind: BarKind;
  /** The activity, child workflow or event name; a timer's name or "timer". */
  name: string;
  /** 1 for a first attempt; counted per name among activities (or children) that failed before. */
  attempt: number;
  start: number;
  /** Undefined while open. */
  end: number | undefined;
  state: BarState;
  /** The eventId of the scheduling event (rerun targets it). */
  eventId: number | undefined;
  /** A child workflow's instance ID. */
  childInstanceId?: string | undefined;
  /** The failure's message, for failed bars. */
  error?: string | undefined;
}

const ms = (timestamp: string) => Date.parse(timestamp);

export function buildTimeline(history: readonly HistoryEvent[]): Bar[] {
  const bars: Bar[] = [];
  const byTask = new Map<number, Bar>();
  const byTimer = new Map<number, Bar>();
  const failedBefore = new Map<string, number>();
  const attemptOf = (key: string) => (failedBefore.get(key) ?? 0) + 1;
  // The end of the turn before the current one (approximated by its last recorded action):
  // where a wait for an event that the current turn delivers began.
  let previousTurnEnd: number | undefined;
  let turnEnd: number | undefined;

  for (const event of history) {
    const at = ms(event.timestamp);
    if (event.taskScheduled) {
      const name = String(event.taskScheduled.name ?? "");
      const bar: Bar = { kind: "activity", name, attempt: attemptOf(`activity:${name}`), start: at, end: undefined, state: "open", eventId: event.eventId };
      bars.push(bar);
      byTask.set(event.eventId, bar);
    } else if (event.childWorkflowInstanceCreated) {
      const created = event.childWorkflowInstanceCreated;
      const name = String(created.name ?? "");
      const bar: Bar = {
        kind: "child", name, attempt: attemptOf(`child:${name}`), start: at, end: undefined, state: "open",
        eventId: event.eventId, childInstanceId: created.instanceId,
      };
      bars.push(bar);
      byTask.set(event.eventId, bar);
    } else if (event.timerCreated) {
      const timer = event.timerCreated;
      const waitsFor = timer.origin?.externalEvent?.name as string | undefined;
      const bar: Bar = waitsFor
        ? { kind: "event", name: waitsFor, attempt: 1, start: at, end: undefined, state: "open", eventId: event.eventId }
        : { kind: "timer", name: timer.name || "timer", attempt: 1, start: at, end: undefined, state: "open", eventId: event.eventId };
      bars.push(bar);
      byTimer.set(event.eventId, bar);
    } else if (event.taskCompleted || event.childWorkflowInstanceCompleted) {
      const id = (event.taskCompleted ?? event.childWorkflowInstanceCompleted).taskScheduledId ?? 0;
      close(byTask.get(id), at, "completed");
    } else if (event.taskFailed || event.childWorkflowInstanceFailed) {
      const failed = event.taskFailed ?? event.childWorkflowInstanceFailed;
      const bar = byTask.get(failed.taskScheduledId ?? 0);
      close(bar, at, "failed", failed.failureDetails?.errorMessage);
      if (bar) failedBefore.set(`${bar.kind}:${bar.name}`, bar.attempt);
    } else if (event.timerFired) {
      const bar = byTimer.get(event.timerFired.timerId ?? 0);
      // A wait with a time-out that timed out: the event did not come.
      close(bar, at, bar?.kind === "event" ? "failed" : "completed", bar?.kind === "event" ? "timed out" : undefined);
    } else if (event.eventRaised) {
      const name = String(event.eventRaised.name ?? "");
      const waiting = bars.find((b) => b.kind === "event" && b.state === "open" && b.name.toLowerCase() === name.toLowerCase());
      if (waiting) close(waiting, at, "completed");
      else bars.push({ kind: "event", name, attempt: 1, start: Math.min(previousTurnEnd ?? at, at), end: at, state: "completed", eventId: undefined });
    } else if (event.workflowStarted) {
      previousTurnEnd = turnEnd;
      turnEnd = at;
    }
    // Actions a turn records carry the turn's time: the turn ends no earlier than they do.
    if (event.eventId >= 0 && turnEnd !== undefined) turnEnd = Math.max(turnEnd, at);
  }
  return bars;
}

function close(bar: Bar | undefined, at: number, state: BarState, error?: string): void {
  if (!bar || bar.state !== "open") return;
  bar.end = Math.max(at, bar.start);
  bar.state = state;
  if (error) bar.error = error;
}

/** "activity chargeCard (attempt 2): failed after 1.2 s: card declined" */
export function describeBar(bar: Bar, now: number): string {
  const attempt = bar.attempt > 1 ? ` (attempt ${bar.attempt})` : "";
  const kind = bar.kind === "event" ? "waited for event" : bar.kind === "child" ? "child workflow" : bar.kind;
  const took = duration((bar.end ?? now) - bar.start);
  const outcome = bar.state === "open" ? `running for ${took}` : `${bar.state} after ${took}`;
  return `${kind} ${bar.name}${attempt}: ${outcome}${bar.error ? `: ${bar.error}` : ""}`;
}

export function duration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.max(0, Math.round(milliseconds))} ms`;
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)} s`;
  if (milliseconds < 3_600_000) return `${Math.floor(milliseconds / 60_000)} min ${Math.round((milliseconds % 60_000) / 1000)} s`;
  if (milliseconds < 86_400_000) return `${Math.floor(milliseconds / 3_600_000)} h ${Math.round((milliseconds % 3_600_000) / 60_000)} min`;
  return `${Math.floor(milliseconds / 86_400_000)} d ${Math.round((milliseconds % 86_400_000) / 3_600_000)} h`;
}
