/**
 * Every limit and default time in one place, with why it has the value it has.
 * Configuration (`config.ts`) may override the ones marked "default"; the relations between
 * them are checked by test/limits.test.ts.
 */
export const limits = {
  /** Default HTTP body limit, as daprd's `--max-body-size` default (4 MiB). */
  bodyBytesDefault: 4 * 1024 * 1024,
  /**
   * Inbox events one turn takes at most. A fan-in of 1,000 results becomes a few turns of
   * this size, each a single commit, instead of one unbounded replay.
   */
  inboxBatchMax: 1000,
  /**
   * Turns running at once across all instances (one per instance at any time). A turn holds
   * its slot until its group commit is on disk, so this bounds how many turns share a group
   * and how many groups are in flight between the event loop and the SQLite writer thread:
   * 10,000 chains started together ran 777–860/s at 256 against 607–671/s at 64 (inline
   * writes), and on the writer thread 1,073–1,105/s at 1,024 against 862–923/s at 256 (with
   * as many activity slots; docs/performance.md).
   */
  turnConcurrencyMax: 1024,
  /**
   * Active instances kept hot between steps (LRU): the committed history and its fold in the
   * store, and the live replay of an in-process workflow, so a step neither re-reads nor
   * replays the whole history. Finished instances leave at once; 0 turns both caches off.
   */
  hotInstancesDefault: 10_000,
  /**
   * Default bound on instances waiting for a turn (queued, running or parked for a worker):
   * past it, starts are refused with 429 / RESOURCE_EXHAUSTED and a retry hint instead of
   * admitting work faster than it can ever run (well above what the benchmarks here reach).
   */
  backlogMaxDefault: 250_000,
  /** The Retry-After a refused start carries, in seconds. */
  backlogRetryAfterSeconds: 1,
  /**
   * The scheduler gives every n-th free turn slot to a new instance when instances under way
   * also wait (see turn-scheduler.ts): new starts get at least 1/n of the turns under load,
   * and work under way the rest, so a backlog drains by completing instances.
   */
  freshShare: 4,
  /**
   * New instances get their first turn only while fewer activities than this are queued or
   * running (with `freshShare`): work under way then drains depth-first instead of every
   * queued instance taking a step before any finishes (a 200,000 backlog completed 7/s).
   */
  activitiesPendingForNewTurnsMax: 1_000,
  /** How often the activity dispatcher re-syncs its tally of pending activities with the table. */
  activityTallyResyncMs: 2_000,
  /**
   * Activities running at once in this process, counting those leased by turns whose commit
   * is in flight (a slot is reserved from the turn's start to its commit). daprd sets no
   * limit; 64 capped 10,000 chains at about 900/s whatever else was done, 1,024 does not.
   */
  activityConcurrencyMax: 1024,
  /** Default activity lease: after this long without a result, the activity runs again. */
  activityLeaseMsDefault: 5 * 60 * 1000,
  /**
   * On a store shared by replicas: how long a replica's turn claim on an instance and its
   * activity leases last without renewal (turns renew the claim, a heartbeat the leases), and
   * how often a replica renews its leases and scans for due work nobody holds. A replica that
   * dies has its work taken over within a claim plus a scan: 5 s.
   */
  sharedClaimMs: 4_000,
  sharedHeartbeatMs: 1_000,
  /** Instances a scan of a shared store notifies at most. */
  sharedScanBatch: 1_000,
  /**
   * A worker's turn that takes longer than this is abandoned and retried with back-off, so a
   * workflow awaiting something that never settles (or a remote worker that dropped the
   * item) cannot hold its instance, or shutdown, forever.
   */
  turnTimeoutMs: 60_000,
  /** A version conflict reloads and retries the turn this many times before backing off. */
  conflictRetriesMax: 5,
  /** Back-off after a failed turn (storage fault, worker gone): doubles from the first value up to the max. */
  retryDelayMsMin: 50,
  retryDelayMsMax: 30_000,
  /** After a storage fault in background work (timer wake-up, activity claim), retry after this long. */
  storageRetryMs: 1_000,
  /** Tries to record an activity's result through storage faults before the activity is run again. */
  resultRecordAttemptsMax: 5,
  /** Default wait for a lock held by another connection before a statement fails. */
  busyTimeoutMsDefault: 5_000,
  /** On SIGTERM, how long in-flight turns and activities may take before the process exits. */
  shutdownGraceMsDefault: 10_000,
  /** A wait for an instance's state re-reads it at least this often (another process may write it). */
  instanceWatchPollMs: 1_000,
  /** Terminate, suspend and resume over gRPC wait this long for the change to show, as daprd does. */
  grpcCommandWaitMs: 5_000,
  /**
   * Work items in flight on one GetWorkItems stream. The Node SDK runs 10 and queues 100,
   * and silently drops anything beyond; more wait on the server until a reply frees a slot.
   */
  grpcStreamItemsMax: 50,
  /** gRPC message size limit both ways: the Dapr SDK clients' own setting (128 MiB). */
  grpcMessageBytesMax: 128 * 1024 * 1024,
  /** Top-level instances one bulk purge call deletes at most (HTTP and gRPC); `isComplete` is false while more match. */
  bulkPurgeInstancesMax: 10_000,
  /** Listing page sizes (HTTP list, gRPC QueryInstances / ListInstanceIDs): the default and the largest. */
  listPageSizeDefault: 100,
  listPageSizeMax: 1_000,
  /** History page sizes (HTTP history): the default and the largest. */
  historyPageSizeDefault: 1_000,
  historyPageSizeMax: 10_000,
  /** How often the retention sweeper looks for instances past their policy (a cheap indexed query). */
  retentionCheckMs: 2_000,
  /**
   * A workflow no worker serves is warned about only after this long: an SDK app starting up
   * schedules its workflows a moment before its worker stream is connected.
   */
  unservedWorkflowWarnMs: 5_000,
  /** Node's setTimeout fires at once beyond this; longer waits are re-armed in steps. */
  timerDelayMsMax: 2_147_483_647,
} as const;
