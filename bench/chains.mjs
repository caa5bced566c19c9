// End to end: 10,000 workflows of 5 sequential no-op activities started together on the
// in-process runtime, time until all are COMPLETED; then 1,000 of the same through a real
// @dapr/dapr WorkflowRuntime (a separate process, connected over gRPC). Both on a file
// database in a temp dir (WAL; every commit durable before any answer, as the store reports
// it). Every output is checked.
//
//   node bench/chains.mjs [inProcessCount=10000] [grpcCount=1000]
import { join } from "node:path";
import { createWorkflowd } from "../dist/src/app.js";
import { measureCeiling, ofCeiling } from "./lib/ceiling.mjs";
import { registerChain, runChains, steps, withSdkWorker } from "./lib/chain.mjs";
import { durabilityLine, fmt, header, runScript, table, tempDir, verdict } from "./lib/common.mjs";

const inProcessCount = Number(process.argv[2] ?? 10_000);
const grpcCount = Number(process.argv[3] ?? 1_000);

runScript("chains", async () => {
  header(
    "3. end to end: 5-activity chains started together",
    `in-process: ${fmt(inProcessCount)} workflows; gRPC: ${fmt(grpcCount)} workflows through one @dapr/dapr WorkflowRuntime in a separate process; ` +
      "file DB in a temp dir; started with engine.service.start, timed until the last completion event",
  );
  const ceiling = measureCeiling();
  const { dir, cleanup } = tempDir("chains");
  try {
    // -- in-process runtime -------------------------------------------------------------
    const inProcessDb = join(dir, "in-process.db");
    const wd = await createWorkflowd({ dbPath: inProcessDb, workflows: registerChain });
    let inProcess;
    let groups;
    try {
      console.log(durabilityLine(wd.store));
      const before = wd.store.groupCommitStats;
      inProcess = await runChains(wd, inProcessDb, { prefix: "chain-", workflowName: "benchChain", count: inProcessCount, timeoutMs: 110_000 });
      const after = wd.store.groupCommitStats;
      groups = { commits: after.groups - before.groups, writes: after.writes - before.writes };
    } finally {
      await wd.app.close();
    }

    // -- @dapr/dapr worker over gRPC ----------------------------------------------------
    const grpcDb = join(dir, "grpc.db");
    const viaGrpc = await withSdkWorker(grpcDb, (remote) => runChains(remote, grpcDb, { prefix: "sdk-", workflowName: "sdkBenchChain", count: grpcCount, timeoutMs: 60_000 }));

    const rate = (r) => (r.count * 1000) / r.elapsedMs;
    table(
      ["runtime", "workflows", "all COMPLETED after", "chains/s", "activities/s", "starts issued in", "per-workflow p50 / p99", "history rows", "raw SQLite ceiling (chains/s)", "target"],
      [
        ["in-process", fmt(inProcess.count), `${fmt(inProcess.elapsedMs / 1000, 2)} s`, fmt(rate(inProcess)), fmt(rate(inProcess) * steps), `${fmt(inProcess.startedMs / 1000, 2)} s`, `${fmt(inProcess.p50)} / ${fmt(inProcess.p99)} ms`, inProcess.historyLength, ofCeiling(rate(inProcess), ceiling.chainsPerSec), `≥ 2,500 chains/s: ${verdict(rate(inProcess) >= 2500)}`],
        ["@dapr/dapr gRPC worker", fmt(viaGrpc.count), `${fmt(viaGrpc.elapsedMs / 1000, 2)} s`, fmt(rate(viaGrpc)), fmt(rate(viaGrpc) * steps), `${fmt(viaGrpc.startedMs / 1000, 2)} s`, `${fmt(viaGrpc.p50)} / ${fmt(viaGrpc.p99)} ms`, viaGrpc.historyLength, ofCeiling(rate(viaGrpc), ceiling.chainsPerSec), `≥ 400 chains/s: ${verdict(rate(viaGrpc) >= 400)}`],
      ],
    );
    console.log(ceiling.describe());
    console.log(
      `in-process group commit: ${fmt(groups.commits)} commits carrying ${fmt(groups.writes)} grouped writes ` +
        `(${fmt(groups.writes / Math.max(1, groups.commits), 1)} per commit; ${fmt(groups.commits / inProcess.count, 2)} grouped commits per chain). ` +
        "daprd 1.17 for comparison: 28–57 wf/s for a 5-activity chain (different hardware).",
    );
  } finally {
    cleanup();
  }
});
