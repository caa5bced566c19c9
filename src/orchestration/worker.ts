/**
 * The worker contract: what runs workflow and activity code.
 *
 * Two implementations feed the same orchestration step: the in-process runtime
 * (`runtime/in-process-worker.ts`) and, for external Dapr SDK apps, the durabletask gRPC
 * server. The step never knows which one ran a turn.
 */
import type { TurnResult } from "../engine/actions.js";
import type { FailureDetails, HistoryEvent } from "../engine/history.js";

export interface OrchestrationRequest {
  instanceId: string;
  executionId: string;
  pastEvents: readonly HistoryEvent[];
  /** Never empty; starts with OrchestratorStarted carrying the turn's time. */
  newEvents: readonly HistoryEvent[];
}

export interface ActivityRequest {
  name: string;
  input: string | undefined;
  instanceId: string;
  executionId: string;
  taskId: number;
  /** 1 on the first run; higher when a lease expired or the process restarted. */
  attempt: number;
}

export type ActivityResult =
  | { ok: true; result: string | undefined }
  | { ok: false; failure: FailureDetails };

export interface Worker {
  /** For logs and metadata. */
  readonly id: string;
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
 * The workers currently available. Listeners hear about every change, so work that waited
 * for a worker (a workflow name nobody served) is picked up when one appears.
 */
export class WorkerSet {
  private readonly workers: Worker[] = [];
  private readonly listeners: (() => void)[] = [];

  add(worker: Worker): void {
    this.workers.push(worker);
    this.changed();
  }

  remove(worker: Worker): void {
    const index = this.workers.indexOf(worker);
    if (index >= 0) this.workers.splice(index, 1);
    this.changed();
  }

  get size(): number {
    return this.workers.length;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  forWorkflow(name: string): Worker | undefined {
    return this.workers.find((w) => w.servesWorkflow(name));
  }

  forActivity(name: string): Worker | undefined {
    return this.workers.find((w) => w.servesActivity(name));
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

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
