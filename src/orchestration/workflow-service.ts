/**
 * Management operations on instances: start, get, terminate, raise an event, pause, resume,
 * purge. The HTTP API and the gRPC client service call these and map the outcomes
 * to their own status codes; nothing here knows about HTTP.
 *
 * Every mutation resolves once it is committed (mutations of the same moment share one group
 * commit); the instance's next turn applies it.
 */
import { randomUUID } from "node:crypto";
import { newEvent, type HistoryEvent } from "../engine/history.js";
import { checkInstanceId, type InstanceIdProblem } from "../engine/instance-id.js";
import type { InstanceRecord, PurgeResult, SqliteStore } from "../store/sqlite-store.js";
import type { EngineObserver } from "./engine-observer.js";

export interface WorkflowServiceDeps {
  store: SqliteStore;
  clock: () => number;
  newExecutionId: () => string;
  /** Tells the scheduler an instance has new events. */
  notify: (instanceId: string) => void;
  /** Tells the scheduler something becomes due at `at` (a scheduled start). */
  wakeAt: (at: number) => void;
  observer: EngineObserver;
}

/** An instance as management callers see it (the store's row, derived from history). */
export type InstanceView = InstanceRecord;

export type StartResult =
  | { kind: "started"; instanceId: string }
  | { kind: "exists"; instanceId: string }
  | { kind: "invalid-id"; instanceId: string; problem: InstanceIdProblem };

/** "ok" covers the no-op cases (an event for a finished instance is accepted and dropped). */
export type CommandResult = "ok" | "not-found";

export class WorkflowService {
  constructor(private readonly deps: WorkflowServiceDeps) {}

  /** `scheduledStartAt` (gRPC only) leaves the instance PENDING until that time. */
  async start(workflowName: string, instanceId: string | undefined, input: string | undefined, scheduledStartAt?: number): Promise<StartResult> {
    const id = instanceId || randomUUID();
    const problem = checkInstanceId(id);
    if (problem) return { kind: "invalid-id", instanceId: id, problem };
    const now = this.deps.clock();
    const start = newEvent({
      kind: "executionStarted",
      name: workflowName,
      instanceId: id,
      executionId: this.deps.newExecutionId(),
      input,
      ...(scheduledStartAt !== undefined && scheduledStartAt > now ? { scheduledStartTimestamp: scheduledStartAt } : {}),
    }, now);
    const { store } = this.deps;
    if ((await store.grouped(() => store.createInstance(start))) === "exists") return { kind: "exists", instanceId: id };
    this.deps.observer.workflowStarted(workflowName);
    if (start.scheduledStartTimestamp !== undefined) this.deps.wakeAt(start.scheduledStartTimestamp);
    else this.deps.notify(id);
    return { kind: "started", instanceId: id };
  }

  get(instanceId: string): InstanceRecord | undefined {
    return this.deps.store.getInstance(instanceId);
  }

  terminate(instanceId: string, reason: string | undefined, recursive: boolean): Promise<CommandResult> {
    return this.send(instanceId, { kind: "executionTerminated", input: reason, recurse: recursive });
  }

  raiseEvent(instanceId: string, eventName: string, payload: string | undefined): Promise<CommandResult> {
    return this.send(instanceId, { kind: "eventRaised", name: eventName, input: payload });
  }

  pause(instanceId: string, reason: string | undefined): Promise<CommandResult> {
    return this.send(instanceId, { kind: "executionSuspended", input: reason });
  }

  resume(instanceId: string, reason: string | undefined): Promise<CommandResult> {
    return this.send(instanceId, { kind: "executionResumed", input: reason });
  }

  /** Recursive; only when the instance and all its descendants are finished. */
  purge(instanceId: string): Promise<PurgeResult> {
    const { store } = this.deps;
    return store.grouped(() => store.purge(instanceId));
  }

  /** Queues the event (in the next group commit) and nudges the scheduler once it is durable. */
  private async send(instanceId: string, body: Parameters<typeof newEvent>[0]): Promise<CommandResult> {
    const now = this.deps.clock();
    const event: HistoryEvent = newEvent(body, now);
    const { store } = this.deps;
    const result = await store.grouped(() => store.enqueue(instanceId, event, now));
    if (result === "not-found") return "not-found";
    if (result === "queued") this.deps.notify(instanceId);
    return "ok";
  }
}
