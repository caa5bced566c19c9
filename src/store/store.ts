/**
 * The store behind one interface: what the orchestration layer needs from durable storage,
 * whatever keeps it (SQLite, the embedded default, in sqlite/sqlite-store.ts; a shared server
 * database next). Everything is asynchronous, so a store may run its statements on another
 * thread or across a network.
 *
 * The contract every implementation keeps (test/store/contract.test.ts holds it):
 * - Each write method is one atomic transaction, and its promise resolves only once that
 *   transaction is durable: nothing is acknowledged before it is on disk. A store may commit
 *   the writes called in the same moment together (group commit), each still all-or-nothing.
 * - Every write of an instance's turn checks and bumps its `version` (`commitTurn`,
 *   `rewind`): a writer that loaded an older version gets "conflict", never overwrites.
 * - Outcomes that are not faults (not found, exists, conflict) are return values; storage
 *   faults reject (and `StoreCorruptionError` marks rows that do not decode).
 * - Reads see every write whose promise has resolved.
 */
import type { ExecutionStarted, FailureDetails, HistoryEvent, PropagatedHistory, TaskScheduled } from "../engine/history.js";
import type { HistoryFold, InstanceState, RuntimeStatus } from "../engine/state.js";
import type { Effect, InboxItem, TurnOutcome } from "../engine/turn.js";

export interface InstanceRecord {
  instanceId: string;
  name: string;
  executionId: string;
  status: RuntimeStatus;
  createdAt: number;
  lastUpdatedAt: number;
  input: string | undefined;
  output: string | undefined;
  customStatus: string | undefined;
  failureDetails: FailureDetails | undefined;
  parentInstanceId: string | undefined;
  /** The orchestration version string (durabletask's `version`) of the current execution. */
  workflowVersion: string | undefined;
  /**
   * The app ID that runs the instance's turns (multi-app workflows, see engine/apps.ts);
   * undefined for instances recorded before app IDs were: any app runs them.
   */
  appId: string | undefined;
  historyLength: number;
  version: number;
}

export interface TurnSnapshot {
  instance: InstanceRecord;
  history: readonly HistoryEvent[];
  inbox: InboxItem[];
  /** The fold of `history`, when it came from the hot-history cache. Never modify it. */
  fold?: HistoryFold | undefined;
  /** Of the activity rows the load was asked about, those that still exist. */
  liveActivities: ReadonlySet<number>;
}

export interface TurnCommit {
  instanceId: string;
  /** The version the snapshot was loaded at. */
  expectedVersion: number;
  /** History length at load time; appended events are numbered from here. */
  historyLength: number;
  consumedSeqs: readonly number[];
  /**
   * Activity rows whose results this turn took in memory (not from the inbox): deleted in
   * this commit, which conflicts if one is gone (its result was recorded otherwise).
   */
  consumedActivities?: readonly number[] | undefined;
  /**
   * Results held in memory that this turn leaves queued (a stalled turn keeps its events):
   * written to the inbox, in the order the turn saw them, with their activity rows deleted.
   */
  keptResults?: readonly { activitySeq: number; executionId: string; event: HistoryEvent }[] | undefined;
  outcome: TurnOutcome;
  now: number;
  /**
   * The listed columns as loaded (the version guard makes them current): the commit rewrites
   * them only when the turn changed one. Without it they are always rewritten.
   */
  loaded?: Pick<InstanceRecord, "status" | "name" | "createdAt"> | undefined;
  /** The instance's app: its activities that name no target app run there. */
  appId?: string | undefined;
  /**
   * Lease the activities this turn schedules, in this same commit, to a dispatcher that runs
   * them at once (instead of a claim that is a write of its own).
   */
  lease?: ActivityLease | undefined;
}

/** Who leases a turn's new activities, until when, how many at most, and which names (of which app). */
export interface ActivityLease {
  owner: string;
  expiresAt: number;
  max: number;
  serves: (activityName: string) => boolean;
  /** The leaseholder's app: an activity another app must run is left queued for it. */
  appId: string;
}

export type CommitResult =
  /** `leased`: the activities this commit queued already leased (see `TurnCommit.lease`). */
  | { kind: "committed"; touchedInstanceIds: string[]; leased: ActivityWork[] }
  | { kind: "conflict"; reason: string };

export type EnqueueResult = "queued" | "not-found" | "terminal";

export interface InstanceIdPage {
  instanceIds: string[];
  /** Present when the page was full: more may follow. */
  continuationToken: string | undefined;
}

/** What a listing selects; every field optional, all combined (AND). Times in ms, `To` exclusive. */
export interface InstanceFilter {
  statuses?: readonly RuntimeStatus[] | undefined;
  name?: string | undefined;
  createdFrom?: number | undefined;
  createdTo?: number | undefined;
  lastUpdatedFrom?: number | undefined;
  lastUpdatedTo?: number | undefined;
  /** A literal, case-sensitive prefix. */
  instanceIdPrefix?: string | undefined;
  /** Direct children of this instance. */
  parentInstanceId?: string | undefined;
  /** Only instances without a parent (or whose parent was purged). */
  rootsOnly?: boolean | undefined;
}

