/**
 * The in-process worker: runs workflows and activities registered in a WorkflowRegistry
 * inside the workflowd process, behind the same Worker contract as remote SDK apps.
 */
import type { TurnResult } from "../engine/actions.js";
import type { ActivityRequest, ActivityResult, OrchestrationRequest, Worker } from "../orchestration/worker.js";
import { ActivityContext } from "./context.js";
import type { WorkflowRegistry } from "./registry.js";
import { ReplayCache } from "./replay-cache.js";
import { Replay } from "./replayer.js";
import { deserialize, failureOf, serialize } from "./serialization.js";

export class InProcessWorker implements Worker {
  readonly id = "in-process";
  readonly servesAnyName = false;
  private running = 0;

  /** Live replays of recently active instances (see replay-cache.ts). */
  readonly hot: ReplayCache;

  constructor(
    private readonly registry: WorkflowRegistry,
    hotInstancesMax: number,
  ) {
    this.hot = new ReplayCache(hotInstancesMax);
  }

  servesWorkflow(name: string): boolean {
    return this.registry.workflow(name) !== undefined;
  }

  servesActivity(name: string): boolean {
    return this.registry.activity(name) !== undefined;
  }

  activityNames(): readonly string[] {
    return this.registry.activityNames();
  }

  load(): number {
    return this.running;
  }

  async executeOrchestration(request: OrchestrationRequest): Promise<TurnResult> {
    this.running += 1;
    try {
      const hot = this.hot.take(request);
      const run = hot?.replay ?? new Replay(this.registry, request.instanceId);
      await run.feed(hot ? hot.catchUp : request.pastEvents, request.newEvents);
      const result = run.result();
      if (!run.finished) this.hot.keep(request, run);
      return result;
    } finally {
      this.running -= 1;
    }
  }

  async executeActivity(request: ActivityRequest): Promise<ActivityResult> {
    this.running += 1;
    try {
      return await this.runActivity(request);
    } finally {
      this.running -= 1;
    }
  }

  private async runActivity(request: ActivityRequest): Promise<ActivityResult> {
    const activity = this.registry.activity(request.name);
    if (!activity) {
      return { ok: false, failure: { errorType: "ActivityNotRegisteredError", errorMessage: `activity '${request.name}' is not registered` } };
    }
    try {
      const context = new ActivityContext(request.instanceId, request.taskId, request.scheduled?.retryAttempt ?? 1, request.attempt);
      const value = await activity(context, deserialize(request.input));
      return { ok: true, result: value === null ? undefined : serialize(value) };
    } catch (error) {
      return { ok: false, failure: failureOf(error) };
    }
  }
}
