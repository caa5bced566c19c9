// The raw SQLite ceiling (see bench/ceiling.mjs for what a "step" and a "cycle" write):
// `measure` runs one configuration; `measureCeiling` runs the two the other scripts print
// beside their figures, in their own run, so a throughput or latency is shown with the
// share of the disk's ceiling it reaches.
import { join } from "node:path";
import Database from "better-sqlite3";
import { migrate } from "../../dist/src/store/sqlite/migrations.js";
import { storeSql } from "../../dist/src/store/sqlite/statements.js";
import { check, fmt, percentile, tempDir } from "./common.mjs";

const instanceCount = 1000;
const inboxPrefill = 80_000;

// Events shaped exactly as a 5-activity chain step stores them (JSON, as src/store/codec.ts).
const executionId = "a08fceee041e455c80d0d25dee5b3220";
const ev = {
  orchestratorStarted: (t) => JSON.stringify({ eventId: -1, timestamp: t, kind: "orchestratorStarted" }),
  taskCompleted: (t, id, result) => JSON.stringify({ eventId: -1, timestamp: t, kind: "taskCompleted", taskScheduledId: id, result }),
  taskScheduled: (t, id, input) => JSON.stringify({ eventId: id, timestamp: t, kind: "taskScheduled", name: "benchStep", input }),
};

function openDb(path, synchronous) {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma("busy_timeout = 5000");
  const mode = String(db.pragma("journal_mode", { simple: true }));
  const sync = Number(db.pragma("synchronous", { simple: true }));
  check(mode === "wal", `journal_mode is ${mode}, expected wal`);
  check(sync === (synchronous === "FULL" ? 2 : 1), `synchronous is ${sync}, expected ${synchronous}`);
  migrate(db);
  return db;
}

function prepare(db) {
  // The store's very statements (src/store/sqlite/statements.ts), prepared on this connection.
  const names = ["insertInstance", "updateInstance", "insertHistory", "insertInbox", "deleteInbox", "insertActivity", "claimActivities", "deleteActivity"];
  return Object.fromEntries(names.map((name) => [name, db.prepare(storeSql[name])]));
}

