/**
 * The PostgreSQL store (node-postgres), behind `WorkflowStore` (../store.ts): the same tables
 * as the SQLite store, on a server that several workflowd processes can share.
 *
 * Every write is durable when its promise resolves: PostgreSQL's default `synchronous_commit =
 * on` makes a commit return once its WAL is flushed (only turn claims, which a crash may lose,
 * turn it off for themselves). The hot path is batched per pass of the event loop (`PassBatch`):
 * the starts, the turn loads and the usual turn commits of one pass are one statement each, the
 * commits one call of `workflowd_commit_turns` (migration 4). A turn's commit is guarded by the
 * instance row's `version` and by the inbox and activity rows it consumed, exactly as in SQLite:
 * any mismatch rolls it back and answers "conflict". Other writes (purges, rewinds, turns that
 * create or tell other instances) are one pipelined transaction each. Activities are claimed
 * with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never take the same row.
 *
 * A turn's load needs no transaction: anything another writer commits after it makes the
 * turn's commit conflict, never overwrite. The hot-history cache (../hot-histories.ts) is kept
 * as in SQLite: an entry is used only while the row still has its version.
 */
import pg from "pg";
import type { ExecutionStarted, HistoryEvent } from "../../engine/history.js";
import { appOfStart } from "../../engine/apps.js";
import { type InstanceState, isTerminal, type RuntimeStatus } from "../../engine/state.js";
import type { Effect, TurnOutcome } from "../../engine/turn.js";
import { decodeEvent, encodeEvent, encodeFailure, encodePropagated } from "../codec.js";
import { activityApp, type ActivityRow, claimedWork, leasedWork, takesLease } from "../activity-row.js";
import { HotHistories } from "../hot-histories.js";
import { ConflictError, RewindRefusal } from "../write-refusals.js";
import { buildFilter, filterParams } from "../instance-filter.js";
import { childCreation, type InstanceRow, stateColumns, toRecord } from "../instance-row.js";
import type {
  ActivityLease, ActivityWork, CommitResult, EnqueueResult, InstanceFilter, InstanceIdPage, InstanceRecord, ListPosition,
  Poke, PurgeOptions, PurgeResult, QueueDepths, RewindWrite, RewindWriteResult, StoreSettings, TurnClaim, TurnCommit, TurnSnapshot, WorkflowStore,
} from "../store.js";
import { migrate } from "./migrations.js";

export interface PostgresStoreOptions {
  /** A `postgres://` or `postgresql://` URL. */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Committed histories of active instances kept in memory (default 5,000; 0 for none). */
  hotHistoriesMax?: number;
}

/** The channel of pokes between replicas (an instance's new work, for the replica that holds it). */
const pokeChannel = "workflowd_poke";

/** What a transaction's statements run on. */
type Sql = Pick<pg.PoolClient, "query">;

/** Calls (turns, loads, starts) handled by one statement at most. */
const callsPerBatchMax = 256;

/**
 * Collects the calls made in one pass of the event loop and hands them over together (in
 * slices of `callsPerBatchMax`), as SQLite's group commit does: one statement and round trip
 * for many calls.
 */
class PassBatch<T> {
  private items: T[] = [];
  constructor(private readonly run: (items: T[]) => void) {}

  add(item: T): void {
    this.items.push(item);
    if (this.items.length > 1) return;
    setImmediate(() => {
      const items = this.items;
      this.items = [];
      for (let from = 0; from < items.length; from += callsPerBatchMax) this.run(items.slice(from, from + callsPerBatchMax));
    });
  }
}

/** A call waiting in a `PassBatch`, with how to answer it. */
type Waiting<Call, Answer> = Call & { resolve: (answer: Answer) => void; reject: (error: unknown) => void };
type BatchedStart = Waiting<{ start: ExecutionStarted }, boolean>;
type BatchedTurn = Waiting<{ commit: TurnCommit }, CommitResult>;
type BatchedLoad = Waiting<{
  instanceId: string;
  now: number;
  inboxLimit: number;
  claim: TurnClaim | undefined;
  activitySeqs: readonly number[];
}, LoadRow[] | "claimed-elsewhere">;

/**
 * What a load reads of an instance `i` asked for as `q` (instance, now, lim): its row, one result
 * row per visible inbox row (or one with none), and which of its held results' activity rows
 * ($4 instances, $5 seqs) still exist.
 */
const loadColumns = (i: string) => `
  ${i}.*, b.seq AS inbox_seq, b.execution_id AS inbox_execution_id, b.event AS inbox_event,
  (SELECT array_agg(a.seq) FROM unnest($4::text[], $5::bigint[]) AS l(instance, seq) JOIN activities a ON a.seq = l.seq
   WHERE l.instance = ${i}.instance_id) AS live_activities`;
const inboxOf = (i: string) => `
  LEFT JOIN LATERAL (
    SELECT seq, visible_at, execution_id, event FROM inbox
    WHERE instance_id = ${i}.instance_id AND visible_at <= q.now ORDER BY visible_at, seq LIMIT q.lim) b ON TRUE
  ORDER BY ${i}.instance_id, b.visible_at, b.seq`;

/** Plain loads: $1 instances, $2 their times, $3 their inbox limits. */
const loadSql = `
  SELECT ${loadColumns("i")}
  FROM unnest($1::text[], $2::bigint[], $3::int[]) AS q(instance, now, lim)
  JOIN instances i ON i.instance_id = q.instance
  ${inboxOf("i")}`;

/**
 * Loads that claim ($6 owners, $7 until, $8 apps): rows locked in one order, skipping those
 * another claim is taking right now (they are claimed elsewhere). A claim is no data a crash
 * must keep (a lost one is taken again), so the statement turns synchronous_commit off for
 * its own transaction.
 */
const claimAndLoadSql = `
  WITH q AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $6::text[], $7::bigint[], $8::text[]) AS q(instance, now, lim, owner, until, app)),
  free AS (SELECT instance_id FROM instances WHERE instance_id = ANY($1::text[]) ORDER BY instance_id FOR UPDATE SKIP LOCKED),
  claimed AS (
    UPDATE instances i SET claim_owner = q.owner, claim_expires_at = q.until
    FROM q, free
    WHERE i.instance_id = q.instance AND free.instance_id = q.instance
      AND (i.claim_owner IS NULL OR i.claim_owner = q.owner OR i.claim_expires_at <= q.now)
      AND (i.app_id IS NULL OR i.app_id = q.app) AND set_config('synchronous_commit', 'off', true) IS NOT NULL
    RETURNING i.*)
  SELECT ${loadColumns("c")}
  FROM claimed c JOIN q ON q.instance = c.instance_id
  ${inboxOf("c")}`;

