// History growth: one long-running instance calls a no-op activity 10,000 times, one after
// another, so its history grows to ~30,000 events. The cost of a step is the wall time from
// one activity call to the next (result committed, turn run, turn committed, next activity
// claimed). Compares the mean over steps 10–60 with the mean over the last 50 steps. A
// 300-step instance runs first as a warm-up, so the early window is not JIT warm-up.
// In-process runtime, file database in a temp dir (WAL, synchronous=FULL).
//
//   node bench/history-growth.mjs [steps=10000] [budgetSeconds=100]
// If the instance has not finished within the budget the script reports the ratio for the
// furthest step reached, terminates the instance and exits with code 2 (INCOMPLETE).
import { join } from "node:path";
import { createWorkflowd } from "../dist/src/app.js";
import { BudgetError, check, DbView, fmt, header, mean, percentile, runScript, sleep, table, tempDir, verdict } from "./lib/common.mjs";

const steps = Number(process.argv[2] ?? 10_000);
const budgetSeconds = Number(process.argv[3] ?? 100);
const window = 50;
const warmupSteps = 300;

const calledAt = new Float64Array(steps).fill(NaN);
let calls = 0;
function benchTick(_ctx, { i, record }) {
  if (record) {
    calledAt[i] = performance.now();
    calls += 1;
  }
  return i;
}

async function* benchLong(ctx, { n, record }) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += yield ctx.callActivity(benchTick, { i, record });
  return sum;
}

/** Costs (ms) of steps [from, from + window): from one activity call to the next. */
function windowCosts(from) {
  const costs = [];
  for (let i = from; i < from + window && i + 1 < steps; i++) {
    if (Number.isNaN(calledAt[i]) || Number.isNaN(calledAt[i + 1])) return [];
    costs.push(calledAt[i + 1] - calledAt[i]);
  }
  return costs;
}

/** Mean cost (ms) of steps [from, from + window). */
function windowCost(from) {
  const costs = windowCosts(from);
  return costs.length ? mean(costs) : NaN;
}

function windowMedian(from) {
  return percentile(windowCosts(from), 50);
}

/** The highest index such that every call up to it happened. */
function reached() {
  let i = 0;
  while (i < steps && !Number.isNaN(calledAt[i])) i++;
  return i;
}

runScript("history-growth", async () => {
  header(
    "5. history growth: one instance, sequential activities",
    `${fmt(steps)} sequential no-op activities in one instance (history ≈ ${fmt(steps * 3)} events); in-process runtime; ` +
      `file DB (WAL, synchronous=FULL); step cost = time between consecutive activity calls, mean over ${window} steps; ` +
      `after a ${warmupSteps}-step warm-up instance; budget ${budgetSeconds} s`,
  );
  const { dir, cleanup } = tempDir("history-growth");
  const dbPath = join(dir, "history-growth.db");
  const wd = await createWorkflowd({ dbPath, workflows: (r) => r.registerWorkflow(benchLong).registerActivity(benchTick) });
  const view = new DbView(dbPath);
  const status = view.db.prepare("SELECT status, output, history_length, last_updated_at FROM instances WHERE instance_id = ?");
  const id = "history-growth-1";
  try {
    // Warm-up (JIT, caches): a short instance first, so steps 10–60 below are not the
    // process's first steps.
    const warm = await wd.engine.service.start("benchLong", "warm-up", JSON.stringify({ n: warmupSteps, record: false }));
    check(warm.kind === "started", `warm-up start failed: ${JSON.stringify(warm)}`);
    await view.waitFinished("warm-up", 1, { timeoutMs: 30_000, label: "warm-up" });
    view.verifyCompleted("warm-up", 1, () => String((warmupSteps * (warmupSteps - 1)) / 2), "warm-up");

    const t0 = performance.now();
    const started = await wd.engine.service.start("benchLong", id, JSON.stringify({ n: steps, record: true }));
    check(started.kind === "started", `start failed: ${JSON.stringify(started)}`);
    let lastReport = t0;
    let row;
    for (;;) {
      row = status.get(id);
      if (row && ["COMPLETED", "FAILED", "TERMINATED"].includes(row.status)) break;
      const now = performance.now();
      if (now - t0 > budgetSeconds * 1000) break;
      if (now - lastReport >= 10_000) {
        lastReport = now;
        const at = reached();
        console.log(`  ... step ${fmt(at)} of ${fmt(steps)} after ${fmt((now - t0) / 1000, 1)} s (steps ${fmt(Math.max(0, at - window - 1))}–${fmt(at - 1)}: ${fmt(windowCost(Math.max(0, at - window - 1)), 2)} ms/step)`);
      }
      await sleep(50);
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const at = reached();
    const complete = row?.status === "COMPLETED";

    // The cost curve at a few points, and the ratio the target is about.
    const early = windowCost(10);
    const lateFrom = complete ? steps - window - 1 : Math.max(10, at - window - 1);
    const points = [10, 100, 1000, 5000, lateFrom]
      .filter((p, i, all) => p >= 0 && p + window < at && all.indexOf(p) === i)
      .sort((a, b) => a - b);
    const late = windowCost(lateFrom);
    const ratio = late / early;
    table(
      ["steps", "mean ms/step", "median ms/step", "mean × steps 10–60"],
      points.map((p) => [`${fmt(p)}–${fmt(p + window)}`, fmt(windowCost(p), 3), fmt(windowMedian(p), 3), fmt(windowCost(p) / early, 2)]),
    );
    console.log();
    table(
      ["figure", "value", "target", ""],
      [
        [
          complete ? `step ${fmt(steps)} / step 10 cost` : `step ${fmt(at)} (furthest reached) / step 10 cost`,
          `${fmt(ratio, 2)}× (${fmt(late, 3)} ms vs ${fmt(early, 3)} ms)`,
          "≤ 2×",
          complete ? verdict(ratio <= 2) : "MISS (incomplete)",
        ],
        ["whole run", complete ? `${fmt(steps)} steps in ${fmt(elapsedS, 1)} s (${fmt(steps / elapsedS)} steps/s), history ${fmt(row.history_length)} events` : `${fmt(at)} of ${fmt(steps)} steps in ${fmt(elapsedS, 1)} s`, "", ""],
      ],
    );
    if (!complete) {
      await wd.engine.service.terminate(id, "benchmark budget exceeded", true);
      throw new BudgetError(`the instance reached step ${at} of ${steps} within the ${budgetSeconds} s budget (status ${row?.status}); the ratio above is for the furthest step reached`);
    }
    check(row.output === String((steps * (steps - 1)) / 2), `output ${row.output}, expected ${(steps * (steps - 1)) / 2}`);
    check(calls === steps, `the activity ran ${calls} times, expected ${steps}`);
  } finally {
    view.close();
    await wd.app.close();
    cleanup();
  }
});
