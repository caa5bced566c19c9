/**
 * The SQLite store (better-sqlite3), the embedded default behind `WorkflowStore` (store.ts):
 * instances, history, inbox and activity queue in one file.
 *
 * Writes go through a group commit (group-commit.ts): every write called in one event-loop
 * turn runs in the next check phase inside one transaction, each in a savepoint of its own,
 * and its promise resolves once that transaction is on disk. Reads run synchronously on the
 * same connection when called (their promises are already settled): every write of the file
 * runs on this connection, on this thread (one process per file), never while a read runs.
 *
 * A turn commits through `commitTurn`, guarded by the instance row's `version`: the UPDATE
 * must match the version the turn loaded, and every inbox row the turn consumed must still be
 * there, or the turn's savepoint rolls back and the caller gets "conflict".
 *
 * Failure modes: storage faults (disk full, I/O error, database locked past `busyTimeoutMs`)
 * reject with better-sqlite3's SqliteError, rows that do not decode with StoreCorruptionError.
 */
import Database from "better-sqlite3";
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import type { ExecutionStarted, HistoryEvent } from "../../engine/history.js";
import { appOfStart } from "../../engine/apps.js";
import { type HistoryFold, type InstanceState, isTerminal, type RuntimeStatus } from "../../engine/state.js";
import type { Effect, TurnOutcome } from "../../engine/turn.js";
import { decodeEvent, encodeEvent, encodeFailure, encodePropagated, StoreCorruptionError } from "../codec.js";
import { GroupCommitter } from "./group-commit.js";
import { activityApp, type ActivityRow, claimedWork, leasedWork, takesLease } from "../activity-row.js";
import { HotHistories } from "../hot-histories.js";
import { ConflictError, RewindRefusal } from "../write-refusals.js";
import { buildFilter, filterParams } from "../instance-filter.js";
import { childCreation, type InstanceRow, stateColumns, toRecord } from "../instance-row.js";
import { WalSync, WalSyncError } from "./wal-sync.js";
import { storeSql } from "./statements.js";
import { migrate } from "./migrations.js";
import type {
  ActivityLease, ActivityWork, CommitResult, EnqueueResult, InstanceFilter, InstanceIdPage, InstanceRecord, ListPosition,
  Poke, PurgeOptions, PurgeResult, QueueDepths, RewindWrite, RewindWriteResult, StoreSettings, TurnClaim, TurnCommit, TurnSnapshot, WorkflowStore,
} from "../store.js";

export interface StoreOptions {
  /** A file path, or ":memory:". */
  path: string;
  /** How long a statement waits for a lock held by another connection. */
  busyTimeoutMs: number;
  /** Writes that share one group commit at most (default 512). */
  writesPerGroupMax?: number;
  /** Committed histories of active instances kept in memory (default 5,000; 0 for none). */
  hotHistoriesMax?: number;
  /** Add workflowd's tables to a database that has other tables and none of ours (default: refuse). */
  adoptForeign?: boolean;
  /** Files up to this size get a full `quick_check` at open (default 256 MiB; 0 skips it). */
  quickCheckBytesMax?: number;
  /** The WAL flush (fdatasync(2) by default); fault-injection tests pass a failing one. */
  walFlush?: ConstructorParameters<typeof WalSync>[1];
}

