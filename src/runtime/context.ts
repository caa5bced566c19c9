/**
 * The contexts workflow and activity code receive. Method names and behaviour mirror
 * `@dapr/dapr` 3.18's WorkflowContext and WorkflowActivityContext, so code moves between
 * the Dapr SDK and workflowd's in-process runtime unchanged.
 *
 * The workflow context only records commands (it never performs anything): each call gets
 * the next action ID and a task; the replayer matches IDs against history.
 */
import type { OrchestratorAction } from "../engine/actions.js";
import type { WireValue } from "../engine/history.js";
import { RetryPolicy, type RetryPolicyOptions } from "./retry-policy.js";
import { CompletableTask, RetryableTask, type Task, WhenAllTask, WhenAnyTask } from "./task.js";
import { serialize } from "./serialization.js";

/** A workflow: an (async) generator function yielding tasks, or a plain function. */
export type Workflow = (ctx: WorkflowContext, input: any) => unknown;
/** An activity: any (async) function of its context and input. */
export type Activity = (ctx: ActivityContext, input: any) => unknown;

/** Options of callActivity. */
export interface ActivityOptions {
  retryPolicy?: RetryPolicy | RetryPolicyOptions;
  /**
   * Run the activity in another app (Dapr 1.16 multi-app workflows; the Python SDK's `app_id`):
   * a workflowd of that app ID on the same database runs it; until one does, it waits.
   */
  appId?: string;
}

/** Options of callChildWorkflow (the instance ID may also be passed as a plain string). */
export interface ChildWorkflowOptions {
  instanceId?: string;
  retryPolicy?: RetryPolicy | RetryPolicyOptions;
  /** Run the child workflow in another app (see ActivityOptions.appId). */
  appId?: string;
}

/** What the context needs from the replayer that drives it. */
export interface ReplayHost {
  readonly instanceId: string;
  readonly currentUtcMs: number;
  readonly replaying: boolean;
  /** The app the instance runs in, when its start names one. */
  readonly appId: string | undefined;
  nextActionId(): number;
  schedule(action: OrchestratorAction, task: CompletableTask<unknown>): void;
  waitForEvent(name: string): CompletableTask<unknown>;
  setCustomStatus(status: string): void;
  continueAsNew(input: string | undefined, saveEvents: boolean): void;
  newGuid(): string;
}

export class WorkflowContext {
  constructor(private readonly host: ReplayHost) {}

  getWorkflowInstanceId(): string {
    return this.host.instanceId;
  }

  /** The time of the current turn, from history: the same value on every replay. */
  getCurrentUtcDateTime(): Date {
    return new Date(this.host.currentUtcMs);
  }

  isReplaying(): boolean {
    return this.host.replaying;
  }

  /** Schedules an activity; with a retry policy, failed attempts run again after durable waits. */
  callActivity<T = any>(activity: Activity | string, input?: unknown, options?: ActivityOptions): Task<T> {
    const name = nameOf(activity);
    const payload = serialize(input);
    return this.withRetries<T>(options?.retryPolicy, (attempt) => {
      const task = new CompletableTask<unknown>();
      // The attempt number is recorded (not sent anywhere) so the activity's getAttempt() knows it.
      const retry = attempt > 1 ? { retryAttempt: attempt } : {};
      this.host.schedule({ kind: "scheduleTask", id: this.host.nextActionId(), name, input: payload, ...retry, ...this.routed(options?.appId) }, task);
      return task;
    });
  }

  /**
   * Starts a child workflow. The third argument is its instance ID (as in `@dapr/dapr`) or
   * options with an instance ID and a retry policy. Without an ID the child is
   * `<parent>:<action ID as 4 hex digits>`; a retried child with an explicit ID reuses it.
   */
  callChildWorkflow<T = any>(workflow: Workflow | string, input?: unknown, instanceIdOrOptions?: string | ChildWorkflowOptions): Task<T> {
    const options = typeof instanceIdOrOptions === "string" ? { instanceId: instanceIdOrOptions } : instanceIdOrOptions;
    const name = nameOf(workflow);
    const payload = serialize(input);
    return this.withRetries<T>(options?.retryPolicy, () => {
      const task = new CompletableTask<unknown>();
      this.host.schedule(
        { kind: "createSubOrchestration", id: this.host.nextActionId(), name, instanceId: options?.instanceId ?? "", input: payload, ...this.routed(options?.appId) },
        task,
      );
      return task;
    });
  }

