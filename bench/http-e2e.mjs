// The first slice's end-to-end benchmark (formerly bench/run.mjs), kept so the figures in
// docs/performance.md's first section can be reproduced: the bundled example workflows over
// real HTTP (POST .../start, then wait for COMPLETED), closed loop, file database. Not part
// of the issue-6 suite; run it alone or as `node bench/run.mjs http-e2e`.
//   node bench/http-e2e.mjs [workflows=300] [concurrency=32]
import { join } from "node:path";
import { createWorkflowd } from "../dist/src/app.js";
import register from "../dist/examples/index.js";
import { check, fmt, header, percentile, runScript, sleep, table, tempDir } from "./lib/common.mjs";

const workflows = Number(process.argv[2] ?? 300);
const concurrency = Number(process.argv[3] ?? 32);

const expectedOutput = {
  hello: () => JSON.stringify(["Hello, Tokyo!", "Hello, London!", "Hello, Bench!"]),
  fanOutFanIn: (n) => JSON.stringify({ count: n, sumOfSquares: (n * (n + 1) * (2 * n + 1)) / 6 }),
};

async function e2e(dir, label, name, body, count, output) {
  const { app, store } = await createWorkflowd({ dbPath: join(dir, `e2e-${label}.db`), workflows: register });
  try {
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
          const state = await store.getInstance(id);
          if (state && ["COMPLETED", "FAILED", "TERMINATED"].includes(state.status)) {
            check(state.status === "COMPLETED", `${id} ended ${state.status}`);
            check(state.output === output, `${id} output ${state.output}, expected ${output}`);
            // Latency as the server saw it: from the start request to the completion event.
            latencyMs.set(id, state.lastUpdatedAt - state.createdAt);
            break;
          }
          await sleep(10);
        }
      }
    }
    await Promise.all(Array.from({ length: concurrency }, client));
    const seconds = (performance.now() - t0) / 1000;
    const latencies = [...latencyMs.values()];
    check(latencies.length === count, `${latencies.length} of ${count} workflows completed`);
    const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
    return [label, fmt(count), `${fmt(count / seconds, 1)} wf/s`, `${fmt(percentile(latencies, 50))} / ${fmt(percentile(latencies, 95))} ms`, `${rss} MiB`];
  } finally {
    await app.close();
  }
}

runScript("http-e2e", async () => {
  header(
    "first-slice end to end over HTTP (bundled examples, closed loop)",
    `${concurrency} closed-loop clients; latency server-side, start request to completion event; file DB (WAL, synchronous=FULL)`,
  );
  const { dir, cleanup } = tempDir("http-e2e");
  try {
    const rows = [
      await e2e(dir, "hello-chain-3", "hello", '"Bench"', workflows, expectedOutput.hello()),
      await e2e(dir, "fan-out-5", "fanOutFanIn", "5", workflows, expectedOutput.fanOutFanIn(5)),
      await e2e(dir, "fan-out-100", "fanOutFanIn", "100", Math.max(10, Math.floor(workflows / 10)), expectedOutput.fanOutFanIn(100)),
    ];
    table(["workload", "workflows", "throughput", "latency p50 / p95", "RSS"], rows);
  } finally {
    cleanup();
  }
});
