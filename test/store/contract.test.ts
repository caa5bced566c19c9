/**
 * The store contract (src/store/store.ts), run against every store: SQLite in memory and on a
 * file, and PostgreSQL (a real server: see test-postgres.ts). Nothing is mocked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { newEvent, type ExecutionStarted } from "../../src/engine/history.js";
import { applyTurn, prepareTurn } from "../../src/engine/turn.js";
import { postgresSchemaVersion } from "../../src/store/postgres/migrations.js";
import { schemaVersion } from "../../src/store/sqlite/migrations.js";
import { PostgresStore } from "../../src/store/postgres/postgres-store.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { ActivityLease, Poke, TurnSnapshot, WorkflowStore } from "../../src/store/store.js";
import { sharedTestPostgres } from "./test-postgres.js";

const T0 = Date.UTC(2026, 0, 1);
const recursively = { recursive: true, force: false };

function start(instanceId: string, name = "wf", extra: Partial<ExecutionStarted> = {}): ExecutionStarted {
  return newEvent({ kind: "executionStarted", name, instanceId, executionId: `exec-${instanceId}`, input: '"in"', ...extra }, T0);
}

let dir: string | undefined;

const postgres = sharedTestPostgres();

async function openStore(kind: string): Promise<WorkflowStore> {
  if (kind === "postgres") return PostgresStore.open({ url: await postgres.freshDatabase() });
  if (kind === "sqlite in memory") return new SqliteStore({ path: ":memory:", busyTimeoutMs: 100 });
  dir ??= mkdtempSync(join(tmpdir(), "wfd-store-"));
  return new SqliteStore({ path: join(dir, "store.db"), busyTimeoutMs: 100 });
}

afterEach(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Runs one turn through the engine and commits it, with the worker's actions given. */
async function turn(store: WorkflowStore, instanceId: string, now: number, actions: Parameters<typeof applyTurn>[1] = { actions: [] }, lease?: ActivityLease) {
  const appId = (await store.getInstance(instanceId))?.appId;
  const snapshot = (await store.loadTurn(instanceId, now, 1000))!;
  const prepared = prepareTurn(instanceId, snapshot.history, snapshot.inbox, now);
  let n = 0;
  const outcome = applyTurn(prepared, actions, { now, newExecutionId: () => `exec-new-${++n}` });
  const result = await store.commitTurn({
    instanceId,
    expectedVersion: snapshot.instance.version,
    historyLength: snapshot.history.length,
    consumedSeqs: prepared.consumedSeqs,
    outcome,
    now,
    lease,
    appId,
  });
  return { snapshot, prepared, outcome, result };
}

async function historyKinds(store: WorkflowStore, id: string): Promise<string[]> {
  return (await store.loadTurn(id, Number.MAX_SAFE_INTEGER, 1000))!.history.map((e) => e.kind);
}

