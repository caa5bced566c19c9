// HTTP start throughput and latency: autocannon (in its own process), 64 connections, 10 s,
// POST /v1.0/workflows/dapr/benchNoop/start against a real workflowd (file database in a
// temp dir, every commit durable before its answer), and in the same run a bare Fastify
// route answering 202 with a body of the same size: the denominator of the ratio. No
// instanceID query, so the server generates a UUID for every start. Afterwards every
// started instance must reach COMPLETED with its input as output.
//
//   node bench/http-start.mjs [seconds=10] [connections=64]
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import { createWorkflowd } from "../dist/src/app.js";
import { check, DbView, durabilityLine, fmt, header, runScript, table, tempDir, verdict } from "./lib/common.mjs";

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 64);
const warmupSeconds = 2;
const loadJs = fileURLToPath(new URL("./lib/load.mjs", import.meta.url));
const body = '{"order":42,"item":"book"}';
const path = "/v1.0/workflows/dapr/benchNoop/start";

// A workflow that does little: one turn, returns its input.
async function* benchNoop(_ctx, input) {
  return input;
}

function load(port, duration) {
  const options = {
    url: `http://127.0.0.1:${port}${path}`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    duration,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [loadJs, JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (out += chunk));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split("\n").pop()));
      } catch (error) {
        reject(new Error(`autocannon printed no result: ${out.slice(0, 500)}`, { cause: error }));
      }
    });
  });
}

runScript("http-start", async () => {
  header(
    "2. HTTP start throughput (autocannon)",
    `${connections} connections, ${seconds} s (after ${warmupSeconds} s warm-up), POST ${path} with a ${body.length}-byte JSON body; ` +
      "workflowd on a file DB in a temp dir, running each started workflow (one turn) meanwhile",
  );
  const { dir, cleanup } = tempDir("http-start");
  const dbPath = join(dir, "http-start.db");
  const wd = await createWorkflowd({ dbPath, workflows: (r) => r.registerWorkflow(benchNoop) });
  const bare = Fastify({ logger: false });
  const replyBody = JSON.stringify({ instanceID: "00000000-0000-0000-0000-000000000000" });
  bare.post("/v1.0/workflows/:component/:name/start", async (_request, reply) => {
    reply.code(202).header("content-type", "application/json; charset=utf-8").send(replyBody);
  });
  let view;
  try {
    console.log(durabilityLine(wd.store));
    await wd.app.listen({ host: "127.0.0.1", port: 0 });
    await bare.listen({ host: "127.0.0.1", port: 0 });
    const wdPort = wd.app.server.address().port;
    const barePort = bare.server.address().port;
    view = new DbView(dbPath);
    const countInstances = view.db.prepare("SELECT count(*) AS n FROM instances");

    // Same-size replies, checked once.
    const sample = await fetch(`http://127.0.0.1:${wdPort}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const sampleText = await sample.text();
    check(sample.status === 202, `workflowd start answered ${sample.status}: ${sampleText}`);
    check(sampleText.length === replyBody.length, `workflowd's reply is ${sampleText.length} bytes, the bare route's ${replyBody.length}`);

    // Warm-up both (JIT, connection pools); let the warm-up's workflows finish first.
    await load(wdPort, warmupSeconds);
    await view.waitFinished("", countInstances.get().n, { timeoutMs: 60_000, label: "warm-up" });
    await load(barePort, warmupSeconds);

    const bareResult = await load(barePort, seconds);
    const before = countInstances.get().n;
    const groupBefore = wd.store.groupCommitStats;
    const wdResult = await load(wdPort, seconds);
    const groupAfter = wd.store.groupCommitStats;
    const created = countInstances.get().n - before;

    // Every 2xx created an instance; requests cut off at the end may have created one too.
    check(wdResult["2xx"] > 0, "no start succeeded");
    check(
      created >= wdResult["2xx"] && created <= wdResult["2xx"] + connections,
      `${created} instances created for ${wdResult["2xx"]} successful starts`,
    );
    const drainBegan = Date.now();
    const total = countInstances.get().n;
    await view.waitFinished("", total, { timeoutMs: 90_000, label: "started workflows" });
    const drainMs = Date.now() - drainBegan;
    view.verifyCompleted("", total, () => body, "started workflows");

    const groups = groupAfter.groups - groupBefore.groups;
    const writes = groupAfter.writes - groupBefore.writes;
    const wdRate = wdResult.requests.average;
    const bareRate = bareResult.requests.average;
    const ratio = wdRate / bareRate;
    const failures = wdResult.non2xx + wdResult.errors + wdResult.timeouts;
    table(
      ["server", "req/s (mean)", "2xx", "non-2xx", "errors/timeouts", "p50 ms", "p99 ms", "max ms", "target"],
      [
        ["bare Fastify 202", fmt(bareRate), fmt(bareResult["2xx"]), bareResult.non2xx, `${bareResult.errors}/${bareResult.timeouts}`, bareResult.latency.p50, bareResult.latency.p99, bareResult.latency.max, "(denominator)"],
        ["workflowd start", fmt(wdRate), fmt(wdResult["2xx"]), wdResult.non2xx, `${wdResult.errors}/${wdResult.timeouts}`, wdResult.latency.p50, wdResult.latency.p99, wdResult.latency.max, "≥ 5,000 req/s, p99 ≤ 50 ms"],
      ],
    );
    console.log();
    table(
      ["figure", "value", "target", ""],
      [
        ["starts/s", fmt(wdRate), "≥ 5,000", verdict(wdRate >= 5000)],
        ["start p99 latency", `${wdResult.latency.p99} ms`, "≤ 50 ms", verdict(wdResult.latency.p99 <= 50)],
        ["ratio to bare route", `${fmt(ratio * 100, 1)} %`, "≥ 35 %", verdict(ratio >= 0.35)],
        ["group commit (store.groupCommitStats) during the run", `${fmt(groups)} commits, ${fmt(writes)} writes, ${fmt(writes / Math.max(1, groups), 1)} writes/commit`, "", ""],
        ["instances started in the run", `${fmt(created)}; all ${fmt(total)} (incl. warm-up) COMPLETED with the right output, backlog drained ${fmt(drainMs / 1000, 1)} s after the run`, "", ""],
      ],
    );
    check(failures === 0, `workflowd answered ${wdResult.non2xx} non-2xx, ${wdResult.errors} errors, ${wdResult.timeouts} timeouts: ${JSON.stringify(wdResult.statusCodeStats)}`);
  } finally {
    view?.close();
    await bare.close();
    await wd.app.close();
    cleanup();
  }
});
