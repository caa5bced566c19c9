/**
 * The SQLite store (better-sqlite3), the embedded default behind `WorkflowStore` (store.ts):
 * instances, history, inbox and activity queue in one file.
 *
 * Writes (sqlite-writes.ts) go through a group commit (group-commit.ts): the writes called in
 * one event-loop turn run together in one transaction, each in a savepoint of its own, and a
 * write's promise resolves once that transaction is on disk. For a file they run on a writer
 * thread that owns the write connection (writer.ts, writer-thread.ts); in memory, on this
 * connection. Reads run synchronously on this connection when called (their promises are
 * already settled). In WAL mode a read sees every group whose COMMIT is done; every write of
 * the file comes from this process (one process per file), and a turn's own reads and commit
 * are ordered by the scheduler, so a read never misses a write its caller depends on.
 *
 * A turn commits through `commitTurn`, guarded by the instance row's `version` (see
 * sqlite-writes.ts): a turn that raced another write gets "conflict".
 *
 * Failure modes: storage faults (disk full, I/O error, database locked past `busyTimeoutMs`)
 * reject with better-sqlite3's SqliteError, rows that do not decode with StoreCorruptionError.
 */
import Database from "better-sqlite3";
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import type { ExecutionStarted, HistoryEvent } from "../../engine/history.js";
import type { HistoryFold, InstanceState, RuntimeStatus } from "../../engine/state.js";
import type { Effect, TurnOutcome } from "../../engine/turn.js";
import { decodeEvent, StoreCorruptionError } from "../codec.js";
import { HotHistories } from "../hot-histories.js";
import { buildFilter, filterParams } from "../instance-filter.js";
import { type InstanceRow, toRecord } from "../instance-row.js";
import { WalSync, WalSyncError } from "./wal-sync.js";
import { prepareStatements } from "./statements.js";
import { migrate } from "./migrations.js";
import { SqliteWrites, type WriteOp } from "./sqlite-writes.js";
import { InlineWriter, type SqliteWriter, ThreadWriter, type WriteArgs, WriterThreadError, type WriteResult } from "./writer.js";
import type {
  ActivityWork, CommitResult, EnqueueResult, InstanceFilter, InstanceIdPage, InstanceRecord, ListPosition,
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
  /**
   * Where writes run (writer.ts): "thread" (a file's default) or "inline" on this connection
   * (`:memory:` always; tests that inject faults into the statements or the flush).
   */
  writer?: "thread" | "inline";
  /** The WAL flush (fdatasync(2) by default) of an inline writer; fault-injection tests pass a failing one. */
  walFlush?: ConstructorParameters<typeof WalSync>[1];
}

