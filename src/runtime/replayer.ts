/**
 * Replays a workflow function over its history and returns the actions of the new turn.
 *
 * The function runs from the start on every turn. Old events are replayed with
 * `isReplaying() === true`; each yielded task gets the next action ID (1, 2, 3, ...) and is
 * matched against the TaskScheduled / TimerCreated / SubOrchestrationInstanceCreated event
 * with that ID. A mismatch means the code changed under a running instance: the workflow
 * fails with NonDeterminismError naming both sides, rather than hanging. Actions that
 * history has not yet recorded are the turn's new actions.
 *
 * Suspension follows the Dapr SDKs: after ExecutionSuspended every event except resume
 * and terminate is held back, then replayed at ExecutionResumed. Unlike the SDKs, the
 * turn's clock (OrchestratorStarted) is not held back, so held-back events run at the time
 * of the turn that resumed them.
 */
import { appOfStart } from "../engine/apps.js";
import type { CompleteOrchestrationAction, OrchestratorAction, TurnResult } from "../engine/actions.js";
import { newEvent, type FailureDetails, type HistoryEvent } from "../engine/history.js";
import type { OrchestrationRequest } from "../orchestration/worker.js";
import { type ReplayHost, WorkflowContext } from "./context.js";
import { uuidV5 } from "./deterministic-guid.js";
import type { WorkflowRegistry } from "./registry.js";
import { deserialize, failureOf, serialize } from "./serialization.js";
import {
  CompletableTask,
  NonDeterminismError,
  Task,
  TaskFailedError,
  WorkflowNotRegisteredError,
} from "./task.js";

/** Replays a turn from scratch: the whole history, then the new events. */
export async function replay(registry: WorkflowRegistry, request: OrchestrationRequest): Promise<TurnResult> {
  const run = new Replay(registry, request.instanceId);
  await run.feed(request.pastEvents, request.newEvents);
  return run.result();
}

type Generatorish = Iterator<unknown, unknown, unknown> | AsyncIterator<unknown, unknown, unknown>;

interface Waiting {
  kind: OrchestratorAction["kind"];
  name: string | undefined;
}

/**
 * One execution's replay. It can be fed more than once: a live replay that has seen the
 * history up to some point continues with the events committed after it, exactly as if it
 * had replayed everything (the in-process worker keeps hot instances this way).
 */
export class Replay implements ReplayHost {
  replaying = false;
  currentUtcMs = 0;
  /** The app this instance runs in, from its start (multi-app workflows). */
  appId: string | undefined;
  private sequence = 0;
  private guidSequence = 0;
  private generator: Generatorish | undefined;
  /** The task the generator is blocked on. */
  private blockedOn: Task<unknown> | undefined;
  /** Actions issued by the code that history has not confirmed yet, by action ID. */
  private readonly unconfirmed = new Map<number, OrchestratorAction>();
  /** Tasks waiting for their resolution event, by action ID. */
  private readonly pending = new Map<number, CompletableTask<unknown>>();
  private readonly eventWaiters = new Map<string, CompletableTask<unknown>[]>();
  private readonly receivedEvents = new Map<string, (string | undefined)[]>();
  private suspended = false;
  private readonly heldBack: HistoryEvent[] = [];
  private completion: CompleteOrchestrationAction | undefined;
  /** continueAsNew(…, saveEvents): unconsumed events, including later ones of this turn, carry over. */
  private saveEvents = false;
  private customStatus: string | undefined;
  private readonly context: WorkflowContext;

  constructor(
    private readonly registry: WorkflowRegistry,
    readonly instanceId: string,
  ) {
    this.context = new WorkflowContext(this);
  }

  /** Replays `past` (isReplaying true), then runs `fresh`; a thrown error fails the execution. */
  async feed(past: readonly HistoryEvent[], fresh: readonly HistoryEvent[]): Promise<void> {
    try {
      this.replaying = true;
      for (const event of past) await this.process(event);
      this.replaying = false;
      for (const event of fresh) await this.process(event);
    } catch (error) {
      this.fail(error);
    }
  }

  /** The execution has a completion (it finished, failed or continues as new). */
  get finished(): boolean {
    return this.completion !== undefined;
  }

  // -- ReplayHost -----------------------------------------------------------------------

  nextActionId(): number {
    return ++this.sequence;
  }

  schedule(action: OrchestratorAction, task: CompletableTask<unknown>): void {
    this.unconfirmed.set(action.id, action);
    this.pending.set(action.id, task);
  }

