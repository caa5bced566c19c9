// Invariants over a workflowd SQLite file that must hold after every commit, so after a
// SIGKILL at any moment: read with a separate read-only connection (the server stopped, or
// still running: WAL readers see one committed snapshot).
//
// For every instance:
//   history     seq 0..n-1 without gaps; instances.history_length = n; one executionStarted
//               naming this instance and its current execution; action IDs (TaskScheduled,
//               TimerCreated, SubOrchestrationInstanceCreated, EventSent) unique and exactly
//               1..k; every result (TaskCompleted/Failed, TimerFired, SubOrchestration*)
//               answers a scheduled action of its kind, at most once; at most one
//               ExecutionCompleted, last, agreeing with instances.status.
//   finished    no inbox rows, no activity rows.
//   unfinished  every unanswered action has something that will answer it: an activity row
//               or a queued result (task), a queued TimerFired (timer), an unfinished child
//               of this parent or a queued child result (child). An instance whose history is
//               empty (new, or just continued as new) has its ExecutionStarted queued. An
//               instance with no unanswered action and nothing queued is stuck unless
//               `mayIdle` says it may wait: SUSPENDED, or waiting for an external event, which
//               history cannot show (a wait is no action), so the fixtures announce it in their
//               custom status ("await ...", "waiting for ...", "collecting").
// Rows:
//   inbox/activity rows of instances that do not exist (orphans); activity rows of another
//   execution, of an action that history does not hold, or already answered in history;
//   queued results for an action already answered, or queued twice; an activity row and a
//   queued result for the same task at once (two results on their way).
//   A child whose parent does not exist.
// `final`: additionally every instance finished and no inbox or activity row at all.
import Database from "better-sqlite3";

const terminal = new Set(["COMPLETED", "FAILED", "TERMINATED"]);
const actionKinds = new Set(["taskScheduled", "timerCreated", "subOrchestrationInstanceCreated", "eventSent"]);

/** Which action kind each result kind answers, and the field naming the action ID. */
const resultOf = {
  taskCompleted: { action: "taskScheduled", field: "taskScheduledId" },
  taskFailed: { action: "taskScheduled", field: "taskScheduledId" },
  timerFired: { action: "timerCreated", field: "timerId" },
  subOrchestrationInstanceCompleted: { action: "subOrchestrationInstanceCreated", field: "taskScheduledId" },
  subOrchestrationInstanceFailed: { action: "subOrchestrationInstanceCreated", field: "taskScheduledId" },
};

/** SUSPENDED, or a fixture that said it waits for an external event. */
export function defaultMayIdle(instance) {
  return instance.status === "SUSPENDED" || /^(await |waiting for |collecting)/.test(instance.custom_status ?? "");
}

/**
 * Reads the whole database once.
 * @param {string} dbPath
 */
export function readDatabase(dbPath) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    return db.transaction(() => {
      const instances = db.prepare("SELECT * FROM instances").all();
      const history = db.prepare("SELECT instance_id, seq, event FROM history ORDER BY instance_id, seq").all();
      const inbox = db.prepare("SELECT seq, instance_id, visible_at, execution_id, event FROM inbox ORDER BY seq").all();
      const activities = db.prepare("SELECT * FROM activities ORDER BY seq").all();
      return { instances, history, inbox, activities };
    })();
  } finally {
    db.close();
  }
}

/**
 * @param {string | ReturnType<typeof readDatabase>} source a path or what readDatabase returned
 * @param {{ final?: boolean, mayIdle?: (instance: any, history: any[]) => boolean }} [options]
 * @returns {{ problems: string[], stats: { instances: number, terminal: number, historyRows: number, inboxRows: number, activityRows: number } }}
 */
