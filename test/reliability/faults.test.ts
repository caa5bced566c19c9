/**
 * Fault injection into the real SqliteStore of an in-process workflowd (createWorkflowd):
 *
 * - Random storage faults (SQLITE_IOERR / SQLITE_FULL / SQLITE_BUSY, as better-sqlite3's own
 *   SqliteError) at three depths: whole store calls (before they touch the database), single
 *   statements inside the store's transactions (so a write fails half-way and must roll
 *   back), and the BEGIN / COMMIT of its group transactions. HTTP requests that hit one
 *   answer their route's 500 in Dapr's `{errorCode, message}` shape and commit nothing (a
 *   retried start never finds its ID taken); the engine retries failed turns with back-off;
 *   no fault escapes as an unhandled rejection (the server process exits on those); no
 *   instance is corrupted; once the faults stop, every workflow completes with the
 *   predicted output.
 * - One fault when an activity's result is recorded, with the default 5-minute lease: the
 *   workflow must not wait for the lease.
 * - One fault reading the next lease expiry right after a claim: handled, and the claimed
 *   activity still runs.
 * - A real full disk: SQLite's max_page_count on the store's own connection (free pages
 *   used up), with work in flight; requests get a clear 500, and once space is back
 *   everything completes.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createWorkflowd, type Workflowd } from "../../src/app.js";
import type { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
// @ts-expect-error -- a plain .mjs module (no declarations)
import registerTorture from "../fixtures/torture-workflows.mjs";
// @ts-expect-error -- untyped .mjs
import { checkDatabase, readDatabase } from "./db-invariants.mjs";
// @ts-expect-error -- untyped .mjs
import { eventPayload, slowChainOutput, tortureInput, tortureOutput } from "./model.mjs";
// @ts-expect-error -- untyped .mjs
import { rng } from "./server-process.mjs";
import { eventually } from "./helpers.js";

const faultKinds = [
  { code: "SQLITE_IOERR", message: "disk I/O error" },
  { code: "SQLITE_FULL", message: "database or disk is full" },
  { code: "SQLITE_BUSY", message: "database is locked" },
] as const;
const faultMessage = /disk I\/O error|database or disk is full|database is locked/;

/** Store calls the engine and the routes make. */
const storeMethods = [
  "createInstance", "getInstance", "enqueue", "purge", "loadTurn", "commitTurn", "dueInstanceIds", "nextVisibleAt",
  "claimActivities", "completeActivity", "releaseLease", "nextLeaseExpiry",
] as const;

/**
 * Fails the store's (asynchronous) methods at random with better-sqlite3 SqliteErrors, and throws them from the prepared
 * statements its transactions run, and from the BEGIN / COMMIT of its (group) transactions
 * (thrown before SQLite runs them: a COMMIT that fails leaves the transaction to be rolled
 * back). `active` switches it on and off.
 */
class FaultInjector {
  active = false;
  readonly injected = new Map<string, number>();
  private readonly random: { next(): number; pick<T>(list: readonly T[]): T };

  constructor(store: SqliteStore, seed: number, private readonly methodRate: number, private readonly statementRate: number, private readonly commitRate: number) {
    this.random = rng(seed);
    const db = (store as unknown as { db?: Database.Database }).db;
    if (!db?.open) throw new Error("test setup: SqliteStore no longer keeps its connection in `db`; update this test");
    // The group committer runs BEGIN and COMMIT as prepared statements (see group-commit.ts).
    const group = (store as unknown as { writer?: { group?: { begin?: Database.Statement; commit?: Database.Statement } } }).writer?.group;
    if (!group?.begin || !group.commit) {
      throw new Error("test setup: SqliteStore's inline writer no longer keeps its GroupCommitter in `writer.group` with prepared `begin` and `commit`; update this test");
    }
    for (const [name, statement] of [["BEGIN", group.begin], ["COMMIT", group.commit]] as const) {
      const run = statement.run.bind(statement);
      statement.run = ((...args: unknown[]) => {
        this.maybeFail(`group ${name}`, this.commitRate);
        return run(...(args as []));
      }) as typeof statement.run;
    }
    for (const method of storeMethods) {
      const original = (store[method] as (...args: unknown[]) => unknown).bind(store);
      vi.spyOn(store, method).mockImplementation(((...args: unknown[]) => {
        try {
          this.maybeFail(`store.${method}`, this.methodRate);
        } catch (error) {
          return Promise.reject(error);
        }
        return original(...args);
      }) as never);
    }
    const statements = (store as unknown as { stmt?: Record<string, Record<string, unknown>> }).stmt;
    if (!statements) throw new Error("test setup: SqliteStore no longer keeps its prepared statements in `stmt`; update this test");
    for (const [name, statement] of Object.entries(statements)) {
      if (name === "ping") continue;
      for (const verb of ["run", "get", "all"]) {
        const original = statement[verb];
        if (typeof original !== "function") continue;
        statement[verb] = (...args: unknown[]) => {
          this.maybeFail(`statement ${name}.${verb}`, this.statementRate);
          return (original as (...a: unknown[]) => unknown).apply(statement, args);
        };
      }
    }
  }

