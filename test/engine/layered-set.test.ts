/** LayeredSet: O(1) snapshots and copies of an add-only set, on plain data. */
import { describe, expect, it } from "vitest";
import { LayeredSet } from "../../src/engine/layered-set.js";

describe("LayeredSet", () => {
  it("behaves as a set: has, size, iteration in insertion order, no duplicates", () => {
    let set = new LayeredSet<number>();
    set.add(1);
    set = set.extend();
    set.add(2);
    set.add(1);
    expect(set.has(1) && set.has(2) && !set.has(3)).toBe(true);
    expect(set.size).toBe(2);
    expect([...set]).toEqual([1, 2]);
  });

  it("a layer that was extended is frozen: later adds go to the new layer only", () => {
    const first = new LayeredSet<string>();
    first.add("a");
    const second = first.extend();
    second.add("b");
    expect(first.has("b")).toBe(false);
    expect(() => first.add("c")).toThrow(/frozen/);
  });

  it("two extensions of one frozen layer are independent copies", () => {
    const base = new LayeredSet<number>();
    base.add(1);
    const left = base.extend();
    const right = base.extend();
    left.add(2);
    right.add(3);
    expect([...left]).toEqual([1, 2]);
    expect([...right]).toEqual([1, 3]);
  });

  it("stays correct through thousands of extensions (deep chains are flattened)", () => {
    let set = new LayeredSet<number>();
    const snapshots: { view: LayeredSet<number>; size: number }[] = [];
    for (let i = 0; i < 5_000; i++) {
      set.add(i);
      snapshots.push({ view: set, size: i + 1 });
      set = set.extend();
    }
    expect(set.size).toBe(5_000);
    for (const { view, size } of snapshots.filter((_, i) => i % 499 === 0)) {
      expect(view.size).toBe(size);
      expect(view.has(size - 1)).toBe(true);
      expect(view.has(size)).toBe(false);
    }
  });
});