export function checkDatabase(source, options = {}) {
  const data = typeof source === "string" ? readDatabase(source) : source;
  const final = options.final ?? false;
  const mayIdle = options.mayIdle ?? defaultMayIdle;
  const problems = [];

  const instances = new Map(data.instances.map((row) => [row.instance_id, row]));
  const historyOf = new Map();
  for (const row of data.history) {
    const list = historyOf.get(row.instance_id) ?? [];
    list.push({ seq: row.seq, event: JSON.parse(row.event) });
    historyOf.set(row.instance_id, list);
  }
  const inboxOf = new Map();
  for (const row of data.inbox) {
    const list = inboxOf.get(row.instance_id) ?? [];
    list.push({ ...row, event: JSON.parse(row.event) });
    inboxOf.set(row.instance_id, list);
  }
  const activitiesOf = new Map();
  for (const row of data.activities) {
    const list = activitiesOf.get(row.instance_id) ?? [];
    list.push(row);
    activitiesOf.set(row.instance_id, list);
  }
  const childrenOf = new Map();
  for (const row of data.instances) {
    if (row.parent_instance_id === null) continue;
    const list = childrenOf.get(row.parent_instance_id) ?? [];
    list.push(row);
    childrenOf.set(row.parent_instance_id, list);
  }

  for (const id of new Set([...historyOf.keys(), ...inboxOf.keys(), ...activitiesOf.keys()])) {
    if (instances.has(id)) continue;
    if (historyOf.has(id)) problems.push(`${id}: ${historyOf.get(id).length} history rows of an instance that does not exist`);
    if (inboxOf.has(id)) problems.push(`${id}: ${inboxOf.get(id).length} orphan inbox rows (no such instance)`);
    if (activitiesOf.has(id)) problems.push(`${id}: ${activitiesOf.get(id).length} orphan activity rows (no such instance)`);
  }

  for (const instance of data.instances) {
    const id = instance.instance_id;
    const rows = historyOf.get(id) ?? [];
    const inbox = inboxOf.get(id) ?? [];
    const activities = activitiesOf.get(id) ?? [];
    const done = terminal.has(instance.status);
    const p = (text) => problems.push(`${id} (${instance.status}): ${text}`);

    rows.forEach((row, index) => {
      if (row.seq !== index) p(`history seq ${row.seq} at position ${index}: not 0..n-1 without gaps`);
    });
    if (instance.history_length !== rows.length) p(`instances.history_length is ${instance.history_length}, history has ${rows.length} rows`);
    if (instance.parent_instance_id !== null && !instances.has(instance.parent_instance_id)) {
      p(`its parent ${instance.parent_instance_id} does not exist`);
    }
    const events = rows.map((row) => row.event);

    // -- history on its own
    const started = events.filter((e) => e.kind === "executionStarted");
    if (rows.length > 0) {
      if (started.length !== 1) p(`${started.length} executionStarted events in history, expected 1`);
      for (const s of started) {
        if (s.instanceId !== id) p(`executionStarted names instance ${s.instanceId}`);
        if (s.executionId !== instance.execution_id) p(`executionStarted has execution ${s.executionId}, the row says ${instance.execution_id}`);
      }
    }
    const actions = new Map(); // eventId -> event
    for (const e of events) {
      if (!actionKinds.has(e.kind)) continue;
      if (actions.has(e.eventId)) p(`action ID ${e.eventId} appears twice (${actions.get(e.eventId).kind} and ${e.kind})`);
      else actions.set(e.eventId, e);
    }
    for (let actionId = 1; actionId <= actions.size; actionId++) {
      if (!actions.has(actionId)) p(`action IDs are not 1..${actions.size}: ${actionId} is missing (${[...actions.keys()].sort((a, b) => a - b).join(",")})`);
    }
    const answered = new Map(); // action ID -> count
    for (const e of events) {
      const shape = resultOf[e.kind];
      if (!shape) continue;
      const actionId = e[shape.field];
      const action = actions.get(actionId);
      if (!action) p(`${e.kind} for action ${actionId}, which history never scheduled`);
      else if (action.kind !== shape.action) p(`${e.kind} for action ${actionId}, which is a ${action.kind}`);
      answered.set(actionId, (answered.get(actionId) ?? 0) + 1);
    }
    for (const [actionId, n] of answered) {
      if (n > 1) p(`action ${actionId} answered ${n} times in history (duplicate result)`);
    }
    const completions = events.filter((e) => e.kind === "executionCompleted");
    if (completions.length > 1) p(`${completions.length} executionCompleted events`);
    if (completions.length === 1 && events.at(-1)?.kind !== "executionCompleted") p(`history goes on after executionCompleted (ends with ${events.at(-1)?.kind})`);
    if (done && rows.length > 0 && completions.length === 0) p("finished, but history has no executionCompleted");
    if (!done && completions.length > 0) p(`history has executionCompleted (${completions[0].status}), but the row is not finished`);
    if (done && completions[0] && completions[0].status !== instance.status) p(`executionCompleted says ${completions[0].status}`);

    // -- queued rows
    if (done) {
      if (inbox.length > 0) p(`${inbox.length} inbox rows left for a finished instance`);
      if (activities.length > 0) p(`${activities.length} activity rows left for a finished instance`);
      continue;
    }
    const current = (row) => row.execution_id === null || row.execution_id === instance.execution_id;
    for (const activity of activities) {
      const where = `activity row ${activity.seq} (task ${activity.task_id} ${activity.name})`;
      if (activity.execution_id !== instance.execution_id) { p(`${where} belongs to execution ${activity.execution_id}, not the current ${instance.execution_id}`); continue; }
      const action = actions.get(activity.task_id);
      if (!action || action.kind !== "taskScheduled" || action.name !== activity.name) p(`${where} has no matching taskScheduled in history`);
      if (answered.has(activity.task_id)) p(`${where} is still queued though history already holds its result`);
    }
    const queuedResults = new Map(); // action ID -> count
    for (const row of inbox) {
      const shape = resultOf[row.event.kind];
      if (!shape || !current(row)) continue;
      const actionId = row.event[shape.field];
      queuedResults.set(actionId, (queuedResults.get(actionId) ?? 0) + 1);
      if (answered.has(actionId)) p(`inbox row ${row.seq} (${row.event.kind} for ${actionId}) queues a second result: history already holds one`);
      if (row.event.kind.startsWith("task") && activities.some((a) => a.task_id === actionId && a.execution_id === instance.execution_id)) {
        p(`task ${actionId} has both a queued result (inbox row ${row.seq}) and an activity row: two results on their way`);
      }
    }
    for (const [actionId, n] of queuedResults) {
      if (n > 1) p(`${n} results queued for action ${actionId}`);
    }

    // -- is anything going to move this instance?
    if (rows.length === 0) {
      if (!inbox.some((row) => row.event.kind === "executionStarted")) p("no history and no queued executionStarted: it can never start");
      continue;
    }
    let pending = 0;
    for (const [actionId, action] of actions) {
      if (answered.has(actionId) || action.kind === "eventSent") continue;
      pending++;
      if (queuedResults.has(actionId)) continue;
      if (action.kind === "taskScheduled") {
        if (!activities.some((a) => a.task_id === actionId)) p(`task ${actionId} (${action.name}) is unanswered, with no activity row and no queued result: lost`);
      } else if (action.kind === "timerCreated") {
        p(`timer ${actionId} is unanswered, with no queued timerFired: lost`);
      } else {
        const child = instances.get(action.instanceId);
        if (!child) p(`child ${action.instanceId} (action ${actionId}) is unanswered and does not exist: lost`);
        else if (child.parent_instance_id !== id) p(`child ${action.instanceId} (action ${actionId}) belongs to ${child.parent_instance_id}`);
        else if (terminal.has(child.status)) p(`child ${action.instanceId} (action ${actionId}) is ${child.status}, but its result never reached the parent: lost`);
      }
    }
    if (pending === 0 && inbox.length === 0 && !mayIdle(instance, events)) {
      p("stuck: nothing unanswered, nothing queued, and it is not allowed to wait");
    }
  }

  if (final) {
    const unfinished = data.instances.filter((row) => !terminal.has(row.status));
    if (unfinished.length > 0) problems.push(`final: ${unfinished.length} instances not finished: ${unfinished.slice(0, 10).map((r) => `${r.instance_id}=${r.status}`).join(", ")}`);
    if (data.inbox.length > 0) problems.push(`final: ${data.inbox.length} inbox rows left`);
    if (data.activities.length > 0) problems.push(`final: ${data.activities.length} activity rows left`);
  }

  return {
    problems,
    stats: {
      instances: data.instances.length,
      terminal: data.instances.filter((row) => terminal.has(row.status)).length,
      historyRows: data.history.length,
      inboxRows: data.inbox.length,
      activityRows: data.activities.length,
    },
  };
}

/**
 * Counts history results per (instance, action) over the whole database: more than one is
 * a step applied twice. Returns the duplicates found.
 */
export function duplicateResults(source) {
  const data = typeof source === "string" ? readDatabase(source) : source;
  const seen = new Map();
  const duplicates = [];
  for (const row of data.history) {
    const event = JSON.parse(row.event);
    const shape = resultOf[event.kind];
    if (!shape) continue;
    const key = `${row.instance_id}#${event[shape.field]}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (seen.get(key) === 2) duplicates.push(key);
  }
  return duplicates;
}
