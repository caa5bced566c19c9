// Starts 5-activity chains over HTTP from its own process (so the clients do not share the
// server's event loop): `connections` keep-alive connections, each sending its next
// POST /v1.0/workflows/dapr/<workflow>/start?instanceID=<prefix><6 digits> as soon as the
// last one is answered (so `connections` starts are in flight), until `amount` were started
// or `seconds` have passed (starts in flight then are still answered and counted). The body
// is the chain's seed for that ID (bench/lib/chain.mjs). A 429 is counted and the same ID
// is sent again after its Retry-After (at most 1 s). Prints one JSON line on stdout:
//   { started, rejected429, failures, failureSample, firstSendAt, lastAnswerAt, latencyMs: { p50, p99, max } }
// (firstSendAt / lastAnswerAt are Date.now() values, the server's clock on this machine).
//   node bench/lib/http-starter.mjs '{"port":1234,"workflow":"benchChain","prefix":"x-","connections":64,"amount":2000}'
import { Agent, request } from "node:http";
import { idOf, seedOf } from "./chain.mjs";
import { percentile, sleep } from "./common.mjs";

const { port, workflow = "benchChain", prefix, connections = 64, amount = Infinity, seconds = Infinity, firstIndex = 0 } = JSON.parse(process.argv[2]);
const agent = new Agent({ keepAlive: true, maxSockets: connections });

function post(id) {
  const body = String(seedOf(id));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: `/v1.0/workflows/dapr/${workflow}/start?instanceID=${encodeURIComponent(id)}`,
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, retryAfter: res.headers["retry-after"], text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

let next = firstIndex;
let started = 0;
let rejected429 = 0;
let failures = 0;
let failureSample;
const latencies = [];
const firstSendAt = Date.now();
const t0 = performance.now();
const endsAt = t0 + seconds * 1000;
let lastAnswerAt = firstSendAt;

async function client() {
  while (next - firstIndex < amount && performance.now() < endsAt) {
    const id = idOf(prefix, next++);
    for (;;) {
      const sent = performance.now();
      let answer;
      try {
        answer = await post(id);
      } catch (error) {
        failures += 1;
        failureSample ??= `${id}: ${error.message}`;
        break;
      }
      lastAnswerAt = Date.now();
      if (answer.status === 202) {
        started += 1;
        latencies.push(performance.now() - sent);
        break;
      }
      if (answer.status === 429) {
        rejected429 += 1;
        await sleep(Math.min(1000, Number(answer.retryAfter ?? 1) * 1000));
        if (performance.now() < endsAt) continue;
        break;
      }
      failures += 1;
      failureSample ??= `${id}: ${answer.status} ${answer.text.slice(0, 200)}`;
      break;
    }
  }
}

await Promise.all(Array.from({ length: connections }, client));
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    started,
    rejected429,
    failures,
    failureSample,
    firstSendAt,
    lastAnswerAt,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
  })}\n`,
);
