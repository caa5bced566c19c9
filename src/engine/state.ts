/**
 * Instance state: what an instance is, derived by folding its history.
 *
 * Nothing here is stored as an independent flag: name, input, status, output and the
 * bookkeeping used for de-duplication and cascades all come from the events, so the API's
 * answers and the store's indexed columns cannot drift from the history.
 */
import type {
  ExecutionCompleted,
  ExecutionStarted,
  FailureDetails,
  HistoryEvent,
  ParentInstance,
  PropagatedHistory,
  StalledReason,
  WireValue,
} from "./history.js";
import { LayeredSet, type Membership } from "./layered-set.js";

export const runtimeStatuses = [
  "RUNNING",
  "COMPLETED",
  "CONTINUED_AS_NEW",
  "FAILED",
  "CANCELED",
  "TERMINATED",
  "PENDING",
  "SUSPENDED",
  "STALLED",
] as const;
export type RuntimeStatus = (typeof runtimeStatuses)[number];

/** Statuses from which an instance never moves again (and which purge accepts). */
export const terminalStatuses: readonly RuntimeStatus[] = ["COMPLETED", "FAILED", "TERMINATED"];

export function isTerminal(status: RuntimeStatus): boolean {
  return terminalStatuses.includes(status);
}

export interface InstanceState {
  instanceId: string;
  name: string;
  executionId: string;
  input: string | undefined;
  parentInstance: ParentInstance | undefined;
  /** Time of the ExecutionStarted event. */
  createdAt: number;
  /** Time of the last history event. */
  lastUpdatedAt: number;
  status: RuntimeStatus;
  output: string | undefined;
  failureDetails: FailureDetails | undefined;
  /** The orchestration version string of the current execution (ExecutionStarted.version). */
  version: string | undefined;
  /** History received from the parent (history propagation), kept across continue-as-new. */
  propagatedHistory: PropagatedHistory | undefined;
  /** The ExecutionStarted's TaskRouter: which app started the instance and runs it (see apps.ts). */
  router?: WireValue | undefined;
  /** Action IDs recorded by TaskScheduled / TimerCreated / SubOrchestrationInstanceCreated. */
  scheduledIds: Membership<number>;
  /** Keys of resolution events already in history (see `resolutionKey`). */
  resolutionKeys: Membership<string>;
  /** Children created and not yet resolved, by action ID. */
  openChildren: ReadonlyMap<number, string>;
}

export class HistoryError extends Error {
  readonly code = "HISTORY_INVALID";
}

/**
 * The key under which a resolution event is de-duplicated: a second completion of the same
 * activity, timer or child (for example an activity that ran twice after a lease expired) is
 * a duplicate, and so is a second start or completion of the execution. Other events have no
 * key and are never treated as duplicates.
 */
export function resolutionKey(event: HistoryEvent): string | undefined {
  switch (event.kind) {
    case "taskCompleted":
    case "taskFailed":
      return `task:${event.taskScheduledId}`;
    case "timerFired":
      return `timer:${event.timerId}`;
    case "subOrchestrationInstanceCompleted":
    case "subOrchestrationInstanceFailed":
      return `child:${event.taskScheduledId}`;
    case "executionStarted":
      return "started";
    case "executionCompleted":
      return "completed";
    default:
      return undefined;
  }
}

/**
 * Incremental fold. `add` returns false for a duplicate, which callers drop. Used by
 * `foldHistory` for stored histories and by the turn logic while it appends new events.
 */
export class HistoryFold {
  private started: ExecutionStarted | undefined;
  private completed: ExecutionCompleted | undefined;
  private suspended = false;
  private stalled: StalledReason | undefined;
  private patches: readonly string[] = [];
  private lastTimestamp = 0;
  private scheduledIds = new LayeredSet<number>();
  private resolutionKeys = new LayeredSet<string>();
  private readonly openChildren = new Map<number, string>();

  /** An independent copy: adding to either leaves the other as it was. */
  clone(): HistoryFold {
    const copy = new HistoryFold();
    copy.started = this.started;
    copy.completed = this.completed;
    copy.suspended = this.suspended;
    copy.stalled = this.stalled;
    copy.patches = this.patches;
    copy.lastTimestamp = this.lastTimestamp;
    // Both folds continue on new layers over the frozen contents: O(1), not O(history).
    const ids = this.scheduledIds;
    this.scheduledIds = ids.extend();
    copy.scheduledIds = ids.extend();
    const keys = this.resolutionKeys;
    this.resolutionKeys = keys.extend();
    copy.resolutionKeys = keys.extend();
    for (const [id, child] of this.openChildren) copy.openChildren.set(id, child);
    return copy;
  }

