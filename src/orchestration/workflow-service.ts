/**
 * Management operations on instances: start, get, terminate, raise an event, pause, resume,
 * purge. The HTTP API and the gRPC client service call these and map the outcomes
 * to their own status codes; nothing here knows about HTTP.
 *
 * Every mutation resolves once it is committed (mutations of the same moment share one group
 * commit); the instance's next turn applies it.
 */
import { randomUUID } from "node:crypto";
import { newEvent, type ExactNanos, type ExecutionStarted, type HistoryEvent, type WireValue } from "../engine/history.js";
import { startRouter } from "../engine/apps.js";
import { checkInstanceId, type InstanceIdProblem } from "../engine/instance-id.js";
import { forkForRerun, type RerunProblem, type RerunRequest } from "../engine/rerun.js";
import { planRewind, type ChildOutcome, type RewindPlan, type RewindProblem } from "../engine/rewind.js";
import { terminalStatuses } from "../engine/state.js";
import type { InstanceFilter, InstanceIdPage, InstanceRecord, ListPosition, PurgeOptions, PurgeResult, WorkflowStore } from "../store/store.js";
import type { EngineObserver } from "./engine-observer.js";
import type { WorkflowTracer } from "./tracing.js";

export interface WorkflowServiceDeps {
  store: WorkflowStore;
  clock: () => number;
  newExecutionId: () => string;
  /** Tells the scheduler an instance has new events. */
  notify: (instanceId: string) => void;
  /** Tells the scheduler a new instance waits for its first turn (it queues behind work under way). */
  notifyStarted: (instanceId: string) => void;
  /** Tells the scheduler something becomes due at `at` (a scheduled start, a rerun's timer). */
  wakeAt: (at: number) => void;
  /** Tells the activity dispatcher new activities are queued (a rerun's). */
  activitiesQueued: () => void;
  observer: EngineObserver;
  tracer: WorkflowTracer;
  /** The app this process serves: the instances it starts belong to it. */
  appId: string;
  /** Instances waiting for a turn now, and the bound past which client starts are refused. */
  backlog: () => { queued: number; limit: number };
}

/** An instance as management callers see it (the store's row, derived from history). */
export type InstanceView = InstanceRecord;

export type StartResult =
  | { kind: "started"; instanceId: string }
  | { kind: "exists"; instanceId: string }
  | { kind: "invalid-id"; instanceId: string; problem: InstanceIdProblem }
  /** Too much work is waiting (the backlog bound): nothing was written; retry after a moment. */
  | { kind: "backlog-full"; queued: number; limit: number };

export type { InstanceFilter, PurgeOptions };
export type { RuntimeStatus } from "../engine/state.js";

export interface StartOptions {
  scheduledStartAt?: number | undefined;
  scheduledStartNanos?: ExactNanos | undefined;
  /** The orchestration version string. */
  version?: string | undefined;
  tags?: Readonly<Record<string, string>> | undefined;
  parentTraceContext?: WireValue | undefined;
  /** An execution ID the client chose; a fresh one otherwise. */
  executionId?: string | undefined;
}

export type RerunResult =
  | { kind: "rerun"; instanceId: string }
  | { kind: "not-found" }
  | { kind: "same-id" }
  | { kind: "exists"; instanceId: string }
  | { kind: "invalid-id"; instanceId: string; problem: InstanceIdProblem }
  | RerunProblem;

export type RewindResult = { kind: "rewound" } | { kind: "not-found" } | RewindProblem;

export interface BulkPurgeResult {
  /** Instances deleted, children included. */
  deleted: number;
  /** False when matches remain beyond this call's limit: call again. */
  isComplete: boolean;
}

/**
 * Instances a bulk purge deletes per transaction: small, so no write holds the event loop for
 * long (about 3 ms at 25), and between two batches the loop serves what waits (see
 * docs/performance.md: a purge of 100,000 beside a start load).
 */
const bulkPurgeBatch = 25;

/** Plans of a rewind made again when an instance changed between its reads and its write. */
const rewindAttemptsMax = 3;

/** "ok" covers the no-op cases (an event for a finished instance is accepted and dropped). */
export type CommandResult = "ok" | "not-found";

export class WorkflowService {
  constructor(private readonly deps: WorkflowServiceDeps) {}

