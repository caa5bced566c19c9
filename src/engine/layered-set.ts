/**
 * An add-only set whose snapshots and copies cost O(1): contents live in layers, and a
 * snapshot freezes the current layer and starts a new one on top of it. A fold of a long
 * history is copied once per turn (and snapshotted for its state); with plain Sets that copy
 * grew with the history, making a workflow's 10,000th step far dearer than its 10th.
 *
 * Lookups walk the layers, so the chain is flattened into one layer once it gets deep;
 * empty layers are never stacked.
 */
const depthMax = 64;

export interface Membership<T> extends Iterable<T> {
  has(value: T): boolean;
  readonly size: number;
}

export class LayeredSet<T> implements Membership<T> {
  private readonly own = new Set<T>();
  private frozen = false;
  private readonly depth: number;

  constructor(private readonly base?: LayeredSet<T>) {
    this.depth = base ? base.depth + 1 : 0;
  }

  has(value: T): boolean {
    return this.own.has(value) || (this.base?.has(value) ?? false);
  }

  get size(): number {
    return this.own.size + (this.base?.size ?? 0);
  }

  add(value: T): void {
    if (this.frozen) throw new Error("a frozen LayeredSet cannot change");
    if (!this.has(value)) this.own.add(value);
  }

  *[Symbol.iterator](): Iterator<T> {
    if (this.base) yield* this.base;
    yield* this.own;
  }

  /**
   * Freezes this layer (it and its contents never change again) and returns a new writable
   * set with the same contents: the owner replaces its reference with the result and may
   * hand this one out as a snapshot, or extend it again for a copy.
   */
  extend(): LayeredSet<T> {
    this.frozen = true;
    if (this.own.size === 0 && this.base) return new LayeredSet(this.base);
    if (this.depth < depthMax) return new LayeredSet(this);
    const flat = new LayeredSet<T>();
    for (const value of this) flat.own.add(value);
    return flat;
  }
}