/** Rows of `width` values as `width` arrays, one per column (a statement's unnest parameters). */
function columns(rows: readonly (readonly unknown[])[], width: number): unknown[][] {
  return Array.from({ length: width }, (_, c) => rows.map((row) => row[c]));
}

/** A load's result row: the instance's columns, one visible inbox row (or none), the live activities. */
interface LoadRow extends InstanceRow {
  inbox_seq: number | null;
  inbox_execution_id: string | null;
  inbox_event: string | null;
  /** BIGINT[] arrives as strings. */
  live_activities: (string | number)[] | null;
}

const bigint = 20;
const numeric = 1700;
/** BIGINT and NUMERIC columns (times, sequence numbers, counts) as JS numbers: all stay below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === bigint || oid === numeric ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export class PostgresStore implements WorkflowStore {
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly hot: HotHistories;
  private readonly url: string;
  /** The connection that LISTENs for pokes (see `onPoke`). */
  private listener: pg.Client | undefined;
  private readonly pokeListeners: ((poke: Poke) => void)[] = [];
  /** This pass's loads (see `runLoads`), usual commits (see `commitInBatch`) and starts (see `createInstance`). */
  private readonly loads = new PassBatch<BatchedLoad>((loads) => this.flushLoads(loads));
  private readonly commits = new PassBatch<BatchedTurn>((turns) => void this.commitBatch(turns));
  private readonly starts = new PassBatch<BatchedStart>((starts) => void this.insertStarts(starts));
  /** The statements prepared under a name, by text (see `named`). */
  private readonly statementNames = new Map<string, pg.QueryConfig>();
  private open = true;

  private constructor(options: PostgresStoreOptions) {
    this.location = redacted(options.url);
    this.url = options.url;
    // Pipelined: a transaction's statements go out together instead of one round trip each
    // (they still run in order; a failed one aborts the transaction, which is then rolled back).
    this.pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, types, pipeline: true } as pg.PoolConfig);
    // An idle connection that breaks (the server restarts) must not crash the process; the
    // next query gets a new connection.
    this.pool.on("error", () => {});
    this.hot = new HotHistories(options.hotHistoriesMax ?? 5_000);
  }

  /** Connects, migrates the schema (once across replicas) and returns the store. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const store = new PostgresStore(options);
    try {
      const client = await store.pool.connect().catch((error: unknown) => {
        throw new Error(`cannot connect to PostgreSQL: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      });
      try {
        await migrate(client, store.location);
      } finally {
        client.release();
      }
      return store;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Replicas share the database. */
  readonly shared = true;

  settings(): StoreSettings {
    return { durability: "PostgreSQL COMMIT with synchronous_commit=on (the WAL flushed before any answer)" };
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    const listener = this.listener;
    this.listener = undefined;
    await Promise.all([this.pool.end(), listener?.end().catch(() => {})]);
  }

  async ping(): Promise<void> {
    if (!this.open) throw new Error("the store is closed");
    await this.pool.query("SELECT 1");
  }

  // -- Instances ----------------------------------------------------------------------

  /** The starts of one pass go in one statement (see `insertInstances`). */
  async createInstance(start: ExecutionStarted): Promise<"created" | "exists"> {
    const created = await new Promise<boolean>((resolve, reject) => this.starts.add({ start, resolve, reject }));
    return created ? "created" : "exists";
  }

  /** An ID started twice in one pass goes in a statement after the first's (and is "exists" there). */
  private async insertStarts(starts: BatchedStart[]): Promise<void> {
    const first = new Map<string, BatchedStart>();
    const again: BatchedStart[] = [];
    for (const start of starts) {
      if (first.has(start.start.instanceId)) again.push(start);
      else first.set(start.start.instanceId, start);
    }
    const batch = [...first.values()];
    try {
      const created = await this.insertInstances(this.pool, batch.map((b) => b.start));
      for (const b of batch) b.resolve(created.has(b.start.instanceId));
    } catch (error) {
      for (const b of batch) b.reject(error);
    }
    if (again.length > 0) await this.insertStarts(again);
  }

  async getInstance(instanceId: string): Promise<InstanceRecord | undefined> {
    const row = await this.row(this.pool, instanceId);
    return row && toRecord(row);
  }

  enqueue(instanceId: string, event: HistoryEvent, visibleAt: number): Promise<EnqueueResult> {
    return this.transaction(async (sql): Promise<EnqueueResult> => {
      // FOR SHARE: a turn that finishes the instance meanwhile waits for this event, or this for it.
      const row = (await sql.query<{ status: RuntimeStatus }>(this.named("SELECT status FROM instances WHERE instance_id = $1 FOR SHARE"), [instanceId])).rows[0];
      if (!row) return "not-found";
      if (isTerminal(row.status)) return "terminal";
      await this.insertInbox(sql, instanceId, visibleAt, null, event);
      return "queued";
    });
  }

  purge(instanceId: string, options: PurgeOptions): Promise<PurgeResult> {
    return this.transaction((sql) => this.purgeIn(sql, instanceId, options));
  }

  rewind(write: RewindWrite): Promise<RewindWriteResult> {
    return this.transaction(async (sql): Promise<RewindWriteResult> => {
      for (const id of write.purge) {
        const purged = await this.purgeIn(sql, id, { recursive: true, force: false });
        if (purged.kind === "not-terminal") throw new RewindRefusal(purged);
      }
      for (const rewrite of write.rewrite) {
        const { instanceId, state } = rewrite;
        const columns = stateColumns(instanceId, state, rewrite.events.length);
        const updated = await sql.query(
          this.named(`UPDATE instances SET name = $2, execution_id = $3, status = $4, created_at = $5, last_updated_at = $6, input = $7,
             output = NULL, failure_details = NULL, workflow_version = $8, history_length = $9, version = version + 1
           WHERE instance_id = $1 AND version = $10`),
          [instanceId, columns.name, columns.execution_id, columns.status, columns.created_at, columns.last_updated_at, columns.input,
            columns.workflow_version, columns.history_length, rewrite.expectedVersion],
        );
        if (updated.rowCount === 0) throw new RewindRefusal({ kind: "conflict", instanceId });
        this.hot.forget(instanceId);
        await this.clearQueues(sql, instanceId, true);
        await this.insertHistory(sql, instanceId, 0, rewrite.events);
        const touched = new Set<string>();
        for (const effect of rewrite.effects) await this.applyEffect(sql, instanceId, state.executionId, effect, write.now, touched, appOfStart(state));
        for (const event of rewrite.inbox) await this.insertInbox(sql, instanceId, write.now, null, event);
      }
      return { kind: "rewound" };
    }).catch((error: unknown) => {
      if (error instanceof RewindRefusal) return error.result;
      throw error;
    });
  }

  createFork(instanceId: string, events: readonly HistoryEvent[], state: InstanceState, effects: readonly Effect[], now: number): Promise<"created" | "exists"> {
    return this.transaction(async (sql) => {
      const c = stateColumns(instanceId, state, events.length);
      const inserted = await sql.query(
        this.named(`INSERT INTO instances (instance_id, name, execution_id, status, created_at, last_updated_at, input, parent_instance_id, workflow_version, history_length, app_id, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, 1) ON CONFLICT (instance_id) DO NOTHING`),
        [c.instance_id, c.name, c.execution_id, c.status, c.created_at, c.last_updated_at, c.input, c.workflow_version, c.history_length, c.app_id],
      );
      if (inserted.rowCount === 0) return "exists" as const;
      await this.insertHistory(sql, instanceId, 0, events);
      const touched = new Set<string>();
      for (const effect of effects) await this.applyEffect(sql, instanceId, state.executionId, effect, now, touched, c.app_id ?? undefined);
      return "created" as const;
    });
  }

  // -- Queries ------------------------------------------------------------------------

  async listInstanceIds(after: number, pageSize: number | undefined): Promise<InstanceIdPage> {
    const rows = (await this.pool.query<{ position: number; instance_id: string }>(
      this.named("SELECT position, instance_id FROM instances WHERE position > $1 ORDER BY position LIMIT $2"),
      [after, pageSize ?? null],
    )).rows;
    const full = pageSize !== undefined && rows.length === pageSize;
    return { instanceIds: rows.map((r) => r.instance_id), continuationToken: full ? String(rows.at(-1)!.position) : undefined };
  }

  async listInstances(filter: InstanceFilter, after: ListPosition | undefined, limit: number): Promise<InstanceRecord[]> {
    const query = filtered(filter, after, (where) => `SELECT * FROM instances WHERE ${where} ORDER BY created_at DESC, instance_id DESC LIMIT @limit`, { limit });
    return (await this.pool.query<InstanceRow>(query.text, query.values)).rows.map(toRecord);
  }

  async countInstances(filter: InstanceFilter): Promise<Partial<Record<RuntimeStatus, number>>> {
    const query = filtered(filter, undefined, (where) => `SELECT status, count(*) AS n FROM instances WHERE ${where} GROUP BY status`, {});
    const rows = (await this.pool.query<{ status: RuntimeStatus; n: number }>(query.text, query.values)).rows;
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  async historyPage(instanceId: string, from: number, limit: number): Promise<{ events: HistoryEvent[]; length: number; executionId: string } | undefined> {
    const row = await this.row(this.pool, instanceId);
    if (!row) return undefined;
    const hot = this.hot.get(instanceId, row.version, row.execution_id);
    if (hot) return { events: hot.history.slice(from, from + limit), length: row.history_length, executionId: row.execution_id };
    const end = Math.min(row.history_length, from + limit);
    return { events: await this.readHistory(this.pool, instanceId, from, end), length: row.history_length, executionId: row.execution_id };
  }

  async history(instanceId: string): Promise<readonly HistoryEvent[] | undefined> {
    const row = await this.row(this.pool, instanceId);
    return row ? this.committedHistory(row).then((h) => h.history) : undefined;
  }

  async finishedBefore(status: RuntimeStatus, before: number, after: { at: number; instanceId: string } | undefined, limit: number): Promise<{ instanceId: string; at: number }[]> {
    const rows = (await this.pool.query<{ instance_id: string; last_updated_at: number }>(
      this.named(`SELECT instance_id, last_updated_at FROM instances
       WHERE status IN ('COMPLETED', 'FAILED', 'TERMINATED') AND status = $1 AND last_updated_at < $2
         AND (last_updated_at, instance_id) > ($3, $4)
       ORDER BY last_updated_at, instance_id LIMIT $5`),
      [status, before, after?.at ?? -1, after?.instanceId ?? "", limit],
    )).rows;
    return rows.map((r) => ({ instanceId: r.instance_id, at: r.last_updated_at }));
  }

  async pageTokenKey(): Promise<string> {
    return (await this.pool.query<{ value: string }>(this.named("SELECT value FROM settings WHERE name = 'page_token_key'"))).rows[0]!.value;
  }

  async stalledInstanceIds(): Promise<string[]> {
    return (await this.pool.query<{ instance_id: string }>(this.named("SELECT instance_id FROM instances WHERE status = 'STALLED'"))).rows.map((r) => r.instance_id);
  }

  async queueDepths(now: number): Promise<QueueDepths> {
    const row = (await this.pool.query<{ ready: number; pending: number; queued: number | null; running: number | null }>(
      this.named(`SELECT (SELECT count(DISTINCT instance_id) FROM inbox WHERE visible_at <= $1) AS ready,
              (SELECT count(*) FROM inbox WHERE visible_at > $1) AS pending,
              (SELECT count(*) FROM activities WHERE lease_expires_at IS NULL OR lease_expires_at <= $1) AS queued,
              (SELECT count(*) FROM activities WHERE lease_expires_at > $1) AS running`),
      [now],
    )).rows[0]!;
    return { readyInstances: row.ready, pendingTimers: row.pending, queuedActivities: row.queued ?? 0, runningActivities: row.running ?? 0 };
  }

  // -- Turns --------------------------------------------------------------------------

  async loadTurn(instanceId: string, now: number, inboxLimit: number, claim?: TurnClaim, activitySeqs: readonly number[] = []): Promise<TurnSnapshot | undefined | "claimed-elsewhere"> {
    const rows = await new Promise<LoadRow[] | "claimed-elsewhere">((resolve, reject) => {
      this.loads.add({ instanceId, now, inboxLimit, claim, activitySeqs, resolve, reject });
    });
    if (rows === "claimed-elsewhere" || rows.length === 0) return rows === "claimed-elsewhere" ? rows : undefined;
    const row = rows[0]!;
    const inbox = rows.filter((r) => r.inbox_seq !== null).map((r) => ({
      seq: r.inbox_seq!,
      executionId: r.inbox_execution_id ?? undefined,
      event: decodeEvent(r.inbox_event!, `instance '${instanceId}' inbox #${r.inbox_seq}`),
    }));
    const { history, fold } = await this.committedHistory(row);
    return { instance: toRecord(row), history, inbox, fold, liveActivities: new Set((row.live_activities ?? []).map(Number)) };
  }

  /**
   * The loads of one pass of the event loop, as one statement for the plain ones and one for
   * those that claim (one round trip each, like the commits): each reads the row (claiming it),
   * its visible inbox and which of its held results' activity rows still exist. An instance
   * asked for twice in one pass goes in a statement of its own.
   */
  private flushLoads(loads: BatchedLoad[]): void {
    const plain: BatchedLoad[] = [];
    const claiming: BatchedLoad[] = [];
    const seen = new Set<string>();
    for (const load of loads) {
      if (seen.has(load.instanceId)) {
        void this.runLoads([load]);
        continue;
      }
      seen.add(load.instanceId);
      (load.claim ? claiming : plain).push(load);
    }
    if (plain.length > 0) void this.runLoads(plain);
    if (claiming.length > 0) void this.runLoads(claiming);
  }

  /** Loads of distinct instances, all plain or all claiming. */
  private async runLoads(loads: BatchedLoad[]): Promise<void> {
    try {
      const claiming = loads[0]!.claim !== undefined;
      const values: unknown[] = [
        loads.map((l) => l.instanceId), loads.map((l) => l.now), loads.map((l) => l.inboxLimit),
        loads.flatMap((l) => l.activitySeqs.map(() => l.instanceId)), loads.flatMap((l) => [...l.activitySeqs]),
      ];
      if (claiming) values.push(loads.map((l) => l.claim!.owner), loads.map((l) => l.claim!.until), loads.map((l) => l.claim!.appId));
      const rows = (await this.pool.query<LoadRow>(this.named(claiming ? claimAndLoadSql : loadSql), values)).rows;
      const byInstance = new Map<string, LoadRow[]>();
      for (const row of rows) {
        const list = byInstance.get(row.instance_id);
        if (list) list.push(row);
        else byInstance.set(row.instance_id, [row]);
      }
      // A claim that took no row: the instance is gone, or another replica (or app) holds it.
      const missing = claiming ? loads.filter((l) => !byInstance.has(l.instanceId)).map((l) => l.instanceId) : [];
      const existing = missing.length === 0 ? new Set<string>() : new Set((await this.pool.query<{ instance_id: string }>(
        this.named("SELECT instance_id FROM instances WHERE instance_id = ANY($1::text[])"), [missing],
      )).rows.map((r) => r.instance_id));
      for (const load of loads) load.resolve(byInstance.get(load.instanceId) ?? (existing.has(load.instanceId) ? "claimed-elsewhere" : []));
    } catch (error) {
      for (const load of loads) load.reject(error);
    }
  }

  async releaseTurnClaims(owner: string, instanceId?: string): Promise<void> {
    await this.pool.query(
      this.named("UPDATE instances SET claim_owner = NULL, claim_expires_at = NULL WHERE claim_owner = $1 AND ($2::text IS NULL OR instance_id = $2)"),
      [owner, instanceId ?? null],
    );
  }

  rememberTurn(instanceId: string, committedVersion: number, past: readonly HistoryEvent[], outcome: TurnOutcome): void {
    this.hot.remember(instanceId, committedVersion, past, outcome);
  }

  async commitTurn(commit: TurnCommit): Promise<CommitResult> {
    // Most turns only record history and queue activities and timers: those are committed in
    // batches. Turns that create, start or tell other instances take the general path.
    if (commit.outcome.effects.every((e) => e.kind === "scheduleActivity" || e.kind === "scheduleTimer")) return this.commitInBatch(commit);
    try {
      return await this.transaction((sql) => this.applyCommit(sql, commit));
    } catch (error) {
      if (error instanceof ConflictError) return { kind: "conflict", reason: error.message };
      throw error;
    }
  }

  /**
   * Group commit across turns: the usual turns committed in one moment (one pass of the event
   * loop) go to the database as one call of `workflowd_commit_turns` (migration 4): one
   * statement per kind of write for all of them and one WAL flush, instead of a call each.
   */
  private commitInBatch(commit: TurnCommit): Promise<CommitResult> {
    return new Promise((resolve, reject) => this.commits.add({ commit, resolve, reject }));
  }

  /** A conflict in any turn rolls the whole call back: then each turn goes alone, so only the loser sees it. */
  private async commitBatch(turns: BatchedTurn[]): Promise<void> {
    try {
      const results = await this.commitTurns(turns.map((t) => t.commit));
      turns.forEach((t, i) => t.resolve(results[i]!));
    } catch (error) {
      const conflict = error instanceof pg.DatabaseError && error.code?.startsWith("WFD0");
      if (conflict && turns.length > 1) {
        for (const turn of turns) void this.commitBatch([turn]);
      } else if (conflict) {
        turns[0]!.resolve({ kind: "conflict", reason: (error as Error).message });
      } else {
        for (const turn of turns) turn.reject(error);
      }
    }
  }

  /** Commits usual turns of distinct instances in one call: the same writes, checks and order as `applyCommit`. */
  private async commitTurns(commits: readonly TurnCommit[]): Promise<CommitResult[]> {
    // The rows each write takes, gathered turn by turn, then sent as one array per column.
    const updates: unknown[][] = [];
    const consumed: unknown[][] = [];
    const taken: number[] = [];
    const replaced: string[] = [];
    const history: unknown[][] = [];
    const activities: unknown[][] = [];
    const inbox: unknown[][] = [];
    const finished: string[] = [];
    const leasing: Extract<Effect, { kind: "scheduleActivity" }>[][] = [];
    for (const commit of commits) {
      const { instanceId, outcome, now } = commit;
      const state = outcome.state;
      const executionId = state?.executionId ?? "";
      const replace = outcome.historyMode === "replace";
      const from = replace ? 0 : commit.historyLength;
      updates.push([
        instanceId, commit.expectedVersion, state !== undefined, state?.executionId ?? null, state?.lastUpdatedAt ?? null,
        state?.input ?? null, state?.output ?? null, encodeFailure(state?.failureDetails), state?.version ?? null,
        outcome.customStatus ?? null, from + outcome.events.length, state?.name ?? null, state?.status ?? null, state?.createdAt ?? null,
      ]);
      for (const seq of commit.consumedSeqs) consumed.push([instanceId, seq]);
      taken.push(...(commit.consumedActivities ?? []), ...(commit.keptResults ?? []).map((k) => k.activitySeq));
      if (replace) replaced.push(instanceId);
      outcome.events.forEach((event, i) => history.push([instanceId, from + i, encodeEvent(event)]));
      for (const kept of commit.keptResults ?? []) inbox.push([instanceId, now, kept.executionId, encodeEvent(kept.event)]);
      const lease = commit.lease;
      const leased: (typeof leasing)[number] = [];
      for (const effect of outcome.effects) {
        if (effect.kind === "scheduleTimer") inbox.push([instanceId, effect.fireAt, executionId, encodeEvent(effect.event)]);
        if (effect.kind !== "scheduleActivity") continue;
        const app = activityApp(effect.scheduled, commit.appId);
        const leaseIt = takesLease(lease, leased.length, effect.name, app);
        if (leaseIt) leased.push(effect);
        activities.push([
          instanceId, executionId, effect.taskId, effect.name, effect.input ?? null, encodeEvent(effect.scheduled),
          effect.propagatedHistory ? encodePropagated(effect.propagatedHistory) : null, app,
          leaseIt ? lease.owner : null, leaseIt ? lease.expiresAt : null,
        ]);
      }
      leasing.push(leased);
      // Visible at time 0: ahead of everything already queued for this instance.
      for (const event of outcome.requeue) inbox.push([instanceId, 0, null, encodeEvent(event)]);
      if (state && isTerminal(state.status)) finished.push(instanceId);
    }
    const rows = (await this.pool.query<{ leased_instance: string; leased_task: number | null; leased_seq: number }>(this.named(
      `SELECT leased_instance, leased_task, leased_seq FROM workflowd_commit_turns(${Array.from({ length: 36 }, (_, i) => `$${i + 1}`).join(", ")})`,
    ), [
      ...columns(updates, 14), ...columns(consumed, 2), taken, replaced, ...columns(history, 3), ...columns(activities, 10), ...columns(inbox, 4), finished,
    ])).rows;
    const leasedSeqs = new Map(rows.filter((r) => r.leased_task !== null).map((r) => [`${r.leased_instance}\u0000${r.leased_task}`, r.leased_seq]));
    return commits.map((commit, i) => ({
      kind: "committed" as const,
      touchedInstanceIds: commit.outcome.requeue.length > 0 ? [commit.instanceId] : [],
      leased: leasing[i]!.flatMap((effect) => {
        const seq = leasedSeqs.get(`${commit.instanceId}\u0000${effect.taskId}`);
        return seq === undefined ? [] : [leasedWork(seq, commit.instanceId, commit.outcome.state?.executionId ?? "", effect)];
      }),
    }));
  }

  // -- Scheduling ---------------------------------------------------------------------

  async dueInstanceIds(now: number, limit: number, claimant?: { owner: string; appId: string }): Promise<string[]> {
    const rows = claimant === undefined
      ? await this.pool.query<{ instance_id: string }>(
        this.named("SELECT DISTINCT instance_id FROM inbox WHERE visible_at <= $1 LIMIT $2"),
        [now, Math.min(limit, Number.MAX_SAFE_INTEGER)],
      )
      : await this.pool.query<{ instance_id: string }>(
        this.named(`SELECT DISTINCT b.instance_id FROM inbox b JOIN instances i ON i.instance_id = b.instance_id
         WHERE b.visible_at <= $1 AND (i.claim_owner IS NULL OR i.claim_owner = $3 OR i.claim_expires_at <= $1)
           AND (i.app_id IS NULL OR i.app_id = $4)
         LIMIT $2`),
        [now, Math.min(limit, Number.MAX_SAFE_INTEGER), claimant.owner, claimant.appId],
      );
    return rows.rows.map((r) => r.instance_id);
  }

  async instancesDueBetween(after: number, upTo: number): Promise<string[]> {
    return (await this.pool.query<{ instance_id: string }>(
      this.named("SELECT DISTINCT instance_id FROM inbox WHERE visible_at > $1 AND visible_at <= $2"),
      [after, upTo],
    )).rows.map((r) => r.instance_id);
  }

  async nextVisibleAt(now: number): Promise<number | undefined> {
    const row = (await this.pool.query<{ at: number | null }>(this.named("SELECT min(visible_at) AS at FROM inbox WHERE visible_at > $1"), [now])).rows[0];
    return row?.at ?? undefined;
  }

  // -- Activities ---------------------------------------------------------------------

  async claimActivities(owner: string, now: number, leaseMs: number, limit: number, names?: readonly string[], appId?: string): Promise<ActivityWork[]> {
    const rows = await this.transaction(async (sql) => (await sql.query<ActivityRow>(
      this.named(`UPDATE activities SET lease_owner = $1, lease_expires_at = $2, attempts = attempts + 1
       WHERE seq IN (
         SELECT seq FROM activities
         WHERE (lease_expires_at IS NULL OR lease_expires_at <= $3) AND ($4::text[] IS NULL OR name = ANY($4::text[]))
           AND ($6::text IS NULL OR app_id IS NULL OR app_id = $6)
         ORDER BY seq LIMIT $5
         FOR UPDATE SKIP LOCKED)
       RETURNING seq, instance_id, execution_id, task_id, name, input, scheduled, propagated, attempts`),
      [owner, now + leaseMs, now, names ? [...names] : null, limit, appId ?? null],
    )).rows);
    return rows.sort((a, b) => a.seq - b.seq).map(claimedWork);
  }

  completeActivity(seq: number, result: HistoryEvent, now: number): Promise<"delivered" | "gone"> {
    return this.transaction(async (sql) => {
      const row = (await sql.query<{ instance_id: string; execution_id: string }>(
        this.named("DELETE FROM activities WHERE seq = $1 RETURNING instance_id, execution_id"),
        [seq],
      )).rows[0];
      if (!row) return "gone" as const;
      await this.insertInbox(sql, row.instance_id, now, row.execution_id, result);
      return "delivered" as const;
    });
  }

  /**
   * Only this replica's (its turn claims too): the database's other leases belong to replicas
   * that may be alive.
   */
  async releaseLeasesOf(replicaId: string): Promise<number> {
    const prefix = `${replicaId}/`;
    const [activities] = await Promise.all([
      this.pool.query(this.named("UPDATE activities SET lease_owner = NULL, lease_expires_at = NULL WHERE left(lease_owner, $2) = $1"), [prefix, prefix.length]),
      this.pool.query(this.named("UPDATE instances SET claim_owner = NULL, claim_expires_at = NULL WHERE left(claim_owner, $2) = $1"), [prefix, prefix.length]),
    ]);
    return activities.rowCount ?? 0;
  }

  async releaseLease(seq: number, owner: string): Promise<boolean> {
    const result = await this.pool.query(this.named("UPDATE activities SET lease_owner = NULL, lease_expires_at = NULL WHERE seq = $1 AND lease_owner = $2"), [seq, owner]);
    return (result.rowCount ?? 0) > 0;
  }

  async countActivities(): Promise<number> {
    return (await this.pool.query<{ n: number }>(this.named("SELECT count(*) AS n FROM activities"))).rows[0]!.n;
  }

  async poke(poke: Poke): Promise<void> {
    await this.pool.query("SELECT pg_notify($1, $2)", [pokeChannel, JSON.stringify(poke)]);
  }

  /**
   * LISTENs on a connection of its own (a pooled one would be handed to others). A broken one
   * is replaced after a second; meanwhile the replicas' scans find the work.
   */
  async onPoke(listener: (poke: Poke) => void): Promise<void> {
    this.pokeListeners.push(listener);
    if (this.pokeListeners.length > 1) return; // one LISTEN connection serves them all
    const connect = async (): Promise<void> => {
      const client = new pg.Client({ connectionString: this.url, types });
      client.on("notification", (message) => {
        if (message.channel !== pokeChannel || !message.payload) return;
        const poke = parsePoke(message.payload);
        if (poke) for (const heard of this.pokeListeners) heard(poke);
      });
      const reconnect = () => {
        if (this.listener !== client) return;
        this.listener = undefined;
        client.end().catch(() => {});
        if (this.open) setTimeout(() => void connect().catch(() => reconnect()), 1_000).unref();
      };
      client.on("error", reconnect);
      client.on("end", reconnect);
      this.listener = client;
      await client.connect();
      await client.query(`LISTEN ${pokeChannel}`);
    };
    await connect();
  }

  async lead(task: string, owner: string, now: number, until: number): Promise<boolean> {
    const result = await this.pool.query(
      this.named(`INSERT INTO leaders (task, owner, expires_at) VALUES ($1, $2, $3)
       ON CONFLICT (task) DO UPDATE SET owner = $2, expires_at = $3
       WHERE leaders.owner = $2 OR leaders.expires_at <= $4`),
      [task, owner, until, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async renewLeases(owner: string, until: number): Promise<number> {
    return (await this.pool.query(this.named("UPDATE activities SET lease_expires_at = $2 WHERE lease_owner = $1"), [owner, until])).rowCount ?? 0;
  }

  async nextLeaseExpiry(): Promise<number | undefined> {
    const row = (await this.pool.query<{ at: number | null }>(this.named("SELECT min(lease_expires_at) AS at FROM activities WHERE lease_expires_at IS NOT NULL"))).rows[0];
    return row?.at ?? undefined;
  }

  // -- Internals ----------------------------------------------------------------------

  /** Runs `work` in one transaction: committed when it resolves, rolled back when it rejects. */
  private async transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const begun = client.query("BEGIN");
      begun.catch(() => {}); // a failed BEGIN fails the statements after it too, which report it
      const result = await work(client);
      await begun;
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((rollbackError: unknown) => {
        // The connection is unusable: the pool drops it rather than hand it out again.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * A fixed statement text, to run as a prepared statement: each connection parses and plans it
   * once, instead of on every run (a turn runs the same few statements over and over: 5-activity
   * chains went from 111 to 150/s, the server's CPU per chain from about 16 to 8 ms). Texts built
   * per call (a listing's filter) stay unnamed.
   */
  private named(text: string): pg.QueryConfig {
    let config = this.statementNames.get(text);
    if (!config) this.statementNames.set(text, (config = { name: `workflowd_${this.statementNames.size + 1}`, text }));
    return config;
  }

  private async row(sql: Sql, instanceId: string): Promise<InstanceRow | undefined> {
    return (await sql.query<InstanceRow>(this.named("SELECT * FROM instances WHERE instance_id = $1"), [instanceId])).rows[0];
  }

  private async committedHistory(row: InstanceRow): Promise<{ history: readonly HistoryEvent[]; fold?: TurnSnapshot["fold"] }> {
    const hot = this.hot.get(row.instance_id, row.version, row.execution_id);
    if (hot) return hot;
    return { history: await this.readHistory(this.pool, row.instance_id, 0, row.history_length) };
  }

  /** History events [from, to) of an instance. */
  private async readHistory(sql: Sql, instanceId: string, from: number, to: number): Promise<HistoryEvent[]> {
    if (to <= from) return [];
    const rows = (await sql.query<{ seq: number; event: string }>(
      this.named("SELECT seq, event FROM history WHERE instance_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq"),
      [instanceId, from, to],
    )).rows;
    return rows.map((h) => decodeEvent(h.event, `instance '${instanceId}' history #${h.seq}`));
  }

  /**
   * A turn's statements, sent without waiting for each other (the pool pipelines them): only a
   * child's creation reads before it writes, and waits for what was sent before it. The counts
   * that decide a conflict are checked at the end; a conflict rolls everything back.
   */
  private async applyCommit(sql: Sql, commit: TurnCommit): Promise<CommitResult> {
    const { instanceId, outcome, now } = commit;
    const state = outcome.state;
    const sent: Promise<unknown>[] = [];
    const send = <T>(statement: Promise<T>): Promise<T> => {
      sent.push(statement);
      return statement;
    };
    /**
     * Waits for what was sent. A stale version is a conflict even when a later statement failed
     * because of it (the history rows it appends exist already).
     */
    const settled = async () => {
      const results = await Promise.allSettled(sent);
      const update = results[0]!;
      if (update.status === "fulfilled" && (update.value as pg.QueryResult).rowCount === 0) {
        throw new ConflictError(`instance '${instanceId}' changed since it was loaded`);
      }
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw failed.reason;
    };
    const historyLength = outcome.historyMode === "replace" ? outcome.events.length : commit.historyLength + outcome.events.length;
    send(state
      ? sql.query(
        this.named(`UPDATE instances SET execution_id = $3, last_updated_at = $4, input = $5, output = $6, failure_details = $7,
           workflow_version = $8, custom_status = COALESCE($9, custom_status), history_length = $10,
           name = $11, status = $12, created_at = $13, version = version + 1
         WHERE instance_id = $1 AND version = $2`),
        [instanceId, commit.expectedVersion, state.executionId, state.lastUpdatedAt, state.input ?? null, state.output ?? null,
          encodeFailure(state.failureDetails), state.version ?? null, outcome.customStatus ?? null, historyLength,
          state.name, state.status, state.createdAt],
      )
      : sql.query(
        this.named("UPDATE instances SET custom_status = COALESCE($3, custom_status), history_length = $4, version = version + 1 WHERE instance_id = $1 AND version = $2"),
        [instanceId, commit.expectedVersion, outcome.customStatus ?? null, historyLength],
      ));
    const consumed = commit.consumedSeqs.length > 0
      ? send(sql.query(this.named("DELETE FROM inbox WHERE instance_id = $1 AND seq = ANY($2::bigint[])"), [instanceId, [...commit.consumedSeqs]]))
      : undefined;
    // Results taken from memory: their activity rows go (one already gone was answered otherwise).
    const taken = [...(commit.consumedActivities ?? []), ...(commit.keptResults ?? []).map((k) => k.activitySeq)];
    const takenRows = taken.length > 0 ? send(sql.query(this.named("DELETE FROM activities WHERE seq = ANY($1::bigint[])"), [taken])) : undefined;
    for (const kept of commit.keptResults ?? []) send(this.insertInbox(sql, instanceId, now, kept.executionId, kept.event));

    let seq = commit.historyLength;
    if (outcome.historyMode === "replace") {
      send(sql.query(this.named("DELETE FROM history WHERE instance_id = $1"), [instanceId]));
      send(sql.query(this.named("DELETE FROM activities WHERE instance_id = $1"), [instanceId]));
      seq = 0;
    }
    send(this.insertHistory(sql, instanceId, seq, outcome.events));

    const touched = new Set<string>();
    const executionId = state?.executionId ?? "";
    const leasing: Promise<ActivityWork | undefined>[] = [];
    for (const effect of outcome.effects) {
      if (effect.kind === "scheduleActivity") {
        const app = activityApp(effect.scheduled, commit.appId);
        const lease = commit.lease;
        if (takesLease(lease, leasing.length, effect.name, app)) {
          leasing.push(send(this.insertActivity(sql, instanceId, executionId, effect, app, lease)));
        } else {
          send(this.insertActivity(sql, instanceId, executionId, effect, app));
        }
      } else if (effect.kind === "createChild") {
        await settled();
        await this.createChild(sql, instanceId, executionId, effect.event, now, touched);
      } else {
        send(this.applyEffect(sql, instanceId, executionId, effect, now, touched));
      }
    }
    for (const event of outcome.requeue) {
      // Visible at time 0: ahead of everything already queued for this instance.
      send(this.insertInbox(sql, instanceId, 0, null, event));
      touched.add(instanceId);
    }
    // A finished instance takes no more work: queued activities, timers and events go.
    if (state && isTerminal(state.status)) send(this.clearQueues(sql, instanceId, false));
    await settled();

    if (consumed && (await consumed).rowCount !== commit.consumedSeqs.length) throw new ConflictError(`inbox of '${instanceId}' was consumed by another turn`);
    if (takenRows && (await takenRows).rowCount !== taken.length) throw new ConflictError(`the result of an activity of '${instanceId}' was already recorded`);
    const leased = (await Promise.all(leasing)).filter((w): w is ActivityWork => w !== undefined);
    return { kind: "committed", touchedInstanceIds: [...touched], leased };
  }

  /** Queues an activity (leased to `lease.owner` when given); undefined when the task is queued already. */
  private async insertActivity(
    sql: Sql,
    instanceId: string,
    executionId: string,
    effect: Extract<Effect, { kind: "scheduleActivity" }>,
    app: string | null,
    lease?: ActivityLease,
  ): Promise<ActivityWork | undefined> {
    const inserted = (await sql.query<{ seq: number }>(
      this.named(`INSERT INTO activities (instance_id, execution_id, task_id, name, input, scheduled, propagated, lease_owner, lease_expires_at, attempts, app_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (instance_id, execution_id, task_id) DO NOTHING RETURNING seq`),
      [instanceId, executionId, effect.taskId, effect.name, effect.input ?? null, encodeEvent(effect.scheduled),
        effect.propagatedHistory ? encodePropagated(effect.propagatedHistory) : null, lease?.owner ?? null, lease?.expiresAt ?? null, lease ? 1 : 0, app],
    )).rows[0];
    if (!inserted || !lease) return undefined;
    return leasedWork(inserted.seq, instanceId, executionId, effect);
  }

  /** `instanceApp`: the app of the instance the effect is of (its activities run there unless routed). */
  private async applyEffect(sql: Sql, instanceId: string, executionId: string, effect: Effect, now: number, touched: Set<string>, instanceApp?: string): Promise<void> {
    switch (effect.kind) {
      case "scheduleActivity":
        await this.insertActivity(sql, instanceId, executionId, effect, activityApp(effect.scheduled, instanceApp));
        return;
      case "scheduleTimer":
        await this.insertInbox(sql, instanceId, effect.fireAt, executionId, effect.event);
        return;
      case "createChild":
        await this.createChild(sql, instanceId, executionId, effect.event, now, touched);
        return;
      case "startDetached":
        // As daprd: a detached start whose ID is taken is dropped; the caller is not told.
        if (await this.insertInstance(sql, effect.event)) touched.add(effect.event.instanceId);
        return;
      case "deliver": {
        const inserted = await sql.query(
          this.named(`INSERT INTO inbox (instance_id, visible_at, execution_id, event)
           SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM instances WHERE instance_id = $1)`),
          [effect.instanceId, now, effect.executionId ?? null, encodeEvent(effect.event)],
        );
        if ((inserted.rowCount ?? 0) > 0) touched.add(effect.instanceId);
        return;
      }
    }
  }

  /** A child's creation (see `childCreation`); the row is locked, so the decision holds until the commit. */
  private async createChild(sql: Sql, parentId: string, parentExecutionId: string, start: ExecutionStarted, now: number, touched: Set<string>): Promise<void> {
    const existing = (await sql.query<InstanceRow>(this.named("SELECT * FROM instances WHERE instance_id = $1 FOR UPDATE"), [start.instanceId])).rows[0];
    const creation = childCreation(existing, parentId, start, now);
    if (creation.kind === "refuse") {
      await this.insertInbox(sql, parentId, now, parentExecutionId, creation.failure);
      touched.add(parentId);
      return;
    }
    if (creation.kind === "replace") {
      for (const id of await this.descendantsAndSelf(sql, start.instanceId)) await this.deleteInstance(sql, id);
    }
    await this.insertInstance(sql, start);
    touched.add(start.instanceId);
  }

  /** Inserts a PENDING row and its start event; false (and nothing written) if the ID is taken. */
  private async insertInstance(sql: Sql, start: ExecutionStarted): Promise<boolean> {
    return (await this.insertInstances(sql, [start])).has(start.instanceId);
  }

  /**
   * Inserts PENDING rows (of distinct IDs) and their start events, in one statement (atomic on
   * its own); answers the IDs created (a taken ID writes nothing).
   */
  private async insertInstances(sql: Sql, starts: readonly ExecutionStarted[]): Promise<Set<string>> {
    const inserted = await sql.query<{ instance_id: string }>(
      this.named(`
        WITH s AS (
          SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[])
            WITH ORDINALITY AS s(instance_id, name, execution_id, created_at, input, parent_instance_id, workflow_version, app_id, visible_at, event, i)),
        created AS (
          INSERT INTO instances (instance_id, name, execution_id, status, created_at, last_updated_at, input, parent_instance_id, workflow_version, app_id, version)
          SELECT instance_id, name, execution_id, 'PENDING', created_at, created_at, input, parent_instance_id, workflow_version, app_id, 1 FROM s ORDER BY i
          ON CONFLICT (instance_id) DO NOTHING
          RETURNING instance_id)
        INSERT INTO inbox (instance_id, visible_at, execution_id, event)
          SELECT s.instance_id, s.visible_at, NULL, s.event FROM s JOIN created USING (instance_id) ORDER BY s.i
        RETURNING instance_id`),
      columns(starts.map((s) => [
        s.instanceId, s.name, s.executionId, s.timestamp, s.input ?? null, s.parentInstance?.instanceId ?? null, s.version ?? null,
        appOfStart(s) ?? null, s.scheduledStartTimestamp ?? s.timestamp, encodeEvent(s),
      ]), 10),
    );
    return new Set(inserted.rows.map((r) => r.instance_id));
  }

  private insertInbox(sql: Sql, instanceId: string, visibleAt: number, executionId: string | null, event: HistoryEvent): Promise<unknown> {
    return sql.query(this.named("INSERT INTO inbox (instance_id, visible_at, execution_id, event) VALUES ($1, $2, $3, $4)"), [instanceId, visibleAt, executionId, encodeEvent(event)]);
  }

  private insertHistory(sql: Sql, instanceId: string, from: number, events: readonly HistoryEvent[]): Promise<unknown> {
    if (events.length === 0) return Promise.resolve();
    return sql.query(
      this.named("INSERT INTO history (instance_id, seq, event) SELECT $1, seq, event FROM unnest($2::int[], $3::text[]) AS e(seq, event)"),
      [instanceId, events.map((_e, i) => from + i), events.map(encodeEvent)],
    );
  }

  /** Deletes an instance's queued activities and inbox rows (and with `history`, its history). */
  private clearQueues(sql: Sql, instanceId: string, history: boolean): Promise<unknown> {
    return Promise.all([
      history ? sql.query(this.named("DELETE FROM history WHERE instance_id = $1"), [instanceId]) : undefined,
      sql.query(this.named("DELETE FROM inbox WHERE instance_id = $1"), [instanceId]),
      sql.query(this.named("DELETE FROM activities WHERE instance_id = $1"), [instanceId]),
    ]);
  }

  private async purgeIn(sql: Sql, instanceId: string, options: PurgeOptions): Promise<PurgeResult> {
    const ids = options.recursive ? await this.descendantsAndSelf(sql, instanceId) : [instanceId];
    // Locked, so a turn that would start a child or finish meanwhile waits for this purge.
    const rows = (await sql.query<{ instance_id: string; status: RuntimeStatus }>(
      this.named("SELECT instance_id, status FROM instances WHERE instance_id = ANY($1::text[]) FOR UPDATE"),
      [ids],
    )).rows;
    const status = new Map(rows.map((r) => [r.instance_id, r.status]));
    if (!status.has(instanceId)) return { kind: "not-found" };
    const present = ids.filter((id) => status.has(id));
    if (!options.force) {
      for (const id of present) {
        const s = status.get(id)!;
        if (!isTerminal(s)) return { kind: "not-terminal", instanceId: id, status: s };
      }
    }
    for (const id of present) await this.deleteInstance(sql, id);
    return { kind: "purged", instanceIds: present };
  }

  private async descendantsAndSelf(sql: Sql, instanceId: string): Promise<string[]> {
    const rows = (await sql.query<{ instance_id: string }>(
      this.named(`WITH RECURSIVE tree(instance_id, depth) AS (
         SELECT $1::text COLLATE "C", 0
         UNION ALL
         SELECT i.instance_id, t.depth + 1 FROM instances i JOIN tree t ON i.parent_instance_id = t.instance_id
       ) SELECT instance_id FROM tree ORDER BY depth`),
      [instanceId],
    )).rows;
    return rows.map((r) => r.instance_id);
  }

  private async deleteInstance(sql: Sql, instanceId: string): Promise<void> {
    this.hot.forget(instanceId);
    await this.clearQueues(sql, instanceId, true);
    await sql.query(this.named("DELETE FROM instances WHERE instance_id = $1"), [instanceId]);
  }
}


/** A statement over the instances a filter selects (statuses as one `= ANY` array), with its values. */
function filtered(filter: InstanceFilter, after: ListPosition | undefined, statement: (where: string) => string, extra: Record<string, unknown>) {
  const { sql } = buildFilter(filter, after !== undefined);
  const statuses = filter.statuses ? [...new Set(filter.statuses)] : undefined;
  return positional(statement(statuses ? `status = ANY(@statuses) AND ${sql}` : sql), {
    ...filterParams(filter),
    ...(statuses ? { statuses } : {}),
    ...(after ? { after_at: after.createdAt, after_id: after.instanceId } : {}),
    ...extra,
  });
}

/** SQL with `@name` parameters (instance-filter.ts) as PostgreSQL's `$n`, with the values in order. */
function positional(sql: string, params: Record<string, unknown>): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const index = new Map<string, number>();
  const text = sql.replace(/@([a-z_]+)/g, (_match, name: string) => {
    if (!(name in params)) throw new Error(`no value for @${name}`);
    let n = index.get(name);
    if (n === undefined) {
      values.push(params[name]);
      n = values.length;
      index.set(name, n);
    }
    return `$${n}`;
  });
  return { text, values };
}

/** The URL without its password, for logs and messages. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable PostgreSQL URL)";
  }
}

/** A poke's payload, the Poke as JSON; anything else (a replica of another version) is ignored. */
function parsePoke(payload: string): Poke | undefined {
  try {
    const poke = JSON.parse(payload) as Partial<Record<string, unknown>>;
    const text = (key: string) => (typeof poke[key] === "string" ? (poke[key] as string) : undefined);
    const instanceId = text("instanceId");
    if (poke.kind === "instance" && instanceId !== undefined) return { kind: "instance", instanceId };
    const workflowName = text("workflowName");
    if (poke.kind === "offer" && instanceId !== undefined && workflowName !== undefined) return { kind: "offer", instanceId, workflowName };
    const appId = text("appId");
    if (poke.kind === "activities" && appId !== undefined) return { kind: "activities", appId };
    return undefined;
  } catch {
    return undefined;
  }
}