  get total(): number {
    return [...this.injected.values()].reduce((a, b) => a + b, 0);
  }

  private maybeFail(site: string, rate: number): void {
    if (!this.active || this.random.next() >= rate) return;
    const kind = this.random.pick(faultKinds);
    this.injected.set(site, (this.injected.get(site) ?? 0) + 1);
    throw new Database.SqliteError(kind.message, kind.code);
  }
}

/** A pino logger whose JSON lines are kept. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "warn" }, stream), lines };
}

let wd: Workflowd | undefined;
let dir: string | undefined;
/**
 * Storage faults that escape as unhandled rejections: the server process exits on the first
 * one (main.ts), so each is a crash in production.
 */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
process.on("unhandledRejection", onUnhandled);
afterEach(async () => {
  unhandled.length = 0;
  vi.restoreAllMocks();
  await wd?.app.close().catch(() => {});
  wd = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function workflowd(options: { activityLeaseMs?: number } = {}) {
  dir = mkdtempSync(join(tmpdir(), "workflowd-faults-"));
  const dbPath = join(dir, "faults.db");
  const { logger, lines } = capturedLogger();
  // Inline writes: the injector reaches the statements and transactions of this thread only.
  wd = await createWorkflowd({ dbPath, workflows: registerTorture, logger, sqliteWriter: "inline", ...options });
  return { wd, dbPath, lines };
}

interface Answer { status: number; body: string; json: any }

async function call(app: Workflowd["app"], method: "GET" | "POST", url: string, payload?: unknown): Promise<Answer> {
  const res = await app.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload), headers: { "content-type": "application/json" } }),
  });
  let json: unknown;
  try {
    json = res.body ? JSON.parse(res.body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, body: res.body, json };
}

