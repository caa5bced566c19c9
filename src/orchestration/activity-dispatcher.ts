/**
 * Runs queued activities on workers, at least once.
 *
 * An activity is leased from the store before it runs; its result is committed together
 * with the deletion of the queue row. A crash, a lost worker or an expired lease leaves the
 * row in place and it runs again; a second result for the same row finds it gone and is
 * dropped, so history never holds two results for one task.
 */
import type { Logger } from "pino";
import { limits } from "../limits.js";
import { newEvent, type HistoryEvent } from "../engine/history.js";
import type { ActivityLease, ActivityWork, WorkflowStore } from "../store/store.js";
import type { EngineObserver } from "./engine-observer.js";
import type { PendingResults } from "./pending-results.js";
import type { SpanHandle, WorkflowTracer } from "./tracing.js";
import { type ActivityResult, type Worker, WorkerUnavailableError, type WorkerSet } from "./worker.js";

export interface ActivityDispatcherDeps {
  store: WorkflowStore;
  workers: WorkerSet;
  clock: () => number;
  logger: Logger;
  /** Names this replica (a process that restarts keeps it): its earlier leases are voided at start. */
  replicaId: string;
  /** Identifies this run's leases: `<replicaId>/<something unique to the run>`. */
  leaseOwner: string;
  leaseMs: number;
  /** The app ID this process serves: it runs only activities of this app (or of none recorded). */
  appId: string;
  /**
   * The store is shared by replicas: this process renews its leases every heartbeat (they
   * last `leaseMs` past the last renewal, so a dead replica's activities run elsewhere soon)
   * and looks for expired ones as often.
   */
  renewLeasesEveryMs?: number | undefined;
  activityConcurrencyMax: number;
  /** Called when a result reached an instance's inbox. */
  onResultDelivered: (instanceId: string) => void;
  /** Called when the count of pending activities fell at a re-sync (the scheduler may admit new instances). */
  onPendingDropped: () => void;
  /**
   * Where results go for the instance's next turn to record (no write of their own); without
   * it each result is written to the instance's inbox.
   */
  pendingResults?: PendingResults | undefined;
  observer: EngineObserver;
  tracer: WorkflowTracer;
}