describe.each(["sqlite in memory", "sqlite file", "postgres"])("the store contract (%s)", (kind) => {
  let store: WorkflowStore;
  beforeEach(async () => {
    store = await openStore(kind);
  });
  afterEach(async () => await store.close());

  it("creates an instance once: a second create with the same ID is 'exists' in any state", async () => {
    expect(await store.createInstance(start("a"))).toBe("created");
    expect(await store.createInstance(start("a", "other"))).toBe("exists");
    const record = (await store.getInstance("a"))!;
    expect(record).toMatchObject({ instanceId: "a", name: "wf", status: "PENDING", input: '"in"', version: 1, createdAt: T0 });
    await turn(store, "a", T0 + 1, { actions: [{ kind: "completeOrchestration", id: 1, status: "COMPLETED", result: "1" }] });
    expect((await store.getInstance("a"))!.status).toBe("COMPLETED");
    expect(await store.createInstance(start("a"))).toBe("exists");
  });

  it("starts made at once: each distinct ID created with its start queued; an ID started twice at once is created once", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `at-once-${i}`);
    expect(await Promise.all(ids.map((id) => store.createInstance(start(id))))).toEqual(ids.map(() => "created"));
    expect(await store.dueInstanceIds(T0 + 1, 100)).toEqual(expect.arrayContaining(ids));
    const twice = await Promise.all([store.createInstance(start("twice", "first")), store.createInstance(start("twice", "second"))]);
    expect(twice).toEqual(["created", "exists"]);
    expect((await store.getInstance("twice"))!.name).toBe("first");
    const snapshot = await store.loadTurn("twice", T0 + 1, 10);
    expect(snapshot !== "claimed-elsewhere" && snapshot!.inbox.map((i) => i.event.kind)).toEqual(["executionStarted"]);
  });

  it("queues events only for instances that exist and are not finished", async () => {
    const raised = newEvent({ kind: "eventRaised", name: "e", input: "1" }, T0);
    expect(await store.enqueue("missing", raised, T0)).toBe("not-found");
    await store.createInstance(start("a"));
    expect(await store.enqueue("a", raised, T0)).toBe("queued");
    await turn(store, "a", T0 + 1, { actions: [{ kind: "completeOrchestration", id: 1, status: "COMPLETED" }] });
    expect(await store.enqueue("a", raised, T0 + 2)).toBe("terminal");
    expect((await store.loadTurn("a", T0 + 10, 1000))!.inbox).toEqual([]);
  });

  it("loads only visible inbox rows, in visibility then arrival order", async () => {
    await store.createInstance(start("a"));
    await store.enqueue("a", newEvent({ kind: "eventRaised", name: "late" }, T0), T0 + 500);
    await store.enqueue("a", newEvent({ kind: "eventRaised", name: "first" }, T0), T0 + 1);
    await store.enqueue("a", newEvent({ kind: "eventRaised", name: "second" }, T0), T0 + 1);
    const names = async (now: number) =>
      (await store.loadTurn("a", now, 1000))!.inbox.map((i) => (i.event.kind === "eventRaised" ? i.event.name : i.event.kind));
    expect(await names(T0 + 1)).toEqual(["executionStarted", "first", "second"]);
    expect(await names(T0 + 500)).toEqual(["executionStarted", "first", "second", "late"]);
    expect(await store.dueInstanceIds(T0 + 1, 10)).toEqual(["a"]);
    expect(await store.nextVisibleAt(T0 + 1)).toBe(T0 + 500);
  });

  it("commits a turn's history and effects in one transaction and bumps the version", async () => {
    await store.createInstance(start("p"));
    const { result } = await turn(store, "p", T0 + 1, {
      actions: [
        { kind: "scheduleTask", id: 1, name: "act", input: "2" },
        { kind: "createTimer", id: 2, fireAt: T0 + 60_000 },
        { kind: "createSubOrchestration", id: 3, instanceId: "", name: "child" },
        { kind: "sendEvent", id: 4, instanceId: "nobody", name: "x" },
      ],
      customStatus: "busy",
    });
    expect(result).toEqual({ kind: "committed", touchedInstanceIds: ["p:0003"], leased: [] });
    const record = (await store.getInstance("p"))!;
    expect(record).toMatchObject({ status: "RUNNING", version: 2, customStatus: "busy", historyLength: 6 });
    expect(await historyKinds(store, "p")).toEqual([
      "orchestratorStarted", "executionStarted", "taskScheduled", "timerCreated", "subOrchestrationInstanceCreated", "eventSent",
    ]);
    // The timer waits in the inbox until it is due; the child exists, PENDING, with its parent.
    expect((await store.loadTurn("p", T0 + 59_999, 1000))!.inbox).toEqual([]);
    expect((await store.loadTurn("p", T0 + 60_000, 1000))!.inbox.map((i) => i.event.kind)).toEqual(["timerFired"]);
    expect(await store.getInstance("p:0003")).toMatchObject({ status: "PENDING", name: "child", parentInstanceId: "p" });
    // The activity is queued once; an event for an unknown instance is dropped.
    expect(await store.claimActivities("me", T0, 1000, 10)).toMatchObject([{ instanceId: "p", taskId: 1, name: "act", input: "2", attempts: 1 }]);
    expect(await store.getInstance("nobody")).toBeUndefined();
  });

  it("leases a turn's activities in its own commit, up to the lease's count and for the names it serves; the rest wait for a claim", async () => {
    await store.createInstance(start("p"));
    const lease: ActivityLease = { owner: "me", expiresAt: T0 + 60_000, max: 2, serves: (name) => name !== "elsewhere", appId: "app" };
    const { result } = await turn(store, "p", T0 + 1, {
      actions: [
        { kind: "scheduleTask", id: 1, name: "a", input: "1" },
        { kind: "scheduleTask", id: 2, name: "elsewhere" },
        { kind: "scheduleTask", id: 3, name: "b" },
        { kind: "scheduleTask", id: 4, name: "c" },
      ],
    }, lease);
    expect(result.kind).toBe("committed");
    const leased = result.kind === "committed" ? result.leased : [];
    expect(leased).toMatchObject([
      { instanceId: "p", taskId: 1, name: "a", input: "1", attempts: 1, scheduled: { kind: "taskScheduled", eventId: 1 } },
      { instanceId: "p", taskId: 3, name: "b", attempts: 1 },
    ]);
    // Leased rows are held until their lease expires; the others are free to claim.
    expect((await store.claimActivities("other", T0 + 2, 100_000, 10)).map((w) => w.taskId)).toEqual([2, 4]);
    expect(await store.nextLeaseExpiry()).toBe(T0 + 60_000);
    expect((await store.claimActivities("other", T0 + 60_000, 1000, 10)).map((w) => w.taskId)).toEqual([1, 3]);
    // A leased row completes like a claimed one.
    expect(await store.completeActivity(leased[0]!.seq, newEvent({ kind: "taskCompleted", taskScheduledId: 1, result: "2" }, T0 + 3), T0 + 3)).toBe("delivered");
  });

  it("multi-app: an instance is its start's app; an activity its router's target app, else its instance's; leases and claims take only their app's (and rows with no app)", async () => {
    await store.createInstance(start("m", "wf", { router: { sourceAppID: "orders" } }));
    expect((await store.getInstance("m"))!.appId).toBe("orders");
    const lease: ActivityLease = { owner: "me", expiresAt: T0 + 60_000, max: 10, serves: () => true, appId: "orders" };
    const shipping = { sourceAppID: "orders", targetAppID: "shipping" };
    const { result } = await turn(store, "m", T0 + 1, {
      actions: [
        { kind: "scheduleTask", id: 1, name: "local" },
        { kind: "scheduleTask", id: 2, name: "remote", router: shipping },
        { kind: "createSubOrchestration", id: 3, name: "child", instanceId: "m-child", router: shipping },
      ],
    }, lease);
    expect(result.kind === "committed" && result.leased.map((w) => w.name)).toEqual(["local"]);
    // Another app's activity waits for that app: never leased nor claimed for this one.
    expect(await store.claimActivities("orders/1", T0 + 2, 1000, 10, undefined, "orders")).toEqual([]);
    expect(await store.claimActivities("billing/1", T0 + 2, 1000, 10, undefined, "billing")).toEqual([]);
    expect((await store.claimActivities("shipping/1", T0 + 2, 1000, 10, undefined, "shipping")).map((w) => w.name)).toEqual(["remote"]);
    // The child belongs to the app its action targets; its start says who made it.
    expect((await store.getInstance("m-child"))!.appId).toBe("shipping");
    const childStart = (await store.loadTurn("m-child", T0 + 2, 10))!.inbox[0]!.event;
    expect(childStart).toMatchObject({ kind: "executionStarted", router: shipping, parentInstance: { instanceId: "m", appId: "orders" } });
    // An instance recorded without an app (before app IDs were) is any app's, and so are its activities.
    await store.createInstance(start("legacy"));
    expect((await store.getInstance("legacy"))!.appId).toBeUndefined();
    await turn(store, "legacy", T0 + 3, { actions: [{ kind: "scheduleTask", id: 1, name: "old" }] });
    expect((await store.claimActivities("billing/1", T0 + 4, 1000, 10, undefined, "billing")).map((w) => w.name)).toEqual(["old"]);
  });

  it("a load says which of the activity rows it is asked about still exist", async () => {
    await store.createInstance(start("live"));
    const lease: ActivityLease = { owner: "me", expiresAt: T0 + 60_000, max: 2, serves: () => true, appId: "app" };
    const { result } = await turn(store, "live", T0 + 1, { actions: [{ kind: "scheduleTask", id: 1, name: "a" }, { kind: "scheduleTask", id: 2, name: "b" }] }, lease);
    const [first, second] = result.kind === "committed" ? result.leased.map((w) => w.seq) : [];
    expect(await store.completeActivity(first!, newEvent({ kind: "taskCompleted", taskScheduledId: 1, result: "1" }, T0 + 2), T0 + 2)).toBe("delivered");
    const snapshot = await store.loadTurn("live", T0 + 3, 10, undefined, [first!, second!, 999_999]);
    expect(snapshot !== "claimed-elsewhere" && [...snapshot!.liveActivities]).toEqual([second]);
    expect(snapshot !== "claimed-elsewhere" && snapshot!.inbox.map((i) => i.event.kind)).toEqual(["taskCompleted"]);
    // Asked about none: none reported.
    expect(await store.loadTurn("live", T0 + 3, 10)).toMatchObject({ liveActivities: new Set() });
  });

  it("rejects a commit whose version is stale and leaves everything as it was", async () => {
    await store.createInstance(start("a"));
    const snapshot = (await store.loadTurn("a", T0 + 1, 1000))!;
    const prepared = prepareTurn("a", snapshot.history, snapshot.inbox, T0 + 1);
    const outcome = applyTurn(prepared, { actions: [{ kind: "scheduleTask", id: 1, name: "act" }] }, { now: T0 + 1, newExecutionId: () => "x" });
    const commit = { instanceId: "a", expectedVersion: snapshot.instance.version, historyLength: 0, consumedSeqs: prepared.consumedSeqs, outcome, now: T0 + 1 };
    expect((await store.commitTurn(commit)).kind).toBe("committed");
    // The same commit again: the version moved on, so it must not apply twice.
    const again = await store.commitTurn(commit);
    expect(again.kind).toBe("conflict");
    expect(await historyKinds(store, "a")).toEqual(["orchestratorStarted", "executionStarted", "taskScheduled"]);
    expect(await store.claimActivities("me", T0, 1000, 10)).toHaveLength(1);
    expect((await store.getInstance("a"))!.version).toBe(2);
  });

  it("rejects a commit whose consumed inbox rows are gone, even at the right version", async () => {
    await store.createInstance(start("a"));
    const snapshot = (await store.loadTurn("a", T0 + 1, 1000))!;
    const prepared = prepareTurn("a", snapshot.history, snapshot.inbox, T0 + 1);
    const outcome = applyTurn(prepared, { actions: [] }, { now: T0 + 1, newExecutionId: () => "x" });
    const result = await store.commitTurn({
      instanceId: "a",
      expectedVersion: snapshot.instance.version,
      historyLength: 0,
      consumedSeqs: [...prepared.consumedSeqs, 999_999],
      outcome,
      now: T0 + 1,
    });
    expect(result.kind).toBe("conflict");
    expect(await store.getInstance("a")).toMatchObject({ status: "PENDING", version: 1 });
    expect(await historyKinds(store, "a")).toEqual([]);
  });

  it("clears queued work and events when an instance finishes", async () => {
    await store.createInstance(start("a"));
    await turn(store, "a", T0 + 1, { actions: [{ kind: "scheduleTask", id: 1, name: "act" }, { kind: "createTimer", id: 2, fireAt: T0 + 10_000 }] });
    await store.enqueue("a", newEvent({ kind: "executionTerminated", input: "stop", recurse: true }, T0 + 2), T0 + 2);
    const { outcome } = await turn(store, "a", T0 + 3);
    expect(outcome.state?.status).toBe("TERMINATED");
    expect(await store.getInstance("a")).toMatchObject({ status: "TERMINATED", output: "stop" });
    expect((await store.loadTurn("a", Number.MAX_SAFE_INTEGER, 1000))!.inbox).toEqual([]);
    expect(await store.claimActivities("me", T0, 1000, 10)).toEqual([]);
  });

  it("continue-as-new replaces history and requeues the new start ahead of queued events", async () => {
    await store.createInstance(start("c"));
    await turn(store, "c", T0 + 1, { actions: [{ kind: "scheduleTask", id: 1, name: "act" }] });
    const [work] = await store.claimActivities("me", T0 + 1, 60_000, 10);
    await store.completeActivity(work!.seq, newEvent({ kind: "taskCompleted", taskScheduledId: 1, result: "1" }, T0 + 2), T0 + 2);
    // Raised now but visible only after the continuing turn has loaded its events.
    await store.enqueue("c", newEvent({ kind: "eventRaised", name: "meanwhile" }, T0 + 2), T0 + 5);
    const { result, prepared } = await turn(store, "c", T0 + 3, {
      actions: [
        { kind: "scheduleTask", id: 2, name: "ignored" },
        { kind: "completeOrchestration", id: 3, status: "CONTINUED_AS_NEW", result: '"next"' },
      ],
    });
    expect(prepared.newEvents.map((e) => e.kind)).toEqual(["orchestratorStarted", "taskCompleted"]);
    expect(result.kind).toBe("committed");
    expect(await historyKinds(store, "c")).toEqual([]);
    expect(await store.claimActivities("me", T0 + 3, 1000, 10)).toEqual([]);
    const inbox = (await store.loadTurn("c", T0 + 5, 1000))!.inbox.map((i) => i.event);
    expect(inbox.map((e) => e.kind)).toEqual(["executionStarted", "eventRaised"]);
    expect(inbox[0]).toMatchObject({ executionId: "exec-new-1", input: '"next"' });
    expect(await store.getInstance("c")).toMatchObject({ status: "RUNNING", executionId: "exec-new-1", input: '"next"', historyLength: 0 });
  });

  it("fails the parent's task when a child ID is taken by an unrelated instance", async () => {
    await store.createInstance(start("taken"));
    await store.createInstance(start("p"));
    await turn(store, "p", T0 + 1, { actions: [{ kind: "createSubOrchestration", id: 1, instanceId: "taken", name: "child" }] });
    expect(await store.getInstance("taken")).toMatchObject({ name: "wf", parentInstanceId: undefined });
    const inbox = (await store.loadTurn("p", T0 + 2, 1000))!.inbox;
    expect(inbox.map((i) => i.event)).toMatchObject([
      { kind: "subOrchestrationInstanceFailed", taskScheduledId: 1, failureDetails: { errorType: "ChildWorkflowCreationError" } },
    ]);
  });

  it("leases activities once, re-offers them after the lease expires, and drops a second result", async () => {
    await store.createInstance(start("a"));
    await turn(store, "a", T0 + 1, { actions: [{ kind: "scheduleTask", id: 1, name: "act" }, { kind: "scheduleTask", id: 2, name: "other" }] });
    const first = await store.claimActivities("w1", T0, 1000, 10, ["act"]);
    expect(first.map((w) => w.name)).toEqual(["act"]);
    expect(await store.claimActivities("w2", T0 + 999, 1000, 10, ["act"])).toEqual([]);
    expect(await store.nextLeaseExpiry()).toBe(T0 + 1000);
    const again = await store.claimActivities("w2", T0 + 1000, 1000, 10, ["act"]);
    expect(again).toMatchObject([{ seq: first[0]!.seq, attempts: 2 }]);
    const done = newEvent({ kind: "taskCompleted", taskScheduledId: 1, result: "1" }, T0 + 1001);
    expect(await store.completeActivity(first[0]!.seq, done, T0 + 1001)).toBe("delivered");
    expect(await store.completeActivity(again[0]!.seq, done, T0 + 1002)).toBe("gone");
    const inbox = (await store.loadTurn("a", T0 + 2000, 1000))!.inbox;
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({ executionId: "exec-a", event: { kind: "taskCompleted", taskScheduledId: 1 } });
  });

  it("at start-up, a replica voids its earlier run's leases; a store one process owns voids every lease", async () => {
    await store.createInstance(start("a"));
    await turn(store, "a", T0 + 1, { actions: [{ kind: "scheduleTask", id: 1, name: "act" }, { kind: "scheduleTask", id: 2, name: "act" }] });
    expect(await store.claimActivities("host-a/run-1", T0, 60_000, 1)).toHaveLength(1);
    expect(await store.claimActivities("host-b/run-1", T0, 60_000, 1)).toHaveLength(1);
    expect(await store.claimActivities("host-a/run-2", T0 + 1, 60_000, 10)).toHaveLength(0);
    const shared = kind === "postgres";
    // host-a restarts: its own lease is void at once; host-b's (a live replica's) stays, on a shared store.
    expect(await store.releaseLeasesOf("host-a")).toBe(shared ? 1 : 2);
    expect(await store.claimActivities("host-a/run-2", T0 + 1, 60_000, 10)).toHaveLength(shared ? 1 : 2);
    // A replica whose ID only starts with another's is not that replica (SQLite: every lease, as above).
    expect(await store.releaseLeasesOf("host")).toBe(shared ? 0 : 2);
  });

  it("a store one process owns leads every task; a shared one, one owner at a time", async () => {
    expect(await store.lead("retention", "x/1", T0, T0 + 10)).toBe(true);
    expect(await store.lead("retention", "y/1", T0, T0 + 10)).toBe(kind !== "postgres");
  });

  it("purges recursively, and only when the instance and every descendant are finished", async () => {
    await store.createInstance(start("p"));
    await turn(store, "p", T0 + 1, { actions: [{ kind: "createSubOrchestration", id: 1, instanceId: "", name: "child" }] });
    await turn(store, "p:0001", T0 + 2, { actions: [{ kind: "scheduleTask", id: 1, name: "act" }] });
    expect(await store.purge("missing", recursively)).toEqual({ kind: "not-found" });
    expect(await store.purge("p", recursively)).toEqual({ kind: "not-terminal", instanceId: "p", status: "RUNNING" });
    await store.enqueue("p", newEvent({ kind: "executionTerminated", recurse: false }, T0 + 3), T0 + 3);
    await turn(store, "p", T0 + 4);
    expect(await store.purge("p", recursively)).toEqual({ kind: "not-terminal", instanceId: "p:0001", status: "RUNNING" });
    await store.enqueue("p:0001", newEvent({ kind: "executionTerminated", recurse: false }, T0 + 5), T0 + 5);
    await turn(store, "p:0001", T0 + 6);
    expect(await store.purge("p", recursively)).toEqual({ kind: "purged", instanceIds: ["p", "p:0001"] });
    expect(await store.getInstance("p")).toBeUndefined();
    expect(await store.getInstance("p:0001")).toBeUndefined();
    expect(await store.loadTurn("p", Number.MAX_SAFE_INTEGER, 10)).toBeUndefined();
    expect(await store.claimActivities("me", Number.MAX_SAFE_INTEGER, 1, 10)).toEqual([]);
    expect(await store.dueInstanceIds(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });
});

