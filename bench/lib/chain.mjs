// The 5-activity chain the benchmarks run, shared by the scripts that start it: the
// in-process workflow and activity (`benchChain`, `benchStep`), the output a seed must give,
// the instance IDs (prefix + 6 digits; the seed is derived from the ID), and the @dapr/dapr
// SDK worker process serving the same chain as `sdkBenchChain` (bench/lib/sdk-worker.mjs).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { check, DbView, fmt, percentile } from "./common.mjs";

export const steps = 5;
const workerJs = fileURLToPath(new URL("./sdk-worker.mjs", import.meta.url));

export function benchStep(_ctx, { value, index }) {
  return value * 3 + index + 1;
}

export async function* benchChain(ctx, seed) {
  let value = seed;
  for (let index = 0; index < steps; index++) value = yield ctx.callActivity(benchStep, { value, index });
  return value;
}

/** Registers the in-process chain (for createWorkflowd's `workflows`). */
export const registerChain = (registry) => registry.registerWorkflow(benchChain).registerActivity(benchStep);

/** What the chain returns for a seed. */
export function chainResult(seed) {
  let value = seed;
  for (let index = 0; index < steps; index++) value = value * 3 + index + 1;
  return value;
}

export const idOf = (prefix, i) => `${prefix}${String(i).padStart(6, "0")}`;
export const seedOf = (id) => Number(id.slice(-6)) + 1;
/** The output (a JSON string, as stored) of the instance with this ID. */
export const outputOf = (id) => JSON.stringify(chainResult(seedOf(id)));

/** Spawns the SDK worker on workflowd's gRPC port; `ready` resolves once it runs. */
export function startSdkWorker(grpcPort) {
  const child = spawn(process.execPath, [workerJs, String(grpcPort)], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const ready = new Promise((resolve, reject) => {
    // The SDK logs a line per work item: keep only the last 64 KiB (for an error message), and
    // look for "ready" only until it came (scanning all the output on every chunk was
    // quadratic, and ate a quarter of the server's CPU in the gRPC runs).
    let ready_ = false;
    const keep = (chunk) => {
      output = (output + chunk).slice(-65_536);
    };
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      keep(chunk);
      if (!ready_ && output.includes("ready")) {
        ready_ = true;
        resolve();
      }
    });
    child.stderr.setEncoding("utf8").on("data", keep);
    child.once("exit", (code) => reject(new Error(`SDK worker exited (${code}) before it was ready: ${output}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 6_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, ready, stop, output: () => output };
}

/** Starts `count` instances at once (service.start may be sync or async), then waits for all. */
export async function runChains(wd, dbPath, { prefix, workflowName, count, timeoutMs }) {
  const view = new DbView(dbPath);
  try {
    const t0 = Date.now();
    const starts = [];
    for (let i = 0; i < count; i++) {
      const id = idOf(prefix, i);
      starts.push(Promise.resolve(wd.engine.service.start(workflowName, id, String(seedOf(id)))));
    }
    const results = await Promise.all(starts);
    const startedMs = Date.now() - t0;
    const bad = results.filter((r) => r.kind !== "started");
    check(bad.length === 0, `${bad.length} starts failed, e.g. ${JSON.stringify(bad[0])}`);
    await view.waitFinished(prefix, count, {
      timeoutMs,
      label: `${workflowName} × ${count}`,
      onProgress: (n, ms) => console.log(`  ... ${fmt(n)} of ${fmt(count)} finished after ${fmt(ms / 1000, 1)} s`),
    });
    const rows = view.verifyCompleted(prefix, count, outputOf, `${workflowName} × ${count}`);
    // Server-side clock: from before the first start to the last completion event.
    const lastDone = rows.reduce((max, r) => Math.max(max, r.last_updated_at), 0);
    const elapsedMs = lastDone - t0;
    const latencies = rows.map((r) => r.last_updated_at - r.created_at);
    const historyOk = rows.every((r) => r.history_length === rows[0].history_length);
    check(historyOk, "instances of the same chain have different history lengths");
    return { count, startedMs, elapsedMs, p50: percentile(latencies, 50), p99: percentile(latencies, 99), historyLength: rows[0].history_length };
  } finally {
    view.close();
  }
}

/**
 * Runs `work(remote)` against a workflowd (file DB `dbPath`, no in-process workflows) served by
 * one @dapr/dapr worker process connected over gRPC; prints the worker's output if it fails,
 * and stops both either way.
 */
export async function withSdkWorker(dbPath, work) {
  const { createWorkflowd } = await import("../../dist/src/app.js");
  const remote = await createWorkflowd({ dbPath });
  const worker = startSdkWorker(await remote.grpc.listen("127.0.0.1", 0));
  try {
    await worker.ready;
    for (let waited = 0; remote.engine.workers.size === 0; waited += 20) {
      if (waited >= 10_000) throw new Error("the SDK worker did not connect within 10 s");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return await work(remote);
  } catch (error) {
    console.error(`SDK worker output:\n${worker.output()}`);
    throw error;
  } finally {
    await worker.stop();
    await remote.app.close();
  }
}