/** One configuration: `stepsPerTx` steps (or step + activity cycles) per transaction for `seconds`. */
export function measure(dir, synchronous, stepsPerTx, withActivity, durationSeconds) {
  const label = `${synchronous}-${stepsPerTx}-${withActivity ? "cycle" : "step"}`;
  const db = openDb(join(dir, `${label}.db`), synchronous);
  const s = prepare(db);
  const now0 = Date.now();
  const ids = Array.from({ length: instanceCount }, (_, i) => `ceiling-${String(i).padStart(6, "0")}`);
  const version = new Array(instanceCount).fill(1);
  const historyLength = new Array(instanceCount).fill(0);
  const taskIds = new Array(instanceCount).fill(0);
  const inboxQueue = []; // [seq, instanceIndex] waiting to be consumed, in order
  db.transaction(() => {
    for (const [i, id] of ids.entries()) {
      s.insertInstance.run({ instance_id: id, name: "benchChain", execution_id: executionId, created_at: now0, input: "7", parent_instance_id: null, workflow_version: null, app_id: null });
    }
    // The step variant consumes pre-queued results; the cycle variant queues its own.
    const prefill = withActivity ? instanceCount : inboxPrefill;
    for (let k = 0; k < prefill; k++) {
      const i = k % instanceCount;
      const info = s.insertInbox.run(ids[i], now0, executionId, ev.taskCompleted(now0, 1, "22"));
      inboxQueue.push([Number(info.lastInsertRowid), i]);
    }
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");

  let steps = 0;
  let queueHead = 0;
  const step = () => {
    const [inboxSeq, i] = inboxQueue[queueHead++];
    const id = ids[i];
    const t = Date.now();
    const taskId = ++taskIds[i];
    const input = `{"value":${taskId * 7},"index":${taskId % 5}}`;
    const updated = s.updateInstance.run({
      instance_id: id, expected_version: version[i], has_state: 1, name: "benchChain", execution_id: executionId,
      status: "RUNNING", created_at: now0, last_updated_at: t, input: "7", output: null, failure_details: null,
      custom_status: null, history_length: historyLength[i] + 3, workflow_version: null,
    });
    if (updated.changes !== 1) throw new Error(`version guard failed for ${id}`);
    version[i] += 1;
    s.insertHistory.run(id, historyLength[i]++, ev.orchestratorStarted(t));
    s.insertHistory.run(id, historyLength[i]++, ev.taskCompleted(t, taskId, String(taskId * 21)));
    const scheduled = ev.taskScheduled(t, taskId, input);
    s.insertHistory.run(id, historyLength[i]++, scheduled);
    if (s.deleteInbox.run(inboxSeq, id).changes !== 1) throw new Error(`inbox row ${inboxSeq} missing`);
    const activity = s.insertActivity.run(id, executionId, taskId, "benchStep", input, scheduled, null, null);
    if (withActivity) {
      // Claim (lease), then the result: activity row deleted, result queued for the next turn.
      // The store's claim takes the oldest free rows: the one just queued, the only free one.
      const [claimed] = s.claimActivities.all({ owner: "bench-owner", now: t, expires: t + 300_000, limit: 1, names: null, app: null });
      if (claimed?.seq !== Number(activity.lastInsertRowid)) throw new Error("claimed another activity than the one just queued");
      s.deleteActivity.run(claimed.seq);
      const info = s.insertInbox.run(id, t, executionId, ev.taskCompleted(t, taskId, String(taskId * 21)));
      inboxQueue.push([Number(info.lastInsertRowid), i]);
    }
    steps += 1;
  };
  const tx = db.transaction((n) => {
    for (let k = 0; k < n; k++) step();
  });

  const latencies = [];
  const began = performance.now();
  const deadline = began + durationSeconds * 1000;
  let transactions = 0;
  for (;;) {
    const left = inboxQueue.length - queueHead;
    if (left < stepsPerTx) break;
    const t0 = performance.now();
    tx.immediate(stepsPerTx);
    const t1 = performance.now();
    latencies.push(t1 - t0);
    transactions += 1;
    if (t1 >= deadline) break;
  }
  const seconds = (performance.now() - began) / 1000;
  // Self-check: everything the loop wrote is there.
  const rows = db.prepare("SELECT (SELECT count(*) FROM history) AS h, (SELECT sum(version) - count(*) FROM instances) AS v").get();
  check(rows.h === steps * 3, `${label}: ${rows.h} history rows, expected ${steps * 3}`);
  check(rows.v === steps, `${label}: ${rows.v} version bumps, expected ${steps}`);
  db.close();
  return {
    synchronous,
    stepsPerTx,
    kind: withActivity ? "cycle" : "step",
    txPerSec: transactions / seconds,
    stepsPerSec: steps / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    exhausted: inboxQueue.length - queueHead < stepsPerTx,
  };
}

/** Turns of a 5-activity chain plus its activities, as bench/ceiling.mjs counts them per chain. */
const cyclesPerChain = 6;

/**
 * The ceiling beside the end-to-end figures (WAL + FULL, as workflowd runs):
 *   chainsPerSec: 100 step + activity cycles per commit, ÷ 6 per chain (as ceiling.mjs's
 *     summary line): the chains/s if storage were the only cost;
 *   commitP50Ms: one step per commit, the p50 of a transaction incl. its fsync: the floor of
 *     one durable write that nothing else shares.
 */
export function measureCeiling(seconds = 1.5) {
  const { dir, cleanup } = tempDir("ceiling-ref");
  try {
    const single = measure(dir, "FULL", 1, false, seconds);
    const grouped = measure(dir, "FULL", 100, true, seconds);
    return {
      chainsPerSec: grouped.stepsPerSec / cyclesPerChain,
      cyclesPerSec: grouped.stepsPerSec,
      commitP50Ms: single.p50,
      commitP99Ms: single.p99,
      describe: () =>
        `raw SQLite ceiling in this run (bench/ceiling.mjs's statements, WAL + FULL): ${fmt(grouped.stepsPerSec)} step + activity cycles/s ` +
        `at 100 per commit ≈ ${fmt(grouped.stepsPerSec / cyclesPerChain)} chains/s (÷ ${cyclesPerChain}); one step per commit: p50 ${fmt(single.p50, 3)} ms, p99 ${fmt(single.p99, 3)} ms`,
    };
  } finally {
    cleanup();
  }
}

/** "x % of the ceiling" for a rate against the ceiling's rate. */
export function ofCeiling(rate, ceilingRate) {
  return `${fmt((rate / ceilingRate) * 100, 1)} % of ${fmt(ceilingRate)}`;
}
