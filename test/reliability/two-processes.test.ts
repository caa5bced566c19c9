/**
 * Two workflowd processes on one SQLite file, both running the engine, with the load spread
 * across both: starts to either, every event raised at the process that did NOT start the
 * instance (so the other one runs that turn), 50 racing starts of one ID split across both,
 * and 200 events for one instance raised at both at once. The second process starts while
 * the first is already working (as in a rolling restart).
 *
 * Expected: every workflow completes with the right output, each event delivered exactly
 * once, and every step applied exactly once: in the database, every scheduled activity of
 * a finished instance has exactly one result and nothing is left queued. Activities may run
 * more than once (at-least-once); how often that happened, and where, is reported.
 *
 * The README says "run one workflowd process per database file"; this test shows what
 * holds when that advice is not followed.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- untyped .mjs
import { checkDatabase, duplicateResults, readDatabase } from "./db-invariants.mjs";
// @ts-expect-error -- untyped .mjs
import { eventPayload, tortureOnceOutput } from "./model.mjs";
import { customStatusOf, eventually, outputOf, pool, tortureWorkflows, useServers, type ServerProcess } from "./helpers.js";

const servers = useServers();

describe("two processes, one database", () => {
  it("completes every workflow exactly once with load spread over two engines on one file", async () => {
    const dir = servers.tempDir();
    const db = join(dir, "shared.db");
    const log = join(dir, "activities.log");
    const env = { WORKFLOWD_DB: db, WORKFLOWD_WORKFLOWS: tortureWorkflows, TORTURE_LOG: log, LOG_LEVEL: "warn" };

    const a = await servers.spawn({ env, label: "process A" });
    await a.waitHealthy();
    const startedOn = new Map<string, ServerProcess>();
    const seeds = Array.from({ length: 40 }, (_, i) => 1000 + i * 17);
    const idOf = (seed: number) => `two-${seed}`;
    const startOn = async (server: ServerProcess, seed: number) => {
      const res = await server.start("tortureOnce", idOf(seed), { seed });
      expect(res.status, res.text).toBe(202);
      startedOn.set(idOf(seed), server);
    };
    // A is busy with the first ten; more keep arriving at A while B starts, so B's start-up
    // (which treats every activity lease as stale) meets A's work in flight.
    await Promise.all(seeds.slice(0, 10).map((seed) => startOn(a, seed)));
    const bSpawned = servers.spawn({ env, label: "process B" });
    for (const seed of seeds.slice(10, 20)) {
      await startOn(a, seed);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const b = await bSpawned;
    await b.waitHealthy();
    const other = (server: ServerProcess) => (server === a ? b : a);

    // 50 racing starts of one ID, 25 at each process: exactly one wins.
    const raceId = "two-race";
    const raceAnswers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).start("bag", raceId, 200)),
    );
    const raceCodes = raceAnswers.map((r) => r.status);
    expect(raceCodes.filter((s) => s === 202), `race answers: ${raceCodes.join(",")}`).toHaveLength(1);
    expect(raceCodes.filter((s) => s === 409)).toHaveLength(49);
    for (const answer of raceAnswers.filter((r) => r.status === 409)) {
      expect(answer.json?.errorCode).toBe("ERR_START_WORKFLOW");
    }

    // The rest of the starts, alternating, concurrently with 200 events for the bag from both sides.
    const items = Array.from({ length: 200 }, (_, i) => `item-${i}`);
    await Promise.all([
      Promise.all(seeds.slice(20).map((seed, i) => startOn(i % 2 === 0 ? b : a, seed))),
      pool(20, items.map((item, i) => async () => {
        const res = await (i % 2 === 0 ? a : b).raise(raceId, "item", item);
        expect(res.status, res.text).toBe(202);
      })),
    ]);

    // Raise each instance's event at the process that did not start it, once it waits for it.
    const raised = new Set<string>();
    const outputs = new Map<string, unknown>();
    await eventually("every workflow to complete on two processes", async () => {
      await pool(10, seeds.map((seed) => async () => {
        const id = idOf(seed);
        if (outputs.has(id)) return;
        const starter = startedOn.get(id)!;
        const res = await (Math.random() < 0.5 ? a : b).get(id);
        expect(res.status, res.text).toBe(200);
        const status = res.json.runtimeStatus as string;
        if (status === "COMPLETED") return void outputs.set(id, outputOf(res.json));
        expect(["PENDING", "RUNNING"]).toContain(status);
        // At the other process: once the workflow waits, or early (then the event waits in
        // the instance until the workflow asks for it).
        if (!raised.has(id) && (customStatusOf(res.json) === "await go-0" || Math.random() < 0.2)) {
          const raise = await other(starter).raise(id, "go-0", eventPayload(seed, 0));
          expect(raise.status, raise.text).toBe(202);
          raised.add(id);
        }
      }));
      return outputs.size === seeds.length || `${outputs.size} of ${seeds.length} completed`;
    }, 60_000, 100);
    for (const seed of seeds) expect(outputs.get(idOf(seed)), idOf(seed)).toEqual(tortureOnceOutput(seed));

    const bag = await eventually("the bag to collect 200 events", async () => {
      const res = await b.get(raceId);
      return res.json?.runtimeStatus === "COMPLETED" ? res.json : `bag is ${res.json?.runtimeStatus}`;
    }, 20_000, 50);
    const collected = outputOf(bag) as string[];
    expect(collected).toHaveLength(200);
    expect([...collected].sort()).toEqual([...items].sort());

    // Both stop cleanly; then the database, read directly.
    const [exitA, exitB] = await Promise.all([a.stop(), b.stop()]);
    expect(exitA).toEqual({ code: 0, signal: null });
    expect(exitB).toEqual({ code: 0, signal: null });
    const data = readDatabase(db);
    const check = checkDatabase(data, { final: true });
    expect(check.problems).toEqual([]);
    expect(duplicateResults(data)).toEqual([]);

    // Every activity of every finished instance has exactly one result in history.
    const scheduled: string[] = [];
    const results = new Map<string, number>();
    for (const row of data.history as { instance_id: string; event: string }[]) {
      const event = JSON.parse(row.event) as { kind: string; eventId: number; taskScheduledId?: number };
      if (event.kind === "taskScheduled") scheduled.push(`${row.instance_id}#${event.eventId}`);
      if (event.kind === "taskCompleted" || event.kind === "taskFailed") {
        const key = `${row.instance_id}#${event.taskScheduledId}`;
        results.set(key, (results.get(key) ?? 0) + 1);
      }
    }
    const notExactlyOnce = scheduled.filter((key) => results.get(key) !== 1);
    expect(notExactlyOnce, "activities without exactly one result in history").toEqual([]);

    // Activities ran at least once each; count the extra runs and where they ran.
    const runs = (existsSync(log) ? readFileSync(log, "utf8") : "").split("\n").filter(Boolean).map((line) => {
      const [instanceId, taskId, , , pid] = line.split(" ");
      return { key: `${instanceId}#${taskId}`, pid: Number(pid) };
    });
    const runsOf = new Map<string, number>();
    for (const run of runs) runsOf.set(run.key, (runsOf.get(run.key) ?? 0) + 1);
    const neverRan = scheduled.filter((key) => !runsOf.has(key));
    expect(neverRan, "scheduled activities that never ran").toEqual([]);
    const duplicates = [...runsOf.values()].reduce((n, count) => n + count - 1, 0);
    const byPid = new Map<number, number>();
    for (const run of runs) byPid.set(run.pid, (byPid.get(run.pid) ?? 0) + 1);
    const pidA = a.child.pid!;
    const pidB = b.child.pid!;
    const persistedConflicts = (a.stdout + b.stdout).split("\n").filter((line) => line.includes("version conflicts persisted")).length;
    console.info(
      `two processes: ${seeds.length + 1} workflows (+ children: ${check.stats.instances} instances), ${scheduled.length} activities scheduled, ` +
      `${runs.length} activity runs (A ${byPid.get(pidA) ?? 0}, B ${byPid.get(pidB) ?? 0}), ${duplicates} duplicate runs ` +
      `(at-least-once; history kept exactly one result each), ${persistedConflicts} turns whose version conflicts persisted past the retries; ` +
      `start race: 1 x 202, ${raceCodes.filter((s) => s === 409).length} x 409; bag: 200 events raised at both, 200 collected once`,
    );
    // The load really was spread: both processes ran activities.
    expect(byPid.get(pidA) ?? 0).toBeGreaterThan(0);
    expect(byPid.get(pidB) ?? 0).toBeGreaterThan(0);
  }, 120_000);
});
