/**
 * Tasks: what a workflow yields. A task completes (or fails) when the history event that
 * resolves it is replayed; composite tasks (whenAll / whenAny) complete from their children.
 * The method names match `@dapr/dapr`'s Task (isComplete, isFailed, getResult,
 * getException) so workflow code moves between the two unchanged.
 */
import type { FailureDetails } from "../engine/history.js";

export abstract class Task<T = unknown> {
  protected complete_ = false;
  protected failed_ = false;
  protected result_: T | undefined;
  protected exception_: Error | undefined;
  /** The composite waiting on this task, if any. */
  parent: CompositeTask<unknown> | undefined;

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

export abstract class CompositeTask<T> extends CompletableTask<T> {
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