  /**
   * `options` (gRPC only): a scheduled start leaves the instance PENDING until that time; the
   * protocol fields (version, tags, trace context, a chosen execution ID) are recorded on the
   * ExecutionStarted event as given.
   */
  async start(workflowName: string, instanceId: string | undefined, input: string | undefined, options: StartOptions = {}): Promise<StartResult> {
    const id = instanceId || randomUUID();
    const problem = checkInstanceId(id);
    if (problem) return { kind: "invalid-id", instanceId: id, problem };
    // Backpressure: a client start waits for the backlog to drain rather than growing it
    // without bound (the engine's own starts, children and continuations, are never refused).
    const { queued, limit } = this.deps.backlog();
    if (queued >= limit) return { kind: "backlog-full", queued, limit };
    const now = this.deps.clock();
    const later = options.scheduledStartAt !== undefined && options.scheduledStartAt > now;
    // The start's span (or the caller's context as given) becomes the run's trace.
    const span = this.deps.tracer.workflowStart(workflowName, id, options.parentTraceContext);
    const start: ExecutionStarted = newEvent({
      kind: "executionStarted",
      name: workflowName,
      instanceId: id,
      executionId: options.executionId || this.deps.newExecutionId(),
      input,
      // As daprd: the start names the app that made it, which runs it (and the SDK learns its app ID from).
      router: startRouter(this.deps.appId),
      ...(later ? { scheduledStartTimestamp: options.scheduledStartAt, scheduledStartNanos: options.scheduledStartNanos } : {}),
      ...(options.version !== undefined ? { version: options.version } : {}),
      ...(options.tags && Object.keys(options.tags).length > 0 ? { tags: options.tags } : {}),
      ...(span.context ? { parentTraceContext: span.context } : {}),
      ...(span.workflowSpanId ? { workflowSpanId: span.workflowSpanId } : {}),
    }, now);
    const { store } = this.deps;
    let created;
    try {
      created = await store.createInstance(start);
    } catch (error) {
      span.end(error instanceof Error ? error.message : String(error));
      throw error;
    }
    span.end(created === "exists" ? `instance ID '${id}' already exists` : undefined);
    if (created === "exists") return { kind: "exists", instanceId: id };
    this.deps.observer.workflowStarted(workflowName);
    if (start.scheduledStartTimestamp !== undefined) this.deps.wakeAt(start.scheduledStartTimestamp);
    else this.deps.notifyStarted(id);
    return { kind: "started", instanceId: id };
  }