/** SQLite's codes for a file whose contents are damaged, or are not a database at all. */
const corruptionCodes = new Set(["SQLITE_CORRUPT", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_SEQUENCE", "SQLITE_CORRUPT_VTAB", "SQLITE_NOTADB"]);


export class SqliteStore implements WorkflowStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly inMemory: boolean;
  /** Runs the writes (writer.ts). */
  private readonly writer: SqliteWriter;
  /**
   * Runs reads as one read transaction. Built once: better-sqlite3's `db.transaction()` is
   * costly to create per call.
   */
  private readonly readTogether: <T>(work: () => T) => T;
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
    this.stmt = prepareStatements(this.db);
    const transaction = this.db.transaction((work: () => unknown) => work());
    this.readTogether = <T>(work: () => T) => this.watched(() => transaction.deferred(work) as T);
    const writesPerGroupMax = options.writesPerGroupMax ?? 512;
    const inline = this.inMemory || (options.writer ?? (options.walFlush ? "inline" : "thread")) === "inline";
    this.writer = inline
      ? new InlineWriter(new SqliteWrites(this.db, this.stmt), this.db, writesPerGroupMax, this.inMemory ? undefined : new WalSync(`${this.db.name}-wal`, options.walFlush))
      : new ThreadWriter({ path: this.db.name, busyTimeoutMs: options.busyTimeoutMs, writesPerGroupMax });
    this.hot = new HotHistories(options.hotHistoriesMax ?? 5_000);
  }

  /**
   * One write (sqlite-writes.ts), in the next group commit with the other writes called in the
   * same event-loop turn: all-or-nothing, durable when the promise resolves.
   */
  private write<Op extends WriteOp>(op: Op, ...args: WriteArgs<Op>): Promise<WriteResult<Op>> {
    return this.writer.call(op, args).catch((error: unknown) => {
      this.noteFault(error);
      throw error;
    });
  }

  /** Runs a read, remembering a fault that says the file is damaged (every read goes through it). */
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
    } else if (error instanceof WriterThreadError) {
      // Its message says what stopped and to restart.
      this.corruption = error.message;
    } else if (error instanceof StoreCorruptionError || (typeof code === "string" && corruptionCodes.has(code))) {
      this.corruption = `the database is damaged (${error instanceof Error ? error.message : String(error)}); restore it from a backup (workflowd backup)`;
    }
  }

  /** Group commits so far, and the writes they carried. */
  get groupCommitStats(): { groups: number; writes: number } {
    return this.writer.stats;
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
    return this.write("renewLeases", owner, until);
  }

  /** Finishes the writes already called, then closes the connections. */
  async close(): Promise<void> {
    await this.writer.close();
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
      durability: this.writer.durability,
    };
  }

  // -- Management ---------------------------------------------------------------------

  /**
   * Creates a PENDING instance and queues its start event, atomically. "exists" when the ID
   * is taken in any state: IDs are never reused until purged.
   */
  createInstance(start: ExecutionStarted): Promise<"created" | "exists"> {
    return this.write("createInstance", start);
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
    const rows = this.watched(() => this.stmt.listInstanceIds.all(after, limit)) as { position: number; instance_id: string }[];
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
    const rows = this.readTogether(() =>
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
    return this.readTogether(() => {
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
    return this.readTogether(() => {
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
    const rows = this.watched(() => this.stmt.finishedBefore.all({
      status,
      before,
      after_at: after?.at ?? -1,
      after_id: after?.instanceId ?? "",
      limit,
    })) as { instance_id: string; last_updated_at: number }[];
    return rows.map((r) => ({ instanceId: r.instance_id, at: r.last_updated_at }));
  }

  /** The key that signs continuation tokens (made once per database). */
  async pageTokenKey(): Promise<string> {
    return (this.watched(() => this.stmt.pageTokenKey.get()) as { value: string }).value;
  }

  /** Instances that are STALLED (versioning), to run again when a worker connects. */
  async stalledInstanceIds(): Promise<string[]> {
    return (this.watched(() => this.stmt.stalledInstances.all()) as { instance_id: string }[]).map((r) => r.instance_id);
  }

  /** The committed history of an instance (not the events of a turn in flight); undefined when unknown. */
  async history(instanceId: string): Promise<readonly HistoryEvent[] | undefined> {
    return this.readTogether(() => {
      const row = this.stmt.getInstance.get(instanceId) as InstanceRow | undefined;
      return row ? this.committedHistory(row).history : undefined;
    });
  }

  /** Queues an event for an instance; events for a finished instance are not stored. */
  enqueue(instanceId: string, event: HistoryEvent, visibleAt: number): Promise<EnqueueResult> {
    return this.write("enqueue", instanceId, event, visibleAt);
  }

  /**
   * Deletes an instance and everything it owns, and recursively its children. Only when the
   * instance and every descendant are finished: purging a running child would lose it.
   */
  async purge(instanceId: string, options: PurgeOptions): Promise<PurgeResult> {
    const result = await this.write("purge", instanceId, options);
    if (result.kind === "purged") for (const id of result.instanceIds) this.hot.forget(id);
    return result;
  }

  /**
   * A rewind's purges and rewrites (see engine/rewind.ts) in one transaction: any refusal
   * rolls back everything.
   */
  async rewind(write: RewindWrite): Promise<RewindWriteResult> {
    const result = await this.write("rewind", write);
    if (result.kind === "rewound") for (const rewrite of write.rewrite) this.hot.forget(rewrite.instanceId);
    return result;
  }

  /**
   * Creates an instance with a history of its own (a rerun's fork, see engine/rerun.ts) and
   * queues the work that history has outstanding, in one transaction; "exists" (and nothing
   * written) when the ID is taken.
   */
  createFork(instanceId: string, events: readonly HistoryEvent[], state: InstanceState, effects: readonly Effect[], now: number): Promise<"created" | "exists"> {
    return this.write("createFork", instanceId, events, state, effects, now);
  }

  // -- Turns --------------------------------------------------------------------------

  /**
   * Loads what a turn needs: the row, the committed history, the visible inbox rows and which
   * of `activitySeqs` still have their queue rows. Read without a transaction: a write that
   * lands between these reads can only make the turn's commit conflict (its version, inbox
   * rows and activity rows are checked there), never commit what it did not see. One process
   * owns the file: `claim` is not needed and ignored.
   */
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
    return this.write("commitTurn", commit);
  }

  // -- Scheduling ---------------------------------------------------------------------

  /** Instances with at least one visible inbox row: the ones that need a turn. */
  async dueInstanceIds(now: number, limit: number, _claimant?: { owner: string; appId: string }): Promise<string[]> {
    return (this.watched(() => this.stmt.dueInstances.all(now, limit)) as { instance_id: string }[]).map((r) => r.instance_id);
  }

  /**
   * Instances with rows that became visible in (`after`, `upTo`]: a timer wake-up reads only
   * these (rows visible when they were written were announced by their writer), so it costs
   * what fired, not the whole backlog (a full scan took 273 ms at 200,000 queued starts).
   */
  async instancesDueBetween(after: number, upTo: number): Promise<string[]> {
    return (this.watched(() => this.stmt.dueInstancesBetween.all(after, upTo)) as { instance_id: string }[]).map((r) => r.instance_id);
  }

  /** When the next not-yet-visible inbox row (a timer) becomes visible. */
  async nextVisibleAt(now: number): Promise<number | undefined> {
    const row = this.watched(() => this.stmt.nextVisible.get(now)) as { at: number | null };
    return row.at ?? undefined;
  }

  // -- Activities ---------------------------------------------------------------------

  /**
   * Leases up to `limit` free or expired activities to `owner` for `leaseMs`. `names`
   * restricts the claim to activities some worker can run; undefined means any.
   */
  claimActivities(owner: string, now: number, leaseMs: number, limit: number, names?: readonly string[], appId?: string): Promise<ActivityWork[]> {
    return this.write("claimActivities", owner, now, leaseMs, limit, names, appId);
  }

  /**
   * Records an activity's result: the result event goes into the instance's inbox and the
   * queue row is deleted, atomically. "gone" when the row no longer exists (another run
   * already completed it, or the instance finished or was purged): the result is dropped.
   */
  completeActivity(seq: number, result: HistoryEvent, now: number): Promise<"delivered" | "gone"> {
    return this.write("completeActivity", seq, result, now);
  }

  /** Start-up recovery: no other process owns this database, so every lease is stale. */
  releaseLeasesOf(_replicaId: string): Promise<number> {
    return this.write("releaseAllLeases");
  }

  /**
   * Gives one leased activity back at once (its worker went away before answering), so it
   * runs again without waiting for the lease to expire. Only the lease holder may.
   */
  releaseLease(seq: number, owner: string): Promise<boolean> {
    return this.write("releaseLease", seq, owner);
  }

  /**
   * Queue depths for metrics: instances with events ready now, timers and scheduled starts
   * not yet due, and activities waiting for a worker or running under a lease.
   */
  async queueDepths(now: number): Promise<QueueDepths> {
    const inbox = this.watched(() => this.stmt.inboxDepths.get(now, now)) as { ready: number; pending: number };
    const activities = this.watched(() => this.stmt.activityDepths.get(now, now)) as { queued: number | null; running: number | null };
    return {
      readyInstances: inbox.ready,
      pendingTimers: inbox.pending,
      queuedActivities: activities.queued ?? 0,
      runningActivities: activities.running ?? 0,
    };
  }

  /** Activities queued or running (one index count; the dispatcher re-syncs its tally with it). */
  async countActivities(): Promise<number> {
    return (this.watched(() => this.stmt.countActivities.get()) as { n: number }).n;
  }

  /** When the earliest current lease expires (the dispatcher re-checks then). */
  async nextLeaseExpiry(): Promise<number | undefined> {
    const row = this.watched(() => this.stmt.nextLeaseExpiry.get()) as { at: number | null };
    return row.at ?? undefined;
  }

  // -- Internals ----------------------------------------------------------------------

  /** The row's committed history: the hot copy while it matches the row's version and execution, else decoded from the table. */
  private committedHistory(row: InstanceRow): { history: readonly HistoryEvent[]; fold?: HistoryFold | undefined } {
    const hot = this.hot.get(row.instance_id, row.version, row.execution_id);
    if (hot) return hot;
    const history = (this.stmt.getHistory.all(row.instance_id) as { seq: number; event: string }[]).map((h) =>
      decodeEvent(h.event, `instance '${row.instance_id}' history #${h.seq}`),
    );
    return { history };
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

