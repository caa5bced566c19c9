/**
 * Wires the orchestration layer together over one store: the worker set, the turn
 * scheduler, the activity dispatcher and the management service. Start-up recovery and
 * graceful stop live here; transports (HTTP, gRPC) only hold references to `service` and `queries`.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { limits } from "../limits.js";
import type { WorkflowStore } from "../store/store.js";
import { ActivityDispatcher } from "./activity-dispatcher.js";
import { type EngineObserver, silentObserver } from "./engine-observer.js";
import { InstanceQueries } from "./instance-queries.js";
import { InstanceWatch } from "./instance-watch.js";
import { type RetentionPolicy, RetentionSweeper } from "./retention-sweeper.js";
import { PendingResults } from "./pending-results.js";
import { propagatingTracer, type WorkflowTracer } from "./tracing.js";
import { TurnScheduler } from "./turn-scheduler.js";
import { WorkerSet } from "./worker.js";
import { WorkflowService } from "./workflow-service.js";

export interface WorkflowEngineOptions {
  store: WorkflowStore;
  logger: Logger;
  clock?: () => number;
  activityLeaseMs?: number;
  turnTimeoutMs?: number;
  /** Hears about starts, turns and activities (metrics). */
  observer?: EngineObserver;
  /** Purge finished instances after these times (daprd's stateRetentionPolicy); none when undefined. */
  retention?: RetentionPolicy | undefined;
  /** Spans for starts, turns and activities; contexts are only handed on without it. */
  tracer?: WorkflowTracer | undefined;
  /** Client starts are refused while this many instances wait for a turn (default limits.backlogMaxDefault). */
  backlogMax?: number | undefined;
  /**
   * Names this process among the ones sharing a store, stable across its restarts (default
   * "workflowd": right for a store one process owns).
   */
  replicaId?: string | undefined;
  /**
   * The app ID this process serves (daprd's --app-id; default "workflowd"): instances it starts
   * belong to it, and it runs only the turns and activities of its app (multi-app workflows).
   */
  appId?: string | undefined;
}

export class WorkflowEngine {
  readonly workers: WorkerSet;
  readonly service: WorkflowService;
  /** Listing, counts and history pages. */
  readonly queries: InstanceQueries;
  /** Waits for instances to reach a state (the gRPC wait calls). */
  readonly watch: InstanceWatch;
  private readonly scheduler: TurnScheduler;
  private readonly dispatcher: ActivityDispatcher;
  private readonly sweeper: RetentionSweeper | undefined;
  private state: "new" | "running" | "stopping" | "stopped" = "new";

  constructor(private readonly options: WorkflowEngineOptions) {
    const { store, logger } = options;
    const clock = options.clock ?? Date.now;
    const observer = options.observer ?? silentObserver;
    const tracer = options.tracer ?? propagatingTracer;
    const backlogMax = options.backlogMax ?? limits.backlogMaxDefault;
    // Activity results reach the next turn in memory and are recorded by its commit.
    const pendingResults = new PendingResults();
    const newExecutionId = () => randomUUID().replaceAll("-", "");
    const replicaId = options.replicaId ?? "workflowd";
    const appId = options.appId ?? "workflowd";
    // This run's leases and claims: `<replica>/<run>` (a restarted replica voids its earlier ones).
    const leaseOwner = `${replicaId}/${randomUUID()}`;
    this.workers = new WorkerSet((kind, name) => logger.warn(
      { [kind]: name },
      `the in-process ${kind} '${name}' runs, not a connected SDK app's ${kind} of that name: the workflows module registers it; rename one, or start workflowd with --workflows none`,
    ));
    this.queries = new InstanceQueries(store);
    this.watch = new InstanceWatch((id) => store.getInstance(id), limits.instanceWatchPollMs);
    this.dispatcher = new ActivityDispatcher({
      store,
      workers: this.workers,
      clock,
      logger,
      replicaId,
      leaseOwner,
      appId,
      // Shared by replicas: leases live while their replica renews them.
      leaseMs: store.shared ? limits.sharedClaimMs : options.activityLeaseMs ?? limits.activityLeaseMsDefault,
      renewLeasesEveryMs: store.shared ? limits.sharedHeartbeatMs : undefined,
      activityConcurrencyMax: limits.activityConcurrencyMax,
      onResultDelivered: (id) => this.scheduler.notify(id),
      onPendingDropped: () => this.scheduler.admitMore(),
      pendingResults,
      observer,
      tracer,
    });
    this.scheduler = new TurnScheduler({
      store,
      workers: this.workers,
      clock,
      newExecutionId,
      logger,
      appId,
      inboxBatchMax: limits.inboxBatchMax,
      conflictRetriesMax: limits.conflictRetriesMax,
      turnTimeoutMs: options.turnTimeoutMs ?? limits.turnTimeoutMs,
      turnConcurrencyMax: limits.turnConcurrencyMax,
      onActivitiesQueued: () => this.dispatcher.pump(),
      reserveActivities: (count) => this.dispatcher.reserve(count),
      pendingResults,
      sharedClaim: store.shared ? { owner: leaseOwner, ms: limits.sharedClaimMs } : undefined,
      activitiesPending: () => this.dispatcher.pending,
      onActivitiesScheduled: (count) => this.dispatcher.scheduled(count),
      onCommitted: (ids) => {
        for (const id of ids) this.watch.changed(id);
      },
      observer,
      tracer,
    });
    this.sweeper = options.retention
      ? new RetentionSweeper({ store, policy: options.retention, clock, logger, observer, checkMs: limits.retentionCheckMs, owner: leaseOwner })
      : undefined;
    this.service = new WorkflowService({
      store,
      clock,
      newExecutionId,
      notify: (id) => this.scheduler.notify(id),
      notifyStarted: (id) => this.scheduler.notifyStarted(id),
      wakeAt: (at) => this.scheduler.armWake(at),
      activitiesQueued: () => this.dispatcher.pump(),
      observer,
      tracer,
      appId,
      backlog: () => ({ queued: this.scheduler.backlog, limit: backlogMax }),
    });
  }

  /** Recovery: requeue stale activity leases, then schedule every instance with due events. */
  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`engine cannot start: it is ${this.state}`);
    this.state = "running";
    await this.dispatcher.start();
    await this.scheduler.start();
    this.sweeper?.start();
  }

  get isRunning(): boolean {
    return this.state === "running" && this.options.store.isOpen;
  }

  /** Stops taking work; waits for in-flight turns to commit and up to `graceMs` for activities. */
  async stop(graceMs: number = limits.shutdownGraceMsDefault): Promise<void> {
    if (this.state !== "running") {
      this.state = "stopped";
      return;
    }
    this.state = "stopping";
    this.watch.close();
    await Promise.all([this.scheduler.stop(), this.dispatcher.stop(graceMs), this.sweeper?.stop()]);
    // Results no turn recorded yet are written, so their activities do not run again.
    await this.dispatcher.recordPending();
    this.state = "stopped";
  }
}