/** SQLite's codes for a file whose contents are damaged, or are not a database at all. */
const corruptionCodes = new Set(["SQLITE_CORRUPT", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_SEQUENCE", "SQLITE_CORRUPT_VTAB", "SQLITE_NOTADB"]);


export class SqliteStore implements WorkflowStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly group: GroupCommitter;
  private readonly inMemory: boolean;
  /** Flushes the WAL before a group's callers hear back (file databases). */
  private readonly walSync: WalSync | undefined;
  /**
   * Runs a function as one transaction (a savepoint inside a group commit). Built once:
   * better-sqlite3's `db.transaction()` is costly to create per call.
   */
  private readonly atomic: { immediate: <T>(work: () => T) => T; deferred: <T>(work: () => T) => T };
  /**
   * Set by the first fault that says the file is damaged or a WAL flush failed: the store is
   * then unhealthy until the process restarts (what it says to do).
   */
  private corruption: string | undefined;
  /** Histories of recently active instances, least recently used first. */
  private readonly hot: HotHistories;

  constructor(options: StoreOptions) {
    this.path = options.path;
    try {
      this.db = new Database(options.path);
    } catch (error) {
      throw new Error(`cannot open database '${options.path}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    try {
      checkIntegrity(this.db, options.path, options.quickCheckBytesMax ?? 256 * 1024 * 1024);
      refuseForeign(this.db, options.path, options.adoptForeign === true);
      // Set explicitly on every connection. A file runs in WAL mode with synchronous=NORMAL
      // and every group commit's WAL frames are fdatasync'ed off the event loop before any
      // caller hears back (WalSync: as durable as FULL, see wal-sync.ts); `:memory:` has no
      // disk and keeps FULL.
      this.inMemory = options.path === ":memory:" || options.path === "";
      if (!this.inMemory) this.db.pragma("journal_mode = WAL");
      this.db.pragma(this.inMemory ? "synchronous = FULL" : "synchronous = NORMAL");
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
      migrate(this.db);
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.stmt = this.prepareStatements();
    const transaction = this.db.transaction((work: () => unknown) => work());
    this.atomic = {
      immediate: <T>(work: () => T) => this.watched(() => transaction.immediate(work) as T),
      deferred: <T>(work: () => T) => this.watched(() => transaction.deferred(work) as T),
    };
    this.walSync = this.inMemory ? undefined : new WalSync(`${this.db.name}-wal`, options.walFlush);
    this.group = new GroupCommitter(this.db, options.writesPerGroupMax ?? 512, this.walSync);
    this.hot = new HotHistories(options.hotHistoriesMax ?? 5_000);
  }

  /**
   * Runs `work` in the next group commit, with the other writes called in the same event-loop
   * turn; resolves once the group is durable.
   */
  private grouped<T>(work: () => T): Promise<T> {
    return this.group.run(work).catch((error: unknown) => {
      this.noteFault(error);
      throw error;
    });
  }

  /** One write: all-or-nothing (a savepoint in its group), durable when the promise resolves. */
  private write<T>(work: () => T): Promise<T> {
    return this.grouped(() => this.atomic.immediate(work));
  }

  /** Runs a read or write, remembering a fault that says the file is damaged. */
  private watched<T>(work: () => T): T {
    try {
      return work();
    } catch (error) {
      this.noteFault(error);
      throw error;
    }
  }

  private noteFault(error: unknown): void {
    if (this.corruption) return;
    const code = (error as { code?: unknown }).code;
    // A failed WAL flush leaves commits whose durability is unknown (after an fsync error the
    // kernel may drop the pages): stop answering healthy until a restart re-reads the file.
    if (error instanceof WalSyncError) {
      this.corruption = `${error.message}; writes since the last flush may not be on disk: restart workflowd, which recovers what the disk holds`;
    } else if (error instanceof StoreCorruptionError || (typeof code === "string" && corruptionCodes.has(code))) {
      this.corruption = `the database is damaged (${error instanceof Error ? error.message : String(error)}); restore it from a backup (workflowd backup)`;
    }
  }

  /** Group commits so far, and the writes they carried. */
  get groupCommitStats(): { groups: number; writes: number } {
    return { ...this.group.stats };
  }

  get location(): string {
    return this.path;
  }

  /** One process per file (database-lock.ts). */
  readonly shared = false;

  async releaseTurnClaims(_owner: string, _instanceId?: string): Promise<void> {}

  async poke(_poke: Poke): Promise<void> {}

  async onPoke(_listener: (poke: Poke) => void): Promise<void> {}

  async lead(_task: string, _owner: string, _now: number, _until: number): Promise<boolean> {
    return true;
  }

  renewLeases(owner: string, until: number): Promise<number> {
    return this.write(() => this.stmt.renewLeases.run(until, owner).changes);
  }

  async close(): Promise<void> {
    this.walSync?.close();
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  /** For health checks: throws if the database cannot be read, or was seen damaged since start-up. */
  async ping(): Promise<void> {
    if (this.corruption) throw new Error(this.corruption);
    this.watched(() => this.stmt.ping.get());
  }

  /** The effective pragmas and how commits reach the disk, for start-up logs and benchmarks. */
  settings(): StoreSettings & { journalMode: string; synchronous: number } {
    return {
      journalMode: String(this.db.pragma("journal_mode", { simple: true })),
      synchronous: Number(this.db.pragma("synchronous", { simple: true })),
      durability: this.walSync ? "fdatasync of the WAL after each group commit, before any answer" : "synchronous=FULL (in memory: none)",
    };
  }

  // -- Management ---------------------------------------------------------------------

  /**
   * Creates a PENDING instance and queues its start event, atomically. "exists" when the ID
   * is taken in any state: IDs are never reused until purged.
   */
  createInstance(start: ExecutionStarted): Promise<"created" | "exists"> {
    return this.write(() => (this.insertInstance(start) ? "created" : "exists"));
  }

  async getInstance(instanceId: string): Promise<InstanceRecord | undefined> {
    return this.watched(() => {
      const row = this.stmt.getInstance.get(instanceId) as InstanceRow | undefined;
      return row ? toRecord(row) : undefined;
    });
  }

  /** Up to `pageSize` instance IDs after position `after` (all when no size), with the position to continue from. */
  async listInstanceIds(after: number, pageSize: number | undefined): Promise<InstanceIdPage> {
    const limit = pageSize ?? -1;
    const rows = this.stmt.listInstanceIds.all(after, limit) as { position: number; instance_id: string }[];
    const full = pageSize !== undefined && rows.length === pageSize;
    return {
      instanceIds: rows.map((r) => r.instance_id),
      continuationToken: full ? String(rows.at(-1)!.position) : undefined,
    };
  }

  /**
   * Up to `limit` instances matching the filter, newest first (created_at, then instance_id,
   * descending), strictly after `after`. With several statuses, each status is read along its
   * own index and the pages are merged, so no query sorts more than `limit` rows.
   */
  async listInstances(filter: InstanceFilter, after: ListPosition | undefined, limit: number): Promise<InstanceRecord[]> {
    const statuses = filter.statuses ? [...new Set(filter.statuses)] : [undefined];
    const rows = this.atomic.deferred(() =>
      statuses.flatMap((status) => this.listStatement(filter, status !== undefined, after !== undefined).all({
        ...filterParams(filter),
        status: status ?? null,
        after_at: after?.createdAt ?? null,
        after_id: after?.instanceId ?? null,
        limit,
      }) as InstanceRow[]),
    );
    if (statuses.length > 1) rows.sort((a, b) => b.created_at - a.created_at || (a.instance_id < b.instance_id ? 1 : a.instance_id > b.instance_id ? -1 : 0));
    return rows.slice(0, limit).map(toRecord);
  }

  /**
   * How many instances match the filter, by status (statuses with none are left out). Without
   * a filter, from the trigger-kept totals; with one, one index range count per status.
   */
  async countInstances(filter: InstanceFilter): Promise<Partial<Record<RuntimeStatus, number>>> {
    return this.atomic.deferred(() => {
      const totals = this.stmt.statusCounts.all() as { status: RuntimeStatus; n: number }[];
      const wanted = totals.filter((t) => !filter.statuses || filter.statuses.includes(t.status));
      const { sql } = buildFilter(filter, false);
      if (sql === "TRUE") return Object.fromEntries(wanted.map((t) => [t.status, t.n]));
      const statement = this.cachedStatement(`count:${sql}`, () => `SELECT count(*) AS n FROM instances WHERE status = @status AND ${sql}`);
      const params = filterParams(filter);
      const counts: Partial<Record<RuntimeStatus, number>> = {};
      for (const { status } of wanted) {
        const n = (statement.get({ ...params, status }) as { n: number }).n;
        if (n > 0) counts[status] = n;
      }
      return counts;
    });
  }

  /** Up to `limit` committed history events of an instance from position `from`; undefined when unknown. */
  async historyPage(instanceId: string, from: number, limit: number): Promise<{ events: HistoryEvent[]; length: number; executionId: string } | undefined> {
    return this.atomic.deferred(() => {
      const row = this.stmt.getInstance.get(instanceId) as InstanceRow | undefined;
      if (!row) return undefined;
      const hot = this.hot.get(instanceId, row.version, row.execution_id);
      if (hot) {
        return { events: hot.history.slice(from, from + limit), length: row.history_length, executionId: row.execution_id };
      }
      const rows = this.stmt.getHistoryPage.all(instanceId, from, limit) as { seq: number; event: string }[];
      const events = rows.map((h) => decodeEvent(h.event, `instance '${instanceId}' history #${h.seq}`));
      return { events, length: row.history_length, executionId: row.execution_id };
    });
  }

  /**
   * Finished instances whose status is `status` and that finished before `before`, oldest
   * first, after a position: the candidates of retention.
   */
  async finishedBefore(status: RuntimeStatus, before: number, after: { at: number; instanceId: string } | undefined, limit: number): Promise<{ instanceId: string; at: number }[]> {
    const rows = this.stmt.finishedBefore.all({
      status,
      before,
      after_at: after?.at ?? -1,
      after_id: after?.instanceId ?? "",
      limit,
    }) as { instance_id: string; last_updated_at: number }[];
    return rows.map((r) => ({ instanceId: r.instance_id, at: r.last_updated_at }));
  }

  /** The key that signs continuation tokens (made once per database). */
  async pageTokenKey(): Promise<string> {
    return (this.stmt.pageTokenKey.get() as { value: string }).value;
  }

  /** Instances that are STALLED (versioning), to run again when a worker connects. */
  async stalledInstanceIds(): Promise<string[]> {
    return (this.stmt.stalledInstances.all() as { instance_id: string }[]).map((r) => r.instance_id);
  }

  /** The committed history of an instance (not the events of a turn in flight); undefined when unknown. */
  async history(instanceId: string): Promise<readonly HistoryEvent[] | undefined> {
    return this.atomic.deferred(() => {
      const row = this.stmt.getInstance.get(instanceId) as InstanceRow | undefined;
      return row ? this.committedHistory(row).history : undefined;
    });
  }

  /** Queues an event for an instance; events for a finished instance are not stored. */
  enqueue(instanceId: string, event: HistoryEvent, visibleAt: number): Promise<EnqueueResult> {
    return this.write((): EnqueueResult => {
      const row = this.stmt.getStatus.get(instanceId) as { status: RuntimeStatus } | undefined;
      if (!row) return "not-found";
      if (isTerminal(row.status)) return "terminal";
      this.insertInbox(instanceId, visibleAt, null, event);
      return "queued";
    });
  }

  /**
   * Deletes an instance and everything it owns, and recursively its children. Only when the
   * instance and every descendant are finished: purging a running child would lose it.
   */
  purge(instanceId: string, options: PurgeOptions): Promise<PurgeResult> {
    return this.write(() => this.purgeNow(instanceId, options));
  }

  /** A purge inside the calling transaction. */
  private purgeNow(instanceId: string, options: PurgeOptions): PurgeResult {
    return this.atomic.immediate((): PurgeResult => {
      const root = this.stmt.getStatus.get(instanceId) as { status: RuntimeStatus } | undefined;
      if (!root) return { kind: "not-found" };
      const ids = options.recursive ? this.descendantsAndSelf(instanceId) : [instanceId];
      if (!options.force) {
        for (const id of ids) {
          const row = this.stmt.getStatus.get(id) as { status: RuntimeStatus };
          if (!isTerminal(row.status)) return { kind: "not-terminal", instanceId: id, status: row.status };
        }
      }
      for (const id of ids) this.deleteInstance(id);
      return { kind: "purged", instanceIds: ids };
    });
  }

  /**
   * A rewind's purges and rewrites (see engine/rewind.ts) in one transaction: each rewritten
   * instance's history and state are replaced, guarded by `version`, and the work and events
   * it continues with are queued. Any refusal rolls back everything.
   */
  rewind(write: RewindWrite): Promise<RewindWriteResult> {
    return this.write(() => {
      try {
        return this.atomic.immediate((): RewindWriteResult => {
          for (const id of write.purge) {
            const purged = this.purgeNow(id, { recursive: true, force: false });
            if (purged.kind === "not-terminal") throw new RewindRefusal(purged);
          }
          for (const rewrite of write.rewrite) this.rewriteInstance(rewrite, write.now);
          return { kind: "rewound" };
        });
      } catch (error) {
        if (error instanceof RewindRefusal) return error.result;
        throw error;
      }
    });
  }

  private rewriteInstance(rewrite: RewindWrite["rewrite"][number], now: number): void {
    const { instanceId, state } = rewrite;
    const updated = this.stmt.rewriteInstance.run({
      ...stateColumns(instanceId, state, rewrite.events.length),
      expected_version: rewrite.expectedVersion,
    });
    if (updated.changes === 0) throw new RewindRefusal({ kind: "conflict", instanceId });
    this.hot.forget(instanceId);
    this.stmt.deleteHistory.run(instanceId);
    this.stmt.deleteInboxOf.run(instanceId);
    this.stmt.deleteActivitiesOf.run(instanceId);
    rewrite.events.forEach((event, seq) => this.stmt.insertHistory.run(instanceId, seq, encodeEvent(event)));
    const touched = new Set<string>();
    for (const effect of rewrite.effects) this.applyEffect(instanceId, state.executionId, effect, now, touched, appOfStart(state));
    for (const event of rewrite.inbox) this.insertInbox(instanceId, now, null, event);
  }

  /**
   * Creates an instance with a history of its own (a rerun's fork, see engine/rerun.ts) and
   * queues the work that history has outstanding, in one transaction; "exists" (and nothing
   * written) when the ID is taken.
   */
  createFork(instanceId: string, events: readonly HistoryEvent[], state: InstanceState, effects: readonly Effect[], now: number): Promise<"created" | "exists"> {
    return this.write(() => {
      const inserted = this.stmt.insertFork.run(stateColumns(instanceId, state, events.length));
      if (inserted.changes === 0) return "exists";
      events.forEach((event, seq) => this.stmt.insertHistory.run(instanceId, seq, encodeEvent(event)));
      const touched = new Set<string>();
      for (const effect of effects) this.applyEffect(instanceId, state.executionId, effect, now, touched, appOfStart(state));
      return "created";
    });
  }

  // -- Turns --------------------------------------------------------------------------

  /**
   * Loads what a turn needs: the row, the committed history and the visible inbox rows. No
   * transaction is needed to read them consistently: every write of this database runs on
   * this connection, on this thread (one process per file), never while this runs.
   */
  /** One process owns the file: `claim` is not needed and ignored. */
  async loadTurn(instanceId: string, now: number, inboxLimit: number, _claim?: TurnClaim, activitySeqs: readonly number[] = []): Promise<TurnSnapshot | undefined> {
    return this.watched((): TurnSnapshot | undefined => {
      const row = this.stmt.getInstance.get(instanceId) as InstanceRow | undefined;
      if (!row) return undefined;
      const where = `instance '${instanceId}'`;
      const { history, fold } = this.committedHistory(row);
      const inbox = (this.stmt.getInbox.all(instanceId, now, inboxLimit) as {
        seq: number;
        execution_id: string | null;
        event: string;
      }[]).map((r) => ({
        seq: r.seq,
        executionId: r.execution_id ?? undefined,
        event: decodeEvent(r.event, `${where} inbox #${r.seq}`),
      }));
      const liveActivities = new Set(activitySeqs.filter((seq) => this.stmt.activityExists.get(seq) !== undefined));
      return { instance: toRecord(row), history, inbox, fold, liveActivities };
    });
  }

  /** Keeps the history a turn just committed (see hot-histories.ts). */
  rememberTurn(instanceId: string, committedVersion: number, past: readonly HistoryEvent[], outcome: TurnOutcome): void {
    this.hot.remember(instanceId, committedVersion, past, outcome);
  }

  /**
   * Commits a turn's outcome in one transaction guarded by the instance version. Returns the
   * IDs of instances whose inbox gained visible events (they need a turn).
   */
  commitTurn(commit: TurnCommit): Promise<CommitResult> {
    return this.grouped(() => {
      try {
        return this.atomic.immediate(() => this.applyCommit(commit));
      } catch (error) {
        if (error instanceof ConflictError) return { kind: "conflict", reason: error.message };
        throw error;
      }
    });
  }

  // -- Scheduling ---------------------------------------------------------------------

  /** Instances with at least one visible inbox row: the ones that need a turn. */
  async dueInstanceIds(now: number, limit: number, _claimant?: { owner: string; appId: string }): Promise<string[]> {
    return (this.stmt.dueInstances.all(now, limit) as { instance_id: string }[]).map((r) => r.instance_id);
  }

  /**
   * Instances with rows that became visible in (`after`, `upTo`]: a timer wake-up reads only
   * these (rows visible when they were written were announced by their writer), so it costs
   * what fired, not the whole backlog (a full scan took 273 ms at 200,000 queued starts).
   */
  async instancesDueBetween(after: number, upTo: number): Promise<string[]> {
    return (this.stmt.dueInstancesBetween.all(after, upTo) as { instance_id: string }[]).map((r) => r.instance_id);
  }

  /** When the next not-yet-visible inbox row (a timer) becomes visible. */
  async nextVisibleAt(now: number): Promise<number | undefined> {
    const row = this.stmt.nextVisible.get(now) as { at: number | null };
    return row.at ?? undefined;
  }

  // -- Activities ---------------------------------------------------------------------

  /**
   * Leases up to `limit` free or expired activities to `owner` for `leaseMs`. `names`
   * restricts the claim to activities some worker can run; undefined means any.
   */
  async claimActivities(owner: string, now: number, leaseMs: number, limit: number, names?: readonly string[], appId?: string): Promise<ActivityWork[]> {
    const rows = await this.write(() =>
      this.stmt.claimActivities.all({
        owner,
        now,
        expires: now + leaseMs,
        limit,
        names: names ? JSON.stringify(names) : null,
        app: appId ?? null,
      }),
    ) as ActivityRow[];
    return rows.map(claimedWork);
  }

  /**
   * Records an activity's result: the result event goes into the instance's inbox and the
   * queue row is deleted, atomically. "gone" when the row no longer exists (another run
   * already completed it, or the instance finished or was purged): the result is dropped.
   */
  completeActivity(seq: number, result: HistoryEvent, now: number): Promise<"delivered" | "gone"> {
    return this.write(() => {
      const row = this.stmt.getActivity.get(seq) as { instance_id: string; execution_id: string } | undefined;
      if (!row) return "gone";
      this.stmt.deleteActivity.run(seq);
      this.insertInbox(row.instance_id, now, row.execution_id, result);
      return "delivered";
    });
  }

  /** Start-up recovery: no other process owns this database, so every lease is stale. */
  releaseLeasesOf(_replicaId: string): Promise<number> {
    return this.write(() => this.stmt.releaseAllLeases.run().changes);
  }

  /**
   * Gives one leased activity back at once (its worker went away before answering), so it
   * runs again without waiting for the lease to expire. Only the lease holder may.
   */
  releaseLease(seq: number, owner: string): Promise<boolean> {
    return this.write(() => this.stmt.releaseLease.run(seq, owner).changes > 0);
  }

  /**
   * Queue depths for metrics: instances with events ready now, timers and scheduled starts
   * not yet due, and activities waiting for a worker or running under a lease.
   */
  async queueDepths(now: number): Promise<QueueDepths> {
    const inbox = this.stmt.inboxDepths.get(now, now) as { ready: number; pending: number };
    const activities = this.stmt.activityDepths.get(now, now) as { queued: number | null; running: number | null };
    return {
      readyInstances: inbox.ready,
      pendingTimers: inbox.pending,
      queuedActivities: activities.queued ?? 0,
      runningActivities: activities.running ?? 0,
    };
  }

  /** Whether an activity's queue row still exists (a result held in memory is still wanted). */

  /** Activities queued or running (one index count; the dispatcher re-syncs its tally with it). */
  async countActivities(): Promise<number> {
    return (this.stmt.countActivities.get() as { n: number }).n;
  }

  /** When the earliest current lease expires (the dispatcher re-checks then). */
  async nextLeaseExpiry(): Promise<number | undefined> {
    const row = this.stmt.nextLeaseExpiry.get() as { at: number | null };
    return row.at ?? undefined;
  }

  // -- Internals ----------------------------------------------------------------------

  private applyCommit(commit: TurnCommit): CommitResult {
    const { instanceId, outcome, now } = commit;
    const state = outcome.state;
    const updated = this.stmt.updateInstance.run({
      instance_id: instanceId,
      expected_version: commit.expectedVersion,
      has_state: state ? 1 : 0,
      execution_id: state?.executionId ?? null,
      last_updated_at: state?.lastUpdatedAt ?? null,
      input: state?.input ?? null,
      output: state?.output ?? null,
      failure_details: encodeFailure(state?.failureDetails),
      workflow_version: state?.version ?? null,
      custom_status: outcome.customStatus ?? null,
      history_length: outcome.historyMode === "replace" ? outcome.events.length : commit.historyLength + outcome.events.length,
    });
    if (updated.changes === 0) throw new ConflictError(`instance '${instanceId}' changed since it was loaded`);
    const before = commit.loaded;
    if (state && (!before || before.status !== state.status || before.name !== state.name || before.createdAt !== state.createdAt)) {
      this.stmt.updateInstanceListed.run(state.name, state.status, state.createdAt, instanceId);
    }
    let deleted = 0;
    for (const seq of commit.consumedSeqs) deleted += this.stmt.deleteInbox.run(seq, instanceId).changes;
    if (deleted !== commit.consumedSeqs.length) {
      throw new ConflictError(`inbox of '${instanceId}' was consumed by another turn`);
    }
    // Results taken from memory: their activity rows go (one already gone was answered otherwise).
    const takeActivityRow = (activitySeq: number) => {
      if (this.stmt.deleteActivity.run(activitySeq).changes === 0) {
        throw new ConflictError(`the result of activity #${activitySeq} of '${instanceId}' was already recorded`);
      }
    };
    for (const activitySeq of commit.consumedActivities ?? []) takeActivityRow(activitySeq);
    for (const kept of commit.keptResults ?? []) {
      takeActivityRow(kept.activitySeq);
      this.insertInbox(instanceId, now, kept.executionId, kept.event);
    }

    let seq = commit.historyLength;
    if (outcome.historyMode === "replace") {
      this.stmt.deleteHistory.run(instanceId);
      this.stmt.deleteActivitiesOf.run(instanceId);
      seq = 0;
    }
    for (const event of outcome.events) this.stmt.insertHistory.run(instanceId, seq++, encodeEvent(event));

    const touched = new Set<string>();
    const executionId = state?.executionId ?? "";
    const leased: ActivityWork[] = [];
    for (const effect of outcome.effects) {
      if (effect.kind === "scheduleActivity") {
        const app = activityApp(effect.scheduled, commit.appId);
        const lease = commit.lease;
        if (takesLease(lease, leased.length, effect.name, app)) {
          const work = this.insertLeasedActivity(instanceId, executionId, effect, app, lease);
          if (work) leased.push(work);
        } else {
          this.insertActivity(instanceId, executionId, effect, app);
        }
        continue;
      }
      this.applyEffect(instanceId, executionId, effect, now, touched);
    }
    for (const event of outcome.requeue) {
      // Visible at time 0: ahead of everything already queued for this instance.
      this.insertInbox(instanceId, 0, null, event);
      touched.add(instanceId);
    }
    if (state && isTerminal(state.status)) {
      // A finished instance takes no more work: queued activities, timers and events go.
      this.stmt.deleteActivitiesOf.run(instanceId);
      this.stmt.deleteInboxOf.run(instanceId);
    }
    return { kind: "committed", touchedInstanceIds: [...touched], leased };
  }

  /** Queues an activity already leased to `lease.owner`; undefined when the task is queued already. */
  private insertLeasedActivity(
    instanceId: string,
    executionId: string,
    effect: Extract<Effect, { kind: "scheduleActivity" }>,
    app: string | null,
    lease: ActivityLease,
  ): ActivityWork | undefined {
    const inserted = this.stmt.insertLeasedActivity.run(
      instanceId, executionId, effect.taskId, effect.name, effect.input ?? null, encodeEvent(effect.scheduled),
      effect.propagatedHistory ? encodePropagated(effect.propagatedHistory) : null, app, lease.owner, lease.expiresAt,
    );
    if (inserted.changes === 0) return undefined;
    return leasedWork(Number(inserted.lastInsertRowid), instanceId, executionId, effect);
  }

  /** Queues an activity for a claim (a no-op when the task is queued already). */
  private insertActivity(instanceId: string, executionId: string, effect: Extract<Effect, { kind: "scheduleActivity" }>, app: string | null): void {
    this.stmt.insertActivity.run(
      instanceId, executionId, effect.taskId, effect.name, effect.input ?? null, encodeEvent(effect.scheduled),
      effect.propagatedHistory ? encodePropagated(effect.propagatedHistory) : null, app,
    );
  }

  /** `instanceApp`: the app of the instance the effect is of (its activities run there unless routed). */
  private applyEffect(instanceId: string, executionId: string, effect: Effect, now: number, touched: Set<string>, instanceApp?: string): void {
    switch (effect.kind) {
      case "scheduleActivity":
        this.insertActivity(instanceId, executionId, effect, activityApp(effect.scheduled, instanceApp));
        return;
      case "scheduleTimer":
        this.insertInbox(instanceId, effect.fireAt, executionId, effect.event);
        return;
      case "createChild":
        this.createChild(instanceId, executionId, effect.event, now, touched);
        return;
      case "startDetached":
        // As daprd: a detached start whose ID is taken is dropped; the caller is not told.
        if (this.insertInstance(effect.event)) touched.add(effect.event.instanceId);
        return;
      case "deliver": {
        const inserted = this.stmt.insertInboxIfExists.run(
          effect.instanceId, now, effect.executionId ?? null, encodeEvent(effect.event), effect.instanceId,
        );
        if (inserted.changes > 0) touched.add(effect.instanceId);
        return;
      }
    }
  }

  /** A child's creation (see `childCreation`). */
  private createChild(parentId: string, parentExecutionId: string, start: ExecutionStarted, now: number, touched: Set<string>): void {
    const creation = childCreation(this.stmt.getInstance.get(start.instanceId) as InstanceRow | undefined, parentId, start, now);
    if (creation.kind === "refuse") {
      this.insertInbox(parentId, now, parentExecutionId, creation.failure);
      touched.add(parentId);
      return;
    }
    if (creation.kind === "replace") {
      for (const id of this.descendantsAndSelf(start.instanceId)) this.deleteInstance(id);
    }
    this.insertInstance(start);
    touched.add(start.instanceId);
  }

  /** Inserts a PENDING row and its start event; false (and nothing written) if the ID is taken. */
  private insertInstance(start: ExecutionStarted): boolean {
    const inserted = this.stmt.insertInstance.run({
      instance_id: start.instanceId,
      name: start.name,
      execution_id: start.executionId,
      created_at: start.timestamp,
      input: start.input ?? null,
      parent_instance_id: start.parentInstance?.instanceId ?? null,
      workflow_version: start.version ?? null,
      app_id: appOfStart(start) ?? null,
    });
    if (inserted.changes === 0) return false;
    this.insertInbox(start.instanceId, start.scheduledStartTimestamp ?? start.timestamp, null, start);
    return true;
  }

  /** The row's committed history: the hot copy while it matches the row's version and execution, else decoded from the table. */
  private committedHistory(row: InstanceRow): { history: readonly HistoryEvent[]; fold?: HistoryFold | undefined } {
    const hot = this.hot.get(row.instance_id, row.version, row.execution_id);
    if (hot) return hot;
    const history = (this.stmt.getHistory.all(row.instance_id) as { seq: number; event: string }[]).map((h) =>
      decodeEvent(h.event, `instance '${row.instance_id}' history #${h.seq}`),
    );
    return { history };
  }

  private insertInbox(instanceId: string, visibleAt: number, executionId: string | null, event: HistoryEvent): void {
    this.stmt.insertInbox.run(instanceId, visibleAt, executionId, encodeEvent(event));
  }

  private descendantsAndSelf(instanceId: string): string[] {
    const ids = [instanceId];
    for (let i = 0; i < ids.length; i++) {
      for (const row of this.stmt.getChildren.all(ids[i]!) as { instance_id: string }[]) ids.push(row.instance_id);
    }
    return ids;
  }

  private deleteInstance(instanceId: string): void {
    this.hot.forget(instanceId);
    this.stmt.deleteHistory.run(instanceId);
    this.stmt.deleteInboxOf.run(instanceId);
    this.stmt.deleteActivitiesOf.run(instanceId);
    this.stmt.deleteInstance.run(instanceId);
  }

  /** Statements built from a filter's shape, prepared once per shape. */
  private readonly shaped = new Map<string, Database.Statement>();

  private cachedStatement(key: string, sql: () => string): Database.Statement {
    let statement = this.shaped.get(key);
    if (!statement) {
      statement = this.db.prepare(sql());
      this.shaped.set(key, statement);
    }
    return statement;
  }

  private listStatement(filter: InstanceFilter, byStatus: boolean, hasAfter: boolean): Database.Statement {
    const { sql } = buildFilter(filter, hasAfter);
    const where = byStatus ? `status = @status AND ${sql}` : sql;
    return this.cachedStatement(`list:${where}`, () =>
      `SELECT * FROM instances WHERE ${where} ORDER BY created_at DESC, instance_id DESC LIMIT @limit`);
  }

  private prepareStatements(): { [Name in keyof typeof storeSql]: Database.Statement } {
    const entries = Object.entries(storeSql).map(([name, sql]) => [name, this.db.prepare(sql)]);
    return Object.fromEntries(entries) as { [Name in keyof typeof storeSql]: Database.Statement };
  }

  /**
   * Copies the database to `destination` with SQLite's online backup API, while this or
   * another process keeps using it (the server need not stop: `workflowd backup <file>`).
   *
   * All pages are copied in one backup step. That step reads one consistent snapshot: in WAL
   * mode a concurrent writer is not blocked by it, and it cannot make the backup restart (a
   * step-by-step backup restarts whenever another connection writes between two steps, and
   * so may never finish under load). It blocks this process while it copies, which suits
   * the command; an endpoint in the server would want smaller steps.
   *
   * The copy is written beside the destination under a temporary name, checked with
   * `PRAGMA quick_check`, and only then renamed into place, so a failed or interrupted
   * backup never leaves a file that looks like a good one. An existing destination is
   * refused rather than overwritten.
   */
  async backup(destination: string): Promise<{ pages: number; bytes: number }> {
    if (existsSync(destination)) throw new Error(`'${destination}' exists; choose a new file name or remove it first`);
    const partial = `${destination}.partial`;
    rmSync(partial, { force: true });
    try {
      const { totalPages } = await this.db.backup(partial, { progress: () => allPagesAtOnce });
      const copy = new Database(partial, { fileMustExist: true });
      try {
        const check = String(copy.pragma("quick_check", { simple: true }));
        if (check !== "ok") throw new Error(`the copy failed its integrity check: ${check}`);
      } finally {
        copy.close();
      }
      renameSync(partial, destination);
      return { pages: totalPages, bytes: statSync(destination).size };
    } catch (error) {
      rmSync(partial, { force: true });
      throw error;
    }
  }
}


/**
 * Refuses a damaged file before anything runs on it, naming the path and what to do. A file up
 * to `bytesMax` gets SQLite's `quick_check` (it reads every page: about 100 MB/s here, so a
 * large file would hold the start-up for long); a larger one is checked as it is used (a
 * damaged page read later makes the store unhealthy, see `noteFault`).
 */
function checkIntegrity(db: Database.Database, path: string, bytesMax: number): void {
  const damaged = (cause: string) =>
    new Error(`database '${path}' is damaged (${cause}); restore it from a backup made with \`workflowd backup\`, or move the file away to start with an empty one`);
  let verdict: string;
  try {
    // Reads the header and the schema: a file that is not a database fails here.
    db.prepare("SELECT count(*) FROM sqlite_schema").get();
    if (path === ":memory:" || bytesMax === 0 || !existsSync(path) || statSync(path).size > bytesMax) return;
    verdict = String(db.pragma("quick_check", { simple: true }));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && corruptionCodes.has(code)) throw damaged(error instanceof Error ? error.message : String(error));
    throw error;
  }
  if (verdict !== "ok") throw damaged(`quick_check: ${verdict.split("\n")[0]}`);
}

/**
 * A database with tables of its own and none of workflowd's is someone else's: refused (unless
 * adopted), so a wrong --db never adds our tables to it.
 */
function refuseForeign(db: Database.Database, path: string, adopt: boolean): void {
  const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((t) => t.name);
  if (tables.length === 0 || tables.includes("schema_version") || adopt) return;
  const shown = tables.slice(0, 5).join(", ") + (tables.length > 5 ? ", ..." : "");
  throw new Error(
    `database '${path}' is not workflowd's: it has other tables (${shown}) and no workflowd schema; ` +
      "point --db (WORKFLOWD_DB) at a new file, or pass --db-adopt (WORKFLOWD_DB_ADOPT=true) to add workflowd's tables to it",
  );
}

/** better-sqlite3 clamps a backup step's page count to this; more pages than any database has. */
const allPagesAtOnce = 0x7fffffff;

