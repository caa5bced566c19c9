/**
 * Real storage faults (no mocks): a database locked by another connection, a full
 * database, a closed store, a dropped table and a corrupt row. Every route must answer 500
 * with its own errorCode, in the exact `{errorCode, message}` shape, without a stack trace,
 * must not half-write anything, and must work again once the fault is gone.
 */
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { Api, expectError, newId, startServer, tempDb, type TestServer } from "./helpers.js";

let server: TestServer | undefined;
let cleanup: (() => void)[] = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const fn of cleanup.reverse()) fn();
  cleanup = [];
});

/** A file-backed server plus a running approval instance and a finished hello instance. */
async function fileServer(busyTimeoutMs = 50, sqliteWriter: "thread" | "inline" = "thread") {
  const db = tempDb();
  cleanup.push(db.remove);
  server = await startServer({ dbPath: db.dbPath, busyTimeoutMs, sqliteWriter });
  const api = new Api(server);
  const running = await api.start("approval", newId("running"));
  await api.waitForState(running, (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
  const done = await api.start("hello", newId("done"));
  await api.waitForStatus(done, "COMPLETED");
  return { api, dbPath: db.dbPath, running, done, server };
}

function secondConnection(dbPath: string): Database.Database {
  const conn = new Database(dbPath);
  conn.pragma("busy_timeout = 5000");
  cleanup.push(() => {
    if (conn.open) conn.close();
  });
  return conn;
}

describe("a database locked by another connection (busyTimeoutMs: 50)", () => {
  it("every write route answers 500 with its code; nothing is half-written; all works after the lock is released", async () => {
    const { api, dbPath, running, done } = await fileServer(50);
    const runningBefore = await api.state(running);
    const doneBefore = await api.state(done);

    const locker = secondConnection(dbPath);
    locker.exec("BEGIN EXCLUSIVE");
    // The lock is held by a write transaction: prove it.
    locker.prepare("UPDATE instances SET version = version WHERE instance_id = ?").run(done);

    const newcomer = newId("locked-start");
    const startErr = expectError(await api.startRequest("hello", newcomer, '"x"'), 500, "ERR_START_WORKFLOW");
    expect(startErr.message).toMatch(/^error starting workflow 'hello': .*locked/i);

    const termErr = expectError(await api.command(running, "terminate"), 500, "ERR_TERMINATE_WORKFLOW");
    expect(termErr.message).toMatch(new RegExp(`^error terminating workflow '${running}': .*locked`, "i"));

    const raiseErr = expectError(
      await api.command(running, "raiseEvent/approval", '{"approved":true}'),
      500,
      "ERR_RAISE_EVENT_WORKFLOW",
    );
    expect(raiseErr.message).toMatch(new RegExp(`^error raising event on workflow '${running}': .*locked`, "i"));

    const pauseErr = expectError(await api.command(running, "pause"), 500, "ERR_PAUSE_WORKFLOW");
    expect(pauseErr.message).toMatch(new RegExp(`^error pausing workflow ${running}: .*locked`, "i"));

    const resumeErr = expectError(await api.command(running, "resume"), 500, "ERR_RESUME_WORKFLOW");
    expect(resumeErr.message).toMatch(new RegExp(`^error resuming workflow ${running}: .*locked`, "i"));

    const purgeErr = expectError(await api.command(done, "purge"), 500, "ERR_PURGE_WORKFLOW");
    expect(purgeErr.message).toMatch(new RegExp(`^error purging workflow ${done}: .*locked`, "i"));

    // WAL: readers are not blocked by the writer.
    expect((await api.get(done)).status).toBe(200);

    locker.exec("ROLLBACK");
    locker.close();

    // Nothing of the failed requests was written.
    expect((await api.get(newcomer)).status).toBe(404);
    expect(await api.state(done)).toEqual(doneBefore);
    const runningAfter = await api.state(running);
    expect(runningAfter.runtimeStatus).toBe("RUNNING");
    expect(runningAfter.properties).toEqual(runningBefore.properties);
    // No event from the failed raise/terminate/pause is waiting in the inbox.
    const check = new Database(dbPath, { readonly: true });
    try {
      const queued = check
        .prepare("SELECT COUNT(*) AS n FROM inbox WHERE instance_id = ? AND json_extract(event, '$.kind') <> 'timerFired'")
        .get(running) as { n: number };
      expect(queued.n).toBe(0);
    } finally {
      check.close();
    }

    // And the server works again, on the same IDs.
    await api.start("hello", newcomer, '"x"');
    await api.waitForStatus(newcomer, "COMPLETED");
    await api.commandOk(running, "pause");
    await api.waitForStatus(running, "SUSPENDED");
    await api.commandOk(running, "resume");
    await api.waitForStatus(running, "RUNNING");
    await api.commandOk(running, "raiseEvent/approval", '{"approved":true}');
    const approved = await api.waitForStatus(running, "COMPLETED");
    expect(approved.properties?.["dapr.workflow.output"]).toBe('"approved"');
    await api.commandOk(done, "purge");
    expect((await api.get(done)).status).toBe(404);
    const another = await api.start("approval", newId("after-lock"));
    await api.commandOk(another, "terminate");
    await api.waitForStatus(another, "TERMINATED");
  });
});

describe("a full database (SQLITE_FULL)", () => {
  it("start and raiseEvent answer 500 with their code; nothing is half-written; all works after space is freed", async () => {
    // max_page_count is a per-connection pragma, so it is set on the store's own connection
    // (a real SQLite limit, not a mock): the file cannot grow by a single page. The writes run
    // inline on that connection here (a file's writer thread has a connection of its own).
    const { api, running, server: wd } = await fileServer(5_000, "inline");
    const conn = (wd.store as unknown as { db?: Database.Database }).db;
    if (!conn?.open) throw new Error("test setup: SqliteStore no longer keeps its connection in `db`; update this test");
    const pages = Number(conn.pragma("page_count", { simple: true }));
    conn.pragma(`max_page_count = ${pages}`);
    expect(Number(conn.pragma("max_page_count", { simple: true }))).toBe(pages);

    const big = JSON.stringify("x".repeat(256 * 1024));
    const newcomer = newId("full-start");
    const startErr = expectError(await api.startRequest("echo", newcomer, big), 500, "ERR_START_WORKFLOW");
    expect(startErr.message).toMatch(/^error starting workflow 'echo': .*full/i);
    expect((await api.get(newcomer)).status).toBe(404);

    const raiseErr = expectError(
      await api.command(running, "raiseEvent/approval", JSON.stringify({ approved: true, pad: "y".repeat(256 * 1024) })),
      500,
      "ERR_RAISE_EVENT_WORKFLOW",
    );
    expect(raiseErr.message).toMatch(new RegExp(`^error raising event on workflow '${running}': .*full`, "i"));

    conn.pragma("max_page_count = 1073741823");
    expect((await api.state(running)).runtimeStatus).toBe("RUNNING");
    await api.start("echo", newcomer, big);
    const echoed = await api.waitForStatus(newcomer, "COMPLETED");
    expect(echoed.properties?.["dapr.workflow.output"]).toBe(big);
    await api.commandOk(running, "raiseEvent/approval", '{"approved":true}');
    await api.waitForStatus(running, "COMPLETED");
  });
});

describe("a closed store", () => {
  it("every route answers 500 with its own code", async () => {
    const { api, running, done, server: wd } = await fileServer();
    await wd.store.close();

    const cases: [string, Promise<{ status: number; text: string; headers: Record<string, string> }>, string, RegExp][] = [
      ["start", api.startRequest("hello", newId("closed")), "ERR_START_WORKFLOW", /^error starting workflow 'hello': /],
      ["get", api.get(done), "ERR_GET_WORKFLOW", new RegExp(`^error while getting workflow info on instance '${done}': `)],
      ["terminate", api.command(running, "terminate"), "ERR_TERMINATE_WORKFLOW", new RegExp(`^error terminating workflow '${running}': `)],
      ["raiseEvent", api.command(running, "raiseEvent/approval"), "ERR_RAISE_EVENT_WORKFLOW", new RegExp(`^error raising event on workflow '${running}': `)],
      ["pause", api.command(running, "pause"), "ERR_PAUSE_WORKFLOW", new RegExp(`^error pausing workflow ${running}: `)],
      ["resume", api.command(running, "resume"), "ERR_RESUME_WORKFLOW", new RegExp(`^error resuming workflow ${running}: `)],
      ["purge", api.command(done, "purge"), "ERR_PURGE_WORKFLOW", new RegExp(`^error purging workflow ${done}: `)],
    ];
    for (const [route, pending, code, message] of cases) {
      const res = await pending;
      const err = expectError(res, 500, code, message);
      expect(err.message, route).not.toMatch(/\.ts:\d+|\.js:\d+/);
    }
  });
});

describe("a dropped table", () => {
  it("GET answers 500 ERR_GET_WORKFLOW and start answers 500 ERR_START_WORKFLOW", async () => {
    const { api, dbPath, done } = await fileServer();
    const other = secondConnection(dbPath);
    other.exec("DROP TABLE instances");
    other.close();

    const getErr = expectError(await api.get(done), 500, "ERR_GET_WORKFLOW");
    expect(getErr.message).toMatch(new RegExp(`^error while getting workflow info on instance '${done}': .*no such table`, "i"));
    expectError(await api.get("never-existed"), 500, "ERR_GET_WORKFLOW");
    expectError(await api.startRequest("hello", newId("dropped")), 500, "ERR_START_WORKFLOW");
    expectError(await api.command(done, "purge"), 500, "ERR_PURGE_WORKFLOW");
    expectError(await api.command(done, "terminate"), 500, "ERR_TERMINATE_WORKFLOW");
  });
});

describe("a corrupt row", () => {
  it("GET of that instance answers 500 ERR_GET_WORKFLOW; other instances are unaffected", async () => {
    const { api, dbPath, done, running } = await fileServer();
    const other = secondConnection(dbPath);
    other.prepare("UPDATE instances SET failure_details = '{not json' WHERE instance_id = ?").run(done);
    other.close();

    const err = expectError(await api.get(done), 500, "ERR_GET_WORKFLOW");
    expect(err.message).toMatch(new RegExp(`^error while getting workflow info on instance '${done}': `));
    expect((await api.state(running)).runtimeStatus).toBe("RUNNING");
  });
});