describe("SqliteStore on a file", () => {
  it("sets WAL and synchronous=NORMAL with a WAL flush before every answer on every connection, including a reopen", async () => {
    dir = mkdtempSync(join(tmpdir(), "wfd-store-"));
    const path = join(dir, "a.db");
    const first = new SqliteStore({ path, busyTimeoutMs: 100 });
    expect(first.settings()).toEqual({ journalMode: "wal", synchronous: 1, durability: "a writer thread; fdatasync of the WAL after each group commit, before any answer" });
    await first.close();
    const second = new SqliteStore({ path, busyTimeoutMs: 100 });
    expect(second.settings()).toEqual({ journalMode: "wal", synchronous: 1, durability: "a writer thread; fdatasync of the WAL after each group commit, before any answer" });
    await second.close();
    const inline = new SqliteStore({ path, busyTimeoutMs: 100, writer: "inline" });
    expect(inline.settings()).toEqual({ journalMode: "wal", synchronous: 1, durability: "fdatasync of the WAL after each group commit, before any answer" });
    await inline.close();
  });

  it("migrates once, keeps data across reopen, and refuses a database from a newer version", async () => {
    dir = mkdtempSync(join(tmpdir(), "wfd-store-"));
    const path = join(dir, "a.db");
    const first = new SqliteStore({ path, busyTimeoutMs: 100 });
    await first.createInstance(start("kept"));
    await first.close();
    const second = new SqliteStore({ path, busyTimeoutMs: 100 });
    expect((await second.getInstance("kept"))?.status).toBe("PENDING");
    await second.close();
    const raw = new Database(path);
    expect(raw.prepare("SELECT version FROM schema_version").all()).toEqual([{ version: schemaVersion }]);
    raw.prepare("UPDATE schema_version SET version = 99").run();
    raw.close();
    expect(() => new SqliteStore({ path, busyTimeoutMs: 100 })).toThrow(/newer than this workflowd/);
  });

  it("reports an undecodable row as corruption naming the row, not as a retry", async () => {
    dir = mkdtempSync(join(tmpdir(), "wfd-store-"));
    const path = join(dir, "a.db");
    const store = new SqliteStore({ path, busyTimeoutMs: 100 });
    await store.createInstance(start("bad"));
    const raw = new Database(path);
    raw.prepare("UPDATE inbox SET event = 'not json' WHERE instance_id = 'bad'").run();
    raw.close();
    await expect(store.loadTurn("bad", T0 + 1, 10)).rejects.toThrow(/instance 'bad' inbox #\d+: stored event is not valid JSON/);
    await store.close();
  });

  it("answers a locked database with SQLITE_BUSY after the busy timeout instead of hanging", async () => {
    dir = mkdtempSync(join(tmpdir(), "wfd-store-"));
    const path = join(dir, "a.db");
    const store = new SqliteStore({ path, busyTimeoutMs: 50 });
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    try {
      await expect(store.createInstance(start("x"))).rejects.toThrow(expect.objectContaining({ code: "SQLITE_BUSY" }));
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
    expect(await store.createInstance(start("x"))).toBe("created");
    await store.close();
  });
});


describe("PostgresStore shared by two processes' stores (two pools on one database)", () => {
  let url: string;
  let a: WorkflowStore;
  let b: WorkflowStore;
  beforeEach(async () => {
    url = await postgres.freshDatabase();
    [a, b] = await Promise.all([PostgresStore.open({ url }), PostgresStore.open({ url })]);
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it("migrates once when both open together, and refuses a database from a newer workflowd", async () => {
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      expect((await raw.query("SELECT version FROM schema_version")).rows).toEqual([{ version: postgresSchemaVersion }]);
      await raw.query("UPDATE schema_version SET version = 99");
    } finally {
      await raw.end();
    }
    await expect(PostgresStore.open({ url })).rejects.toThrow(/has schema version 99, newer than this workflowd \(\d+\); refusing to open it: upgrade workflowd/);
  });

  it("two turns racing on one instance from two stores: exactly one commits, the other conflicts and changed nothing", async () => {
    await a.createInstance(start("r"));
    // Both load the same version first, then both commit at once: a true race, whatever the timing.
    const loaded = await Promise.all([a, b].map(async (store) => (await store.loadTurn("r", T0 + 1, 1000)) as TurnSnapshot));
    expect(loaded.map((snapshot) => snapshot.instance.version)).toEqual([1, 1]);
    const results = await Promise.all([a, b].map((store, i) => {
      const snapshot = loaded[i]!;
      const prepared = prepareTurn("r", snapshot.history, snapshot.inbox, T0 + 1);
      const outcome = applyTurn(prepared, { actions: [{ kind: "scheduleTask", id: 1, name: i === 0 ? "from-a" : "from-b" }] }, { now: T0 + 1, newExecutionId: () => "x" });
      return store.commitTurn({ instanceId: "r", expectedVersion: 1, historyLength: snapshot.history.length, consumedSeqs: prepared.consumedSeqs, outcome, now: T0 + 1 })
        .then((result) => ({ result }));
    }));
    const kinds = results.map((r) => r.result.kind).sort();
    expect(kinds).toEqual(["committed", "conflict"]);
    const claimed = await b.claimActivities("x", T0 + 2, 1_000, 10);
    expect(claimed).toHaveLength(1);
    expect((await a.getInstance("r"))!.version).toBe(2);
  });

  it("claims from both stores at once never take the same activity", async () => {
    await a.createInstance(start("many"));
    const actions = Array.from({ length: 40 }, (_, i) => ({ kind: "scheduleTask" as const, id: i + 1, name: "act" }));
    await turn(a, "many", T0 + 1, { actions });
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).claimActivities(`owner-${i}`, T0 + 2, 60_000, 7)));
    const seqs = claims.flat().map((w) => w.seq);
    expect(seqs).toHaveLength(40);
    expect(new Set(seqs).size).toBe(40);
  });

  it("a turn claimed through one store is 'claimed-elsewhere' for the other until it expires or is released, and their scans agree", async () => {
    await a.createInstance(start("c"));
    const claimA = { owner: "a/1", until: T0 + 4_000, appId: "app" };
    expect(await a.loadTurn("c", T0, 10, claimA)).toMatchObject({ instance: { instanceId: "c" } });
    expect(await b.loadTurn("c", T0 + 1, 10, { owner: "b/1", until: T0 + 4_001, appId: "app" })).toBe("claimed-elsewhere");
    expect(await b.dueInstanceIds(T0 + 1, 10, { owner: "b/1", appId: "app" })).toEqual([]);
    expect(await a.dueInstanceIds(T0 + 1, 10, { owner: "a/1", appId: "app" })).toEqual(["c"]);
    // Renewed by its holder; expired, it is anyone's.
    expect(await a.loadTurn("c", T0 + 2, 10, { owner: "a/1", until: T0 + 6_000, appId: "app" })).toMatchObject({ instance: { instanceId: "c" } });
    expect(await b.loadTurn("c", T0 + 5_999, 10, { owner: "b/1", until: T0 + 9_999, appId: "app" })).toBe("claimed-elsewhere");
    expect(await b.loadTurn("c", T0 + 6_000, 10, { owner: "b/1", until: T0 + 10_000, appId: "app" })).toMatchObject({ instance: { instanceId: "c" } });
    expect(await a.loadTurn("c", T0 + 6_001, 10, claimA)).toBe("claimed-elsewhere");
    // Released (a clean stop, or a workflow b cannot run): a takes it at once.
    await b.releaseTurnClaims("b/1", "c");
    expect(await a.loadTurn("c", T0 + 6_002, 10, claimA)).toMatchObject({ instance: { instanceId: "c" } });
    expect(await a.loadTurn("missing", T0, 10, claimA)).toBeUndefined();
  });

  it("pokes reach every listener of the other store in order, whatever the instance ID's shape; two listeners share one connection", async () => {
    const heard: Poke[] = [];
    const heardToo: Poke[] = [];
    await b.onPoke((poke) => heard.push(poke));
    await b.onPoke((poke) => heardToo.push(poke));
    const pokes: Poke[] = [
      { kind: "instance", instanceId: "plain" },
      { kind: "offer", instanceId: '{"kind":"instance"}', workflowName: "wf" },
      { kind: "activities", appId: "shipping" },
    ];
    for (const poke of pokes) await a.poke(poke);
    await vi.waitFor(() => expect(heard).toEqual(pokes), { timeout: 5_000 });
    expect(heardToo).toEqual(pokes);
  });

  it("a replica never claims another app's instance, by load or by scan; one of the instance's app does", async () => {
    await a.createInstance(start("s", "wf", { router: { sourceAppID: "orders", targetAppID: "shipping" } }));
    expect(await a.loadTurn("s", T0 + 1, 10, { owner: "a/1", until: T0 + 4_000, appId: "orders" })).toBe("claimed-elsewhere");
    expect(await a.dueInstanceIds(T0 + 1, 10, { owner: "a/1", appId: "orders" })).toEqual([]);
    expect(await b.dueInstanceIds(T0 + 1, 10, { owner: "b/1", appId: "shipping" })).toEqual(["s"]);
    expect(await b.loadTurn("s", T0 + 1, 10, { owner: "b/1", until: T0 + 4_000, appId: "shipping" })).toMatchObject({ instance: { instanceId: "s", appId: "shipping" } });
  });

  it("a live replica's heartbeat keeps its activity leases; once it stops renewing, another claims them", async () => {
    await a.createInstance(start("h"));
    await turn(a, "h", T0 + 1, { actions: [{ kind: "scheduleTask", id: 1, name: "act" }] });
    expect(await a.claimActivities("a/1", T0 + 2, 4_000, 10)).toHaveLength(1);
    expect(await a.renewLeases("a/1", T0 + 8_000)).toBe(1);
    expect(await b.claimActivities("b/1", T0 + 6_000, 4_000, 10)).toEqual([]);
    expect(await b.claimActivities("b/1", T0 + 8_000, 4_000, 10)).toMatchObject([{ instanceId: "h", attempts: 2 }]);
    expect(await a.renewLeases("a/1", T0 + 20_000)).toBe(0);
  });

  it("one replica at a time leads a task (retention): the leader keeps it by renewing, another takes it once the lead expires", async () => {
    expect(await a.lead("retention", "a/1", T0, T0 + 6_000)).toBe(true);
    expect(await b.lead("retention", "b/1", T0 + 1, T0 + 6_001)).toBe(false);
    expect(await a.lead("retention", "a/1", T0 + 2_000, T0 + 8_000)).toBe(true);
    expect(await b.lead("retention", "b/1", T0 + 7_999, T0 + 13_999)).toBe(false);
    expect(await b.lead("retention", "b/1", T0 + 8_000, T0 + 14_000)).toBe(true);
    expect(await a.lead("retention", "a/1", T0 + 8_001, T0 + 14_001)).toBe(false);
    expect(await a.lead("another task", "a/1", T0 + 8_001, T0 + 14_001)).toBe(true);
  });

  it("a result recorded through one store is seen by the other's next load (no stale reads)", async () => {
    await a.createInstance(start("s"));
    await turn(a, "s", T0 + 1, { actions: [{ kind: "scheduleTask", id: 1, name: "act" }] });
    const [work] = await b.claimActivities("b", T0 + 2, 60_000, 1);
    expect(await b.completeActivity(work!.seq, newEvent({ kind: "taskCompleted", taskScheduledId: 1, result: "7" }, T0 + 3), T0 + 3)).toBe("delivered");
    const loaded = (await a.loadTurn("s", T0 + 4, 10))!;
    expect(loaded.inbox.map((i) => i.event.kind)).toEqual(["taskCompleted"]);
  });
});
