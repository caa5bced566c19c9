/**
 * Tasks: what a workflow yields. A task completes (or fails) when the history event that
 * resolves it is replayed; composite tasks (whenAll / whenAny) complete from their children.
 * The method names match `@dapr/dapr`'s Task (isComplete, isFailed, getResult,
 * getException) so workflow code moves between the two unchanged.
 */
import type { FailureDetails } from "../engine/history.js";
import type { RetryPolicy } from "./retry-policy.js";

/** Something that waits on a task: a composite, or a retrying task waiting on an attempt. */
export interface TaskObserver {
  onChildCompleted(child: Task<unknown>): void;
}

export abstract class Task<T = unknown> {
  protected complete_ = false;
  protected failed_ = false;
  protected result_: T | undefined;
  protected exception_: Error | undefined;
  /** The composite (or retrying task) waiting on this task, if any. */
  parent: TaskObserver | undefined;

  get isComplete(): boolean {
    return this.complete_;
  }

  get isFailed(): boolean {
    return this.failed_;
  }

  getResult(): T {
    if (!this.complete_) throw new Error("the task has not completed yet");
    if (this.failed_) throw this.exception_!;
    return this.result_ as T;
  }

  getException(): Error | undefined {
    return this.exception_;
  }
}

export class CompletableTask<T = unknown> extends Task<T> {
  complete(result: T): void {
    if (this.complete_) return;
    this.complete_ = true;
    this.result_ = result;
    this.parent?.onChildCompleted(this);
  }

  fail(exception: Error): void {
    if (this.complete_) return;
    this.complete_ = true;
    this.failed_ = true;
    this.exception_ = exception;
    this.parent?.onChildCompleted(this);
  }
}

export abstract class CompositeTask<T> extends CompletableTask<T> implements TaskObserver {
  constructor(protected readonly children: readonly Task<unknown>[]) {
    super();
    for (const child of children) child.parent = this;
  }

  abstract onChildCompleted(child: Task<unknown>): void;
}

/** Completes with every child's result, in order, or fails with the first failure. */
export class WhenAllTask<T> extends CompositeTask<T[]> {
  constructor(children: readonly Task<T>[]) {
    super(children);
    this.check();
  }

  onChildCompleted(child: Task<unknown>): void {
    if (child.isFailed) this.fail(child.getException()!);
    else this.check();
  }

  private check(): void {
    const failed = this.children.find((c) => c.isFailed);
    if (failed) return this.fail(failed.getException()!);
    if (this.children.every((c) => c.isComplete)) this.complete(this.children.map((c) => c.getResult()) as T[]);
  }
}

/** Completes with the first child that completes (successfully or not), as a Task. */
export class WhenAnyTask extends CompositeTask<Task<unknown>> {
  constructor(children: readonly Task<unknown>[]) {
    super(children);
    const done = children.find((c) => c.isComplete);
    if (done) this.complete(done);
  }

  onChildCompleted(child: Task<unknown>): void {
    this.complete(child);
  }
}

/** How a retrying task starts its attempts and waits; the workflow context provides it. */
export interface RetryHost {
  /** The current turn's time (history time, the same on replay). */
  nowMs(): number;
  /** Starts attempt `attempt` (1, 2, 3, ...). */
  startAttempt(attempt: number): Task<unknown>;
  startTimer(delayMs: number): Task<unknown>;
}

/**
 * An activity or child workflow with a retry policy. When an attempt fails and the policy
 * allows another, it starts a durable timer and then a new attempt (each with its own action
 * ID, so history records every attempt and every wait); otherwise it fails with the last
 * attempt's error.
 */
export class RetryableTask<T> extends CompletableTask<T> implements TaskObserver {
  private attempt = 1;
  private wait: Task<unknown> | undefined;
  private readonly firstScheduledMs: number;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly host: RetryHost,
  ) {
    super();
    this.firstScheduledMs = host.nowMs();
    host.startAttempt(1).parent = this;
  }

  onChildCompleted(child: Task<unknown>): void {
    if (child === this.wait) {
      this.wait = undefined;
      this.attempt += 1;
      this.host.startAttempt(this.attempt).parent = this;
      return;
    }
    if (!child.isFailed) return this.complete(child.getResult() as T);
    const delay = this.policy.nextDelayMs(this.attempt, this.firstScheduledMs, this.host.nowMs());
    if (delay === undefined) return this.fail(child.getException()!);
    this.wait = this.host.startTimer(delay);
    this.wait.parent = this;
  }
}

/** The exception a workflow sees when an activity or child workflow it awaited failed. */
export class TaskFailedError extends Error {
  override readonly name = "TaskFailedError";
  constructor(message: string, readonly details: FailureDetails) {
    super(message);
  }
}

/** The workflow's code no longer matches its history. */
export class NonDeterminismError extends Error {
  override readonly name = "NonDeterminismError";
}

export class WorkflowNotRegisteredError extends Error {
  override readonly name = "WorkflowNotRegisteredError";
}
