/**
 * A Dapr SDK app connected over `GetWorkItems`: one stream, one Worker in the engine's
 * WorkerSet, exactly like the in-process runtime from the engine's point of view.
 *
 * Work items go down the stream; the replies come back on separate unary calls
 * (CompleteWorkflowTask / CompleteOrchestratorTask / CompleteActivityTask). Each dispatch
 * (a redelivery included) carries a fresh `completionToken`; a reply is matched the way the
 * SDKs identify it, a turn by instance ID (one turn per instance at a time), an activity by
 * instance ID and task ID, and then by its token: a reply with another dispatch's token is
 * stale and dropped. SDKs that send no token (`@dapr/dapr` 3.18) are matched by key alone.
 *
 * Flow control: the Node SDK runs 10 items and queues 100, and silently drops the rest, so
 * at most `itemsMax` items are outstanding per stream; more wait here, in order. An item
 * not answered within its time-out (the SDK lost it) is failed and its slot freed; the
 * engine dispatches the work again. When the stream closes, everything on it fails with
 * WorkerUnavailableError and goes to another worker, or waits for the app to reconnect;
 * a retired stream (see `retire`) instead lets the items the SDK already holds finish.
 *
 * Stateful history: a stream that announced WORKER_CAPABILITY_STATEFUL_HISTORY and holds an
 * instance's history from the turn it ran last gets only the events it lacks, with
 * `cachedHistory.eventCount` = the committed events left out (see WarmHistories).
 */
import { randomUUID } from "node:crypto";
import type { TurnResult } from "../engine/actions.js";
import type { HistoryEvent } from "../engine/history.js";
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
  type PbActivityResponse,
  type PbWorkflowResponse,
  turnResultFromPb,
  workflowRequestToPb,
} from "../protocol/convert.js";

export interface RemoteWorkerOptions {
  /** Items outstanding on the stream at most. */
  itemsMax: number;
  /** How long a turn may go unanswered before it is given up (and dispatched again). */
  turnTimeoutMs: number;
  /** Likewise for an activity: its lease. */
  activityTimeoutMs: number;
  /** The stream announced WORKER_CAPABILITY_STATEFUL_HISTORY (delta delivery). */
  statefulHistory?: boolean;
}

/** A work item on its way to (or at) the SDK, waiting for its reply. */
interface Dispatch {
  key: string;
  workItem: object;
  timeoutMs: number;
  /** Set when the item is sent: this dispatch's completion token. */
  token?: string;
  timer?: NodeJS.Timeout;
  settle: (reply: unknown) => void;
  fail: (error: Error) => void;
}

export const turnKey = (instanceId: string) => `turn ${instanceId}`;
export const activityKey = (instanceId: string, taskId: number) => `activity ${instanceId}/${taskId}`;

/** delivered: the reply settles its dispatch. unknown: nothing awaits it. stale: it answers an older dispatch. */
export type ReplyOutcome = "delivered" | "unknown" | "stale";

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

  /** Delivers a reply. An empty or absent token is accepted (SDKs that predate tokens). */
  resolve(key: string, reply: unknown, token?: string): ReplyOutcome {
    const dispatch = this.byKey.get(key);
    if (!dispatch) return "unknown";
    if (token && token !== dispatch.token) return "stale";
    this.byKey.delete(key);
    dispatch.settle(reply);
    return "delivered";
  }

  get size(): number {
    return this.byKey.size;
  }
}

/**
 * Which stream holds which instance's history (stateful-history delivery): the committed
 * history (past events) a stream was last sent for an instance, recorded when it answered
 * the turn; the SDKs cache exactly that (durabletask-go, the Python SDK). A newer turn on
 * another stream takes the entry over, so a stream is warm only while no other has run the
 * instance since. Bounded: the oldest entries go first (a miss only costs a full send).
 */
export class WarmHistories {
  private readonly byInstance = new Map<string, { worker: RemoteWorker; events: readonly HistoryEvent[] }>();

  constructor(private readonly entriesMax = 10_000) {}

  /** How many of `pastEvents` `worker` already holds: 0 unless they are exactly what it was sent. */
  cachedCount(worker: RemoteWorker, instanceId: string, pastEvents: readonly HistoryEvent[]): number {
    const entry = this.byInstance.get(instanceId);
    if (!entry || entry.worker !== worker || entry.events.length > pastEvents.length) return 0;
    // The committed history hands back the very objects that were sent (the store's hot
    // history extends them by reference); anything reloaded, rewritten or rolled back
    // differs, and the stream is cold. Pointer compares: cheap beside the turn's encoding.
    for (let i = 0; i < entry.events.length; i++) {
      if (entry.events[i] !== pastEvents[i]) return 0;
    }
    return entry.events.length;
  }

