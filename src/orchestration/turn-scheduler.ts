/**
 * Decides which instance runs its next turn when, in this process.
 *
 *   notify(id) ──► continuing (FIFO) ─┐
 *   start(id) ───► fresh (FIFO) ───────┴► running (≤ turnConcurrencyMax, one per instance)
 *                     ▲                    │ committed: notify touched instances,
 *                     │                    │            arm the timer for new timers
 *   timer wake-up ────┘                    ├ no worker: parked by workflow name until one appears
 *   (next inbox visible_at)                └ error: retried with back-off
 *
 * Work that finishes runs first: an instance that already runs (a result, an event, a timer)
 * waits in `continuing`, a new start (and what recovery finds) in `fresh`, and a free slot
 * takes from `continuing` except every `freshShare`-th pick, which takes a fresh instance
 * if one waits. So a backlog drains depth-first: instances complete while new ones keep
 * being admitted at a bounded share, and the hot set stays small (a breadth-first FIFO
 * gave every one of 200,000 queued instances its first turn before any second turn).
 *
 * The database is the source of truth: the in-memory sets only say what to look at next.
 * Start-up recovery is just "queue every instance with visible inbox rows, and arm the
 * timer for the earliest future row".
 */
import type { Logger } from "pino";
import { targetAppOf } from "../engine/apps.js";
import type { TurnOutcome } from "../engine/turn.js";
import { limits } from "../limits.js";
import type { EngineObserver } from "./engine-observer.js";
import { IdQueue } from "./id-queue.js";
import { runStep, type StepDeps, type StepResult } from "./step.js";
import { WorkerUnavailableError } from "./worker.js";

export interface TurnSchedulerDeps extends Omit<StepDeps, "turnClaim"> {
  /** On a store shared by replicas: who claims this process's turns, and for how long. */
  sharedClaim?: { owner: string; ms: number } | undefined;
  logger: Logger;
  turnConcurrencyMax: number;
  /** Called when a committed turn queued activity work that its commit did not lease. */
  onActivitiesQueued: () => void;
  /** Activities queued or running now: new instances wait while there are many (see `next`). */
  activitiesPending: () => number;
  /** A committed turn scheduled `count` activities. */
  onActivitiesScheduled: (count: number) => void;
  /** Called after each commit with the instances it changed. */
  onCommitted: (instanceIds: readonly string[]) => void;
  observer: EngineObserver;
}

export class TurnScheduler {
  /** Instances under way with new events: they run first. */
  private readonly continuing = new IdQueue();
  /** New starts and recovered instances: every `freshShare`-th free slot, or when nothing continues. */
  private readonly fresh = new IdQueue();
  private picks = 0;
  private readonly running = new Map<string, Promise<void>>();
  /** Instances notified while their turn was running: they run again afterwards. */
  private readonly again = new Set<string>();
  /** Instances no worker can run yet, with the workflow name they wait for. */
  private readonly parked = new Map<string, string>();
  /** Workflow names whose "no worker" warning is due, if they are still unserved then. */
  private readonly unservedWarnings = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private readonly unservedActivities = new Set<string>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** STALLED instances to run again at their next turn (a worker connected). */
  private readonly stalledRetries = new Set<string>();
  private wakeTimer: NodeJS.Timeout | undefined;
  /** On a shared store: the periodic look for due work no replica holds. */
  private scanTimer: NodeJS.Timeout | undefined;
  /**
   * On a shared store: the instances whose turn claim this process holds, with when the claim
   * lapses at the earliest. A poke (another replica found the instance held here) is heeded
   * only for these, so pokes never bounce between replicas.
   */
  private readonly held = new Map<string, number>();
  private wakeAt = Number.POSITIVE_INFINITY;
  /** Inbox rows visible up to this time were found (recovery, the last wake-up) or announced by their writers. */
  private scannedUpTo = 0;
  private stopped = false;

  /** What runStep needs, with what this scheduler knows of the claims it holds (a shared store). */
  private readonly stepDeps: StepDeps;

  constructor(private readonly deps: TurnSchedulerDeps) {
    const claim = deps.sharedClaim;
    this.stepDeps = {
      ...deps,
      turnClaim: claim && { ...claim, heldUntil: (id) => this.held.get(id), claimed: (id, until) => void this.held.set(id, until) },
    };
    deps.workers.onChange((change) => {
      this.unparkServed();
      if (change === "added") void this.retryStalled();
    });
  }

