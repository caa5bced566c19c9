/**
 * A Dapr SDK app connected over `GetWorkItems`: one stream, one Worker in the engine's
 * WorkerSet, exactly like the in-process runtime from the engine's point of view.
 *
 * Work items go down the stream; the replies come back on separate unary calls
 * (CompleteOrchestratorTask / CompleteActivityTask) that carry no token, so they are
 * matched the way the SDKs identify them: a turn by instance ID (one turn per instance at a
 * time), an activity by instance ID and task ID.
 *
 * Flow control: the Node SDK runs 10 items and queues 100, and silently drops the rest, so
 * at most `itemsMax` items are outstanding per stream; more wait here, in order. An item
 * not answered within its time-out (the SDK lost it) is failed and its slot freed; the
 * engine dispatches the work again. When the stream closes, everything on it fails with
 * WorkerUnavailableError and goes to another worker, or waits for the app to reconnect.
 */
import type { TurnResult } from "../engine/actions.js";
import {
  type ActivityRequest,
  type ActivityResult,
  type OrchestrationRequest,
  type Worker,
  WorkerUnavailableError,
} from "../orchestration/worker.js";
import {
  activityRequestToPb,
  activityResultFromPb,
  orchestratorRequestToPb,
  type PbActivityResponse,
  type PbOrchestratorResponse,
  turnResultFromPb,
} from "./convert.js";

export interface RemoteWorkerOptions {
  /** Items outstanding on the stream at most. */
  itemsMax: number;
  /** How long a turn may go unanswered before it is given up (and dispatched again). */
  turnTimeoutMs: number;
  /** Likewise for an activity: its lease. */
  activityTimeoutMs: number;
}

/** A work item on its way to (or at) the SDK, waiting for its reply. */
interface Dispatch {
  key: string;
  workItem: object;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
  settle: (reply: unknown) => void;
  fail: (error: Error) => void;
}

export const turnKey = (instanceId: string) => `turn ${instanceId}`;
export const activityKey = (instanceId: string, taskId: number) => `activity ${instanceId}/${taskId}`;

/**
 * Replies awaited from every connected worker, by key. Shared by all streams: a reply may
 * arrive on any connection of the app.
 */
export class PendingReplies {
  private readonly byKey = new Map<string, Dispatch>();

  /** A newer dispatch of the same work replaces an older one, which fails. */
  register(dispatch: Dispatch): void {
    const older = this.byKey.get(dispatch.key);
    this.byKey.set(dispatch.key, dispatch);
    older?.fail(new Error(`superseded by a newer dispatch of ${dispatch.key}`));
  }

  unregister(dispatch: Dispatch): void {
    if (this.byKey.get(dispatch.key) === dispatch) this.byKey.delete(dispatch.key);
  }

  /** Delivers a reply; false when nothing awaits it (a late or duplicate reply). */
  resolve(key: string, reply: unknown): boolean {
    const dispatch = this.byKey.get(key);
    if (!dispatch) return false;
    this.byKey.delete(key);
    dispatch.settle(reply);
    return true;
  }

  get size(): number {
    return this.byKey.size;
  }
}

export class RemoteWorker implements Worker {
  readonly servesAnyName = true;
  private readonly queued: Dispatch[] = [];
  private readonly inFlight = new Set<Dispatch>();
  private closed = false;

  constructor(
    readonly id: string,
    private readonly send: (workItem: object) => void,
    private readonly replies: PendingReplies,
    private readonly options: RemoteWorkerOptions,
  ) {}

  load(): number {
    return this.inFlight.size + this.queued.length;
  }

  // A connected SDK app announces no registrations: any name may be its.
  servesWorkflow(): boolean {
    return !this.closed;
  }

  servesActivity(): boolean {
    return !this.closed;
  }

  activityNames(): undefined {
    return undefined;
  }

  async executeOrchestration(request: OrchestrationRequest): Promise<TurnResult> {
    const reply = await this.dispatch(turnKey(request.instanceId), { orchestratorRequest: orchestratorRequestToPb(request) }, this.options.turnTimeoutMs);
    return turnResultFromPb(reply as PbOrchestratorResponse);
  }

  async executeActivity(request: ActivityRequest): Promise<ActivityResult> {
    const reply = await this.dispatch(
      activityKey(request.instanceId, request.taskId),
      { activityRequest: activityRequestToPb(request) },
      this.options.activityTimeoutMs,
    );
    return activityResultFromPb(reply as PbActivityResponse);
  }

  /** The stream ended: everything queued or outstanding on it goes elsewhere. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const error = new WorkerUnavailableError(`worker ${this.id} disconnected (${reason})`);
    for (const dispatch of [...this.queued, ...this.inFlight]) dispatch.fail(error);
  }

  private dispatch(key: string, workItem: object, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new WorkerUnavailableError(`worker ${this.id} is disconnected`));
    return new Promise<unknown>((resolve, reject) => {
      let done = false;
      const finish = () => {
        done = true;
        clearTimeout(dispatch.timer);
        this.replies.unregister(dispatch);
        const index = this.queued.indexOf(dispatch);
        if (index >= 0) this.queued.splice(index, 1);
        if (this.inFlight.delete(dispatch)) this.pump();
      };
      const dispatch: Dispatch = {
        key,
        workItem,
        timeoutMs,
        settle: (reply) => {
          if (done) return;
          finish();
          resolve(reply);
        },
        fail: (error) => {
          if (done) return;
          finish();
          reject(error);
        },
      };
      // Work for the same key that has not left yet is stale: only the newest is sent.
      for (const older of this.queued.filter((q) => q.key === key)) older.fail(new Error(`superseded by a newer dispatch of ${key}`));
      this.queued.push(dispatch);
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < this.options.itemsMax && this.queued.length > 0) {
      const dispatch = this.queued.shift()!;
      this.inFlight.add(dispatch);
      this.replies.register(dispatch);
      dispatch.timer = setTimeout(
        () => dispatch.fail(new Error(`${dispatch.key} was not answered within ${dispatch.timeoutMs} ms by worker ${this.id}`)),
        dispatch.timeoutMs,
      );
      try {
        this.send(dispatch.workItem);
      } catch (error) {
        dispatch.fail(new WorkerUnavailableError(`could not send to worker ${this.id}: ${(error as Error).message}`));
      }
    }
  }
}
