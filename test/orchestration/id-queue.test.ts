/** The scheduler's FIFO of distinct IDs: order, membership, deletes and compaction. */
import { describe, expect, it } from "vitest";
import { IdQueue } from "../../src/orchestration/id-queue.js";

describe("IdQueue", () => {
  it("keeps the first place of a member added twice, skips deleted members, and empties", () => {
    const queue = new IdQueue();
    for (const id of ["a", "b", "c", "a"]) queue.add(id);
    expect(queue.size).toBe(3);
    expect(queue.delete("b")).toBe(true);
    expect(queue.delete("b")).toBe(false);
    expect(queue.has("b")).toBe(false);
    expect(queue.shift()).toBe("a");
    // Re-added after being taken: goes to the back.
    queue.add("a");
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual(["c", "a", undefined]);
    expect(queue.size).toBe(0);
  });

  it("a member deleted and added again takes its new place, not its old one", () => {
    const queue = new IdQueue();
    for (const id of ["x", "y", "z"]) queue.add(id);
    queue.delete("x");
    queue.add("x");
    expect([queue.shift(), queue.shift(), queue.shift()]).toEqual(["y", "z", "x"]);
  });

  it("stays in order across compactions of a long queue", () => {
    const queue = new IdQueue();
    const taken: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      queue.add(`i${i}`);
      if (i % 3 === 0) taken.push(queue.shift()!);
    }
    while (queue.size > 0) taken.push(queue.shift()!);
    expect(taken).toEqual(Array.from({ length: 20_000 }, (_, i) => `i${i}`));
  });
});
