// 5-activity chains started over HTTP by bench/lib/http-starter.mjs (its own process), and
// the figure "N chains started over HTTP (64 in flight), started → all COMPLETED": the wall
// time from the first start request sent to the last completion the server recorded.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { outputOf } from "./chain.mjs";
import { check, DbView, fmt, percentile } from "./common.mjs";

const starterJs = fileURLToPath(new URL("./http-starter.mjs", import.meta.url));

/** Runs the starter (see its header for the options) and resolves with its JSON result. */
export function startOverHttp(options) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [starterJs, JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (out += chunk));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`http-starter exited with ${code}: ${out.slice(0, 500)}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()));
      } catch (error) {
        reject(new Error(`http-starter printed no result: ${out.slice(0, 500)}`, { cause: error }));
      }
    });
  });
}

/**
 * Starts `count` chains over HTTP to the server on `port` (database `dbPath`), `connections`
 * in flight, waits until all are COMPLETED and checks every output. The rate is `count` over
 * the time from the first start sent to the last completion recorded (server clock).
 */
export async function httpChainBurst({ port, dbPath, prefix, count, connections = 64, timeoutMs = 60_000 }) {
  const sent = await startOverHttp({ port, workflow: "benchChain", prefix, connections, amount: count });
  check(sent.failures === 0 && sent.started === count, `${prefix}: ${sent.started} of ${count} starts answered 202, ${sent.failures} failed (${sent.failureSample}), ${sent.rejected429} answered 429`);
  const view = new DbView(dbPath);
  try {
    await view.waitFinished(prefix, count, { timeoutMs, label: `${count} chains over HTTP` });
    const rows = view.verifyCompleted(prefix, count, outputOf, `${count} chains over HTTP`);
    const lastDone = rows.reduce((max, r) => Math.max(max, r.last_updated_at), 0);
    const elapsedMs = lastDone - sent.firstSendAt;
    const latencies = rows.map((r) => r.last_updated_at - r.created_at);
    return {
      count,
      elapsedMs,
      rate: (count * 1000) / elapsedMs,
      startsMs: sent.lastAnswerAt - sent.firstSendAt,
      startLatency: sent.latencyMs,
      rejected429: sent.rejected429,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      describe: () => `${fmt(count)} started in ${fmt((sent.lastAnswerAt - sent.firstSendAt) / 1000, 2)} s, all COMPLETED ${fmt(elapsedMs / 1000, 2)} s after the first start`,
    };
  } finally {
    view.close();
  }
}