/** A position in the newest-first order (created_at, then instance_id, descending). */
export interface ListPosition {
  createdAt: number;
  instanceId: string;
}

export interface PurgeOptions {
  /** Also purge the instance's children, and theirs. */
  recursive: boolean;
  /** Purge whatever the status (a running instance's queued work is dropped with it). */
  force: boolean;
}

export type PurgeResult =
  | { kind: "purged"; instanceIds: string[] }
  | { kind: "not-found" }
  | { kind: "not-terminal"; instanceId: string; status: RuntimeStatus };

export interface ActivityWork {
  seq: number;
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  input: string | undefined;
  /** The TaskScheduled event (undefined for rows queued by an older workflowd). */
  scheduled: TaskScheduled | undefined;
  /** The history the activity receives (history propagation). */
  propagatedHistory: PropagatedHistory | undefined;
  attempts: number;
}

/** A rewind's writes (see engine/rewind.ts), planned from reads made before it. */
export interface RewindWrite {
  /** Children decided after the failure: purged with their descendants, which must all be finished. */
  purge: readonly string[];
  /** Each rewound instance's new history and state, guarded by the version its plan read. */
  rewrite: readonly {
    instanceId: string;
    expectedVersion: number;
    events: readonly HistoryEvent[];
    state: InstanceState;
    effects: readonly Effect[];
    inbox: readonly HistoryEvent[];
  }[];
  now: number;
}

export type RewindWriteResult =
  | { kind: "rewound" }
  /** A rewound instance changed since its plan was read: nothing written; plan again. */
  | { kind: "conflict"; instanceId: string }
  /** A child to purge has an unfinished descendant: nothing written. */
  | { kind: "not-terminal"; instanceId: string; status: RuntimeStatus };

export interface QueueDepths {
  readyInstances: number;
  pendingTimers: number;
  queuedActivities: number;
  runningActivities: number;
}

export interface StoreSettings {
  /** How commits reach the disk, for start-up logs and benchmarks. */
  durability: string;
  [setting: string]: string | number;
}

/** Who runs an instance's next turn, until when (a store shared by replicas; see `loadTurn`). */
export interface TurnClaim {
  owner: string;
  until: number;
  /** The claimant's app: an instance of another app is not claimed (it is "claimed-elsewhere"). */
  appId: string;
}

/** What a poke tells the replicas of a shared store (see `WorkflowStore.poke`). */
export type Poke =
  /** The instance has new work: for the replica that holds its turn claim. */
  | { kind: "instance"; instanceId: string }
  /** No claim holds the instance (this replica cannot run it): for the replicas whose workers serve `workflowName`. */
  | { kind: "offer"; instanceId: string; workflowName: string }
  /** Activities were queued for an app (another app's, by a cross-app call): for that app's replicas. */
  | { kind: "activities"; appId: string };

export interface WorkflowStore {
  /** Where the data lives (a file path), for logs. */
  readonly location: string;
  readonly isOpen: boolean;
  /**
   * Other processes (replicas) may use this store too: turns are claimed (`loadTurn`), due
   * work is found by scanning for it, and activity leases are renewed while they run.
   */
  readonly shared: boolean;
  settings(): StoreSettings;
  close(): Promise<void>;
  /** For health checks: rejects if the store cannot be read, or was seen damaged since start-up. */
  ping(): Promise<void>;

  // -- Instances --------------------------------------------------------------------
  /** A PENDING instance and its queued start event; "exists" when the ID is taken in any state. */
  createInstance(start: ExecutionStarted): Promise<"created" | "exists">;
  getInstance(instanceId: string): Promise<InstanceRecord | undefined>;
  /** Queues an event for an instance; events for a finished instance are not stored. */
  enqueue(instanceId: string, event: HistoryEvent, visibleAt: number): Promise<EnqueueResult>;
  /**
   * Deletes an instance and everything it owns (with `recursive`, its descendants too); only
   * when all of them are finished, unless `force`.
   */
  purge(instanceId: string, options: PurgeOptions): Promise<PurgeResult>;
  /** Purges and rewrites a rewind's instances in one transaction. */
  rewind(write: RewindWrite): Promise<RewindWriteResult>;
  /** An instance with a history of its own (a rerun's fork) and the work it has outstanding; "exists" when the ID is taken. */
  createFork(instanceId: string, events: readonly HistoryEvent[], state: InstanceState, effects: readonly Effect[], now: number): Promise<"created" | "exists">;

