// What every spawner of a test server needs, in one place (plain .mjs: test/process/harness.ts
// and test/reliability/server-process.mjs, which scripts/torture.mjs runs under plain node,
// both use it).
import { createServer } from "node:net";

/** Settings the server (and the fixtures) read from the environment; a child never inherits ours. */
export const serverEnvNames = [
  "DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "DAPR_METRICS_PORT", "DAPR_API_TOKEN", "WORKFLOWD_GRPC_MAX_MESSAGE",
  "WORKFLOWD_GRPC_PRIME_RECONNECT", "WORKFLOWD_HOST", "WORKFLOWD_DB", "WORKFLOWD_WORKFLOWS", "LOG_LEVEL",
  "WORKFLOWD_MAX_BODY", "WORKFLOWD_ACTIVITY_LEASE_MS", "WORKFLOWD_SHUTDOWN_GRACE_MS", "APP_ID",
  "FIXTURE_LOG", "FIXTURE_DELAY_MS", "TORTURE_LOG", "TORTURE_DELAY_MS", "TORTURE_FLAKY",
];

/** A port that was free a moment ago: listen on port 0, read the number, close. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") return reject(new Error("no port"));
      server.close(() => resolve(address.port));
    });
  });
}
