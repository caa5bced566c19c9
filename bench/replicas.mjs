// Replicas on one PostgreSQL (issue 15): 5-activity chains/s with 1, 2 and 3 workflowd
// processes sharing one database (starts spread over them over HTTP, 64 in flight), and the
// failover time when one of two replicas is SIGKILLed mid-run: from the kill until the other
// replica has committed a turn of every instance the dead one held; and the same workload on
// SQLite (one workflowd on a file database) in the same run. Every output is checked.
// On this 2-core machine the replicas and PostgreSQL share the same two cores.
//
//   node bench/replicas.mjs [chains=1500]
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { outputOf } from "./lib/chain.mjs";
import { check, DbView, fmt, header, runScript, sleep, spawnWorkflowd, table, tempDir, verdict } from "./lib/common.mjs";
import { runChainsOnPostgres, startBenchPostgres, startChains } from "./lib/postgres.mjs";

const count = Number(process.argv[2] ?? 1_500);
const inFlight = 64;

runScript("replicas", async () => {
  header("Replicas on one PostgreSQL: 5-activity chains over HTTP, and failover after a SIGKILL", `${fmt(count)} chains per run, starts spread over the replicas, ${inFlight} in flight`);
  const { dir, cleanup } = tempDir("replicas");
  const server = await startBenchPostgres(dir);
  const workflows = join(dir, "chain-workflows.mjs");
  writeFileSync(workflows, `export { registerChain as default } from ${JSON.stringify(new URL("./lib/chain.mjs", import.meta.url).pathname)};\n`);
  try {
    const rows = [];
    let single;
    for (const replicas of [1, 2, 3]) {
      const url = await server.database();
      const wds = await Promise.all(Array.from({ length: replicas }, (_, i) =>
        spawnWorkflowd({ dbPath: url, workflows, label: `replica ${i + 1}`, env: { WORKFLOWD_REPLICA_ID: `r${i + 1}` } })));
      try {
        const run = await runChainsOnPostgres(url, { prefix: `r${replicas}-`, count, inFlight, start: startThrough(wds) });
        const rate = (count * 1000) / run.elapsedMs;
        single ??= rate;
        rows.push([String(replicas), `${fmt(run.elapsedMs / 1000, 2)} s`, fmt(rate), `${fmt((100 * rate) / single, 1)} %`, replicas === 1 ? "" : `never below 1 replica: ${verdict(rate >= single * 0.95)}`]);
      } finally {
        await Promise.all(wds.map((wd) => wd.stop()));
      }
    }
    // The same workload on SQLite (one workflowd process, a file database), in the same run.
    const sqliteDb = join(dir, "replicas-sqlite.db");
    const onSqlite = await spawnWorkflowd({ dbPath: sqliteDb, workflows, label: "sqlite" });
    try {
      const t0 = Date.now();
      await startChains({ prefix: "s-", count, inFlight, start: startThrough([onSqlite]) });
      const view = new DbView(sqliteDb);
      try {
        await view.waitFinished("s-", count, { timeoutMs: 300_000 });
        const finished = view.verifyCompleted("s-", count, outputOf, "chains on SQLite");
        const elapsedMs = finished.reduce((max, r) => Math.max(max, r.last_updated_at), 0) - t0;
        const rate = (count * 1000) / elapsedMs;
        rows.push(["SQLite (one workflowd)", `${fmt(elapsedMs / 1000, 2)} s`, fmt(rate), `${fmt((100 * rate) / single, 1)} %`, ""]);
      } finally {
        view.close();
      }
    } finally {
      await onSqlite.stop();
    }
    table(["replicas", "all COMPLETED after", "chains/s", "vs 1 replica", "target"], rows);

    // Failover: two replicas, SIGKILL the first once it holds instances mid-run.
    const url = await server.database();
    const [first, second] = await Promise.all([1, 2].map((i) => spawnWorkflowd({ dbPath: url, workflows, label: `replica ${i}`, env: { WORKFLOWD_REPLICA_ID: `f${i}` } })));
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      // Starts sent to the replica that is killed fail; the others go through.
      const starting = startChains({ prefix: "fail-", count, inFlight, start: startThrough([first, second]) }).catch(() => {});
      let held = [];
      for (let waited = 0; held.length === 0; waited += 20) {
        held = (await db.query("SELECT instance_id FROM instances WHERE claim_owner LIKE 'f1/%' AND status NOT IN ('COMPLETED', 'FAILED', 'TERMINATED')")).rows.map((r) => r.instance_id);
        check(waited < 30_000, "replica 1 never held an instance");
        if (held.length === 0) await sleep(20);
      }
      await sleep(500); // mid-run
      held = (await db.query("SELECT instance_id FROM instances WHERE claim_owner LIKE 'f1/%' AND status NOT IN ('COMPLETED', 'FAILED', 'TERMINATED')")).rows.map((r) => r.instance_id);
      await first.kill();
      const killedAt = Date.now();
      let takenOverMs;
      for (;;) {
        const open = Number((await db.query(
          "SELECT count(*) AS n FROM instances WHERE instance_id = ANY($1) AND last_updated_at < $2 AND status NOT IN ('COMPLETED', 'FAILED', 'TERMINATED')",
          [held, killedAt],
        )).rows[0].n);
        if (open === 0) {
          takenOverMs = Date.now() - killedAt;
          break;
        }
        check(Date.now() - killedAt < 60_000, `${open} of the dead replica's instances untouched after 60 s`);
        await sleep(20);
      }
      await starting;
      table(["instances the dead replica held", "until the survivor had moved every one on", "target"], [[fmt(held.length), `${fmt(takenOverMs)} ms`, `≤ 5 s: ${verdict(takenOverMs <= 5_000)}`]]);
    } finally {
      await db.end();
      await second.stop();
    }
  } finally {
    await server.stop();
    cleanup();
  }
});

/** Starts one chain through the replica its number picks. */
function startThrough(wds) {
  let n = 0;
  return async (id, seed) => {
    const wd = wds[n++ % wds.length];
    const res = await fetch(`http://127.0.0.1:${wd.port}/v1.0/workflows/dapr/benchChain/start?instanceID=${id}`, { method: "POST", body: String(seed), headers: { "content-type": "application/json" } });
    check(res.status === 202, `start ${id}: ${res.status} ${await res.text()}`);
  };
}
