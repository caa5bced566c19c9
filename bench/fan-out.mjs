// Fan-out: one workflow schedules 10,000 activities at once (whenAll) and sums their
// results; time from the start to COMPLETED, on the in-process runtime with a file
// database in a temp dir (WAL, synchronous=FULL). The output is checked.
//
//   node bench/fan-out.mjs [activities=10000]
import { join } from "node:path";
import { createWorkflowd } from "../dist/src/app.js";
import { check, DbView, fmt, header, runScript, table, tempDir, verdict } from "./lib/common.mjs";

const count = Number(process.argv[2] ?? 10_000);

let calls = 0;
let firstCallAt = 0;
let lastCallAt = 0;
function benchSquare(_ctx, n) {
  const now = Date.now();
  if (calls++ === 0) firstCallAt = now;
  lastCallAt = now;
  return n * n;
}

async function* benchFanOut(ctx, n) {
  const squares = yield ctx.whenAll(Array.from({ length: n }, (_, i) => ctx.callActivity(benchSquare, i + 1)));
  return { count: squares.length, sum: squares.reduce((a, b) => a + b, 0), first: squares[0], last: squares[squares.length - 1] };
}

function expected(n) {
  return JSON.stringify({ count: n, sum: (n * (n + 1) * (2 * n + 1)) / 6, first: 1, last: n * n });
}

runScript("fan-out", async () => {
  header(
    "4. fan-out: one workflow, parallel activities (whenAll)",
    `${fmt(count)} activities; in-process runtime; file DB (WAL, synchronous=FULL); timed from the start call to the completion event`,
  );
  const { dir, cleanup } = tempDir("fan-out");
  const dbPath = join(dir, "fan-out.db");
  const wd = await createWorkflowd({ dbPath, workflows: (r) => r.registerWorkflow(benchFanOut).registerActivity(benchSquare) });
  const view = new DbView(dbPath);
  try {
    const id = "fan-out-1";
    const t0 = Date.now();
    const started = await wd.engine.service.start("benchFanOut", id, String(count));
    check(started.kind === "started", `start failed: ${JSON.stringify(started)}`);
    await view.waitFinished(id, 1, {
      timeoutMs: 100_000,
      label: "fan-out",
      onProgress: (_n, ms) => console.log(`  ... ${fmt(calls)} of ${fmt(count)} activities ran after ${fmt(ms / 1000, 1)} s`),
    });
    const [row] = view.verifyCompleted(id, 1, () => expected(count), "fan-out");
    check(calls === count, `the activity ran ${calls} times, expected ${count} (at-least-once allows more only after a failure)`);
    const elapsedMs = row.last_updated_at - t0;
    const stats = wd.store.groupCommitStats;
    table(
      ["figure", "value", "target", ""],
      [
        ["fan-out of 10,000 activities, end to end".replace("10,000", fmt(count)), `${fmt(elapsedMs / 1000, 2)} s`, "≤ 5 s", verdict(elapsedMs <= 5000)],
        ["first activity ran after", `${fmt((firstCallAt - t0) / 1000, 2)} s`, "", ""],
        ["last activity ran after", `${fmt((lastCallAt - t0) / 1000, 2)} s`, "", ""],
        ["fan-in after the last activity", `${fmt((row.last_updated_at - lastCallAt) / 1000, 2)} s`, "", ""],
        ["activities/s (end to end)", fmt((count * 1000) / elapsedMs), "", ""],
        ["history rows / grouped commits", `${fmt(row.history_length)} / ${fmt(stats.groups)} (${fmt(stats.writes)} grouped writes)`, "", ""],
      ],
    );
  } finally {
    view.close();
    await wd.app.close();
    cleanup();
  }
});
