// Latency at idle (issue 14): one 5-activity chain alone, start → COMPLETED, run one at a
// time (each started when the previous one has completed), on the in-process runtime and
// through one @dapr/dapr 3.18 WorkflowRuntime in a separate process (gRPC). File database in
// a temp dir (WAL; every commit durable before any answer, as the store reports it). Started with engine.service.start (no HTTP).
//
// Two clocks per run:
//   server-side: the instance's lastUpdatedAt − createdAt as the store recorded them. These
//     are Date.now() values, whole milliseconds, so each figure is ±1 ms; createdAt is taken
//     when the start is handled (before its commit), lastUpdatedAt when the completing turn
//     is applied (its commit, and the fsync, may come after it). The targets are on this one.
//   start call → completion seen: performance.now() (sub-millisecond) from calling
//     engine.service.start to the engine's instance watch reporting COMPLETED (it re-reads
//     the instance when a turn of it commits): includes the last commit and its fsync.
// Every output is checked.
//
//   node bench/latency.mjs [runs=200] [warmup=30]
import { join } from "node:path";
import { createWorkflowd } from "../dist/src/app.js";
import { measureCeiling } from "./lib/ceiling.mjs";
import { idOf, outputOf, registerChain, seedOf, withSdkWorker } from "./lib/chain.mjs";
import { check, DbView, durabilityLine, fmt, header, percentile, runScript, table, tempDir, terminal, verdict } from "./lib/common.mjs";

const runs = Number(process.argv[2] ?? 200);
const warmup = Number(process.argv[3] ?? 30);
/** Sequential commits of one chain alone if each turn and its activity shared one: 6 turns. */
const commitsPerChainFloor = 6;

/** Runs `count` chains one after another; returns both clocks' latencies (ms). */
async function alone(wd, workflowName, prefix, count) {
  const server = [];
  const client = [];
  for (let i = 0; i < count; i++) {
    const id = idOf(prefix, i);
    const t0 = performance.now();
    const started = await wd.engine.service.start(workflowName, id, String(seedOf(id)));
    check(started.kind === "started", `${id}: start answered ${JSON.stringify(started)}`);
    const done = await wd.engine.watch.waitFor(id, (instance) => terminal.includes(instance.status), 30_000);
    const t1 = performance.now();
    check(done.kind === "reached", `${id}: not finished within 30 s (${JSON.stringify(done)})`);
    check(done.instance.status === "COMPLETED" && done.instance.output === outputOf(id), `${id}: ${done.instance.status}, output ${done.instance.output}, expected ${outputOf(id)}`);
    server.push(done.instance.lastUpdatedAt - done.instance.createdAt);
    client.push(t1 - t0);
  }
  return { server, client };
}

async function measure(wd, dbPath, workflowName) {
  await alone(wd, workflowName, "warm-", warmup);
  const before = wd.store.groupCommitStats;
  const began = performance.now();
  const result = await alone(wd, workflowName, "alone-", runs);
  const seconds = (performance.now() - began) / 1000;
  const after = wd.store.groupCommitStats;
  const view = new DbView(dbPath);
  try {
    view.verifyCompleted("warm-", warmup, outputOf, `${workflowName} warm-up`);
    view.verifyCompleted("alone-", runs, outputOf, `${workflowName} alone`);
  } finally {
    view.close();
  }
  const commits = before && after ? { groups: after.groups - before.groups, writes: after.writes - before.writes } : undefined;
  return { ...result, seconds, commits };
}

const stats = (values) => ({ p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), max: percentile(values, 100) });

runScript("latency", async () => {
  header(
    "latency at idle: one 5-activity chain alone, start → COMPLETED",
    `${runs} runs one at a time after ${warmup} warm-up runs; in-process runtime, then one @dapr/dapr WorkflowRuntime over gRPC (separate process); ` +
      "file DB in a temp dir; started with engine.service.start",
  );
  const ceiling = measureCeiling();
  const { dir, cleanup } = tempDir("latency");
  try {
    // -- in-process runtime -------------------------------------------------------------
    const inProcessDb = join(dir, "in-process.db");
    const wd = await createWorkflowd({ dbPath: inProcessDb, workflows: registerChain });
    let inProcess;
    try {
      console.log(durabilityLine(wd.store));
      inProcess = await measure(wd, inProcessDb, "benchChain");
    } finally {
      await wd.app.close();
    }

    // -- @dapr/dapr worker over gRPC ----------------------------------------------------
    const grpcDb = join(dir, "grpc.db");
    const viaGrpc = await withSdkWorker(grpcDb, (remote) => measure(remote, grpcDb, "sdkBenchChain"));

    const floorMs = ceiling.commitP50Ms * commitsPerChainFloor;
    // Whole milliseconds on the server's clock, two decimals on performance.now().
    const row = (label, values, target, limit) => {
      const s = stats(values);
      const digits = target ? 0 : 2;
      return [
        label,
        fmt(s.p50, digits),
        fmt(s.p90, digits),
        fmt(s.p99, digits),
        fmt(s.max, digits),
        `${fmt(floorMs, 2)} ms: p50 is ${fmt(s.p50 / floorMs, 1)}×`,
        target ?? "",
        limit === undefined ? "" : verdict(s.p50 <= limit),
      ];
    };
    table(
      ["one chain alone, start → COMPLETED", "p50 ms", "p90 ms", "p99 ms", "max ms", `raw ceiling: ${commitsPerChainFloor} FULL commits at p50`, "target", ""],
      [
        row("in-process, server-side (createdAt → lastUpdatedAt)", inProcess.server, "p50 ≤ 5 ms", 5),
        row("in-process, start call → completion seen (incl. last commit)", inProcess.client),
        row("@dapr/dapr gRPC worker, server-side", viaGrpc.server, "p50 ≤ 15 ms", 15),
        row("@dapr/dapr gRPC worker, start call → completion seen", viaGrpc.client),
      ],
    );
    console.log(
      "(server-side timestamps are whole milliseconds (Date.now()); the second row of each pair is timed with performance.now() " +
        "in this process from engine.service.start to the engine's watch seeing COMPLETED)",
    );
    console.log(
      `${ceiling.describe()}; the ceiling column assumes ${commitsPerChainFloor} sequential commits per chain (its 6 turns, each activity in its turn's commit)`,
    );
    for (const [label, r] of [["in-process", inProcess], ["gRPC", viaGrpc]]) {
      if (r.commits) {
        console.log(
          `${label}: ${fmt(runs)} chains alone in ${fmt(r.seconds, 2)} s; group commit ${fmt(r.commits.groups)} commits carrying ${fmt(r.commits.writes)} writes ` +
            `(${fmt(r.commits.groups / runs, 1)} commits per chain)`,
        );
      }
    }
    console.log(`all ${fmt(2 * (runs + warmup))} chains (incl. warm-up) COMPLETED with the right output`);
  } finally {
    cleanup();
  }
});