  waitForEvent(name: string): CompletableTask<unknown> {
    const key = name.toLowerCase();
    const task = new CompletableTask<unknown>();
    const queued = this.receivedEvents.get(key);
    if (queued && queued.length > 0) {
      task.complete(deserialize(queued.shift()));
      return task;
    }
    const waiters = this.eventWaiters.get(key) ?? [];
    waiters.push(task);
    this.eventWaiters.set(key, waiters);
    return task;
  }

  setCustomStatus(status: string): void {
    this.customStatus = status;
  }

  newGuid(): string {
    return uuidV5(`${this.instanceId}_${new Date(this.currentUtcMs).toISOString()}_${++this.guidSequence}`);
  }

  continueAsNew(input: string | undefined, saveEvents: boolean): void {
    this.saveEvents = saveEvents;
    this.complete({ kind: "completeOrchestration", id: 0, status: "CONTINUED_AS_NEW", result: input });
  }

  // -- Events ---------------------------------------------------------------------------

  private async process(event: HistoryEvent): Promise<void> {
    if (this.completion) {
      // After continueAsNew, events of the same turn are still received (and carried over).
      if (this.completion.status === "CONTINUED_AS_NEW" && event.kind === "eventRaised") this.buffer(event.name, event.input);
      return;
    }
    // Held back while suspended: everything but resume, terminate and the turn's clock, so
    // held-back events run at resume with the resuming turn's time, not a stale one.
    if (this.suspended && event.kind !== "executionResumed" && event.kind !== "executionTerminated" && event.kind !== "orchestratorStarted") {
      this.heldBack.push(event);
      return;
    }
    switch (event.kind) {
      case "orchestratorStarted":
        this.currentUtcMs = event.timestamp;
        return;
      case "executionStarted":
        this.appId = appOfStart(event);
        return this.startWorkflow(event.name, event.input);
      case "taskScheduled":
        return this.confirm(event.eventId, { kind: "scheduleTask", name: event.name });
      case "timerCreated":
        return this.confirm(event.eventId, { kind: "createTimer", name: undefined });
      case "subOrchestrationInstanceCreated":
        return this.confirm(event.eventId, { kind: "createSubOrchestration", name: event.name });
      case "taskCompleted":
      case "subOrchestrationInstanceCompleted":
        return this.resolve(event.taskScheduledId, (task) => task.complete(deserialize(event.result)));
      case "timerFired":
        return this.resolve(event.timerId, (task) => task.complete(undefined));
      case "taskFailed":
        return this.resolve(event.taskScheduledId, (task) =>
          task.fail(failedTaskError(`activity task #${event.taskScheduledId} failed`, event.failureDetails)));
      case "subOrchestrationInstanceFailed":
        return this.resolve(event.taskScheduledId, (task) =>
          task.fail(failedTaskError(`child workflow task #${event.taskScheduledId} failed`, event.failureDetails)));
      case "eventRaised":
        return this.deliverEvent(event.name, event.input);
      case "executionSuspended":
        this.suspended = true;
        return;
      case "executionResumed": {
        this.suspended = false;
        const held = this.heldBack.splice(0);
        for (const e of held) await this.process(e);
        return;
      }
      case "executionTerminated":
        this.complete({ kind: "completeOrchestration", id: 0, status: "TERMINATED", result: event.input });
        return;
      case "executionCompleted":
      case "orchestratorCompleted":
      case "eventSent":
      case "continueAsNew":
      case "executionStalled":
      case "detachedWorkflowInstanceCreated":
        return;
      default: {
        const unknown: never = event;
        throw new Error(`unhandled history event ${JSON.stringify(unknown)}`);
      }
    }
  }

  private async startWorkflow(name: string, input: string | undefined): Promise<void> {
    const fn = this.registry.workflow(name);
    if (!fn) throw new WorkflowNotRegisteredError(`workflow '${name}' is not registered`);
    const returned = await fn(this.context, deserialize(input));
    if (isGenerator(returned)) {
      this.generator = returned;
      await this.advance({ value: undefined });
    } else {
      this.complete({ kind: "completeOrchestration", id: 0, status: "COMPLETED", result: serialize(returned) });
    }
  }

  /** A scheduling event in history must match the action the code issued under that ID. */
  private confirm(id: number, recorded: Waiting): void {
    const issued = this.unconfirmed.get(id);
    if (!issued) {
      throw new NonDeterminismError(
        `history has ${describe(recorded)} at action ID ${id}; this run issued no action with that ID`,
      );
    }
    const issuedName = issued.kind === "scheduleTask" || issued.kind === "createSubOrchestration" ? issued.name : undefined;
    if (issued.kind !== recorded.kind || issuedName !== recorded.name) {
      throw new NonDeterminismError(
        `history has ${describe(recorded)} at action ID ${id}; this run issued ${describe({ kind: issued.kind, name: issuedName })}`,
      );
    }
    this.unconfirmed.delete(id);
  }