  /** Recovery: schedule every instance that has due events, and the next timer. */
  async start(): Promise<void> {
    const now = this.deps.clock();
    for (const id of await this.deps.store.dueInstanceIds(now, Number.MAX_SAFE_INTEGER)) this.fresh.add(id);
    this.scannedUpTo = now;
    this.armWake(await this.deps.store.nextVisibleAt(now));
    this.pump();
    if (this.deps.sharedClaim) {
      await this.deps.store.onPoke((poke) => {
        // A poke is for the holder of the instance's claim; an offer for whoever runs the workflow.
        if (poke.kind === "instance" && (this.held.get(poke.instanceId) ?? 0) > this.deps.clock()) this.notify(poke.instanceId);
        if (poke.kind === "offer" && this.deps.workers.forWorkflow(poke.workflowName)) this.notify(poke.instanceId);
      });
      this.scheduleScan();
    }
  }

  /**
   * On a store shared by replicas, work becomes due that this process was not told about
   * (another replica's starts, events and timers, or the instances of a replica that died):
   * look for due instances no other replica's claim holds, every heartbeat.
   */
  private scheduleScan(): void {
    if (this.stopped) return;
    this.scanTimer = setTimeout(() => {
      const claimant = { owner: this.deps.sharedClaim!.owner, appId: this.deps.appId };
      const now = this.deps.clock();
      for (const [id, until] of this.held) if (until <= now) this.held.delete(id);
      this.deps.store.dueInstanceIds(now, limits.sharedScanBatch, claimant).then(
        (ids) => {
          for (const id of ids) if (!this.parked.has(id)) this.notify(id);
          this.scheduleScan();
        },
        (error: unknown) => {
          this.deps.logger.error({ err: error }, "could not scan the shared store for due work; retrying");
          this.scheduleScan();
        },
      );
    }, limits.sharedHeartbeatMs);
    this.scanTimer.unref();
  }

  /** Instances waiting for a turn: ready, running, or parked until a worker serves their workflow. */
  get backlog(): number {
    return this.continuing.size + this.fresh.size + this.running.size + this.parked.size;
  }

  /** A new instance was started: it waits for its first turn behind work under way (see above). */
  notifyStarted(instanceId: string): void {
    if (this.stopped) return;
    if (this.running.has(instanceId)) this.again.add(instanceId);
    else if (!this.continuing.has(instanceId)) this.fresh.add(instanceId);
    this.pump();
  }

  /** The instance has (or may have) new visible events. */
  notify(instanceId: string): void {
    if (this.stopped) return;
    // A parked instance runs when told (a terminate needs no worker); it parks again if it must.
    this.parked.delete(instanceId);
    if (this.running.has(instanceId)) this.again.add(instanceId);
    else if (!this.fresh.has(instanceId)) this.continuing.add(instanceId);
    this.pump();
  }

  /** A timer or scheduled start becomes visible at `at`. */
  armWake(at: number | undefined): void {
    if (at === undefined || this.stopped || at >= this.wakeAt) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    const delay = Math.min(Math.max(0, at - this.deps.clock()), limits.timerDelayMsMax);
    this.wakeTimer = setTimeout(() => void this.onWake(), delay);
  }

