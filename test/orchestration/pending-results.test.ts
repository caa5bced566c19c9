/** Activity results held for the next turn: one per activity row, oldest first, drained at stop. */
import { describe, expect, it } from "vitest";
import { newEvent } from "../../src/engine/history.js";
import { PendingResults } from "../../src/orchestration/pending-results.js";

const result = (activitySeq: number, value = String(activitySeq)) => ({
  activitySeq,
  executionId: "e1",
  event: newEvent({ kind: "taskCompleted", taskScheduledId: activitySeq, result: value }, 0),
});

describe("PendingResults", () => {
  it("keeps one result per activity row (a second run's result is dropped), oldest first, up to a limit", () => {
    const pending = new PendingResults();
    pending.add("a", result(3));
    pending.add("a", result(1));
    pending.add("a", result(3, "again"));
    pending.add("b", result(7));
    expect(pending.size).toBe(3);
    expect(pending.peek("a", 10).map((r) => [r.activitySeq, (r.event as { result?: string }).result])).toEqual([[3, "3"], [1, "1"]]);
    expect(pending.peek("a", 1).map((r) => r.activitySeq)).toEqual([3]);
    expect(pending.peek("a", 0)).toEqual([]);
    expect(pending.peek("nobody", 5)).toEqual([]);
  });

  it("forgets what a commit recorded, what is stale, and everything of an instance that is gone; drains the rest", () => {
    const pending = new PendingResults();
    for (const seq of [1, 2, 3]) pending.add("a", result(seq));
    pending.add("b", result(9));
    pending.add("c", result(5));
    pending.remove("a", [1, 3, 42]);
    expect(pending.peek("a", 10).map((r) => r.activitySeq)).toEqual([2]);
    pending.forget("b");
    expect(pending.size).toBe(2);
    expect(pending.drain().map(({ instanceId, result: r }) => [instanceId, r.activitySeq])).toEqual([["a", 2], ["c", 5]]);
    expect(pending.size).toBe(0);
    expect(pending.peek("a", 10)).toEqual([]);
  });
});
