// Raw ceiling: how many transactions per second better-sqlite3 commits on this disk when
// each writes what workflowd writes for orchestration steps, WAL with synchronous=FULL and
// NORMAL, 1, 10 and 100 steps per transaction. The schema is the real one (migrations from
// dist/), the statements are the store's, the rows have the sizes of a real chain step.
//
//   node bench/ceiling.mjs [secondsPerConfig=1.5]
//
// One "step" (a turn of a 5-activity chain, as SqliteStore.commitTurn writes it):
//   UPDATE instances (version-guarded), INSERT 3 history rows (orchestratorStarted,
//   taskCompleted, taskScheduled), DELETE the consumed inbox row, INSERT the next activity.
// One "cycle" adds the activity's own writes (claim: lease UPDATE; result: DELETE the
// activity, INSERT its result into the inbox): everything one chain link costs.
import { join } from "node:path";
import Database from "better-sqlite3";
import { migrate } from "../dist/src/store/migrations.js";
import { storeSql } from "../dist/src/store/statements.js";
import { check, fmt, header, percentile, runScript, table, tempDir } from "./lib/common.mjs";

const secondsPerConfig = Number(process.argv[2] ?? 1.5);
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
  // The store's very statements (src/store/statements.ts), prepared on this connection.
  const names = ["insertInstance", "updateInstance", "insertHistory", "insertInbox", "deleteInbox", "insertActivity", "claimActivities", "deleteActivity"];
  return Object.fromEntries(names.map((name) => [name, db.prepare(storeSql[name])]));
}

function measure(dir, synchronous, stepsPerTx, withActivity) {
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
      s.insertInstance.run({ instance_id: id, name: "benchChain", execution_id: executionId, created_at: now0, input: "7", parent_instance_id: null });
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
      custom_status: null, history_length: historyLength[i] + 3,
    });
    if (updated.changes !== 1) throw new Error(`version guard failed for ${id}`);
    version[i] += 1;
    s.insertHistory.run(id, historyLength[i]++, ev.orchestratorStarted(t));
    s.insertHistory.run(id, historyLength[i]++, ev.taskCompleted(t, taskId, String(taskId * 21)));
    s.insertHistory.run(id, historyLength[i]++, ev.taskScheduled(t, taskId, input));
    if (s.deleteInbox.run(inboxSeq, id).changes !== 1) throw new Error(`inbox row ${inboxSeq} missing`);
    const activity = s.insertActivity.run(id, executionId, taskId, "benchStep", input);
    if (withActivity) {
      // Claim (lease), then the result: activity row deleted, result queued for the next turn.
      // The store's claim takes the oldest free rows: the one just queued, the only free one.
      const [claimed] = s.claimActivities.all({ owner: "bench-owner", now: t, expires: t + 300_000, limit: 1, names: null });
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
  const deadline = began + secondsPerConfig * 1000;
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

// Figures from ../shared/reference/performance-anchors.md §2.5 (a slightly different turn:
// inbox insert + 2 history rows + instance upsert + inbox delete), for orientation only.
const anchor = {
  "FULL-1": "4,325–4,937 tx/s",
  "NORMAL-1": "13,132–14,179 tx/s",
  "FULL-10": "13,624–15,737 turns/s",
  "NORMAL-10": "16,586–18,153 turns/s",
  "FULL-100": "20,400 turns/s",
  "NORMAL-100": "19,467 turns/s",
};

runScript("ceiling", async () => {
  header(
    "1. raw SQLite ceiling (better-sqlite3, WAL, real schema, rows of one orchestration step)",
    `file in a temp dir on the same disk; ${secondsPerConfig} s per configuration; latency = one db.transaction() call incl. COMMIT (and its fsync under FULL)`,
  );
  const { dir, cleanup } = tempDir("ceiling");
  try {
    const results = [];
    for (const withActivity of [false, true]) {
      for (const synchronous of ["FULL", "NORMAL"]) {
        for (const stepsPerTx of [1, 10, 100]) results.push(measure(dir, synchronous, stepsPerTx, withActivity));
      }
    }
    table(
      ["writes", "synchronous", "per tx", "tx/s", "steps/s", "commit p50 ms", "commit p99 ms", "anchor (§2.5, other VM run)"],
      results.map((r) => [
        r.kind === "step" ? "step" : "step + activity",
        r.synchronous,
        r.stepsPerTx,
        fmt(r.txPerSec),
        fmt(r.stepsPerSec) + (r.exhausted ? " (queue ran out)" : ""),
        fmt(r.p50, 3),
        fmt(r.p99, 3),
        r.kind === "step" ? anchor[`${r.synchronous}-${r.stepsPerTx}`] : "",
      ]),
    );
    const full1 = results.find((r) => r.kind === "step" && r.synchronous === "FULL" && r.stepsPerTx === 1);
    const full100 = results.find((r) => r.kind === "cycle" && r.synchronous === "FULL" && r.stepsPerTx === 100);
    console.log(
      `one step per commit under FULL: ${fmt(full1.stepsPerSec)} steps/s; ` +
        `grouped (100 step+activity cycles per commit, FULL): ${fmt(full100.stepsPerSec)} cycles/s ` +
        `≈ ${fmt(full100.stepsPerSec / 6)} 5-activity chains/s if storage were the only cost (6 turns + 5 activities per chain)`,
    );
  } finally {
    cleanup();
  }
});
