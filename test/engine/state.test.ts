import { describe, expect, it } from "vitest";
import type { HistoryEvent } from "../../src/engine/history.js";
import {
  foldHistory,
  HistoryError,
  HistoryFold,
  isTerminal,
  resolutionKey,
  type RuntimeStatus,
} from "../../src/engine/state.js";
import { ev, startedHistory, T0 } from "./builders.js";

function stateOf(events: readonly HistoryEvent[]) {
  const state = foldHistory("inst", events).state("inst");
  if (!state) throw new Error("expected a started instance");
  return state;
}

describe("foldHistory: status", () => {
  const cases: { name: string; events: HistoryEvent[]; status: RuntimeStatus }[] = [
    { name: "started only", events: startedHistory(), status: "RUNNING" },
    { name: "started, no OrchestratorStarted", events: [ev.started()], status: "RUNNING" },
    { name: "suspended", events: startedHistory({}, ev.orchStarted(), ev.suspended()), status: "SUSPENDED" },
    {
      name: "suspended then resumed",
      events: startedHistory({}, ev.orchStarted(), ev.suspended(), ev.orchStarted(), ev.resumed()),
      status: "RUNNING",
    },
    {
      name: "resumed then suspended again",
      events: startedHistory({}, ev.suspended(), ev.resumed(), ev.suspended()),
      status: "SUSPENDED",
    },
    { name: "completed", events: startedHistory({}, ev.completed("COMPLETED")), status: "COMPLETED" },
    { name: "failed", events: startedHistory({}, ev.completed("FAILED")), status: "FAILED" },
    { name: "terminated", events: startedHistory({}, ev.completed("TERMINATED")), status: "TERMINATED" },
    {
      name: "terminated while suspended",
      events: startedHistory({}, ev.suspended(), ev.terminated("x"), ev.completed("TERMINATED")),
      status: "TERMINATED",
    },
  ];
  it.each(cases)("$name → $status", ({ events, status }) => {
    expect(stateOf(events).status).toBe(status);
  });

  it("has no state before ExecutionStarted", () => {
    expect(foldHistory("inst", []).state("inst")).toBeUndefined();
    expect(foldHistory("inst", [ev.orchStarted()]).state("inst")).toBeUndefined();
    expect(foldHistory("inst", []).isStarted).toBe(false);
  });

  it.each([
    ["COMPLETED", true],
    ["FAILED", true],
    ["TERMINATED", true],
    ["RUNNING", false],
    ["SUSPENDED", false],
    ["PENDING", false],
    ["CONTINUED_AS_NEW", false],
  ] as const)("isTerminal(%s) = %s", (status, terminal) => {
    expect(isTerminal(status)).toBe(terminal);
  });
});

describe("foldHistory: descriptive fields", () => {
  const parent = { taskScheduledId: 3, name: "parentWf", instanceId: "p", executionId: "pe" };
  const history: HistoryEvent[] = [
    ev.orchStarted(T0),
    ev.started({ name: "orders", executionId: "e-42", input: '{"n":1}', parent }, T0 + 1),
    ev.taskScheduled(1, "act", T0 + 2),
    ev.orchStarted(T0 + 50),
    ev.taskCompleted(1, '"ok"', T0 + 40), // older than the previous event: lastUpdatedAt is the max
  ];

  it("takes name, input, executionId, parent and createdAt from ExecutionStarted", () => {
    const state = stateOf(history);
    expect(state).toMatchObject({
      instanceId: "inst",
      name: "orders",
      executionId: "e-42",
      input: '{"n":1}',
      parentInstance: parent,
      createdAt: T0 + 1,
    });
  });

  it("takes lastUpdatedAt from the latest event timestamp", () => {
    expect(stateOf(history).lastUpdatedAt).toBe(T0 + 50);
  });

  it("has no output or failure while running", () => {
    const state = stateOf(history);
    expect(state.output).toBeUndefined();
    expect(state.failureDetails).toBeUndefined();
  });

  it("keeps undefined input distinct from empty input", () => {
    expect(stateOf([ev.started()]).input).toBeUndefined();
    expect(stateOf([ev.started({ input: "" })]).input).toBe("");
  });

  it("takes output from a COMPLETED ExecutionCompleted", () => {
    const state = stateOf(startedHistory({}, ev.completed("COMPLETED", { result: '"done"' }, T0 + 9)));
    expect(state.output).toBe('"done"');
    expect(state.failureDetails).toBeUndefined();
    expect(state.lastUpdatedAt).toBe(T0 + 9);
  });

  it("takes failureDetails from a FAILED ExecutionCompleted", () => {
    const failureDetails = { errorType: "TypeError", errorMessage: "bad", stackTrace: "at x" };
    const state = stateOf(startedHistory({}, ev.completed("FAILED", { failureDetails })));
    expect(state.failureDetails).toEqual(failureDetails);
    expect(state.output).toBeUndefined();
  });

  it("records scheduled action IDs of tasks, timers and children", () => {
    const state = stateOf(
      startedHistory({}, ev.taskScheduled(1), ev.timerCreated(2), ev.childCreated(3, "inst:0003"), ev.raised("x")),
    );
    expect([...state.scheduledIds].sort()).toEqual([1, 2, 3]);
  });
});

