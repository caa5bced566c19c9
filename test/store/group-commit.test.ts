/**
 * GroupCommitter on a real SQLite file: writes of one event-loop turn share one
 * transaction, callers hear back only after COMMIT, and a failure fails exactly the writes
 * it undid.
 */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GroupCommitter } from "../../src/store/sqlite/group-commit.js";
import { WalSync, WalSyncError } from "../../src/store/sqlite/wal-sync.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { existsSync } from "node:fs";

let dir: string;
let db: Database.Database;
let reader: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "wfd-group-"));
  db = new Database(join(dir, "g.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec(`
    CREATE TABLE parent (id INTEGER PRIMARY KEY);
    CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL,
      parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
    INSERT INTO parent VALUES (1);`);
  db.pragma("foreign_keys = ON");
  reader = new Database(join(dir, "g.db"), { readonly: true });
});

afterEach(() => {
  reader.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (v: string, parent = 1) => () => db.transaction(() => db.prepare("INSERT INTO t (v, parent) VALUES (?, ?)").run(v, parent).lastInsertRowid)();
const committed = () => (reader.prepare("SELECT v FROM t ORDER BY id").all() as { v: string }[]).map((r) => r.v);

describe("GroupCommitter", () => {
  it("writes queued in one turn share one commit and each gets its own result", async () => {
    const group = new GroupCommitter(db, 100);
    const results = await Promise.all(["a", "b", "c", "d"].map((v) => group.run(insert(v))));
    expect(results.map(Number)).toEqual([1, 2, 3, 4]);
    expect(group.stats).toEqual({ groups: 1, writes: 4 });
    expect(committed()).toEqual(["a", "b", "c", "d"]);
  });

  it("answers only after COMMIT: another connection already sees the write when the caller hears back", async () => {
    const group = new GroupCommitter(db, 100);
    const seen = await group.run(insert("x")).then(() => committed());
    expect(seen).toEqual(["x"]);
  });

  it("caps a group's size; the rest commit in the next group", async () => {
    const group = new GroupCommitter(db, 2);
    await Promise.all(["a", "b", "c", "d", "e"].map((v) => group.run(insert(v))));
    expect(group.stats).toEqual({ groups: 3, writes: 5 });
    expect(committed()).toHaveLength(5);
  });

  it("a write that throws fails only its caller; the others commit", async () => {
    const group = new GroupCommitter(db, 100);
    const outcomes = await Promise.allSettled([
      group.run(insert("a")),
      group.run(() => db.transaction(() => {
        db.prepare("INSERT INTO t (v) VALUES ('half')").run();
        throw new Error("bad input");
      })()),
      group.run(insert("c")),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(committed()).toEqual(["a", "c"]);
  });

  it("a COMMIT that fails fails every write of the group, and none of them took effect", async () => {
    const group = new GroupCommitter(db, 100);
    // A deferred foreign key is checked at COMMIT: one bad row makes the whole COMMIT fail.
    const outcomes = await Promise.allSettled([group.run(insert("a")), group.run(insert("orphan", 99)), group.run(insert("c"))]);
    expect(outcomes.every((o) => o.status === "rejected")).toBe(true);
    expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(committed()).toEqual([]);
    expect(db.inTransaction).toBe(false);
    // The connection is usable afterwards.
    await group.run(insert("after"));
    expect(committed()).toEqual(["after"]);
  });

  it("an error that makes SQLite roll back the whole transaction (disk full) fails the earlier writes too; later ones commit", async () => {
    const group = new GroupCommitter(db, 100);
    const pages = Number(db.pragma("page_count", { simple: true }));
    const big = "x".repeat(200_000);
    const outcomes = await Promise.allSettled([
      group.run(insert("small")),
      group.run(() => {
        db.pragma(`max_page_count = ${pages + 2}`);
        try {
          return insert(big)();
        } finally {
          db.pragma("max_page_count = 1073741823");
        }
      }),
      group.run(insert("later")),
    ]);
    expect((outcomes[1] as PromiseRejectedResult).reason?.code).toBe("SQLITE_FULL");
    // Whether SQLite rolled back the transaction or only the statement, no caller is told a
    // write committed that did not, and the later write is committed.
    const rows = committed();
    expect(outcomes[2]?.status).toBe("fulfilled");
    expect(rows).toContain("later");
    expect(rows.includes("small")).toBe(outcomes[0]?.status === "fulfilled");
    expect(rows).not.toContain(big);
  });

  it("fails every write when the database is closed", async () => {
    const group = new GroupCommitter(db, 100);
    const pending = group.run(insert("a"));
    db.close();
    await expect(pending).rejects.toThrow(/closed/);
    db = new Database(join(dir, "g.db")); // for afterEach
  });
});

describe("GroupCommitter with a WalSync (synchronous=NORMAL, the WAL flushed off the event loop)", () => {
  /** A flush the test completes by hand: the real fdatasync runs when `release` is called. */
  function heldFlush() {
    const held: ((error: NodeJS.ErrnoException | null) => void)[] = [];
    const flush = (_fd: number, done: (error: NodeJS.ErrnoException | null) => void) => held.push(done);
    return { flush, held };
  }
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it("answers only after the WAL's flush; groups that commit while a flush runs share the next one", async () => {
    db.pragma("synchronous = NORMAL");
    const { flush, held } = heldFlush();
    const sync = new WalSync(join(dir, "g.db-wal"), flush);
    const group = new GroupCommitter(db, 100, sync);
    const heard: string[] = [];
    const first = group.run(insert("a")).then(() => heard.push("a"));
    await tick();
    await tick();
    // Committed (another connection sees it) but not flushed: nobody has heard back.
    expect(committed()).toEqual(["a"]);
    expect(held).toHaveLength(1);
    expect(heard).toEqual([]);
    // Two more groups commit while the first flush is in flight: the event loop did not wait.
    const second = group.run(insert("b")).then(() => heard.push("b"));
    await tick();
    await tick();
    const third = group.run(insert("c")).then(() => heard.push("c"));
    await tick();
    await tick();
    expect(committed()).toEqual(["a", "b", "c"]);
    expect(group.stats.groups).toBe(3);
    expect(held).toHaveLength(1);
    held[0]!(null);
    await first;
    expect(heard).toEqual(["a"]);
    // One flush, issued after both commits, covers both.
    expect(held).toHaveLength(2);
    held[1]!(null);
    await Promise.all([second, third]);
    expect(heard).toEqual(["a", "b", "c"]);
    expect(sync.syncs).toBe(2);
    sync.close();
  });

  it("a failed flush fails the writes it covered (their durability is unknown)", async () => {
    db.pragma("synchronous = NORMAL");
    const { flush, held } = heldFlush();
    const sync = new WalSync(join(dir, "g.db-wal"), flush);
    const group = new GroupCommitter(db, 100, sync);
    const pending = group.run(insert("a"));
    await tick();
    await tick();
    held[0]!(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    await expect(pending).rejects.toThrow(WalSyncError);
    await expect(pending).rejects.toThrow(/could not flush the write-ahead log '.*g.db-wal' to disk: EIO/);
    sync.close();
  });

  it("the store on a file runs NORMAL with the real flush; it answers after it and stays readable", async () => {
    const store = new SqliteStore({ path: join(dir, "s.db"), busyTimeoutMs: 100 });
    expect(store.settings().synchronous).toBe(1);
    const result = await store.enqueue("nobody", { kind: "eventRaised", name: "x", eventId: -1, timestamp: 0 } as never, 0);
    expect(result).toBe("not-found");
    expect(existsSync(join(dir, "s.db-wal"))).toBe(true);
    await store.close();
  });

  it("a failed flush makes the store unhealthy until restart (ping, behind /v1.0/healthz, throws)", async () => {
    const failing = (_fd: number, done: (error: NodeJS.ErrnoException | null) => void) => setImmediate(() => done(Object.assign(new Error("EIO: i/o error"), { code: "EIO" })));
    const store = new SqliteStore({ path: join(dir, "f.db"), busyTimeoutMs: 100, walFlush: failing });
    await store.ping();
    await expect(store.enqueue("nobody", { kind: "eventRaised", name: "x", eventId: -1, timestamp: 0 } as never, 0)).rejects.toThrow(WalSyncError);
    await expect(store.ping()).rejects.toThrow(/could not flush the write-ahead log .* to disk: EIO.*; writes since the last flush may not be on disk: restart workflowd/);
    store.close();
  });
});