export class ActivityDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  /** Slots promised to turns that lease their activities in their own commit (see `reserve`). */
  private reserved = 0;
  /**
   * Activities queued or running (a tally: turns add what they schedule, results take one
   * off; re-synced with the table every few seconds, since a finished or continued instance
   * drops its queued rows). The scheduler admits new instances only while it is small.
   */
  private pendingTally = 0;
  private tallyTimer: NodeJS.Timeout | undefined;
  private claiming = false;
  /** False once a claim found nothing left to claim, until work may be queued again. */
  private mayBeQueued = true;
  private claimAgain = false;
  private leaseTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** A read of the next lease expiry is under way. */
  private armingLeaseCheck = false;
  private stopped = false;
  private heartbeatStopped = false;

  constructor(private readonly deps: ActivityDispatcherDeps) {
    deps.workers.onChange(() => this.pump());
  }

  /** Recovery: this replica's previous run is gone, so its leases are void. */
  async start(): Promise<void> {
    const released = await this.deps.store.releaseLeasesOf(this.deps.replicaId);
    if (released > 0) this.deps.logger.info({ released }, "requeued activities leased before the last stop");
    await this.resyncTally();
    this.pump();
    if (this.deps.renewLeasesEveryMs) this.heartbeat(this.deps.renewLeasesEveryMs);
    // Another app's workflow queued activities for this app (a cross-app call): claim them now.
    if (this.deps.store.shared) {
      await this.deps.store.onPoke((poke) => {
        if (poke.kind === "activities" && poke.appId === this.deps.appId) this.pump();
      });
    }
  }

  /** Renews this run's leases, then claims what expired (a dead replica's work), every `everyMs`. */
  private heartbeat(everyMs: number): void {
    this.heartbeatTimer = setTimeout(() => {
      const { store, leaseOwner, leaseMs } = this.deps;
      store.renewLeases(leaseOwner, this.deps.clock() + leaseMs).then(
        () => this.pump(),
        (error: unknown) => this.deps.logger.error({ err: error }, "could not renew this replica's activity leases; retrying"),
      ).finally(() => {
        if (!this.heartbeatStopped) this.heartbeat(everyMs);
      });
    }, everyMs);
    this.heartbeatTimer.unref();
  }

  /** Activities queued or running now (approximately; see `pendingTally`). */
  get pending(): number {
    return this.pendingTally;
  }

  /** A committed turn queued `count` activities. */
  scheduled(count: number): void {
    this.pendingTally += count;
  }

  private async resyncTally(): Promise<void> {
    if (this.stopped) return;
    try {
      const counted = await this.deps.store.countActivities();
      const before = this.pendingTally;
      this.pendingTally = counted;
      if (this.pendingTally < before) this.deps.onPendingDropped();
    } catch (error) {
      this.deps.logger.error({ err: error }, "could not count queued activities; retrying");
    }
    if (this.stopped) return;
    this.tallyTimer = setTimeout(() => void this.resyncTally(), limits.activityTallyResyncMs);
    this.tallyTimer.unref();
  }

  /**
   * New activity work may be queued (or a lease expired, or a worker came): claim it. One
   * claim is in flight at a time (it is a write and goes through the group commit); calls
   * meanwhile ask for one more claim after it.
   */
  pump(): void {
    this.mayBeQueued = true;
    this.claim();
  }

  /**
   * Claims queued work into free slots, unless the last claim found the queue empty and
   * nothing was queued since (a finished activity then costs no empty claim write: turns
   * lease what they schedule in their own commit).
   */
  private claim(): void {
    if (this.stopped || !this.mayBeQueued) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    const free = this.deps.activityConcurrencyMax - this.inFlight.size - this.reserved;
    if (free <= 0 || this.deps.workers.size === 0) return;
    const names = this.deps.workers.activityNames();
    if (names !== undefined && names.length === 0) return;
    this.claiming = true;
    this.claimAgain = false;
    const { store, leaseOwner, leaseMs } = this.deps;
    const now = this.deps.clock();
    store.claimActivities(leaseOwner, now, leaseMs, free, names, this.deps.appId).then(
      (work) => {
        this.claiming = false;
        if (this.stopped) return; // leased rows are released at the next start
        const more = this.claimAgain || work.length === free;
        if (!more) this.mayBeQueued = false;
        this.startWork(work);
        if (more) this.claim();
      },
      (error: unknown) => {
        this.claiming = false;
        // Storage fault: try again shortly rather than losing the wake-up.
        this.deps.logger.error({ err: error }, "could not claim activities; retrying");
        this.retryPumpLater();
      },
    );
  }

  /**
   * Slots for up to `count` activities a turn is about to schedule: the turn's commit leases
   * them to this dispatcher (`lease`), and `settle` with what it leased runs them at once, so
   * an activity costs no claim write of its own. `settle([])` after a commit that failed.
   * Undefined when no slot is free (the activities are then queued and claimed as usual).
   */
  reserve(count: number): { lease: ActivityLease; settle: (leased: readonly ActivityWork[]) => void } | undefined {
    if (this.stopped || count <= 0) return undefined;
    const max = Math.min(count, this.deps.activityConcurrencyMax - this.inFlight.size - this.reserved);
    if (max <= 0) return undefined;
    this.reserved += max;
    let settled = false;
    return {
      lease: {
        owner: this.deps.leaseOwner,
        expiresAt: this.deps.clock() + this.deps.leaseMs,
        max,
        serves: (name) => this.deps.workers.forActivity(name) !== undefined,
        appId: this.deps.appId,
      },
      settle: (leased) => {
        if (settled) return;
        settled = true;
        this.reserved -= max;
        if (this.stopped) return; // leased rows are released at the next start
        this.startWork(leased);
      },
    };
  }

  private startWork(work: readonly ActivityWork[]): void {
    if (work.length === 0) return;
    this.armLeaseCheck();
    for (const item of work) {
      const run = this.run(item).finally(() => {
        this.inFlight.delete(run);
        this.claim();
      });
      this.inFlight.add(run);
    }
  }

  private retryPumpLater(): void {
    if (this.leaseTimer || this.stopped) return;
    this.leaseTimer = setTimeout(() => ((this.leaseTimer = undefined), this.pump()), limits.storageRetryMs);
  }

  /**
   * Stops claiming and waits up to `graceMs` for running activities. Results that arrive
   * later are dropped; those activities run again after the next start.
   */
  async stop(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.inFlight]), grace]);
    clearTimeout(timer);
    this.stopped = true;
    // Renewed until here, while activities could still finish; what is left expires and runs elsewhere.
    this.heartbeatStopped = true;
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.leaseTimer) clearTimeout(this.leaseTimer);
    if (this.tallyTimer) clearTimeout(this.tallyTimer);
  }

  private async run(item: ActivityWork): Promise<void> {
    const worker = this.deps.workers.forActivity(item.name);
    if (!worker) return this.giveBack(item); // it runs when a worker for it appears
    const span = this.deps.tracer.activity(item.name, item.instanceId, item.taskId, item.scheduled?.parentTraceContext);
    try {
      await this.runOn(worker, item, span);
    } finally {
      span.end(); // idempotent: runOn ends it with its outcome first
    }
  }

  private async runOn(worker: Worker, item: ActivityWork, span: SpanHandle): Promise<void> {
    let result: ActivityResult;
    const began = performance.now();
    try {
      result = await worker.executeActivity({
        name: item.name,
        input: item.input,
        instanceId: item.instanceId,
        executionId: item.executionId,
        taskId: item.taskId,
        attempt: item.attempts,
        scheduled: item.scheduled,
        propagatedHistory: item.propagatedHistory,
        parentTraceContext: span.context,
      });
    } catch (error) {
      span.end(`not run: ${error instanceof Error ? error.message : String(error)}`);
      // The worker could not run it (its stream closed, or it never answered within the
      // lease): give the row back so it runs again now, on whichever worker is there.
      if (error instanceof WorkerUnavailableError) {
        this.deps.logger.warn({ instanceId: item.instanceId, taskId: item.taskId, reason: error.message }, "activity worker went away; requeued");
      } else {
        this.deps.logger.error({ err: error, instanceId: item.instanceId, taskId: item.taskId }, "activity dispatch failed; requeued");
      }
      return this.giveBack(item);
    }
    span.end(result.ok ? undefined : result.failure.errorMessage);
    if (this.stopped) return;
    this.deps.observer.activityExecuted({ name: item.name, ok: result.ok, durationMs: performance.now() - began });
    const now = this.deps.clock();
    // The result names the execution ID it answers, as durabletask records it.
    const taskExecutionId = item.scheduled?.taskExecutionId;
    const event: HistoryEvent = result.ok
      ? newEvent({ kind: "taskCompleted", taskScheduledId: item.taskId, result: result.result, ...(taskExecutionId ? { taskExecutionId } : {}) }, now)
      : newEvent({ kind: "taskFailed", taskScheduledId: item.taskId, failureDetails: result.failure, ...(taskExecutionId ? { taskExecutionId } : {}) }, now);
    if (this.deps.pendingResults) {
      // The next turn's commit records it (and deletes the row); see pending-results.ts.
      this.deps.pendingResults.add(item.instanceId, { activitySeq: item.seq, executionId: item.executionId, event });
      this.pendingTally = Math.max(0, this.pendingTally - 1);
      this.deps.onResultDelivered(item.instanceId);
      return;
    }
    await this.record(item, event, now);
  }

  /** Writes results still held in memory to their instances' inboxes (at a clean stop). */
  async recordPending(): Promise<void> {
    const waiting = this.deps.pendingResults?.drain() ?? [];
    if (waiting.length === 0) return;
    const { store } = this.deps;
    const now = this.deps.clock();
    try {
      // Called together, they share one group commit.
      await Promise.all(waiting.map(({ result }) => store.completeActivity(result.activitySeq, result.event, now)));
    } catch (error) {
      // Their rows stay leased: the activities run again after the next start.
      this.deps.logger.error({ err: error, results: waiting.length }, "could not record activity results at stop; they run again after the next start");
    }
  }

  /** Writes one result to the instance's inbox and deletes the queue row. */
  private async record(item: ActivityWork, event: HistoryEvent, now: number): Promise<void> {
    // A storage fault (disk full, I/O error) must not strand the result until the lease
    // expires: retry recording it, and if that keeps failing give the row back so the
    // activity runs again as soon as the store works.
    const { store } = this.deps;
    for (let attempt = 1; ; attempt++) {
      try {
        const delivered = await store.completeActivity(item.seq, event, now);
        // Delivered or gone (another run answered, the instance finished): off the queue either way.
        this.pendingTally = Math.max(0, this.pendingTally - 1);
        if (delivered === "delivered") this.deps.onResultDelivered(item.instanceId);
        return;
      } catch (error) {
        this.deps.logger.error({ err: error, instanceId: item.instanceId, taskId: item.taskId, attempt }, "could not record activity result");
        if (this.stopped) return;
        if (attempt >= limits.resultRecordAttemptsMax) return this.giveBack(item);
        await new Promise((resolve) => setTimeout(resolve, limits.storageRetryMs));
        if (this.stopped) return;
      }
    }
  }

  private async giveBack(item: ActivityWork): Promise<void> {
    if (this.stopped) return;
    try {
      const { store, leaseOwner } = this.deps;
      await store.releaseLease(item.seq, leaseOwner);
      this.mayBeQueued = true; // the row is free again: the next claim takes it
    } catch (error) {
      // Storage fault: the lease expires in time and the activity runs then.
      this.deps.logger.error({ err: error, instanceId: item.instanceId, taskId: item.taskId }, "could not release an activity lease");
    }
  }

  /** Wakes when the earliest lease expires, so expired work is claimed again. */
  private armLeaseCheck(): void {
    if (this.leaseTimer || this.armingLeaseCheck || this.stopped) return;
    this.armingLeaseCheck = true;
    this.deps.store.nextLeaseExpiry().then(
      (at) => {
        this.armingLeaseCheck = false;
        if (at === undefined || this.leaseTimer || this.stopped) return;
        const delay = Math.max(0, at - this.deps.clock()) + 1;
        this.leaseTimer = setTimeout(() => {
          this.leaseTimer = undefined;
          this.pump();
        }, Math.min(delay, 2_147_483_647));
      },
      (error: unknown) => {
        // A read fault must not keep the leased work from running; check the leases again later.
        this.armingLeaseCheck = false;
        this.deps.logger.error({ err: error }, "could not read the next lease expiry; retrying");
        this.retryPumpLater();
      },
    );
  }
}
