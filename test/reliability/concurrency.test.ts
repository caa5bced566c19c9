/**
 * Races against one real workflowd process over HTTP:
 * - 1,000 raiseEvents from 50 clients at one instance while two more clients pause and
 *   resume it without pause: every event is delivered exactly once (the workflow collects
 *   them and returns them; the history holds each once).
 * - 50 concurrent starts of one instance ID: exactly one 202, 49 x 409 ERR_START_WORKFLOW.
 * - 20 concurrent terminates of a running parent, then 20 concurrent purges: one terminal
 *   state, one purge that deletes the instance and its child, the others 404.
 * - A pause that lands in the same turn as an activity result (found by the long torture):
 *   the instance stays SUSPENDED while more results arrive, and completes after resume.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { createWorkflowd } from "../../src/app.js";
import { newEvent } from "../../src/engine/history.js";
// @ts-expect-error -- a plain .mjs module (no declarations)
import registerTorture from "../fixtures/torture-workflows.mjs";
// @ts-expect-error -- untyped .mjs
import { slowChainOutput } from "./model.mjs";
// @ts-expect-error -- untyped .mjs
import { checkDatabase, readDatabase } from "./db-invariants.mjs";
import { eventually, outputOf, tortureWorkflows, useServers } from "./helpers.js";

const servers = useServers();

async function server(label: string) {
  const dir = servers.tempDir();
  const db = join(dir, "race.db");
  const s = await servers.spawn({ env: { WORKFLOWD_DB: db, WORKFLOWD_WORKFLOWS: tortureWorkflows }, label });
  await s.waitHealthy();
  return { s, db };
}

describe("concurrency", () => {
  it("1,000 raiseEvents from 50 clients racing with pause/resume: every event delivered exactly once", async () => {
    const { s, db } = await server("raise race");
    const id = "bag-1000";
    const total = 1000;
    expect((await s.start("bag", id, total)).status).toBe(202);
    await eventually("the bag to collect", async () => {
      const res = await s.get(id);
      return res.json?.properties?.["dapr.workflow.custom_status"] === "collecting" ? true : `status ${res.json?.runtimeStatus}`;
    });

    const items = Array.from({ length: total }, (_, i) => ({ client: i % 50, n: i }));
    let raising = true;
    const toggles = { pause: 0, resume: 0 };
    const toggler = async (command: "pause" | "resume") => {
      while (raising) {
        const res = await s.command(id, command);
        expect(res.status, res.text).toBe(202);
        toggles[command]++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const began = Date.now();
    const togglers = [toggler("pause"), toggler("resume")];
    // 50 clients, each sending its 20 events one after the other.
    const statuses = (await Promise.all(Array.from({ length: 50 }, async (_, client) => {
      const answers: number[] = [];
      for (const item of items.filter((it) => it.client === client)) answers.push((await s.raise(id, "item", item)).status);
      return answers;
    }))).flat();
    raising = false;
    await Promise.all(togglers);
    const raiseMs = Date.now() - began;
    expect(statuses.filter((status) => status !== 202), "raiseEvent answers other than 202").toEqual([]);

    // The last toggle may have been a pause: resume for good, then it must finish.
    expect((await s.command(id, "resume")).status).toBe(202);
    const done = await eventually("the bag to complete with 1,000 events", async () => {
      const res = await s.get(id);
      return res.json?.runtimeStatus === "COMPLETED" ? res.json : `status ${res.json?.runtimeStatus}`;
    }, 30_000, 50);
    const collected = outputOf(done) as { client: number; n: number }[];
    expect(collected).toHaveLength(total);
    const ns = collected.map((item) => item.n).sort((x, y) => x - y);
    expect(ns).toEqual(items.map((item) => item.n));
    // Each client's events arrive in the order it sent them (each waited for the previous 202).
    for (let client = 0; client < 50; client++) {
      const mine = collected.filter((item) => item.client === client).map((item) => item.n);
      expect(mine, `order of client ${client}`).toEqual([...mine].sort((x, y) => x - y));
    }

    expect(await s.stop()).toEqual({ code: 0, signal: null });
    const data = readDatabase(db);
    expect(checkDatabase(data, { final: true }).problems).toEqual([]);
    const events = (data.history as { instance_id: string; event: string }[]).map((row) => JSON.parse(row.event) as { kind: string; input?: string });
    const suspensions = events.filter((event) => event.kind === "executionSuspended").length;
    expect(suspensions, "the pauses really suspended the instance while events arrived").toBeGreaterThan(0);
    const raisedInHistory = events
      .filter((event) => event.kind === "eventRaised")
      .map((event) => (JSON.parse(event.input!) as { n: number }).n);
    expect(raisedInHistory).toHaveLength(total);
    expect(new Set(raisedInHistory).size).toBe(total);
    console.info(`raise race: ${total} events from 50 clients in ${raiseMs} ms with ${toggles.pause} pauses and ${toggles.resume} resumes racing (${suspensions} suspensions recorded); ${total} delivered, each once`);
  }, 60_000);

  it("50 concurrent starts of one instance ID: exactly one 202, the rest 409 ERR_START_WORKFLOW", async () => {
    const { s } = await server("start race");
    for (const round of [1, 2, 3]) {
      const id = `start-race-${round}`;
      const answers = await Promise.all(Array.from({ length: 50 }, () => s.start("eventGate", id)));
      const accepted = answers.filter((a) => a.status === 202);
      const refused = answers.filter((a) => a.status === 409);
      expect(accepted, answers.map((a) => a.status).join(",")).toHaveLength(1);
      expect(accepted[0]!.json).toEqual({ instanceID: id });
      expect(refused).toHaveLength(49);
      for (const answer of refused) {
        expect(Object.keys(answer.json)).toEqual(["errorCode", "message"]);
        expect(answer.json.errorCode).toBe("ERR_START_WORKFLOW");
        expect(answer.json.message).toContain(`'${id}' already exists`);
      }
    }
  });

  it("20 concurrent terminates, then 20 concurrent purges of a parent with a running child: one outcome each", async () => {
    const { s, db } = await server("terminate/purge race");
    const id = "race-parent";
    expect((await s.start("gateParent", id)).status).toBe(202);
    const child = `${id}:0001`;
    await eventually("the child to wait", async () => {
      const res = await s.get(child);
      return res.json?.properties?.["dapr.workflow.custom_status"] === "waiting for done" ? true : `child ${res.status} ${res.text}`;
    });
    const terminates = await Promise.all(Array.from({ length: 20 }, () => s.command(id, "terminate")));
    expect(terminates.map((a) => a.status)).toEqual(Array(20).fill(202));
    await eventually("parent and child to be TERMINATED", async () => {
      const parent = (await s.get(id)).json?.runtimeStatus;
      const kid = (await s.get(child)).json?.runtimeStatus;
      return parent === "TERMINATED" && kid === "TERMINATED" ? true : `parent ${parent}, child ${kid}`;
    });
    const purges = await Promise.all(Array.from({ length: 20 }, () => s.command(id, "purge")));
    const codes = purges.map((a) => a.status).sort();
    expect(codes.filter((c) => c === 202), codes.join(",")).toHaveLength(1);
    expect(codes.filter((c) => c === 404)).toHaveLength(19);
    for (const answer of purges.filter((a) => a.status === 404)) expect(answer.json.errorCode).toBe("ERR_INSTANCE_ID_NOT_FOUND");
    expect(await s.stop()).toEqual({ code: 0, signal: null });
    const data = readDatabase(db);
    expect(data.instances).toEqual([]);
    expect(data.history).toEqual([]);
    expect(data.inbox).toEqual([]);
    expect(data.activities).toEqual([]);
  });
});

describe("a pause racing an activity result", () => {
  it("a suspension that arrives in the same turn as an activity result leaves the instance SUSPENDED, not FAILED", async () => {
    // The race the long torture hit: the turn loads [taskCompleted(1), executionSuspended], so
    // the workflow schedules its next activity in the turn that suspends it. Made deterministic
    // here: the suspension is queued the moment the first activity's result is handed over
    // (it reaches the next turn in memory, the suspension from the inbox: one turn takes both).
    const dir = mkdtempSync(join(tmpdir(), "workflowd-suspend-race-"));
    const wd = await createWorkflowd({ dbPath: join(dir, "race.db"), workflows: registerTorture });
    try {
      const store = wd.store;
      const runtime = wd.engine.workers.forActivity("tMix")!;
      const original = runtime.executeActivity.bind(runtime);
      let raced = false;
      vi.spyOn(runtime, "executeActivity").mockImplementation(async (request) => {
        const result = await original(request);
        if (!raced) {
          raced = true;
          const now = Date.now();
          await store.enqueue("suspend-race", newEvent({ kind: "executionSuspended", input: "paused by the test" }, now), now);
        }
        return result;
      });
      const get = async () => JSON.parse((await wd.app.inject({ method: "GET", url: "/v1.0/workflows/dapr/suspend-race" })).body);
      const started = await wd.app.inject({ method: "POST", url: "/v1.0/workflows/dapr/slowChain/start?instanceID=suspend-race", payload: { acc: 1, steps: 3 } });
      expect(started.statusCode).toBe(202);
      await eventually("the instance to be SUSPENDED", async () => ((await get()).runtimeStatus === "SUSPENDED" ? true : `status ${(await get()).runtimeStatus}`));
      // Step 2 was scheduled in the suspending turn and still runs; its result arrives while
      // the instance is suspended. The instance must stay SUSPENDED.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const whileSuspended = await get();
      expect(whileSuspended.runtimeStatus, JSON.stringify(whileSuspended.properties)).toBe("SUSPENDED");
      expect((await wd.app.inject({ method: "POST", url: "/v1.0/workflows/dapr/suspend-race/resume" })).statusCode).toBe(202);
      const done = await eventually("the instance to finish after resume", async () => {
        const state = await get();
        return ["COMPLETED", "FAILED", "TERMINATED"].includes(state.runtimeStatus) ? state : `status ${state.runtimeStatus}`;
      });
      expect(done.runtimeStatus, JSON.stringify(done.properties)).toBe("COMPLETED");
      expect(JSON.parse(done.properties["dapr.workflow.output"])).toBe(slowChainOutput(1, 3));
    } finally {
      vi.restoreAllMocks();
      await wd.app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
