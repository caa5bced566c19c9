/**
 * The invariant checker the torture relies on must be able to fail: a sound database made by
 * a real (in-process) workflowd passes, and each kind of damage a crash could do (a lost
 * timer or activity, a duplicate result, a gap in history, an orphan row, leftovers of a
 * finished instance, a child result that never reached its parent) is reported.
 */
import Database from "better-sqlite3";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkflowd } from "../../src/app.js";
// @ts-expect-error -- a plain .mjs module (no declarations)
import registerTorture from "../fixtures/torture-workflows.mjs";
// @ts-expect-error -- untyped .mjs
import { checkDatabase, duplicateResults } from "./db-invariants.mjs";
import { eventually } from "./helpers.js";

let dir: string;
let sound: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "workflowd-invariants-"));
  sound = join(dir, "sound.db");
  const wd = await createWorkflowd({ dbPath: sound, workflows: registerTorture });
  const get = async (id: string) => JSON.parse((await wd.app.inject({ method: "GET", url: `/v1.0/workflows/dapr/${id}` })).body);
  const post = (url: string, payload?: unknown) =>
    wd.app.inject({ method: "POST", url, ...(payload === undefined ? {} : { payload: JSON.stringify(payload), headers: { "content-type": "application/json" } }) });
  await post("/v1.0/workflows/dapr/slowChain/start?instanceID=done", { acc: 1, steps: 2 });
  await post("/v1.0/workflows/dapr/gateParent/start?instanceID=parent");
  await post("/v1.0/workflows/dapr/tortureOnce/start?instanceID=waiting", { seed: 2 });
  await eventually("the sound state", async () => {
    const [done, child, waiting] = await Promise.all([get("done"), get("parent:0001"), get("waiting")]);
    return done.runtimeStatus === "COMPLETED" && child.properties?.["dapr.workflow.custom_status"] === "waiting for done" &&
      waiting.properties?.["dapr.workflow.custom_status"] === "await go-0" ? true : "not yet";
  }, 15_000);
  // An activity in flight: a chain whose first step is queued when the app closes.
  await post("/v1.0/workflows/dapr/slowChain/start?instanceID=busy", { acc: 1, steps: 50 });
  await eventually("busy to have an activity queued", async () => ((await get("busy")).runtimeStatus === "RUNNING" ? true : "not yet"));
  await wd.app.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let copies = 0;
function damaged(sql: string): string[] {
  const copy = join(dir, `damaged-${++copies}.db`);
  copyFileSync(sound, copy);
  const db = new Database(copy);
  db.exec(sql);
  db.close();
  return checkDatabase(copy).problems as string[];
}

describe("the database invariant checker", () => {
  it("passes a sound database", () => {
    expect(checkDatabase(sound).problems).toEqual([]);
    expect(duplicateResults(sound)).toEqual([]);
  });

  it("reports each kind of damage", () => {
    const cases: [string, string, RegExp][] = [
      ["a lost timer", "DELETE FROM inbox WHERE instance_id = 'waiting' AND json_extract(event, '$.kind') = 'timerFired'", /waiting .*timer \d+ is unanswered, with no queued timerFired: lost/],
      ["a lost activity", "DELETE FROM activities WHERE instance_id = 'busy'; DELETE FROM inbox WHERE instance_id = 'busy'", /busy .*task \d+ \(tMix\) is unanswered, with no activity row and no queued result: lost/],
      ["a duplicate result", "INSERT INTO history SELECT instance_id, (SELECT max(seq) + 1 FROM history WHERE instance_id = 'done'), event FROM history WHERE instance_id = 'done' AND json_extract(event, '$.kind') = 'taskCompleted' LIMIT 1",
        /done .*(answered 2 times|history goes on after executionCompleted)/],
      ["a gap in history", "UPDATE history SET seq = seq + 100 WHERE instance_id = 'waiting' AND seq = 2", /waiting .*history seq 102 at position \d+: not 0..n-1 without gaps/],
      ["an orphan inbox row", "INSERT INTO inbox (instance_id, visible_at, execution_id, event) VALUES ('ghost', 0, NULL, '{\"kind\":\"eventRaised\",\"eventId\":-1,\"timestamp\":0,\"name\":\"x\"}')", /ghost: 1 orphan inbox rows/],
      ["leftovers of a finished instance", "INSERT INTO activities (instance_id, execution_id, task_id, name) SELECT instance_id, execution_id, 99, 'tMix' FROM instances WHERE instance_id = 'done'", /done \(COMPLETED\): 1 activity rows left for a finished instance/],
      ["a child result that never reached its parent", "UPDATE instances SET status = 'COMPLETED' WHERE instance_id = 'parent:0001'", /parent .*child parent:0001 \(action 1\) is COMPLETED, but its result never reached the parent: lost/],
      ["a second queued result", "INSERT INTO inbox (instance_id, visible_at, execution_id, event) SELECT 'waiting', 0, execution_id, json_object('kind', 'taskCompleted', 'eventId', -1, 'timestamp', 0, 'taskScheduledId', 1, 'result', '1') FROM instances WHERE instance_id = 'waiting'", /waiting .*queues a second result/],
      ["a stuck instance", "DELETE FROM inbox WHERE instance_id = 'waiting'; DELETE FROM history WHERE instance_id = 'waiting' AND json_extract(event, '$.kind') IN ('timerCreated'); UPDATE instances SET history_length = (SELECT count(*) FROM history WHERE instance_id = 'waiting') WHERE instance_id = 'waiting'",
        /waiting .*(stuck|action IDs are not)/],
      ["an instance that can never start", "DELETE FROM history WHERE instance_id = 'busy'; DELETE FROM inbox WHERE instance_id = 'busy'; DELETE FROM activities WHERE instance_id = 'busy'; UPDATE instances SET history_length = 0 WHERE instance_id = 'busy'",
        /busy .*no history and no queued executionStarted/],
    ];
    for (const [what, sql, expected] of cases) {
      const problems = damaged(sql);
      expect(problems.some((p) => expected.test(p)), `${what}: ${JSON.stringify(problems)}`).toBe(true);
    }
    expect(checkDatabase(sound, { final: true }).problems.some((p: string) => /final: \d+ instances not finished/.test(p))).toBe(true);
  });
});
