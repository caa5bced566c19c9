/**
 * Committed histories of recently active instances, kept in memory so that an instance's next
 * turn neither reads nor decodes its history again (nor folds it from the start).
 *
 * An entry is valid only while the instance row still has the version and execution it was
 * kept for: every write of a turn bumps the row's version, so another writer (another
 * process, another replica), a purge and re-creation, or a continue-as-new makes it miss, and
 * the store reads the table instead. That check is what makes the cache safe for a store that
 * other processes write too. Bounded, least recently remembered first out.
 */
import type { HistoryEvent } from "../engine/history.js";
import { type HistoryFold, isTerminal } from "../engine/state.js";
import type { TurnOutcome } from "../engine/turn.js";

export interface HotHistory {
  version: number;
  executionId: string;
  history: readonly HistoryEvent[];
  fold: HistoryFold;
}

export class HotHistories {
  private readonly entries = new Map<string, HotHistory>();

  constructor(private readonly max: number) {}

  /** The kept history, if it is still the committed one of a row at this version and execution. */
  get(instanceId: string, version: number, executionId: string): HotHistory | undefined {
    const hot = this.entries.get(instanceId);
    return hot && hot.version === version && hot.executionId === executionId ? hot : undefined;
  }

  /**
   * Keeps the history a turn just committed (call only once its commit is durable). Finished
   * instances and continue-as-new turns are dropped instead.
   */
  remember(instanceId: string, committedVersion: number, past: readonly HistoryEvent[], outcome: TurnOutcome): void {
    const state = outcome.state;
    this.entries.delete(instanceId);
    if (outcome.historyMode !== "append" || !outcome.fold || !state || isTerminal(state.status) || this.max === 0) return;
    // A new array (a copy of references): the loaded one was handed to the worker and may
    // still be held by whoever received it.
    const history = past.concat(outcome.events);
    this.entries.set(instanceId, { version: committedVersion, executionId: state.executionId, history, fold: outcome.fold });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  forget(instanceId: string): void {
    this.entries.delete(instanceId);
  }
}
