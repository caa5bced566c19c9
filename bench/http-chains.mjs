// 2,000 5-activity chains started over HTTP, 64 starts in flight, time from the first start
// request to the last completion (issue 14: ≥ 1,700/s). The clients run in their own process
// (bench/lib/http-starter.mjs: 64 keep-alive connections, each sending its next POST .../start
// when the last is answered); the server is workflowd with the in-process runtime on a file
// database (WAL; every commit durable before any answer). A warm-up of 500 chains runs first on the same server.
// Every output is checked. bench/soak.mjs measures the same figure as its reference.
//
//   node bench/http-chains.mjs [count=2000] [connections=64]
import { join } from "node:path";
import { createWorkflowd } from "../dist/src/app.js";
import { measureCeiling, ofCeiling } from "./lib/ceiling.mjs";
import { registerChain } from "./lib/chain.mjs";
import { durabilityLine, fmt, header, runScript, table, tempDir, verdict } from "./lib/common.mjs";
import { httpChainBurst } from "./lib/http-chains.mjs";

const count = Number(process.argv[2] ?? 2_000);
const connections = Number(process.argv[3] ?? 64);
const warmup = 500;

runScript("http-chains", async () => {
  header(
    "5-activity chains started over HTTP, started → all COMPLETED",
    `${fmt(count)} chains, ${connections} start requests in flight (clients in their own process), after a warm-up of ${warmup}; ` +
      "in-process runtime, file DB in a temp dir; time from the first start sent to the last completion recorded",
  );
  const ceiling = measureCeiling();
  const { dir, cleanup } = tempDir("http-chains");
  const dbPath = join(dir, "http-chains.db");
  const wd = await createWorkflowd({ dbPath, workflows: registerChain });
  try {
    console.log(durabilityLine(wd.store));
    await wd.app.listen({ host: "127.0.0.1", port: 0 });
    const port = wd.app.server.address().port;
    await httpChainBurst({ port, dbPath, prefix: "warm-", count: warmup, connections });
    const r = await httpChainBurst({ port, dbPath, prefix: "http-", count, connections });
    table(
      ["figure", "value", "raw SQLite ceiling (chains/s)", "target", ""],
      [
        [`${fmt(count)} chains started over HTTP (${connections} in flight), started → all COMPLETED`, `${fmt(r.rate)} chains/s (${fmt(r.elapsedMs / 1000, 2)} s)`, ofCeiling(r.rate, ceiling.chainsPerSec), "≥ 1,700/s", verdict(r.rate >= 1700)],
        ["starts answered in", `${fmt(r.startsMs / 1000, 2)} s (${fmt((count * 1000) / r.startsMs)} starts/s; start p50 ${fmt(r.startLatency.p50, 1)} ms, p99 ${fmt(r.startLatency.p99, 1)} ms)`, "", "", ""],
        ["per-workflow start → COMPLETED (server-side) p50 / p99", `${fmt(r.p50)} / ${fmt(r.p99)} ms`, "", "", ""],
      ],
    );
    console.log(ceiling.describe());
    console.log(`all ${fmt(count + warmup)} chains (incl. warm-up) COMPLETED with the right output`);
  } finally {
    await wd.app.close();
    cleanup();
  }
});