describe("foldHistory: openChildren", () => {
  const cases: { name: string; rest: HistoryEvent[]; open: [number, string][] }[] = [
    { name: "no children", rest: [], open: [] },
    { name: "one created", rest: [ev.childCreated(1, "c1")], open: [[1, "c1"]] },
    {
      name: "two created, one completed",
      rest: [ev.childCreated(1, "c1"), ev.childCreated(2, "c2"), ev.childCompleted(1)],
      open: [[2, "c2"]],
    },
    {
      name: "two created, one failed",
      rest: [ev.childCreated(1, "c1"), ev.childCreated(2, "c2"), ev.childFailed(2)],
      open: [[1, "c1"]],
    },
    {
      name: "both resolved",
      rest: [ev.childCreated(1, "c1"), ev.childCreated(2, "c2"), ev.childFailed(2), ev.childCompleted(1)],
      open: [],
    },
    {
      name: "task completion with the same ID does not close the child",
      rest: [ev.childCreated(1, "c1"), ev.taskCompleted(1)],
      open: [[1, "c1"]],
    },
  ];
  it.each(cases)("$name", ({ rest, open }) => {
    expect([...stateOf(startedHistory({}, ...rest)).openChildren]).toEqual(open);
  });
});

describe("foldHistory: invariants", () => {
  const cases: { name: string; events: HistoryEvent[] }[] = [
    { name: "duplicate ExecutionCompleted", events: startedHistory({}, ev.completed("COMPLETED"), ev.completed("FAILED")) },
    { name: "duplicate ExecutionStarted", events: startedHistory({}, ev.started()) },
    { name: "duplicate TaskCompleted", events: startedHistory({}, ev.taskScheduled(1), ev.taskCompleted(1), ev.taskCompleted(1)) },
    { name: "duplicate action ID (task, task)", events: startedHistory({}, ev.taskScheduled(1), ev.taskScheduled(1)) },
    { name: "duplicate action ID (task, timer)", events: startedHistory({}, ev.taskScheduled(2), ev.timerCreated(2)) },
    { name: "duplicate action ID (timer, child)", events: startedHistory({}, ev.timerCreated(4), ev.childCreated(4, "c")) },
    { name: "event before ExecutionStarted", events: [ev.orchStarted(), ev.taskCompleted(1), ev.started()] },
    { name: "raised event before ExecutionStarted", events: [ev.raised("x"), ev.started()] },
    { name: "history without ExecutionStarted", events: [ev.orchStarted(), ev.suspended()] },
  ];
  it.each(cases)("throws HistoryError on $name", ({ events }) => {
    expect(() => foldHistory("inst", events)).toThrow(HistoryError);
  });

  it("HistoryError carries the HISTORY_INVALID code", () => {
    try {
      foldHistory("inst", startedHistory({}, ev.completed("COMPLETED"), ev.completed("COMPLETED")));
      expect.unreachable("foldHistory should have thrown");
    } catch (error) {
      expect(error).toBeInstanceOf(HistoryError);
      expect((error as HistoryError).code).toBe("HISTORY_INVALID");
    }
  });

  it("accepts OrchestratorStarted before ExecutionStarted", () => {
    expect(() => foldHistory("inst", [ev.orchStarted(), ev.started()])).not.toThrow();
  });

  it("accepts a completion of an ID that was never scheduled", () => {
    expect(() => foldHistory("inst", startedHistory({}, ev.taskCompleted(7)))).not.toThrow();
  });
});

