/**
 * The SQLite writer thread (src/store/sqlite/writer.ts, writer-thread.ts): what only the
 * thread can get wrong. The store's behaviour through it is the contract suite's ("SQLite
 * file" runs on the thread); here: writes called together share a group and are visible to
 * the main connection once answered, close finishes what was called, a storage error keeps
 * its SQLite code across the thread, and a thread that dies fails its writes loudly and makes
 * the store unhealthy instead of leaving callers waiting.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { newEvent, type ExecutionStarted } from "../../src/engine/history.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { WriterThreadError } from "../../src/store/sqlite/writer.js";

const T0 = Date.UTC(2026, 0, 1);
const start = (instanceId: string): ExecutionStarted =>
  newEvent({ kind: "executionStarted", name: "wf", instanceId, executionId: `exec-${instanceId}`, input: '"in"' }, T0);

let dir: string | undefined;
let store: SqliteStore | undefined;
afterEach(async () => {
  await store?.close().catch(() => {});
  store = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function openStore(): { store: SqliteStore; path: string } {
  dir = mkdtempSync(join(tmpdir(), "wfd-writer-"));
  const path = join(dir, "w.db");
  store = new SqliteStore({ path, busyTimeoutMs: 100 });
  return { store, path };
}

/** The thread behind the store, to kill it as a crash would. */
function threadOf(s: SqliteStore): Worker {
  const worker = (s as unknown as { writer?: { worker?: Worker } }).writer?.worker;
  if (!worker) throw new Error("test setup: SqliteStore no longer keeps its ThreadWriter in `writer` with its Worker in `worker`; update this test");
  return worker;
}

describe("SQLite writer thread", () => {
  it("runs the writes of one turn of the event loop in one group, each visible to reads once answered", async () => {
    const { store: s } = openStore();
    const before = s.groupCommitStats;
    const ids = Array.from({ length: 40 }, (_, i) => `w-${i}`);
    const results = await Promise.all(ids.map((id) => s.createInstance(start(id))));
    expect(results).toEqual(ids.map(() => "created"));
    for (const id of ids) expect((await s.getInstance(id))?.status).toBe("PENDING");
    const after = s.groupCommitStats;
    expect(after.writes - before.writes).toBe(40);
    // 40 calls cross as one message of 40 (fewer than the 64 sent at once): one or two groups, not 40.
    expect(after.groups - before.groups).toBeLessThanOrEqual(2);
  });

  it("keeps a write's SQLite error code across the thread (a file locked past the busy timeout)", async () => {
    const { store: s, path } = openStore();
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    try {
      await expect(s.createInstance(start("x"))).rejects.toThrow(expect.objectContaining({ code: "SQLITE_BUSY", name: "SqliteError" }));
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    expect(await s.createInstance(start("x"))).toBe("created");
    await s.ping();
  });

  it("answers a conflict as a result, not an error, across the thread", async () => {
    const { store: s } = openStore();
    await s.createInstance(start("c"));
    const snapshot = (await s.loadTurn("c", T0 + 1, 10))!;
    const commit = {
      instanceId: "c",
      expectedVersion: snapshot.instance.version + 5,
      historyLength: 0,
      consumedSeqs: snapshot.inbox.map((r) => r.seq),
      outcome: { historyMode: "append" as const, events: [], effects: [], requeue: [], customStatus: undefined, state: undefined },
      now: T0 + 1,
    };
    expect(await s.commitTurn(commit)).toEqual({ kind: "conflict", reason: "instance 'c' changed since it was loaded" });
  });

  it("finishes the writes already called when the store closes, and they are on disk after", async () => {
    const { store: s, path } = openStore();
    const pending = Array.from({ length: 100 }, (_, i) => s.createInstance(start(`close-${i}`)));
    const closed = s.close();
    expect(await Promise.all(pending)).toEqual(pending.map(() => "created"));
    await closed;
    store = undefined;
    await expect(s.createInstance(start("after"))).rejects.toThrow(/closed/);
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare("SELECT count(*) AS n FROM instances WHERE instance_id LIKE 'close-%'").get()).toEqual({ n: 100 });
    raw.close();
  });

  it("fails every waiting and later write when the thread dies, and the store turns unhealthy", async () => {
    const { store: s } = openStore();
    expect(await s.createInstance(start("before"))).toBe("created");
    const waiting = s.createInstance(start("during"));
    await threadOf(s).terminate();
    await expect(waiting).rejects.toBeInstanceOf(WriterThreadError);
    await expect(waiting).rejects.toThrow(/writer thread exited .*restart workflowd/);
    await expect(s.createInstance(start("after"))).rejects.toBeInstanceOf(WriterThreadError);
    await expect(s.ping()).rejects.toThrow(/restart workflowd/);
    // Reads still answer from what was committed.
    expect((await s.getInstance("before"))?.status).toBe("PENDING");
  });
});