  /** Resolution events for unknown IDs are ignored, as in the Dapr SDKs (stale results). */
  private async resolve(id: number, settle: (task: CompletableTask<unknown>) => void): Promise<void> {
    const task = this.pending.get(id);
    if (!task) return;
    this.pending.delete(id);
    settle(task);
    await this.resumeIfUnblocked();
  }

  private async deliverEvent(name: string, input: string | undefined): Promise<void> {
    const key = name.toLowerCase();
    const waiter = this.eventWaiters.get(key)?.shift();
    if (!waiter) return this.buffer(key, input);
    waiter.complete(deserialize(input));
    await this.resumeIfUnblocked();
  }

  /** Keeps an event nobody waits for yet; the next wait for that name takes the oldest. */
  private buffer(name: string, input: string | undefined): void {
    const key = name.toLowerCase();
    const queued = this.receivedEvents.get(key) ?? [];
    queued.push(input);
    this.receivedEvents.set(key, queued);
  }

  private async resumeIfUnblocked(): Promise<void> {
    const task = this.blockedOn;
    if (!task || !task.isComplete) return;
    this.blockedOn = undefined;
    await this.advance(task.isFailed ? { error: task.getException() } : { value: task.getResult() });
  }

  /** Drives the generator until it blocks on an incomplete task or returns. */
  private async advance(next: { value?: unknown; error?: unknown }): Promise<void> {
    const generator = this.generator!;
    let input = next;
    for (;;) {
      if (this.completion) return;
      const step = "error" in input && input.error !== undefined
        ? await generator.throw!(input.error)
        : await generator.next(input.value);
      if (step.done) {
        if (!this.completion) {
          this.complete({ kind: "completeOrchestration", id: 0, status: "COMPLETED", result: serialize(step.value) });
        }
        return;
      }
      const task = step.value;
      if (!(task instanceof Task)) {
        throw new TypeError("a workflow may only yield tasks from its context (callActivity, createTimer, whenAll, ...)");
      }
      if (!task.isComplete) {
        this.blockedOn = task;
        return;
      }
      input = task.isFailed ? { error: task.getException() } : { value: task.getResult() };
    }
  }

  // -- Completion -----------------------------------------------------------------------

  fail(error: unknown): void {
    if (this.completion) return;
    // A failed execution issues nothing else (as the Dapr SDKs): in particular the action
    // that did not match history must not be sent on, or the failure would be masked.
    this.unconfirmed.clear();
    this.complete({ kind: "completeOrchestration", id: 0, status: "FAILED", failureDetails: failureOf(error) });
  }

  private complete(action: CompleteOrchestrationAction): void {
    if (this.completion) return;
    this.completion = { ...action, id: this.nextActionId() };
  }

  result(): TurnResult {
    const completion = this.completion;
    // While suspended a turn issues nothing, as in the Dapr SDKs. Actions the code issued
    // before the suspension and that history records after it (a result and a pause in the
    // same turn) are held back with everything else and confirmed at resume; sending them
    // again meanwhile would reuse their action IDs.
    const actions: OrchestratorAction[] = this.suspended && !completion
      ? []
      : [...this.unconfirmed.values()].sort((a, b) => a.id - b.id);
    if (completion?.status === "CONTINUED_AS_NEW") {
      const carryoverEvents = this.saveEvents
        ? [...this.receivedEvents].flatMap(([name, inputs]) => inputs.map((input) => newEvent({ kind: "eventRaised", name, input }, 0)))
        : [];
      actions.push({ ...completion, carryoverEvents });
    } else if (completion) {
      actions.push(completion);
    }
    return { actions, customStatus: this.customStatus };
  }
}

function failedTaskError(prefix: string, details: FailureDetails): TaskFailedError {
  return new TaskFailedError(`${prefix}: ${details.errorMessage}`, details);
}

function describe(action: Waiting): string {
  const label: Record<string, string> = {
    scheduleTask: "callActivity",
    createTimer: "createTimer",
    createSubOrchestration: "callChildWorkflow",
    sendEvent: "sendEvent",
    completeOrchestration: "completion",
    terminateOrchestration: "terminate",
  };
  return action.name ? `${label[action.kind]}('${action.name}')` : `${label[action.kind]}`;
}

function isGenerator(value: unknown): value is Generatorish {
  return (
    typeof value === "object" && value !== null &&
    typeof (value as { next?: unknown }).next === "function" &&
    typeof (value as { throw?: unknown }).throw === "function" &&
    (Symbol.asyncIterator in value || Symbol.iterator in value)
  );
}
