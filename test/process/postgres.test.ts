/**
 * workflowd processes on a real PostgreSQL (`--db postgres://...`, the run's server from
 * test/global-postgres.ts): crash recovery with a SIGKILL mid-run, and a second replica that
 * answers for instances the first one ran. The database is then read directly.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { sharedTestPostgres } from "../store/test-postgres.js";
import { chainOutput, fanOutOutput, parseActivityLog } from "./expected.js";
import { eventually, Fatal, fixtureWorkflows, freePort, outputOf, type ServerProcess, useProcesses } from "./harness.js";

const processes = useProcesses();

/** What a finished run leaves in the database: rows per table, and any instance whose history disagrees with its row. */
async function databaseState(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async (table: string) => Number((await client.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    const mismatched = (await client.query(`
      SELECT i.instance_id, i.history_length, count(h.seq) AS events, max(h.seq) AS last
      FROM instances i LEFT JOIN history h USING (instance_id)
      GROUP BY i.instance_id, i.history_length
      HAVING count(h.seq) <> i.history_length OR coalesce(max(h.seq), -1) <> i.history_length - 1`)).rows;
    return { instances: await count("instances"), inbox: await count("inbox"), activities: await count("activities"), mismatched };
  } finally {
    await client.end();
  }
}

/**
 * The end of a crash test: every workflow has its output and ran each of its activities (some
 * more than once: at-least-once), the surviving server stops cleanly, and the database holds
 * the instances with consistent histories and no queued work.
 */
async function expectFinishedCleanly(
  server: ServerProcess,
  url: string,
  workflows: readonly { instanceId: string; output: unknown; tasks: number }[],
  activityRuns: readonly { instanceId: string; taskId: number }[],
): Promise<void> {
  for (const w of workflows) {
    expect(outputOf(await server.get(w.instanceId)), w.instanceId).toEqual(w.output);
    const taskIds = new Set(activityRuns.filter((r) => r.instanceId === w.instanceId).map((r) => r.taskId));
    expect(taskIds.size, `distinct activities run for ${w.instanceId}`).toBe(w.tasks);
  }
  expect(await server.stop("SIGTERM")).toEqual({ code: 0, signal: null });
  expect(await databaseState(url)).toEqual({ instances: workflows.length, inbox: 0, activities: 0, mismatched: [] });
}

/** workflowd processes on one database, each with its replica ID, once all are healthy. */
async function replicas(env: Record<string, string>, ...ids: string[]): Promise<ServerProcess[]> {
  const servers = await Promise.all(ids.map((id) => processes.spawn({ env: { ...env, WORKFLOWD_REPLICA_ID: id }, label: `replica ${id}` })));
  await Promise.all(servers.map((server) => server.waitHealthy()));
  return servers;
}

describe("workflowd on PostgreSQL", () => {
  it("SIGKILLed mid-run and restarted as the same replica: every workflow completes with its output, leased activities run again at once", async () => {
    const url = await sharedTestPostgres().freshDatabase();
    const dir = processes.tempDir();
    const log = join(dir, "activities.log");
    const env = {
      WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: url, WORKFLOWD_REPLICA_ID: "replica-1",
      LOG_LEVEL: "warn", FIXTURE_LOG: log, FIXTURE_DELAY_MS: "150",
    };
    const activityRuns = () => parseActivityLog(existsSync(log) ? readFileSync(log, "utf8") : "");
    const workflows = Array.from({ length: 8 }, (_, k) => {
      const i = k + 1;
      return k % 2
        ? { name: "fanOut", instanceId: `fan-${i}`, input: i, output: fanOutOutput(i), tasks: 10 }
        : { name: "chain", instanceId: `chain-${i}`, input: i, output: chainOutput(i), tasks: 5 };
    });

    const first = await processes.spawn({ env, label: "run 1" });
    await first.waitHealthy();
    await Promise.all(workflows.map((w) => first.start(w.name, w.instanceId, w.input)));
    await eventually("some activities to run while workflows remain unfinished", async () => {
      const states = await Promise.all(workflows.map((w) => first.get(w.instanceId)));
      const completed = states.filter((s) => s?.runtimeStatus === "COMPLETED").length;
      if (completed === workflows.length) throw new Fatal("every workflow finished before the kill; the fixture is too fast");
      return activityRuns().length >= 4 || `${activityRuns().length} activity runs`;
    }, 15_000, 10);
    expect((await first.kill()).signal).toBe("SIGKILL");

    // The restart voids its earlier leases (replica-1's), so nothing waits for the 5-minute lease.
    const second = await processes.spawn({ env, label: "run 2" });
    await second.waitHealthy();
    await eventually("every workflow to complete after the restart", async () => {
      const states = await Promise.all(workflows.map((w) => second.get(w.instanceId)));
      const bad = states.filter((s) => s && !["COMPLETED", "RUNNING", "PENDING"].includes(s.runtimeStatus));
      if (bad.length > 0) throw new Fatal(`unexpected status: ${bad.map((s) => `${s!.instanceID}=${s!.runtimeStatus}`).join(", ")}`);
      const completed = states.filter((s) => s?.runtimeStatus === "COMPLETED").length;
      return completed === workflows.length || `${completed} of ${workflows.length} completed`;
    }, 20_000, 50);
    await expectFinishedCleanly(second, url, workflows, activityRuns());
  }, 60_000);

  it("a second replica on the same database answers for the first one's instances, reads what it committed, and purges them", async () => {
    const url = await sharedTestPostgres().freshDatabase();
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: url, LOG_LEVEL: "warn" };
    const [a, b] = await replicas(env, "a", "b");
    // No lock: both serve the one database.
    await a.start("chain", "shared-1", 3);
    await b.waitFor("shared-1", "COMPLETED as replica b reads it", (s) => s.runtimeStatus === "COMPLETED");
    const [seenByA, seenByB] = await Promise.all([a.get("shared-1"), b.get("shared-1")]);
    expect(seenByB).toEqual(seenByA);
    expect(outputOf(seenByB)).toEqual(chainOutput(3));
    await b.command("shared-1", "purge");
    expect(await a.get("shared-1")).toBeUndefined();
    // A start through one replica with an ID the other created is refused: the ID is taken.
    await b.start("chain", "shared-2", 1);
    expect((await a.startWorkflow("chain", "shared-2", 1)).status).toBe(409);
    await a.waitFor("shared-2", "COMPLETED", (s) => s.runtimeStatus === "COMPLETED");
  }, 30_000);

  it("two replicas share the running of work; one SIGKILLed mid-run, the other takes over its instances and activities within seconds", async () => {
    const url = await sharedTestPostgres().freshDatabase();
    const dir = processes.tempDir();
    const log = join(dir, "activities.log");
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: url, LOG_LEVEL: "warn", FIXTURE_LOG: log, FIXTURE_DELAY_MS: "150" };
    const activityRuns = () => parseActivityLog(existsSync(log) ? readFileSync(log, "utf8") : "");
    const [a, b] = await replicas(env, "a", "b");
    const workflows = Array.from({ length: 12 }, (_, k) => ({ instanceId: `shared-chain-${k + 1}`, input: k + 1, via: k % 2 ? b : a }));
    await Promise.all(workflows.map((w) => w.via.start("chain", w.instanceId, w.input)));

    // Both replicas run turns (each claims what it started, and takes what the other leaves).
    const claimsOf = async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<{ owner: string; n: string }>(
          "SELECT split_part(claim_owner, '/', 1) AS owner, count(*) AS n FROM instances WHERE claim_owner IS NOT NULL GROUP BY 1",
        )).rows.reduce<Record<string, number>>((all, r) => ({ ...all, [r.owner]: Number(r.n) }), {});
      } finally {
        await client.end();
      }
    };
    await eventually("replica a to hold claims on instances with activities run", async () => {
      const claims = await claimsOf();
      return ((claims.a ?? 0) > 0 && activityRuns().length >= 4) || `claims ${JSON.stringify(claims)}, ${activityRuns().length} activity runs`;
    }, 15_000, 20);
    const states = await Promise.all(workflows.map((w) => b.get(w.instanceId)));
    if (states.every((s) => s?.runtimeStatus === "COMPLETED")) throw new Error("every workflow finished before the kill; the fixture is too fast");
    expect((await a.kill()).signal).toBe("SIGKILL");
    const killedAt = Date.now();

    await eventually("replica b to complete every workflow, replica a's included", async () => {
      const now = await Promise.all(workflows.map((w) => b.get(w.instanceId)));
      const done = now.filter((s) => s?.runtimeStatus === "COMPLETED").length;
      return done === workflows.length || `${done} of ${workflows.length} completed`;
    }, 30_000, 50);
    const tookOverMs = Date.now() - killedAt;
    console.info(`replica b completed every workflow ${tookOverMs} ms after replica a was SIGKILLed`);
    await expectFinishedCleanly(b, url, workflows.map((w) => ({ ...w, output: chainOutput(w.input), tasks: 5 })), activityRuns());
  }, 60_000);

  it("1,000 events raised through both replicas at once are each delivered exactly once", async () => {
    const url = await sharedTestPostgres().freshDatabase();
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: url, LOG_LEVEL: "warn" };
    const [a, b] = await replicas(env, "a", "b");
    const count = 1_000;
    await a.start("collector", "racing-events", count);
    await Promise.all(Array.from({ length: count }, (_, i) => (i % 2 ? b : a).raise("racing-events", "item", i)));
    const done = await b.waitFor("racing-events", "COMPLETED", (s) => s.runtimeStatus === "COMPLETED", 30_000);
    const items = outputOf(done) as number[];
    expect(items).toHaveLength(count);
    expect([...items].sort((x, y) => x - y)).toEqual(Array.from({ length: count }, (_, i) => i));
  }, 60_000);

  it("an event raised through one replica for an instance another replica holds is handled at once (a poke over LISTEN/NOTIFY, not the next scan)", async () => {
    const url = await sharedTestPostgres().freshDatabase();
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: url, LOG_LEVEL: "warn" };
    const [a, b] = await replicas(env, "a", "b");
    const ids = Array.from({ length: 8 }, (_, i) => `poked-${i}`);
    // Replica a runs their first turns, and so holds them for a few seconds.
    await Promise.all(ids.map((id) => a.start("collector", id, 1)));
    for (const id of ids) await a.waitFor(id, "RUNNING", (s) => s.runtimeStatus === "RUNNING");
    const latencies: number[] = [];
    for (const id of ids) {
      const sent = Date.now();
      await b.raise(id, "item", id);
      await eventually(`${id} to complete`, async () => ((await b.get(id))?.runtimeStatus === "COMPLETED") || "not yet", 5_000, 5);
      latencies.push(Date.now() - sent);
    }
    latencies.sort((x, y) => x - y);
    const median = latencies[latencies.length >> 1]!;
    console.info(`event raised on replica b, handled by replica a: ${latencies.join(", ")} ms`);
    // Without the poke, replica a hears of the event at its next scan: 500 ms on average.
    expect(median, `median of ${latencies.join(", ")} ms`).toBeLessThan(250);
  }, 60_000);

  it("retention on two replicas: one leads the sweep and purges every instance once", async () => {
    const url = await sharedTestPostgres().freshDatabase();
    const config = join(processes.tempDir(), "config.yaml");
    writeFileSync(config, "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: retention\nspec:\n  workflow:\n    stateRetentionPolicy:\n      anyTerminal: 1s\n");
    const replicas = await Promise.all(["a", "b"].map(async (id) => {
      const metricsPort = await freePort();
      const server = await processes.spawn({
        env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: url, WORKFLOWD_REPLICA_ID: id, DAPR_METRICS_PORT: String(metricsPort), LOG_LEVEL: "warn" },
        args: ["--config", config],
        label: `replica ${id}`,
      });
      await server.waitHealthy();
      return { server, metricsPort };
    }));
    const ids = Array.from({ length: 10 }, (_, i) => `kept-briefly-${i}`);
    await Promise.all(ids.map((id, i) => replicas[i % 2]!.server.start("echo", id, i)));
    await eventually("every instance to be purged", async () => {
      const left = (await Promise.all(ids.map((id) => replicas[0]!.server.get(id)))).filter(Boolean).length;
      return left === 0 || `${left} left`;
    }, 20_000, 100);
    const purgedBy = await Promise.all(replicas.map(async ({ metricsPort }) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      return Number(/^workflowd_retention_purged_total\{status="COMPLETED"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    }));
    expect([...purgedBy].sort((x, y) => x - y), `purged by a and b: ${purgedBy.join(", ")}`).toEqual([0, ids.length]);
  }, 60_000);
});
