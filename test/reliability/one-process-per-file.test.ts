/**
 * One workflowd per database file, enforced: while process A runs on a file, process B on the
 * same file refuses to start, naming A; when A is killed (SIGKILL, mid-work), its lock goes
 * with it, B starts on the file and finishes A's workflows, each step exactly once.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error -- untyped .mjs
import { checkDatabase, duplicateResults, readDatabase } from "./db-invariants.mjs";
// @ts-expect-error -- untyped .mjs
import { eventPayload, tortureOnceOutput } from "./model.mjs";
import { customStatusOf, eventually, outputOf, pool, tortureWorkflows, useServers } from "./helpers.js";

const servers = useServers();

describe("one process per database file", () => {
  it("a second process on the same file refuses to start, naming the first; after the first is killed, the second takes over its work", async () => {
    const dir = servers.tempDir();
    const db = join(dir, "shared.db");
    const env = { WORKFLOWD_DB: db, WORKFLOWD_WORKFLOWS: tortureWorkflows, TORTURE_LOG: join(dir, "activities.log"), LOG_LEVEL: "warn" };

    const a = await servers.spawn({ env, label: "process A" });
    await a.waitHealthy();
    const seeds = Array.from({ length: 20 }, (_, i) => 2000 + i * 13);
    const idOf = (seed: number) => `one-${seed}`;
    await Promise.all(seeds.map(async (seed) => {
      const res = await a.start("tortureOnce", idOf(seed), { seed });
      expect(res.status, res.text).toBe(202);
    }));

    const refused = await servers.spawn({ env, label: "process B (refused)" });
    const exit = await refused.exited;
    expect(exit.code).not.toBe(0);
    expect(refused.stderr.trim()).toMatch(new RegExp(
      `^workflowd failed to start: database '.*shared\\.db' is in use by workflowd process ${a.child.pid} on .* \\(started .*\\): run one workflowd per database file`,
    ));
    // A was not disturbed.
    expect((await a.get(idOf(seeds[0]!))).status).toBe(200);

    await a.kill();
    const b = await servers.spawn({ env, label: "process B" });
    await b.waitHealthy();
    const outputs = new Map<string, unknown>();
    await eventually("every workflow to complete on B", async () => {
      await pool(10, seeds.map((seed) => async () => {
        const id = idOf(seed);
        if (outputs.has(id)) return;
        const res = await b.get(id);
        expect(res.status, res.text).toBe(200);
        if (res.json.runtimeStatus === "COMPLETED") return void outputs.set(id, outputOf(res.json));
        if (customStatusOf(res.json) === "await go-0") await b.raise(id, "go-0", eventPayload(seed, 0));
      }));
      return outputs.size === seeds.length || `${outputs.size} of ${seeds.length} completed`;
    }, 60_000, 100);
    for (const seed of seeds) expect(outputs.get(idOf(seed)), idOf(seed)).toEqual(tortureOnceOutput(seed));
    expect(await b.stop()).toEqual({ code: 0, signal: null });
    const data = readDatabase(db);
    expect(checkDatabase(data, { final: true }).problems).toEqual([]);
    expect(duplicateResults(data)).toEqual([]);
  }, 120_000);
});
