/**
 * Hot instances for the in-process worker: a bounded LRU of live replays (a suspended
 * workflow generator with its tasks), so a step feeds the new events to the running code
 * instead of replaying the whole history. Turn cost then no longer grows with history.
 *
 * Correctness never depends on the cache. A live replay is reused only when the request's
 * history is exactly what it has seen plus what was committed after its last turn: the same
 * execution, the past events it was fed, then its last turn's new events, then whatever the
 * engine committed with them (the recorded actions), which are fed to it as replay. The new
 * events are recognised by identity: the store's hot history holds the very event objects a
 * committed turn was given, while a history read back from the database (a failed commit, a
 * restart, another process's turn, an eviction) holds fresh ones, and then the turn replays
 * from history, as without the cache.
 */
import type { HistoryEvent } from "../engine/history.js";
import type { OrchestrationRequest } from "../orchestration/worker.js";
import type { Replay } from "./replayer.js";

interface Hot {
  replay: Replay;
  executionId: string;
  /** History length the replay had seen before its last turn. */
  pastLength: number;
  /** Its last turn's new events, to recognise them in the next history. */
  lastNew: readonly HistoryEvent[];
}

export class ReplayCache {
  /** Insertion order is recency order: a hit is deleted and re-inserted. */
  private readonly hot = new Map<string, Hot>();
  readonly stats = { hits: 0, misses: 0, evictions: 0 };

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.hot.size;
  }

  /**
   * Takes the live replay for this request, if it can continue it, with the committed
   * events it still has to replay. The entry leaves the cache (one turn at a time).
   */
  take(request: OrchestrationRequest): { replay: Replay; catchUp: readonly HistoryEvent[] } | undefined {
    const hot = this.hot.get(request.instanceId);
    if (!hot) {
      this.stats.misses += 1;
      return undefined;
    }
    this.hot.delete(request.instanceId);
    const past = request.pastEvents;
    const seenLength = hot.pastLength + hot.lastNew.length;
    const continues =
      hot.executionId === request.executionId &&
      past.length >= seenLength &&
      hot.lastNew.every((event, i) => past[hot.pastLength + i] === event);
    if (!continues) {
      this.stats.misses += 1;
      return undefined;
    }
    this.stats.hits += 1;
    return { replay: hot.replay, catchUp: past.slice(seenLength) };
  }

  /** Keeps a replay that is still running after this request's turn. */
  keep(request: OrchestrationRequest, replay: Replay): void {
    this.hot.delete(request.instanceId);
    this.hot.set(request.instanceId, {
      replay,
      executionId: request.executionId,
      pastLength: request.pastEvents.length,
      lastNew: request.newEvents,
    });
    if (this.hot.size > this.capacity) {
      const oldest = this.hot.keys().next().value as string;
      this.hot.delete(oldest);
      this.stats.evictions += 1;
    }
  }
}