  /** Folds `event` in; returns false (and changes nothing) when it is a duplicate. */
  add(event: HistoryEvent): boolean {
    const key = resolutionKey(event);
    if (key !== undefined && this.resolutionKeys.has(key)) return false;
    if (key !== undefined) this.resolutionKeys.add(key);
    this.lastTimestamp = Math.max(this.lastTimestamp, event.timestamp);
    switch (event.kind) {
      case "executionStarted":
        this.started = event;
        break;
      case "executionCompleted":
        this.completed = event;
        break;
      case "executionSuspended":
        this.suspended = true;
        break;
      case "executionResumed":
        this.suspended = false;
        break;
      case "orchestratorStarted":
        // A turn that ran clears a stall (a stalled turn records no OrchestratorStarted);
        // each turn records only the patches history lacked, so they add up.
        this.stalled = undefined;
        if (event.version?.patches.length) this.patches = [...this.patches, ...event.version.patches];
        break;
      case "executionStalled":
        this.stalled = event.reason;
        break;
      case "taskScheduled":
      case "timerCreated":
      case "detachedWorkflowInstanceCreated":
        this.recordScheduled(event.eventId);
        break;
      case "subOrchestrationInstanceCreated":
        this.recordScheduled(event.eventId);
        this.openChildren.set(event.eventId, event.instanceId);
        break;
      case "subOrchestrationInstanceCompleted":
      case "subOrchestrationInstanceFailed":
        this.openChildren.delete(event.taskScheduledId);
        break;
      default:
        break;
    }
    return true;
  }

  get isStarted(): boolean {
    return this.started !== undefined;
  }

  get executionId(): string | undefined {
    return this.started?.executionId;
  }

  get isCompleted(): boolean {
    return this.completed !== undefined;
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  /** History received from the parent, which each turn's request carries. */
  get propagatedHistory(): PropagatedHistory | undefined {
    return this.started?.propagatedHistory;
  }

  get isStalled(): boolean {
    return this.stalled !== undefined;
  }

  /** Every patch recorded in history, in order (each turn's OrchestratorStarted adds those it first applied). */
  get recordedPatches(): readonly string[] {
    return this.patches;
  }

  /** Notes the patches recorded on the turn being folded (its OrchestratorStarted, copied with a version). */
  recordVersion(patches: readonly string[]): void {
    if (patches.length) this.patches = [...this.patches, ...patches];
  }

  /** The state so far, or undefined while no ExecutionStarted has been folded. */
  state(instanceId: string): InstanceState | undefined {
    const started = this.started;
    if (!started) return undefined;
    const completed = this.completed;
    return {
      instanceId,
      name: started.name,
      executionId: started.executionId,
      input: started.input,
      parentInstance: started.parentInstance,
      createdAt: started.timestamp,
      lastUpdatedAt: this.lastTimestamp,
      status: completed ? completed.status : this.stalled ? "STALLED" : this.suspended ? "SUSPENDED" : "RUNNING",
      output: completed?.result,
      failureDetails: completed?.failureDetails,
      version: started.version,
      propagatedHistory: started.propagatedHistory,
      router: started.router,
      scheduledIds: this.snapshotScheduledIds(),
      resolutionKeys: this.snapshotResolutionKeys(),
      openChildren: new Map(this.openChildren),
    };
  }

  /** The contents now, unaffected by later adds (the live set moves on to a new layer). */
  private snapshotScheduledIds(): Membership<number> {
    const view = this.scheduledIds;
    this.scheduledIds = view.extend();
    return view;
  }

  private snapshotResolutionKeys(): Membership<string> {
    const view = this.resolutionKeys;
    this.resolutionKeys = view.extend();
    return view;
  }

  private recordScheduled(id: number): void {
    if (this.scheduledIds.has(id)) {
      throw new HistoryError(`action ID ${id} is recorded twice in history`);
    }
    this.scheduledIds.add(id);
  }
}

/**
 * Folds a stored history. Asserts the invariants a committed history must hold (one
 * ExecutionStarted, first; no duplicates; unique action IDs): a violation is a bug or a
 * corrupted store and is raised as HistoryError, never silently repaired.
 */
export function foldHistory(instanceId: string, events: readonly HistoryEvent[]): HistoryFold {
  const fold = new HistoryFold();
  for (const event of events) {
    if (!fold.add(event)) {
      throw new HistoryError(`history of '${instanceId}' holds a duplicate ${event.kind} event`);
    }
    if (event.kind !== "orchestratorStarted" && event.kind !== "executionStarted" && !fold.isStarted) {
      throw new HistoryError(`history of '${instanceId}' has ${event.kind} before ExecutionStarted`);
    }
  }
  return fold;
}