  get(instanceId: string): Promise<InstanceRecord | undefined> {
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

  /**
   * Deletes a finished instance (with `recursive`, its descendants too, all of which must be
   * finished). `force` purges whatever the status. The HTTP API purges recursively.
   */
  purge(instanceId: string, options: PurgeOptions = { recursive: true, force: false }): Promise<PurgeResult> {
    return this.deps.store.purge(instanceId, options);
  }

  /**
   * Purges up to `limit` instances matching the filter in small transactions. With
   * `recursive` only top-level ones (no parent left) match, each purged with its children as
   * `purge` does. Without `force` only finished ones match, and a tree with an unfinished
   * member is skipped. `isComplete` is true once the matches are exhausted (skipped trees do
   * not count: calling again would find them again).
   */
  async purgeMatching(filter: InstanceFilter, options: PurgeOptions, limit: number): Promise<BulkPurgeResult> {
    const { store } = this.deps;
    const statuses = options.force ? filter.statuses : (filter.statuses ?? terminalStatuses).filter((s) => terminalStatuses.includes(s));
    const match: InstanceFilter = { ...filter, statuses, rootsOnly: options.recursive };
    if (statuses?.length === 0) return { deleted: 0, isComplete: true };
    let after: ListPosition | undefined;
    let matched = 0;
    let deleted = 0;
    while (matched < limit) {
      const batch = await store.listInstances(match, after, Math.min(bulkPurgeBatch, limit - matched));
      if (batch.length === 0) return { deleted, isComplete: true };
      // Called together, the batch's purges share one group commit.
      const results = await Promise.all(batch.map(({ instanceId }) => store.purge(instanceId, options)));
      for (const result of results) if (result.kind === "purged") deleted += result.instanceIds.length;
      matched += batch.length;
      const last = batch.at(-1)!;
      after = { createdAt: last.createdAt, instanceId: last.instanceId };
      // Requests and turns that arrived meanwhile go first.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { deleted, isComplete: (await store.listInstances(match, after, 1)).length === 0 };
  }

  /**
   * Continues a FAILED instance from its failure point (see engine/rewind.ts), with its failed
   * children rewound too. Planned from reads, then written in one transaction that checks
   * every rewound instance's version: if one changed in between, it is planned again.
   */
  async rewind(instanceId: string, reason: string | undefined): Promise<RewindResult> {
    const now = this.deps.clock();
    for (let attempt = 1; ; attempt++) {
      const planned = await this.planRewinds(instanceId, reason, now);
      if (planned.kind !== "planned" && planned.kind !== "changed") return planned;
      const written = planned.kind === "changed" ? { kind: "conflict" as const, instanceId: planned.instanceId } : await this.deps.store.rewind({
        purge: planned.purges,
        rewrite: planned.plans.map(({ instance, plan }) => ({ instanceId: instance.instanceId, expectedVersion: instance.version, ...plan })),
        now,
      });
      // A descendant of a child decided after the failure still runs: nothing was written.
      if (written.kind === "not-terminal") return { kind: "child-running", instanceId: written.instanceId, status: written.status };
      if (written.kind === "conflict") {
        if (attempt < rewindAttemptsMax) continue;
        throw new Error(`rewind of '${written.instanceId}': the instance kept changing while it was rewound`);
      }
      const { plans } = planned as Extract<typeof planned, { kind: "planned" }>;
      for (const { instance, plan } of plans) {
        if (plan.inbox.length > 0) this.deps.notify(instance.instanceId);
        for (const effect of plan.effects) {
          if (effect.kind !== "scheduleTimer") continue;
          if (effect.fireAt <= now) this.deps.notify(instance.instanceId);
          else this.deps.wakeAt(effect.fireAt);
        }
      }
      if (plans.some(({ plan }) => plan.effects.some((e) => e.kind === "scheduleActivity"))) this.deps.activitiesQueued();
      return { kind: "rewound" };
    }
  }

  /** The plans of an instance's rewind and of the failed children it rewinds, and the children it purges. */
  private async planRewinds(instanceId: string, reason: string | undefined, now: number): Promise<
    | { kind: "planned"; plans: { instance: InstanceRecord; plan: RewindPlan }[]; purges: string[] }
    /** A child to rewind was gone when read (purged meanwhile): plan again. */
    | { kind: "changed"; instanceId: string }
    | { kind: "not-found" }
    | RewindProblem
  > {
    const { store } = this.deps;
    const root = await store.getInstance(instanceId);
    if (!root) return { kind: "not-found" };
    const plans: { instance: InstanceRecord; plan: RewindPlan }[] = [];
    const purges: string[] = [];
    const pending = [root];
    for (let instance = pending.shift(); instance; instance = pending.shift()) {
      const history = (await store.history(instance.instanceId)) ?? [];
      const children = new Map<string, ChildOutcome | undefined>();
      for (const event of history) {
        if (event.kind !== "subOrchestrationInstanceCreated") continue;
        const child = await store.getInstance(event.instanceId);
        children.set(event.instanceId, child && { status: child.status, output: child.output, failureDetails: child.failureDetails });
      }
      const plan = planRewind({ instanceId: instance.instanceId, history, children, reason, now });
      if (plan.kind !== "rewind") return plan;
      plans.push({ instance, plan });
      purges.push(...plan.purgeChildren);
      for (const childId of plan.rewindChildren) {
        const child = await store.getInstance(childId);
        if (!child) return { kind: "changed", instanceId: childId };
        pending.push(child);
      }
    }
    return { kind: "planned", plans, purges };
  }

  /**
   * Reruns a finished instance from one of its activities, timers or child workflows, as a
   * new instance (see engine/rerun.ts); the source is left as it is.
   */
  async rerun(request: Omit<RerunRequest, "newInstanceId"> & { newInstanceId?: string | undefined }): Promise<RerunResult> {
    const newInstanceId = request.newInstanceId || randomUUID();
    if (newInstanceId === request.sourceInstanceId) return { kind: "same-id" };
    const problem = checkInstanceId(newInstanceId);
    if (problem) return { kind: "invalid-id", instanceId: newInstanceId, problem };
    const source = await this.deps.store.history(request.sourceInstanceId);
    if (!source) return { kind: "not-found" };
    const now = this.deps.clock();
    const fork = forkForRerun(source, { ...request, newInstanceId }, { now, newExecutionId: this.deps.newExecutionId });
    if (fork.kind !== "fork") return fork;
    const { store } = this.deps;
    const created = await store.createFork(newInstanceId, fork.events, fork.state, fork.effects, now);
    if (created === "exists") return { kind: "exists", instanceId: newInstanceId };
    this.deps.observer.workflowStarted(fork.state.name);
    for (const effect of fork.effects) {
      if (effect.kind === "createChild") this.deps.notify(effect.event.instanceId);
      if (effect.kind === "scheduleTimer") {
        if (effect.fireAt <= now) this.deps.notify(newInstanceId);
        else this.deps.wakeAt(effect.fireAt);
      }
    }
    if (fork.effects.some((e) => e.kind === "scheduleActivity")) this.deps.activitiesQueued();
    return { kind: "rerun", instanceId: newInstanceId };
  }

  /** The committed history; undefined for an unknown instance. */
  history(instanceId: string): Promise<readonly HistoryEvent[] | undefined> {
    return this.deps.store.history(instanceId);
  }

  /**
   * Instance IDs in creation order, a page at a time. The token is opaque to callers (the
   * position after the page's last instance); a page is stable while instances come and go.
   */
  async listInstanceIds(continuationToken: string | undefined, pageSize: number | undefined): Promise<InstanceIdPage | "bad-token"> {
    let after = 0;
    if (continuationToken) {
      if (!/^[0-9]{1,15}$/.test(continuationToken)) return "bad-token";
      after = Number(continuationToken);
    }
    return this.deps.store.listInstanceIds(after, pageSize);
  }

  /** Queues the event (in the next group commit) and nudges the scheduler once it is durable. */
  private async send(instanceId: string, body: Parameters<typeof newEvent>[0]): Promise<CommandResult> {
    const now = this.deps.clock();
    const event: HistoryEvent = newEvent(body, now);
    const result = await this.deps.store.enqueue(instanceId, event, now);
    if (result === "not-found") return "not-found";
    if (result === "queued") this.deps.notify(instanceId);
    return "ok";
  }
}