  /** Stops starting turns and waits for the running ones to commit (or fail). */
  async stop(): Promise<void> {
    for (const timer of this.unservedWarnings.values()) clearTimeout(timer);
    this.unservedWarnings.clear();
    this.stopped = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.scanTimer) clearTimeout(this.scanTimer);
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.continuing.clear();
    this.fresh.clear();
    await Promise.allSettled([...this.running.values()]);
    // Other replicas take this one's instances at once instead of when the claims expire.
    if (this.deps.sharedClaim) {
      await this.deps.store.releaseTurnClaims(this.deps.sharedClaim.owner).catch((error: unknown) =>
        this.deps.logger.warn({ err: error }, "could not release this replica's turn claims; they expire"));
    }
  }

  private async onWake(): Promise<void> {
    this.wakeTimer = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
    const now = this.deps.clock();
    try {
      // Only what became visible since the last look (a clock that stepped back looks again at everything).
      const due = now >= this.scannedUpTo
        ? await this.deps.store.instancesDueBetween(this.scannedUpTo, now)
        : await this.deps.store.dueInstanceIds(now, Number.MAX_SAFE_INTEGER);
      for (const id of due) this.notify(id);
      this.scannedUpTo = now;
      this.armWake(await this.deps.store.nextVisibleAt(now));
    } catch (error) {
      // A storage fault must not lose the wake-up (nor crash the process from a timer).
      this.deps.logger.error({ err: error }, "could not read due timers; retrying");
      this.armWake(now + limits.storageRetryMs);
    }
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.deps.turnConcurrencyMax) {
      const id = this.next();
      if (id === undefined) return;
      const turn = this.runTurn(id).finally(() => {
        this.running.delete(id);
        if (this.again.delete(id)) this.continuing.add(id);
        this.pump();
      });
      this.running.set(id, turn);
    }
  }

  /**
   * The next instance to run: one under way, except every `freshShare`-th pick; a new one only
   * while few activities are pending, so a backlog is worked off instance by instance.
   */
  private next(): string | undefined {
    const admitFresh = this.fresh.size > 0 && this.deps.activitiesPending() < limits.activitiesPendingForNewTurnsMax;
    const freshTurn = ++this.picks % limits.freshShare === 0;
    const queue = admitFresh && (freshTurn || this.continuing.size === 0) ? this.fresh : this.continuing;
    return queue.shift();
  }

  /** Pending activities fell: new instances may be admitted again. */
  admitMore(): void {
    this.pump();
  }

  private async runTurn(instanceId: string): Promise<void> {
    let result: StepResult;
    const began = performance.now();
    try {
      result = await runStep(this.stepDeps, instanceId, this.stalledRetries.has(instanceId));
    } catch (error) {
      if (error instanceof WorkerUnavailableError && await this.afterWorkerLoss(instanceId)) return;
      this.retryLater(instanceId, error);
      return;
    }
    this.failures.delete(instanceId);
    // A retry of a stalled instance is spent once a turn ran (a lost worker keeps it pending).
    if (result.kind !== "no-worker") this.stalledRetries.delete(instanceId);
    switch (result.kind) {
      case "claimed-elsewhere":
        // Another replica holds it: tell it there is work (it may not have heard), and forget any claim thought held here.
        this.held.delete(instanceId);
        this.deps.store.poke({ kind: "instance", instanceId }).catch((error: unknown) =>
          this.deps.logger.warn({ err: error, instanceId }, "could not poke the replica that holds an instance; its scan finds the work"));
        return;
      case "gone":
      case "idle":
        return;
      case "no-worker":
        this.park(result.workflowName, instanceId);
        // Another replica may serve the workflow: leave the instance to it now, and tell it.
        if (this.deps.sharedClaim) {
          this.held.delete(instanceId);
          this.deps.store.releaseTurnClaims(this.deps.sharedClaim.owner, instanceId)
            .then(() => this.deps.store.poke({ kind: "offer", instanceId, workflowName: result.workflowName }))
            .catch((error: unknown) =>
              this.deps.logger.warn({ err: error, instanceId }, "could not release a turn claim and offer the instance; the claim expires and a scan finds it"));
        }
        return;
      case "conflict":
        this.retryLater(instanceId, new Error(`version conflicts persisted: ${result.reason}`));
        return;
      case "committed":
        this.afterCommit(instanceId, result);
        this.report(instanceId, result.outcome, result.touchedInstanceIds, performance.now() - began);
        return;
    }
  }

  private afterCommit(instanceId: string, result: Extract<StepResult, { kind: "committed" }>): void {
    const { outcome } = result;
    this.deps.onCommitted([instanceId, ...result.touchedInstanceIds]);
    for (const id of result.touchedInstanceIds) this.notify(id);
    if (result.inboxFull) this.notify(instanceId);
    let earliestTimer: number | undefined;
    let activities = 0;
    let otherApps: Set<string> | undefined;
    for (const effect of outcome.effects) {
      if (effect.kind === "scheduleTimer") earliestTimer = Math.min(earliestTimer ?? effect.fireAt, effect.fireAt);
      // A detached start due later becomes visible then (one due now was notified as touched).
      if (effect.kind === "startDetached" && effect.event.scheduledStartTimestamp !== undefined) this.armWake(effect.event.scheduledStartTimestamp);
      if (effect.kind === "scheduleActivity") {
        activities++;
        const target = targetAppOf(effect.scheduled.router);
        if (target !== undefined && target !== this.deps.appId) (otherApps ??= new Set()).add(target);
        else this.warnIfUnserved(effect.name, instanceId);
      }
    }
    // Activities for another app: its replicas claim them now, not at their next heartbeat.
    for (const appId of otherApps ?? []) {
      this.deps.store.poke({ kind: "activities", appId }).catch((error: unknown) =>
        this.deps.logger.warn({ err: error, appId }, "could not poke another app's replicas; their heartbeat finds the activities"));
    }
    if (earliestTimer !== undefined) {
      if (earliestTimer <= this.deps.clock()) this.notify(instanceId);
      else this.armWake(earliestTimer);
    }
    if (activities > 0) this.deps.onActivitiesScheduled(activities);
    // Activities the commit did not lease itself wait for a claim.
    if (activities > result.leased) this.deps.onActivitiesQueued();
  }

  private report(instanceId: string, outcome: TurnOutcome, touched: readonly string[], durationMs: number): void {
    const state = outcome.state;
    if (!state) return;
    const completed = outcome.events.find((e) => e.kind === "executionCompleted");
    if (completed && state.status === "FAILED") {
      this.deps.logger.warn(
        { instanceId, workflowName: state.name, errorType: state.failureDetails?.errorType, error: state.failureDetails?.errorMessage },
        "workflow failed",
      );
    }
    this.deps.observer.turnCommitted({
      instanceId,
      workflowName: state.name,
      durationMs,
      completion: completed ? { status: state.status, sinceCreatedMs: completed.timestamp - state.createdAt } : undefined,
      continuedAsNew: outcome.historyMode === "replace",
      // Detached workflows are starts too, those the commit created (a taken ID is dropped).
      childrenStarted: outcome.effects.flatMap((effect) =>
        effect.kind === "createChild" || (effect.kind === "startDetached" && touched.includes(effect.event.instanceId)) ? [effect.event.name] : []),
    });
  }

  /** An activity no worker runs waits in the queue; say so once per name rather than stall silently. */
  private warnIfUnserved(activityName: string, instanceId: string): void {
    if (this.deps.workers.forActivity(activityName) || this.deps.workers.activityNames() === undefined) return;
    if (this.unservedActivities.has(activityName)) return;
    this.unservedActivities.add(activityName);
    this.deps.logger.warn({ instanceId, activityName }, "no worker serves this activity; it stays queued until one does");
  }

  /**
   * No worker serves the workflow yet: the instance waits. An SDK app usually starts its
   * workflows a moment before its worker stream is up, so that is said at debug level, and a
   * warning follows only if no worker for the name has appeared a few seconds later.
   */
  private park(workflowName: string, instanceId: string): void {
    if (!this.parked.has(instanceId)) this.deps.logger.debug({ instanceId, workflowName }, "no worker serves this workflow yet; it waits");
    this.parked.set(instanceId, workflowName);
    if (this.unservedWarnings.has(workflowName)) return;
    const timer = setTimeout(() => {
      this.unservedWarnings.delete(workflowName);
      let waiting = 0;
      for (const name of this.parked.values()) if (name === workflowName) waiting++;
      if (waiting === 0) return;
      this.deps.logger.warn(
        { workflowName, waiting, afterMs: limits.unservedWorkflowWarnMs },
        "no worker serves this workflow: its instances wait until an SDK app that runs it connects (or a workflows module registers it)",
      );
    }, limits.unservedWorkflowWarnMs);
    timer.unref();
    this.unservedWarnings.set(workflowName, timer);
  }

  /**
   * A worker connected: STALLED instances run again (as daprd redelivers them when workers
   * reconnect), and carry on if the new worker runs a compatible version.
   */
  private async retryStalled(): Promise<void> {
    let ids: string[];
    try {
      ids = await this.deps.store.stalledInstanceIds();
    } catch (error) {
      this.deps.logger.error({ err: error }, "could not list stalled instances to retry them");
      return;
    }
    for (const id of ids) {
      this.stalledRetries.add(id);
      this.notify(id);
    }
  }

  private unparkServed(): void {
    const served = new Map<string, boolean>();
    const runnable: string[] = [];
    for (const [id, name] of this.parked) {
      if (!served.has(name)) served.set(name, this.deps.workers.forWorkflow(name) !== undefined);
      if (served.get(name)) runnable.push(id);
    }
    for (const id of runnable) this.notify(id); // notify takes it out of `parked`
  }

  /**
   * The worker running the turn went away (a remote app disconnected). That is no fault of
   * the instance: run it again at once on another worker, or park it until one connects.
   */
  private async afterWorkerLoss(instanceId: string): Promise<boolean> {
    let name: string | undefined;
    try {
      name = (await this.deps.store.getInstance(instanceId))?.name;
    } catch {
      return false; // storage fault: the ordinary back-off retry applies
    }
    if (name === undefined) return false;
    if (this.deps.workers.forWorkflow(name)) this.notify(instanceId);
    else this.park(name, instanceId);
    return true;
  }

  private retryLater(instanceId: string, error: unknown): void {
    const failures = (this.failures.get(instanceId) ?? 0) + 1;
    this.failures.set(instanceId, failures);
    const delay = Math.min(limits.retryDelayMsMin * 2 ** (failures - 1), limits.retryDelayMsMax);
    this.deps.logger.error({ err: error, instanceId, failures, retryInMs: delay }, "turn failed; will retry");
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.notify(instanceId);
    }, delay);
    this.retryTimers.add(timer);
  }
}