  /** An action's router, as the SDKs write it: this app as the source, the app to run it in as the target. */
  private routed(targetAppId: string | undefined): { router?: WireValue } {
    if (targetAppId === undefined) return {};
    return { router: { sourceAppID: this.host.appId ?? "", targetAppID: targetAppId } };
  }

  /** The older name of callChildWorkflow, kept by `@dapr/dapr`. */
  callSubWorkflow<T = any>(workflow: Workflow | string, input?: unknown, instanceIdOrOptions?: string | ChildWorkflowOptions): Task<T> {
    return this.callChildWorkflow<T>(workflow, input, instanceIdOrOptions);
  }

  /** A durable timer: a Date, or a number of seconds from the current (history) time. */
  createTimer(fireAt: Date | number): Task<void> {
    const at = typeof fireAt === "number" ? this.host.currentUtcMs + fireAt * 1000 : fireAt.getTime();
    if (!Number.isFinite(at)) throw new TypeError("createTimer needs a valid Date or a number of seconds");
    const id = this.host.nextActionId();
    const task = new CompletableTask<void>();
    this.host.schedule({ kind: "createTimer", id, fireAt: at }, task as CompletableTask<unknown>);
    return task;
  }

  /** Completes with the oldest raised event of that name (names are case-insensitive). */
  waitForExternalEvent<T = any>(name: string): Task<T> {
    return this.host.waitForEvent(name) as Task<T>;
  }

  continueAsNew(newInput: unknown, saveEvents = false): void {
    this.host.continueAsNew(serialize(newInput), saveEvents);
  }

  setCustomStatus(status: string): void {
    this.host.setCustomStatus(status);
  }

  /**
   * A UUID that is the same on every replay of this point of the workflow (name-based,
   * from the instance ID, the turn's time and a per-execution counter), for IDs that must
   * not change when the code runs again.
   */
  newGuid(): string {
    return this.host.newGuid();
  }

  /** Wraps a task's attempts in a RetryableTask when a policy is given. */
  private withRetries<T>(policy: RetryPolicy | RetryPolicyOptions | undefined, attempt: (n: number) => CompletableTask<unknown>): Task<T> {
    if (policy === undefined) return attempt(1) as Task<T>;
    return new RetryableTask<T>(RetryPolicy.from(policy), {
      nowMs: () => this.host.currentUtcMs,
      startAttempt: attempt,
      startTimer: (delayMs) => this.createTimer(new Date(this.host.currentUtcMs + delayMs)),
    });
  }

  whenAll<T>(tasks: Task<T>[]): Task<T[]> {
    return new WhenAllTask<T>(tasks);
  }

  whenAny(tasks: Task<any>[]): Task<Task<any>> {
    return new WhenAnyTask(tasks);
  }
}

export class ActivityContext {
  constructor(
    private readonly instanceId: string,
    private readonly taskId: number,
    private readonly attempt: number,
    private readonly delivery: number,
  ) {}

  getWorkflowInstanceId(): string {
    return this.instanceId;
  }

  getWorkflowActivityId(): number {
    return this.taskId;
  }

  /** The retry-policy attempt: 1, then 2, 3, ... for each attempt a retry policy starts. */
  getAttempt(): number {
    return this.attempt;
  }

  /**
   * How many times this attempt has been handed to a worker: 1, higher when it runs again
   * because a worker or the process went away before its result was recorded (activities run
   * at least once). A workflowd extension; `@dapr/dapr` has no such method.
   */
  getDeliveryCount(): number {
    return this.delivery;
  }
}

function nameOf(target: ((...args: any[]) => unknown) | string): string {
  const name = typeof target === "string" ? target : target?.name;
  if (!name) throw new TypeError("an activity or workflow must be a named function or a name");
  return name;
}
