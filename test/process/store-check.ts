/**
 * Reads a stopped server's database (read-only) and checks the event-sourcing invariants a
 * crash must never break.
 */
import Database from "better-sqlite3";

export interface StoredEvent {
  kind: string;
  eventId: number;
  taskScheduledId?: number;
  status?: string;
  result?: string;
  [key: string]: unknown;
}

export interface InstanceExpectation {
  instanceId: string;
  /** The workflow's output, as a value (compared after JSON.parse). */
  output: unknown;
  /** How many activities the workflow schedules in all. */
  tasks: number;
}

export interface StoreSnapshot {
  history: Map<string, { seq: number; event: StoredEvent }[]>;
  instances: Map<string, { status: string; output: string | null; history_length: number }>;
  inbox: Map<string, number>;
  activities: Map<string, number>;
}

export function readStore(dbPath: string): StoreSnapshot {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const history = new Map<string, { seq: number; event: StoredEvent }[]>();
    const rows = db.prepare("SELECT instance_id, seq, event FROM history ORDER BY instance_id, seq").all() as
      { instance_id: string; seq: number; event: string }[];
    for (const row of rows) {
      const list = history.get(row.instance_id) ?? [];
      list.push({ seq: row.seq, event: JSON.parse(row.event) as StoredEvent });
      history.set(row.instance_id, list);
    }
    const instances = new Map(
      (db.prepare("SELECT instance_id, status, output, history_length FROM instances").all() as
        { instance_id: string; status: string; output: string | null; history_length: number }[])
        .map((r) => [r.instance_id, r]),
    );
    const counts = (table: string) => new Map(
      (db.prepare(`SELECT instance_id, count(*) AS n FROM ${table} GROUP BY instance_id`).all() as
        { instance_id: string; n: number }[]).map((r) => [r.instance_id, r.n]),
    );
    return { history, instances, inbox: counts("inbox"), activities: counts("activities") };
  } finally {
    db.close();
  }
}

/**
 * Every problem found for one completed instance, as readable strings (empty when sound):
 * contiguous seq from 0, one executionStarted, one executionCompleted (COMPLETED, with the
 * expected result), each taskScheduled eventId once, each task resolved exactly once, and
 * nothing left in the inbox or the activity queue.
 */
export function problemsOf(snapshot: StoreSnapshot, expected: InstanceExpectation): string[] {
  const id = expected.instanceId;
  const problems: string[] = [];
  const rows = snapshot.history.get(id) ?? [];
  if (rows.length === 0) return [`${id}: no history`];

  rows.forEach((row, index) => {
    if (row.seq !== index) problems.push(`${id}: history seq ${row.seq} at position ${index} (not 0..n-1 contiguous)`);
  });
  const events = rows.map((r) => r.event);
  const ofKind = (kind: string) => events.filter((e) => e.kind === kind);

  const started = ofKind("executionStarted");
  if (started.length !== 1) problems.push(`${id}: ${started.length} executionStarted events, expected exactly 1`);
  const completed = ofKind("executionCompleted");
  if (completed.length !== 1) problems.push(`${id}: ${completed.length} executionCompleted events, expected exactly 1`);
  for (const done of completed) {
    if (done.status !== "COMPLETED") problems.push(`${id}: executionCompleted has status ${String(done.status)}`);
    const result = typeof done.result === "string" ? JSON.parse(done.result) : undefined;
    if (JSON.stringify(result) !== JSON.stringify(expected.output)) {
      problems.push(`${id}: executionCompleted result ${String(done.result)}, expected ${JSON.stringify(expected.output)}`);
    }
  }
  const last = events.at(-1);
  if (last?.kind !== "executionCompleted") problems.push(`${id}: history ends with ${last?.kind}, not executionCompleted`);

  const scheduled = new Map<number, number>();
  for (const e of ofKind("taskScheduled")) scheduled.set(e.eventId, (scheduled.get(e.eventId) ?? 0) + 1);
  for (const [eventId, n] of scheduled) {
    if (n > 1) problems.push(`${id}: taskScheduled eventId ${eventId} appears ${n} times`);
  }
  if (scheduled.size !== expected.tasks) problems.push(`${id}: ${scheduled.size} distinct tasks scheduled, expected ${expected.tasks}`);

  const resolved = new Map<number, number>();
  for (const e of events.filter((e) => e.kind === "taskCompleted" || e.kind === "taskFailed")) {
    if (e.kind === "taskFailed") problems.push(`${id}: task ${e.taskScheduledId} failed`);
    const taskId = e.taskScheduledId ?? NaN;
    resolved.set(taskId, (resolved.get(taskId) ?? 0) + 1);
    if (!scheduled.has(taskId)) problems.push(`${id}: result for task ${taskId}, which was never scheduled`);
  }
  for (const [taskId, n] of resolved) {
    if (n > 1) problems.push(`${id}: task ${taskId} resolved ${n} times (duplicate taskCompleted/taskFailed)`);
  }
  for (const taskId of scheduled.keys()) {
    if (!resolved.has(taskId)) problems.push(`${id}: task ${taskId} was scheduled but never resolved`);
  }

  const instance = snapshot.instances.get(id);
  if (!instance) problems.push(`${id}: no instances row`);
  else {
    if (instance.status !== "COMPLETED") problems.push(`${id}: instances.status is ${instance.status}`);
    if (instance.history_length !== rows.length) {
      problems.push(`${id}: instances.history_length ${instance.history_length}, history has ${rows.length} rows`);
    }
  }
  const inbox = snapshot.inbox.get(id) ?? 0;
  if (inbox > 0) problems.push(`${id}: ${inbox} inbox rows left for a completed instance`);
  const queued = snapshot.activities.get(id) ?? 0;
  if (queued > 0) problems.push(`${id}: ${queued} activities rows left for a completed instance`);
  return problems;
}
