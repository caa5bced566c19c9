// What every spawner of a test server needs, in one place (plain .mjs: test/process/harness.ts
// and test/reliability/server-process.mjs, which scripts/torture.mjs runs under plain node,
// both use it).
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Settings the server (and the fixtures) read from the environment; a child never inherits ours. */
export const serverEnvNames = [
  "DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "DAPR_METRICS_PORT", "DAPR_API_TOKEN", "WORKFLOWD_GRPC_MAX_MESSAGE",
  "WORKFLOWD_GRPC_PRIME_RECONNECT", "WORKFLOWD_HOST", "WORKFLOWD_DB", "WORKFLOWD_WORKFLOWS", "LOG_LEVEL",
  "WORKFLOWD_MAX_BODY", "WORKFLOWD_ACTIVITY_LEASE_MS", "WORKFLOWD_SHUTDOWN_GRACE_MS", "APP_ID", "WORKFLOWD_REPLICA_ID",
  "FIXTURE_LOG", "FIXTURE_DELAY_MS", "TORTURE_LOG", "TORTURE_DELAY_MS", "TORTURE_FLAKY",
];

/**
 * The kernel hands out client-side ports (every outgoing connection's local port) from this
 * range; a port "free a moment ago" inside it can be taken by any test's client before the
 * server binds it, which once failed a CI run. Ports are therefore picked below it.
 */
function ephemeralRangeStart() {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 12000) return low;
  } catch {
    // Not Linux: fall back to the IANA dynamic range's start.
  }
  return 49152;
}

const lowestPort = 10000;
const slots = 8;
const slotWidth = Math.floor((ephemeralRangeStart() - lowestPort) / slots);
// Parallel test workers (vitest sets VITEST_POOL_ID) and scripts (their pid) each take their own
// slice, so two processes never pick the same port; within one, a counter walks the slice.
const slot = Number(process.env.VITEST_POOL_ID ?? process.pid) % slots;
let next = Math.floor(Math.random() * slotWidth);

function bindable(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port outside the ephemeral range, free now, that no other test process will pick. */
export async function freePort() {
  for (let tries = 0; tries < slotWidth; tries++) {
    const port = lowestPort + slot * slotWidth + (next++ % slotWidth);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${lowestPort + slot * slotWidth} and ${lowestPort + (slot + 1) * slotWidth - 1}`);
}
