// The benchmark suite (issues 6, 12 and 14), run in sequence (`npm run bench` builds first):
//   node bench/run.mjs                  all ten scripts (soak takes 2.5–3 minutes, over the budget)
//   node bench/run.mjs chains fan-out   only those (any bench/<name>.mjs, e.g. http-e2e)
// Each script runs in its own process, prints its table(s) with the targets beside the
// figures, checks that every workflow it started COMPLETED with the right output, and is
// runnable alone (`node bench/<name>.mjs`). The runner ends with a summary and exits
// non-zero if any script failed. Figures are printed only; docs/performance.md records them.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fmt, machineLine, table } from "./lib/common.mjs";

const suite = ["ceiling", "http-start", "chains", "latency", "http-chains", "fan-out", "history-growth", "store-scale", "operations", "soak"];
const names = process.argv.length > 2 ? process.argv.slice(2) : suite;
const budgetSeconds = 120;

function run(name) {
  const script = fileURLToPath(new URL(`./${name}.mjs`, import.meta.url));
  if (!existsSync(script)) return Promise.resolve({ code: "missing", seconds: 0 });
  const began = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { stdio: "inherit" });
    child.once("exit", (code, signal) => resolve({ code: code ?? signal, seconds: (performance.now() - began) / 1000 }));
  });
}

console.log(`workflowd benchmarks: ${names.join(", ")}`);
console.log(machineLine());
console.log("Figures on a shared or loaded machine are noisy: record medians of several runs.");
const results = [];
for (const name of names) results.push({ name, ...(await run(name)) });

console.log("\n=== summary ===");
table(
  ["script", "result", "wall time"],
  results.map((r) => [
    r.name,
    r.code === 0 ? "ok" : r.code === "missing" ? "no such script" : r.code === 2 ? "INCOMPLETE (time budget; exit 2)" : `FAILED (exit ${r.code})`,
    `${fmt(r.seconds, 1)} s${r.seconds > budgetSeconds ? ` (over the ${budgetSeconds} s budget)` : ""}`,
  ]),
);
console.log(
  '("MISS" in a table: a figure missed its target. INCOMPLETE: the workload did not finish within the script\'s time budget. ' +
    "FAILED: a self-check or the run failed.)",
);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