describe("resolutionKey", () => {
  const cases: { event: HistoryEvent; key: string | undefined }[] = [
    { event: ev.taskCompleted(1), key: "task:1" },
    { event: ev.taskFailed(1), key: "task:1" },
    { event: ev.timerFired(1), key: "timer:1" },
    { event: ev.childCompleted(1), key: "child:1" },
    { event: ev.childFailed(1), key: "child:1" },
    { event: ev.started(), key: "started" },
    { event: ev.completed("COMPLETED"), key: "completed" },
    { event: ev.completed("TERMINATED"), key: "completed" },
    { event: ev.raised("x"), key: undefined },
    { event: ev.taskScheduled(1), key: undefined },
    { event: ev.terminated(), key: undefined },
    { event: ev.suspended(), key: undefined },
    { event: ev.orchStarted(), key: undefined },
  ];
  it.each(cases)("$event.kind → $key", ({ event, key }) => {
    expect(resolutionKey(event)).toBe(key);
  });

  it("task, timer and child keys with the same ID differ", () => {
    const keys = [ev.taskCompleted(1), ev.timerFired(1), ev.childCompleted(1)].map(resolutionKey);
    expect(new Set(keys).size).toBe(3);
  });
});

describe("HistoryFold.add de-duplication", () => {
  const cases: { name: string; first: HistoryEvent; second: HistoryEvent; accepted: boolean }[] = [
    { name: "second taskCompleted, same id", first: ev.taskCompleted(1, "a"), second: ev.taskCompleted(1, "b"), accepted: false },
    { name: "taskFailed after taskCompleted, same id", first: ev.taskCompleted(1), second: ev.taskFailed(1), accepted: false },
    { name: "taskCompleted after taskFailed, same id", first: ev.taskFailed(1), second: ev.taskCompleted(1), accepted: false },
    { name: "taskCompleted, distinct ids", first: ev.taskCompleted(1), second: ev.taskCompleted(2), accepted: true },
    { name: "second timerFired, same id", first: ev.timerFired(3), second: ev.timerFired(3), accepted: false },
    { name: "timerFired, distinct ids", first: ev.timerFired(3), second: ev.timerFired(4), accepted: true },
    { name: "child failed after completed", first: ev.childCompleted(2), second: ev.childFailed(2), accepted: false },
    { name: "task and timer with the same id", first: ev.taskCompleted(5), second: ev.timerFired(5), accepted: true },
    { name: "task and child with the same id", first: ev.taskCompleted(5), second: ev.childCompleted(5), accepted: true },
    { name: "two raised events with the same name", first: ev.raised("x", "1"), second: ev.raised("x", "1"), accepted: true },
    { name: "two terminate requests", first: ev.terminated("a"), second: ev.terminated("a"), accepted: true },
    { name: "second ExecutionCompleted", first: ev.completed("COMPLETED"), second: ev.completed("FAILED"), accepted: false },
  ];
  it.each(cases)("$name → accepted=$accepted", ({ first, second, accepted }) => {
    const fold = new HistoryFold();
    expect(fold.add(ev.started())).toBe(true);
    expect(fold.add(first)).toBe(true);
    expect(fold.add(second)).toBe(accepted);
  });

  it("a second ExecutionStarted is dropped and does not replace the first", () => {
    const fold = new HistoryFold();
    expect(fold.add(ev.started({ name: "first" }))).toBe(true);
    expect(fold.add(ev.started({ name: "second" }))).toBe(false);
    expect(fold.state("inst")?.name).toBe("first");
  });

  it("a dropped duplicate changes nothing (no timestamp bump, no status change)", () => {
    const fold = new HistoryFold();
    fold.add(ev.started({}, T0));
    fold.add(ev.completed("COMPLETED", { result: "1" }, T0 + 1));
    expect(fold.add(ev.completed("FAILED", {}, T0 + 100))).toBe(false);
    const state = fold.state("inst");
    expect(state?.status).toBe("COMPLETED");
    expect(state?.output).toBe("1");
    expect(state?.lastUpdatedAt).toBe(T0 + 1);
  });

  it("state() returns copies that later adds do not mutate", () => {
    const fold = new HistoryFold();
    fold.add(ev.started());
    const before = fold.state("inst");
    fold.add(ev.taskScheduled(1));
    fold.add(ev.childCreated(2, "c"));
    fold.add(ev.taskCompleted(1));
    expect(before?.scheduledIds.size).toBe(0);
    expect(before?.openChildren.size).toBe(0);
    expect(before?.resolutionKeys.has("task:1")).toBe(false);
    expect(fold.state("inst")?.resolutionKeys.has("task:1")).toBe(true);
  });
});
