/**
 * An activity queue row as both stores keep it, and the work a dispatcher receives: from a
 * claimed row, or from a row a turn's commit inserted already leased.
 */
import { runsIn, targetAppOf } from "../engine/apps.js";
import type { TaskScheduled } from "../engine/history.js";
import type { Effect } from "../engine/turn.js";
import { decodeEvent, decodePropagated } from "./codec.js";
import type { ActivityLease, ActivityWork } from "./store.js";

export interface ActivityRow {
  seq: number;
  instance_id: string;
  execution_id: string;
  task_id: number;
  name: string;
  input: string | null;
  scheduled: string | null;
  propagated: string | null;
  attempts: number;
}

export function claimedWork(r: ActivityRow): ActivityWork {
  return {
    seq: r.seq,
    instanceId: r.instance_id,
    executionId: r.execution_id,
    taskId: r.task_id,
    name: r.name,
    input: r.input ?? undefined,
    scheduled: r.scheduled === null ? undefined : (decodeEvent(r.scheduled, `activity #${r.seq}`) as TaskScheduled),
    propagatedHistory: r.propagated === null ? undefined : decodePropagated(r.propagated, `activity #${r.seq}`),
    attempts: r.attempts,
  };
}

/** The first attempt of an activity a turn's commit queued as row `seq`, leased to its dispatcher. */
export function leasedWork(seq: number, instanceId: string, executionId: string, effect: Extract<Effect, { kind: "scheduleActivity" }>): ActivityWork {
  return {
    seq,
    instanceId,
    executionId,
    taskId: effect.taskId,
    name: effect.name,
    input: effect.input,
    scheduled: effect.scheduled,
    propagatedHistory: effect.propagatedHistory,
    attempts: 1,
  };
}

/** The app an activity runs in: its router's target app, else its instance's (see engine/apps.ts). */
export function activityApp(scheduled: TaskScheduled, instanceApp: string | undefined): string | null {
  return targetAppOf(scheduled.router) ?? instanceApp ?? null;
}

/**
 * Whether a turn's commit leases an activity of `name` and `app` to `lease`'s holder: a slot is
 * left after the `leasedSoFar` it took, a worker there serves the name, and the activity is the
 * holder's app's (or no app's: rows from before app IDs).
 */
export function takesLease(lease: ActivityLease | undefined, leasedSoFar: number, name: string, app: string | null): lease is ActivityLease {
  return lease !== undefined && leasedSoFar < lease.max && lease.serves(name) && runsIn(app ?? undefined, lease.appId);
}
