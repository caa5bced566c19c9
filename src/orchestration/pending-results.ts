/**
 * Activity results handed to the instance's next turn in memory, instead of a write of their
 * own: the turn's commit records the result in history and deletes the activity's queue row,
 * in one transaction. Until then the row stays leased in the database, so a crash loses only
 * the result and the activity runs again after the restart (activities are at least once,
 * and history still gets exactly one result: the commit that records it deletes the row, and
 * a result whose row is gone is dropped). On a clean stop the results still here are written
 * the old way (`drain`), so nothing runs twice. A result that waits here longer than the
 * activity lease (its instance cannot run a turn: no worker serves its workflow) lets the
 * lease expire and the activity run again; the second result for the same row is dropped.
 */
import type { HistoryEvent } from "../engine/history.js";

export interface PendingResult {
  /** The activity's queue row, deleted by the commit that records the result. */
  activitySeq: number;
  /** The execution the activity belongs to (a result for an older one is dropped). */
  executionId: string;
  event: HistoryEvent;
}

export class PendingResults {
  private readonly byInstance = new Map<string, Map<number, PendingResult>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Keeps a result for the instance's next turn; a second result for the same row is dropped. */
  add(instanceId: string, result: PendingResult): void {
    let results = this.byInstance.get(instanceId);
    if (!results) this.byInstance.set(instanceId, (results = new Map()));
    if (results.has(result.activitySeq)) return;
    results.set(result.activitySeq, result);
    this.count++;
  }

  /** Up to `max` results waiting for the instance, oldest first (they stay until `remove`). */
  peek(instanceId: string, max: number): PendingResult[] {
    const results = this.byInstance.get(instanceId);
    if (!results || max <= 0) return [];
    const out: PendingResult[] = [];
    for (const result of results.values()) {
      if (out.length >= max) break;
      out.push(result);
    }
    return out;
  }

  /** Forgets results (recorded by a commit, or stale). */
  remove(instanceId: string, activitySeqs: Iterable<number>): void {
    const results = this.byInstance.get(instanceId);
    if (!results) return;
    for (const seq of activitySeqs) if (results.delete(seq)) this.count--;
    if (results.size === 0) this.byInstance.delete(instanceId);
  }

  /** Forgets every result of an instance that is gone. */
  forget(instanceId: string): void {
    const results = this.byInstance.get(instanceId);
    if (!results) return;
    this.count -= results.size;
    this.byInstance.delete(instanceId);
  }

  /** Takes every result still waiting (for the stop, which writes them). */
  drain(): { instanceId: string; result: PendingResult }[] {
    const all: { instanceId: string; result: PendingResult }[] = [];
    for (const [instanceId, results] of this.byInstance) for (const result of results.values()) all.push({ instanceId, result });
    this.byInstance.clear();
    this.count = 0;
    return all;
  }
}
