// Benchmarks: the machine's raw SQLite commit ceiling and workflowd's end-to-end throughput
// over real HTTP, in one run, on files in a temp directory. Run after a build:
//   npm run bench            (or: node bench/run.mjs [workflows=300] [concurrency=32])
// Prints figures only; docs/performance.md records what was seen.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createWorkflowd } from "../dist/src/app.js";
import register from "../dist/examples/index.js";

const workflows = Number(process.argv[2] ?? 300);
const concurrency = Number(process.argv[3] ?? 32);
const dir = mkdtempSync(join(tmpdir(), "wfd-bench-"));

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`);

function sqliteCeiling(synchronous, rowsPerTx) {
  const db = new Database(join(dir, `ceiling-${synchronous}-${rowsPerTx}.db`));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous}`);
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, instance TEXT, payload TEXT)");
  const insert = db.prepare("INSERT INTO t (instance, payload) VALUES (?, ?)");
  const tx = db.transaction((n) => { for (let i = 0; i < rowsPerTx; i++) insert.run(`i${n}`, "x".repeat(300)); });
  const count = rowsPerTx === 1 ? 3000 : 1000;
  const t0 = performance.now();
  for (let n = 0; n < count; n++) tx(n);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return { txPerSec: Math.round(count / seconds), rowsPerSec: Math.round((count * rowsPerTx) / seconds) };
}

for (const sync of ["FULL", "NORMAL"]) {
  for (const rows of [1, 10]) {
    const r = sqliteCeiling(sync, rows);
    console.log(`sqlite ceiling  WAL+${sync.padEnd(6)} ${String(rows).padStart(2)} row(s)/tx: ${r.txPerSec} tx/s (${r.rowsPerSec} rows/s)`);
  }
}

async function e2e(label, name, body, count) {
  const { app, store } = await createWorkflowd({ dbPath: join(dir, `e2e-${label}.db`), workflows: register });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address();
  const base = `http://127.0.0.1:${port}/v1.0/workflows/dapr`;
  const ids = Array.from({ length: count }, (_, i) => `${label}-${i}`);
  const latencyMs = new Map();
  const t0 = performance.now();
  let next = 0;
  async function client() {
    while (next < ids.length) {
      const id = ids[next++];
      const res = await fetch(`${base}/${name}/start?instanceID=${id}`, { method: "POST", body });
      if (res.status !== 202) throw new Error(`start ${id}: ${res.status} ${await res.text()}`);
      // Wait for this instance to finish (closed loop: each client runs one workflow at a time).
      for (;;) {
        const state = store.getInstance(id);
        if (state && ["COMPLETED", "FAILED", "TERMINATED"].includes(state.status)) {
          if (state.status !== "COMPLETED") throw new Error(`${id} ended ${state.status}`);
          // Latency as the server saw it: from the start request to the completion event.
          latencyMs.set(id, state.lastUpdatedAt - state.createdAt);
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - t0) / 1000;
  const latencies = ids.map((id) => latencyMs.get(id)).sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(0);
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  await app.close();
  console.log(`e2e ${label.padEnd(16)} ${count} workflows, ${concurrency} clients: ${(count / seconds).toFixed(1)} wf/s, latency p50 ${pct(50)} ms p95 ${pct(95)} ms, rss ${rss} MiB`);
}

try {
  await e2e("hello-chain-3", "hello", '"Bench"', workflows);
  await e2e("fan-out-5", "fanOutFanIn", "5", workflows);
  await e2e("fan-out-100", "fanOutFanIn", "100", Math.max(10, Math.floor(workflows / 10)));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