describe("storage faults injected at random", () => {
  it("requests answer their route's 500, failed turns are retried with back-off, and everything completes once the faults stop", async () => {
    const { wd, dbPath, lines } = await workflowd({ activityLeaseMs: 1_500 });
    const app = wd.app;
    const seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const faults = new FaultInjector(wd.store, seed, 0.1, 0.02, 0.05);

    /** Every 5xx answer, by route: must be 500 with the route's code and the fault's message. */
    const serverErrors: { route: string; status: number; json: unknown }[] = [];
    const badServerErrors: string[] = [];
    const expectCode: Record<string, string> = {
      start: "ERR_START_WORKFLOW", get: "ERR_GET_WORKFLOW", raise: "ERR_RAISE_EVENT_WORKFLOW", pause: "ERR_PAUSE_WORKFLOW", resume: "ERR_RESUME_WORKFLOW",
    };
    const note = (route: string, answer: Answer) => {
      if (answer.status < 500) return;
      serverErrors.push({ route, status: answer.status, json: answer.json });
      const body = answer.json as { errorCode?: string; message?: string } | undefined;
      if (answer.status !== 500 || !body || Object.keys(body).join() !== "errorCode,message" || body.errorCode !== expectCode[route] ||
        !faultMessage.test(body.message ?? "") || /\n\s+at /.test(body.message ?? "")) {
        badServerErrors.push(`${route}: ${answer.status} ${answer.body}`);
      }
    };
    /** Retries a request until it is not a 500. */
    const persist = async (route: string, method: "GET" | "POST", url: string, payload?: unknown): Promise<Answer> => {
      for (;;) {
        const answer = await call(app, method, url, payload);
        note(route, answer);
        if (answer.status !== 500) return answer;
      }
    };

    const workflows = Array.from({ length: 16 }, (_, i) => ({ id: `fault-${i}`, seed: 500 + i * 13, rounds: 1 + (i % 2) }));
    const bagItems = Array.from({ length: 60 }, (_, i) => i);
    faults.active = true;
    const faultsBegan = Date.now();

    // Starts (each retried through its 500s: a 409 would mean a failed start committed).
    const startAnswers = await Promise.all([
      ...workflows.map((w) => persist("start", "POST", `/v1.0/workflows/dapr/torture/start?instanceID=${w.id}`, tortureInput(w.seed, w.rounds))),
      persist("start", "POST", "/v1.0/workflows/dapr/bag/start?instanceID=fault-bag", bagItems.length),
    ]);
    expect(startAnswers.map((a) => a.status), "a start that answered 500 had committed after all").toEqual(Array(startAnswers.length).fill(202));

    // Drive for a while under faults: events for the bag, each round's event, pauses and resumes.
    const nextRound = new Map(workflows.map((w) => [w.id, 0]));
    let bagSent = 0;
    const drive = async () => {
      const jobs: Promise<unknown>[] = [];
      if (bagSent < bagItems.length) {
        const item = bagItems[bagSent++];
        jobs.push(persist("raise", "POST", "/v1.0/workflows/dapr/fault-bag/raiseEvent/item", item).then((a) => expect(a.status).toBe(202)));
      }
      for (const w of workflows) {
        jobs.push((async () => {
          const state = await call(app, "GET", `/v1.0/workflows/dapr/${w.id}`);
          note("get", state);
          if (state.status !== 200) return;
          const round = nextRound.get(w.id)!;
          if (round < w.rounds && state.json.properties?.["dapr.workflow.custom_status"] === `await go-${round}`) {
            const raised = await persist("raise", "POST", `/v1.0/workflows/dapr/${w.id}/raiseEvent/go-${round}`, eventPayload(w.seed, round));
            expect(raised.status).toBe(202);
            nextRound.set(w.id, round + 1);
          } else if (faults.active && Math.random() < 0.03) {
            const paused = await call(app, "POST", `/v1.0/workflows/dapr/${w.id}/pause`);
            note("pause", paused);
            await persist("resume", "POST", `/v1.0/workflows/dapr/${w.id}/resume`);
          }
        })());
      }
      await Promise.all(jobs);
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    while (Date.now() - faultsBegan < 6_000) await drive();

    // The faults stop: everything must complete.
    faults.active = false;
    const faultsStopped = Date.now();
    await eventually("every workflow to complete after the faults stopped", async () => {
      await drive();
      const states = await Promise.all([...workflows.map((w) => w.id), "fault-bag"].map((id) => call(app, "GET", `/v1.0/workflows/dapr/${id}`)));
      const notDone = states.filter((s) => s.json?.runtimeStatus !== "COMPLETED");
      return notDone.length === 0 || `${notDone.length} not completed: ${notDone.slice(0, 5).map((s) => `${s.json?.instanceID}=${s.json?.runtimeStatus} (${s.json?.properties?.["dapr.workflow.custom_status"]})`).join(", ")}`;
    }, 30_000, 50);
    const recoveryMs = Date.now() - faultsStopped;

    for (const w of workflows) {
      const state = await call(app, "GET", `/v1.0/workflows/dapr/${w.id}`);
      expect(JSON.parse(state.json.properties["dapr.workflow.output"]), w.id).toEqual(tortureOutput(w.seed, w.rounds));
    }
    const bag = await call(app, "GET", "/v1.0/workflows/dapr/fault-bag");
    expect(JSON.parse(bag.json.properties["dapr.workflow.output"]), "each event delivered once").toEqual(bagItems);

    // Every 5xx was the route's 500 with the fault's message.
    expect(badServerErrors).toEqual([]);

    // Failed turns were retried with back-off: for some instance the delay doubled.
    const retries = lines.filter((l) => l.msg === "turn failed; will retry") as { instanceId: string; failures: number; retryInMs: number }[];
    expect(retries.length, "no turn failed under faults").toBeGreaterThan(0);
    for (const r of retries) expect(r.retryInMs).toBe(Math.min(50 * 2 ** (r.failures - 1), 30_000));
    const repeated = retries.filter((r) => r.failures >= 2);

    await wd.app.close();
    const check = checkDatabase(readDatabase(dbPath), { final: true });
    expect(check.problems).toEqual([]);

    const sites = [...faults.injected].sort((x, y) => y[1] - x[1]).map(([site, n]) => `${site} ${n}`).join(", ");
    console.info(
      `fault injection (seed ${seed}): ${faults.total} faults injected in 6 s (${sites}); ${serverErrors.length} HTTP 500s, all in the route's shape; ` +
      `${retries.length} turn retries logged (${repeated.length} at a doubled delay); recovery ${recoveryMs} ms after the faults stopped; ` +
      `${workflows.length + 1} workflows COMPLETED with the predicted outputs, database invariants hold; ` +
      `${unhandled.length} faults escaped as unhandled rejections`,
    );
    expect(faults.injected.get("store.commitTurn") ?? 0).toBeGreaterThan(0);
    expect(faults.injected.get("group COMMIT") ?? 0, "faults injected into group COMMITs").toBeGreaterThan(0);
    // No fault escaped the engine's handling (workflowd's main.ts exits on an unhandled rejection).
    expect(unhandled.map((e) => (e instanceof Error ? e.stack?.split("\n").slice(0, 6).join(" | ") : String(e))),
      "storage faults that escaped as unhandled rejections (each would crash the server process)").toEqual([]);
  }, 60_000);

  it("a fault while an activity's result is recorded does not stall the workflow for the activity lease (default 5 min)", async () => {
    const { wd } = await workflowd();
    const app = wd.app;
    const store = wd.store;
    // The result is recorded by the commit of the turn that takes it (see pending-results.ts):
    // that commit fails once.
    const original = store.commitTurn.bind(store);
    let failed = 0;
    vi.spyOn(store, "commitTurn").mockImplementation((...args: Parameters<SqliteStore["commitTurn"]>) => {
      if (failed === 0 && (args[0].consumedActivities?.length ?? 0) > 0) {
        failed++;
        return Promise.reject(new Database.SqliteError("database is locked", "SQLITE_BUSY"));
      }
      return original(...args);
    });
    expect((await call(app, "POST", "/v1.0/workflows/dapr/slowChain/start?instanceID=one-busy", { acc: 3, steps: 3 })).status).toBe(202);
    // Three ~30-90 ms steps: a few hundred ms of work. One transient SQLITE_BUSY must not
    // cost more than a retry's back-off.
    const done = await eventually("slowChain to complete after one SQLITE_BUSY on its activity result", async () => {
      const state = await call(app, "GET", "/v1.0/workflows/dapr/one-busy");
      return state.json?.runtimeStatus === "COMPLETED" ? state.json : `status ${state.json?.runtimeStatus}`;
    }, 10_000, 50).catch((error: Error) => error);
    expect(failed).toBe(1);
    expect(done, "after one failed commit of the result the result only comes back when the 5-minute lease expires").not.toBeInstanceOf(Error);
    expect(JSON.parse((done as { properties: Record<string, string> }).properties["dapr.workflow.output"]!)).toBe(slowChainOutput(3, 3));
  }, 20_000);
});

describe("a storage fault right after activities are claimed", () => {
  it("is handled: no unhandled rejection (the server process would exit), and the claimed activities still run", async () => {
    const { wd } = await workflowd();
    const app = wd.app;
    const store = wd.store;
    const original = store.nextLeaseExpiry.bind(store);
    let failed = 0;
    // Fails the first time a lease exists, i.e. right after the first activity was claimed.
    vi.spyOn(store, "nextLeaseExpiry").mockImplementation(async () => {
      const at = await original();
      if (at !== undefined && failed === 0) {
        failed++;
        throw new Database.SqliteError("disk I/O error", "SQLITE_IOERR");
      }
      return at;
    });
    expect((await call(app, "POST", "/v1.0/workflows/dapr/slowChain/start?instanceID=lease-check", { acc: 5, steps: 3 })).status).toBe(202);
    const done = await eventually("slowChain to complete after one fault in nextLeaseExpiry", async () => {
      const state = await call(app, "GET", "/v1.0/workflows/dapr/lease-check");
      return state.json?.runtimeStatus === "COMPLETED" ? state.json : `status ${state.json?.runtimeStatus}`;
    }, 10_000, 50).catch((error: Error) => error);
    expect(failed).toBe(1);
    const escaped = unhandled.map(String);
    const completed = !(done instanceof Error);
    expect({ escaped, completed }, "escaped: the fault became an unhandled rejection (workflowd's main.ts exits the process on one); " +
      "completed false: the activity claimed before the fault never ran (it waits for its 5-minute lease)").toEqual({ escaped: [], completed: true });
  }, 20_000);
});

describe("a full disk (SQLite max_page_count on the store's connection)", () => {
  it("answers a clear 500 while full, and everything in flight completes once space is back", async () => {
    const { wd, dbPath, lines } = await workflowd();
    const app = wd.app;
    const conn = (wd.store as unknown as { db?: Database.Database }).db;
    if (!conn?.open) throw new Error("test setup: SqliteStore no longer keeps its connection in `db`; update this test");

    // Work in flight: chains of slow activities.
    const chains = Array.from({ length: 12 }, (_, i) => ({ id: `full-${i}`, acc: i + 1, steps: 8 }));
    for (const c of chains) {
      expect((await call(app, "POST", `/v1.0/workflows/dapr/slowChain/start?instanceID=${c.id}`, { acc: c.acc, steps: c.steps })).status).toBe(202);
    }
    await new Promise((resolve) => setTimeout(resolve, 150));

    // The disk is full: the file may not grow, and the free space inside it is used up.
    conn.exec("CREATE TABLE IF NOT EXISTS filler (x BLOB)");
    conn.pragma(`max_page_count = ${Number(conn.pragma("page_count", { simple: true }))}`);
    const fill = conn.prepare("INSERT INTO filler (x) VALUES (zeroblob(?))");
    for (const size of [65536, 4096, 512, 64]) {
      for (;;) {
        try {
          fill.run(size);
        } catch {
          break;
        }
      }
    }
    const fullAt = Date.now();

    const big = { pad: "x".repeat(64 * 1024) };
    const start = await call(app, "POST", "/v1.0/workflows/dapr/slowChain/start?instanceID=full-late", big);
    expect(start.status, start.body).toBe(500);
    expect(Object.keys(start.json)).toEqual(["errorCode", "message"]);
    expect(start.json.errorCode).toBe("ERR_START_WORKFLOW");
    expect(start.json.message).toMatch(/^error starting workflow 'slowChain': .*database or disk is full/);
    const raise = await call(app, "POST", "/v1.0/workflows/dapr/full-0/raiseEvent/anything", big);
    expect(raise.status, raise.body).toBe(500);
    expect(raise.json.errorCode).toBe("ERR_RAISE_EVENT_WORKFLOW");
    expect(raise.json.message).toMatch(/^error raising event on workflow 'full-0': .*database or disk is full/);
    expect((await call(app, "GET", "/v1.0/workflows/dapr/full-late")).status).toBe(404);

    // Let the engine run into the full disk for a while.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const engineFaults = lines.filter((l) => /full/i.test(JSON.stringify(l))).length;

    // Space is back.
    conn.exec("DROP TABLE filler");
    conn.pragma("max_page_count = 1073741823");
    const freedAt = Date.now();
    expect((await call(app, "POST", "/v1.0/workflows/dapr/slowChain/start?instanceID=full-late", { acc: 99, steps: 2 })).status).toBe(202);
    const all = [...chains, { id: "full-late", acc: 99, steps: 2 }];
    const errorsWhileFull = () => [...new Set(lines.filter((l) => /full/i.test(JSON.stringify(l))).map((l) => String(l.msg)))].join("; ");
    await eventually("every chain to complete after space came back", async () => {
      const states = await Promise.all(all.map((c) => call(app, "GET", `/v1.0/workflows/dapr/${c.id}`)));
      const notDone = states.filter((s) => s.json?.runtimeStatus !== "COMPLETED");
      return notDone.length === 0 ||
        `${notDone.length} not completed: ${notDone.map((s) => `${s.json?.instanceID} (${s.json?.properties?.["dapr.workflow.custom_status"] ?? s.json?.runtimeStatus})`).join(", ")}; ` +
        `errors logged while full: ${errorsWhileFull()}; activity rows: ${JSON.stringify(conn.prepare("SELECT instance_id, task_id, lease_expires_at - ? AS lease_left_ms, attempts FROM activities").all(Date.now()))}`;
    }, 15_000, 50);
    const recoveryMs = Date.now() - freedAt;
    for (const c of all) {
      const state = await call(app, "GET", `/v1.0/workflows/dapr/${c.id}`);
      expect(JSON.parse(state.json.properties["dapr.workflow.output"]), c.id).toBe(slowChainOutput(c.acc, c.steps));
    }
    await wd.app.close();
    expect(checkDatabase(readDatabase(dbPath), { final: true }).problems).toEqual([]);
    console.info(`disk full: ${Date.now() - fullAt} ms full, ${engineFaults} engine errors logged while full; recovered ${recoveryMs} ms after space came back`);
  }, 40_000);
});
