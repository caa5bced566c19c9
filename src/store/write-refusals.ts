/**
 * Thrown inside a store's transaction to roll it back and report an outcome that is not a
 * fault: the stores catch them and return the outcome.
 */
import type { RewindWriteResult } from "./store.js";

/** A turn's commit found the instance or its queues changed since the turn loaded them. */
export class ConflictError extends Error {}

/** A rewind's write was refused (a stale plan, an unfinished child): nothing of it stays. */
export class RewindRefusal extends Error {
  constructor(readonly result: Exclude<RewindWriteResult, { kind: "rewound" }>) {
    super(result.kind);
  }
}