  // -- Queries ----------------------------------------------------------------------
  /** Up to `pageSize` instance IDs after position `after` (all when no size), in creation order. */
  listInstanceIds(after: number, pageSize: number | undefined): Promise<InstanceIdPage>;
  /** Up to `limit` instances matching the filter, newest first, strictly after `after`. */
  listInstances(filter: InstanceFilter, after: ListPosition | undefined, limit: number): Promise<InstanceRecord[]>;
  /** How many instances match the filter, by status (statuses with none are left out). */
  countInstances(filter: InstanceFilter): Promise<Partial<Record<RuntimeStatus, number>>>;
  /** Up to `limit` committed history events from position `from`; undefined when unknown. */
  historyPage(instanceId: string, from: number, limit: number): Promise<{ events: HistoryEvent[]; length: number; executionId: string } | undefined>;
  /** The committed history (not the events of a turn in flight); undefined when unknown. */
  history(instanceId: string): Promise<readonly HistoryEvent[] | undefined>;
  /** Instances with status `status` that finished before `before`, oldest first, after a position (retention). */
  finishedBefore(status: RuntimeStatus, before: number, after: { at: number; instanceId: string } | undefined, limit: number): Promise<{ instanceId: string; at: number }[]>;
  /** The key that signs continuation tokens (made once per database). */
  pageTokenKey(): Promise<string>;
  /** Instances that are STALLED (versioning), to run again when a worker connects. */
  stalledInstanceIds(): Promise<string[]>;
  /** Queue depths for metrics. */
  queueDepths(now: number): Promise<QueueDepths>;

  // -- Turns ------------------------------------------------------------------------
  /**
   * The row, the committed history and up to `inboxLimit` visible inbox rows; undefined when
   * unknown. With a claim, on a shared store, the instance is claimed for `claim.owner` until
   * `claim.until` (renewed if it holds it already): "claimed-elsewhere" when another owner's
   * claim is current, or when the instance belongs to another app. A store one process owns
   * ignores claims. `activitySeqs`: activity rows whose results the turn holds in memory; the
   * snapshot says which still exist (a result whose row is gone is stale).
   */
  loadTurn(instanceId: string, now: number, inboxLimit: number, claim?: TurnClaim, activitySeqs?: readonly number[]): Promise<TurnSnapshot | undefined | "claimed-elsewhere">;
  /**
   * Gives up the turn claims `owner` holds: all of them (a clean stop: other replicas take over
   * at once), or the one on `instanceId` (a workflow this replica cannot run).
   */
  releaseTurnClaims(owner: string, instanceId?: string): Promise<void>;
  /**
   * A hint after a durable commit: the history the turn committed, so the next load of the
   * instance need not read it again. A store may ignore it.
   */
  rememberTurn(instanceId: string, committedVersion: number, past: readonly HistoryEvent[], outcome: TurnOutcome): void;
  /** Commits a turn's outcome in one transaction guarded by the instance version. */
  commitTurn(commit: TurnCommit): Promise<CommitResult>;

  // -- Scheduling -------------------------------------------------------------------
  /**
   * Instances with at least one visible inbox row: the ones that need a turn. With a claimant,
   * on a shared store, not those another owner's current claim holds, nor another app's.
   */
  dueInstanceIds(now: number, limit: number, claimant?: { owner: string; appId: string }): Promise<string[]>;
  /** Instances with rows that became visible in (`after`, `upTo`] (a timer wake-up). */
  instancesDueBetween(after: number, upTo: number): Promise<string[]>;
  /** When the next not-yet-visible inbox row (a timer) becomes visible. */
  nextVisibleAt(now: number): Promise<number | undefined>;

  // -- Activities -------------------------------------------------------------------
  /**
   * Leases up to `limit` free or expired activities to `owner`; `names` restricts them to what a
   * worker runs, `appId` to those of that app (or of none recorded).
   */
  claimActivities(owner: string, now: number, leaseMs: number, limit: number, names?: readonly string[], appId?: string): Promise<ActivityWork[]>;
  /** Records an activity's result in its instance's inbox and deletes its row; "gone" when the row is gone (the result is dropped). */
  completeActivity(seq: number, result: HistoryEvent, now: number): Promise<"delivered" | "gone">;
  /**
   * Start-up recovery: voids the leases (and turn claims) an earlier run of this replica held
   * (owners are `<replicaId>/<run>`), so its work goes on at once; answers how many activity
   * leases. A store one process owns voids every lease (no other process can hold one).
   */
  releaseLeasesOf(replicaId: string): Promise<number>;
  /** Gives a leased activity back at once; only the lease holder may. */
  releaseLease(seq: number, owner: string): Promise<boolean>;
  /** Activities queued or running. */
  countActivities(): Promise<number>;
  /** When the earliest current lease expires. */
  nextLeaseExpiry(): Promise<number | undefined>;
  /** Extends every activity lease `owner` holds to `until` (a live replica's heartbeat). */
  renewLeases(owner: string, until: number): Promise<number>;
  /**
   * A wake-up across the processes of a shared store, delivered to every `onPoke` listener of
   * the database (this process's too). A store one process owns does nothing.
   */
  poke(poke: Poke): Promise<void>;
  /** Hears the pokes of every process on the database (a shared store; others never call it). */
  onPoke(listener: (poke: Poke) => void): Promise<void>;
  /**
   * Whether `owner` leads `task` (a job one replica at a time does, such as retention) until
   * `until`: true when it led it already or nobody's lead is current. A store one process owns
   * always answers true.
   */
  lead(task: string, owner: string, now: number, until: number): Promise<boolean>;
}
