/**
 * The worker contract: what runs workflow and activity code.
 *
 * Two implementations feed the same orchestration step: the in-process runtime
 * (`runtime/in-process-worker.ts`) and, for external Dapr SDK apps, the durabletask gRPC
 * server. The step never knows which one ran a turn.
 */
import type { TurnResult } from "../engine/actions.js";
import type { FailureDetails, HistoryEvent, PropagatedHistory, TaskScheduled, WireValue } from "../engine/history.js";

export interface OrchestrationRequest {
  instanceId: string;
  executionId: string;
  pastEvents: readonly HistoryEvent[];
  /** Never empty; starts with OrchestratorStarted carrying the turn's time. */
  newEvents: readonly HistoryEvent[];
  /** History the instance received from its parent (history propagation). */
  propagatedHistory?: PropagatedHistory | undefined;
}

export interface ActivityRequest {
  name: string;
  input: string | undefined;
  instanceId: string;
  executionId: string;
  taskId: number;
  /** 1 on the first run; higher when a lease expired or the process restarted. */
  attempt: number;
  /** The TaskScheduled event: its protocol fields (taskExecutionId, version, trace context) go to the worker. */
  scheduled?: TaskScheduled | undefined;
  /** History the activity receives (history propagation). */
  propagatedHistory?: PropagatedHistory | undefined;
  /** The trace context of this run of the activity (its span), for the worker to continue. */
  parentTraceContext?: WireValue | undefined;
}

export type ActivityResult =
  | { ok: true; result: string | undefined }
  | { ok: false; failure: FailureDetails };

export interface Worker {
  /** For logs and metadata. */
  readonly id: string;
  /**
   * True for a worker that takes any name (a remote SDK app: its registrations are not
   * announced). A worker with named registrations is preferred for the names it has.
   */
  readonly servesAnyName: boolean;
  /** Work items handed to it and not yet finished; the least loaded worker is chosen. */
  load(): number;
  servesWorkflow(name: string): boolean;
  servesActivity(name: string): boolean;
  /** The activity names it runs, or undefined when it accepts any name (remote SDK apps). */
  activityNames(): readonly string[] | undefined;
  /**
   * Runs one turn. Workflow failures are results (a FAILED completion action); a rejection
   * means the turn could not run at all (worker gone) and is retried later.
   */
  executeOrchestration(request: OrchestrationRequest): Promise<TurnResult>;
  /** Runs one activity. An activity that throws is `{ ok: false }`, not a rejection. */
  executeActivity(request: ActivityRequest): Promise<ActivityResult>;
}

/**
 * A worker could not take or finish the work because it went away (its stream closed).
 * The work is not failed: it waits for (or goes to) another worker.
 */
export class WorkerUnavailableError extends Error {
  override readonly name = "WorkerUnavailableError";
}

export type WorkerChange = "added" | "removed";

/**
 * The workers currently available. Listeners hear about every change, so work that waited
 * for a worker (a workflow name nobody served) is picked up when one appears.
 */
export class WorkerSet {
  private readonly workers: Worker[] = [];
  private readonly listeners: ((change: WorkerChange) => void)[] = [];
  private readonly shadowsReported = new Set<string>();

  /**
   * `onShadow` hears, once per name, that a worker which registered a name (the in-process
   * runtime) was chosen while SDK apps are connected: an SDK app's workflow or activity of the
   * same name never runs (SDKs do not announce their names, so this is all that can be seen).
   */
  constructor(private readonly onShadow?: (kind: "workflow" | "activity", name: string) => void) {}

  add(worker: Worker): void {
    this.workers.push(worker);
    this.changed("added");
  }

  remove(worker: Worker): void {
    const index = this.workers.indexOf(worker);
    if (index >= 0) this.workers.splice(index, 1);
    this.changed("removed");
  }

  get size(): number {
    return this.workers.length;
  }

  onChange(listener: (change: WorkerChange) => void): void {
    this.listeners.push(listener);
  }

  /** The worker to run a workflow's turn: one that registered the name, else the least loaded catch-all. */
  forWorkflow(name: string): Worker | undefined {
    return this.choose((w) => w.servesWorkflow(name), "workflow", name);
  }

  forActivity(name: string): Worker | undefined {
    return this.choose((w) => w.servesActivity(name), "activity", name);
  }

  /** Describes each worker, for metadata and logs. */
  describe(): { id: string; load: number; servesAnyName: boolean }[] {
    return this.workers.map((w) => ({ id: w.id, load: w.load(), servesAnyName: w.servesAnyName }));
  }

  /** Names any worker runs, or undefined when some worker accepts any name. */
  activityNames(): readonly string[] | undefined {
    const names = new Set<string>();
    for (const worker of this.workers) {
      const own = worker.activityNames();
      if (own === undefined) return undefined;
      for (const name of own) names.add(name);
    }
    return [...names];
  }

  private choose(serves: (worker: Worker) => boolean, kind: "workflow" | "activity", name: string): Worker | undefined {
    let best: Worker | undefined;
    for (const worker of this.workers) {
      if (!serves(worker)) continue;
      if (!worker.servesAnyName) {
        if (this.onShadow && !this.shadowsReported.has(`${kind}:${name}`) && this.workers.some((w) => w.servesAnyName)) {
          this.shadowsReported.add(`${kind}:${name}`);
          this.onShadow(kind, name);
        }
        return worker;
      }
      if (!best || worker.load() < best.load()) best = worker;
    }
    return best;
  }

  private changed(change: WorkerChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