  remember(worker: RemoteWorker, instanceId: string, events: readonly HistoryEvent[]): void {
    this.byInstance.delete(instanceId);
    this.byInstance.set(instanceId, { worker, events });
    if (this.byInstance.size > this.entriesMax) this.byInstance.delete(this.byInstance.keys().next().value as string);
  }

  /** A stream ended: the histories it held go (they are never a hit again, and hold memory). */
  forgetWorker(worker: RemoteWorker): void {
    for (const [instanceId, entry] of this.byInstance) if (entry.worker === worker) this.byInstance.delete(instanceId);
  }
}

export class RemoteWorker implements Worker {
  readonly servesAnyName = true;
  private readonly queued: Dispatch[] = [];
  private readonly inFlight = new Set<Dispatch>();
  private closed = false;
  private retired = false;
  private idleSince: number | undefined = Date.now();

  constructor(
    readonly id: string,
    private readonly send: (workItem: object) => void,
    private readonly replies: PendingReplies,
    private readonly options: RemoteWorkerOptions,
    private readonly warm?: WarmHistories,
  ) {}

  load(): number {
    return this.inFlight.size + this.queued.length;
  }

  /** Since when nothing has been queued or outstanding (epoch ms), or undefined while busy. */
  idleSinceMs(): number | undefined {
    return this.idleSince;
  }

  // A connected SDK app announces no registrations: any name may be its.
  servesWorkflow(): boolean {
    return !this.closed && !this.retired;
  }

  servesActivity(): boolean {
    return !this.closed && !this.retired;
  }

  activityNames(): undefined {
    return undefined;
  }

  async executeOrchestration(request: OrchestrationRequest): Promise<TurnResult> {
    const cached = this.options.statefulHistory && this.warm ? this.warm.cachedCount(this, request.instanceId, request.pastEvents) : 0;
    const workItem = { workflowRequest: workflowRequestToPb(request, { cachedEventCount: cached }) };
    const reply = await this.dispatch(turnKey(request.instanceId), workItem, this.options.turnTimeoutMs);
    const result = turnResultFromPb(reply as PbWorkflowResponse);
    // The SDK now caches the committed history it replayed (its past events, not the new
    // ones: those it sees again as past events of the next turn).
    if (this.options.statefulHistory) this.warm?.remember(this, request.instanceId, request.pastEvents);
    return result;
  }

  async executeActivity(request: ActivityRequest): Promise<ActivityResult> {
    const reply = await this.dispatch(
      activityKey(request.instanceId, request.taskId),
      { activityRequest: activityRequestToPb(request) },
      this.options.activityTimeoutMs,
    );
    return activityResultFromPb(reply as PbActivityResponse);
  }

  /**
   * Takes no more work, and hands back what has not been sent yet; items the SDK already
   * holds stay outstanding and may still be answered (on the unary calls, which outlive the
   * stream) until their time-outs. Used before ending a stream cleanly on purpose.
   */
  retire(): void {
    if (this.retired || this.closed) return;
    this.retired = true;
    const error = new WorkerUnavailableError(`worker ${this.id} is being reconnected`);
    for (const dispatch of [...this.queued]) dispatch.fail(error);
  }

  /** The stream ended: everything queued or outstanding on it goes elsewhere (a retired stream's sent items may still be answered). */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const error = new WorkerUnavailableError(`worker ${this.id} disconnected (${reason})`);
    for (const dispatch of [...this.queued, ...(this.retired ? [] : this.inFlight)]) dispatch.fail(error);
  }

  private dispatch(key: string, workItem: object, timeoutMs: number): Promise<unknown> {
    if (this.closed || this.retired) return Promise.reject(new WorkerUnavailableError(`worker ${this.id} is disconnected`));
    return new Promise<unknown>((resolve, reject) => {
      let done = false;
      const finish = () => {
        done = true;
        clearTimeout(dispatch.timer);
        this.replies.unregister(dispatch);
        const index = this.queued.indexOf(dispatch);
        if (index >= 0) this.queued.splice(index, 1);
        if (this.inFlight.delete(dispatch)) this.pump();
        if (this.load() === 0) this.idleSince = Date.now();
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
      this.idleSince = undefined;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && !this.retired && this.inFlight.size < this.options.itemsMax && this.queued.length > 0) {
      const dispatch = this.queued.shift()!;
      dispatch.token = randomUUID();
      this.inFlight.add(dispatch);
      this.replies.register(dispatch);
      dispatch.timer = setTimeout(
        () => dispatch.fail(new Error(`${dispatch.key} was not answered within ${dispatch.timeoutMs} ms by worker ${this.id}`)),
        dispatch.timeoutMs,
      );
      try {
        this.send({ ...dispatch.workItem, completionToken: dispatch.token });
      } catch (error) {
        dispatch.fail(new WorkerUnavailableError(`could not send to worker ${this.id}: ${(error as Error).message}`));
      }
    }
  }
}
