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
import { measure } from "./lib/ceiling.mjs";
import { fmt, header, runScript, table, tempDir } from "./lib/common.mjs";

const secondsPerConfig = Number(process.argv[2] ?? 1.5);

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
        for (const stepsPerTx of [1, 10, 100]) results.push(measure(dir, synchronous, stepsPerTx, withActivity, secondsPerConfig));
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
