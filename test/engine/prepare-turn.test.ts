import { describe, expect, it } from "vitest";
import type { HistoryEvent } from "../../src/engine/history.js";
import { prepareTurn, type InboxItem, type TurnDisposition } from "../../src/engine/turn.js";
import { ev, inbox, kinds, startedHistory, T0 } from "./builders.js";

const NOW = T0 + 5000;

describe("prepareTurn: first turn", () => {
  const start = ev.started({ name: "orders", input: '"x"' }, T0 + 1);

  it("executes with OrchestratorStarted(now) followed by the start event", () => {
    const turn = prepareTurn("inst", [], inbox([start], 7), NOW);
    expect(turn.disposition).toBe("execute");
    expect(turn.newEvents).toHaveLength(2);
    expect(turn.newEvents[0]).toEqual({ kind: "orchestratorStarted", eventId: -1, timestamp: NOW });
    expect(turn.newEvents[1]).toBe(start);
    expect(turn.consumedSeqs).toEqual([7]);
    expect(turn.workflowName).toBe("orders");
    expect(turn.pastEvents).toEqual([]);
    expect(turn.instanceId).toBe("inst");
  });

  it("leaves the fold started and RUNNING with the new events", () => {
    const turn = prepareTurn("inst", [], inbox([start]), NOW);
    const state = turn.fold.state("inst");
    expect(state?.status).toBe("RUNNING");
    expect(state?.createdAt).toBe(T0 + 1);
    expect(state?.lastUpdatedAt).toBe(NOW);
  });

  const orders: { name: string; inbox: HistoryEvent[]; expected: string[] }[] = [
    {
      name: "raised event queued before the start",
      inbox: [ev.raised("a"), start],
      expected: ["orchestratorStarted", "executionStarted", "eventRaised"],
    },
    {
      name: "start in the middle",
      inbox: [ev.raised("a"), ev.raised("b"), start, ev.raised("c")],
      expected: ["orchestratorStarted", "executionStarted", "eventRaised", "eventRaised", "eventRaised"],
    },
  ];
  it.each(orders)("sorts the start event first: $name", ({ inbox: events, expected }) => {
    const turn = prepareTurn("inst", [], inbox(events), NOW);
    expect(turn.disposition).toBe("execute");
    expect(kinds(turn.newEvents)).toEqual(expected);
    expect(turn.consumedSeqs).toEqual(events.map((_, i) => i + 1));
  });

  it("keeps the relative order of the other events", () => {
    const turn = prepareTurn("inst", [], inbox([ev.raised("a"), ev.raised("b"), start, ev.raised("c")]), NOW);
    const names = turn.newEvents.flatMap((e) => (e.kind === "eventRaised" ? [e.name] : []));
    expect(names).toEqual(["a", "b", "c"]);
  });

  it("does not reorder the caller's inbox array", () => {
    const rows = inbox([ev.raised("a"), start]);
    prepareTurn("inst", [], rows, NOW);
    expect(rows.map((r) => r.event.kind)).toEqual(["eventRaised", "executionStarted"]);
  });

  it("drops a second start event in the same inbox", () => {
    const turn = prepareTurn("inst", [], inbox([start, ev.started({ name: "other" })]), NOW);
    expect(kinds(turn.newEvents)).toEqual(["orchestratorStarted", "executionStarted"]);
    expect(turn.consumedSeqs).toEqual([1, 2]);
    expect(turn.workflowName).toBe("orders");
  });
});

describe("prepareTurn: not started yet", () => {
  const cases: { name: string; inbox: HistoryEvent[] }[] = [
    { name: "empty inbox", inbox: [] },
    { name: "raised event only", inbox: [ev.raised("a")] },
    { name: "terminate only", inbox: [ev.terminated("x", true)] },
    { name: "activity result only", inbox: [ev.taskCompleted(1)] },
  ];
  it.each(cases)("waits and consumes nothing: $name", ({ inbox: events }) => {
    const turn = prepareTurn("inst", [], inbox(events), NOW);
    expect(turn.disposition).toBe("wait");
    expect(turn.consumedSeqs).toEqual([]);
    expect(turn.newEvents).toEqual([]);
    expect(turn.workflowName).toBeUndefined();
  });
});

describe("prepareTurn: completed instance", () => {
  const cases: { status: "COMPLETED" | "FAILED" | "TERMINATED"; inbox: HistoryEvent[] }[] = [
    { status: "COMPLETED", inbox: [ev.taskCompleted(1), ev.raised("late")] },
    { status: "FAILED", inbox: [ev.timerFired(2)] },
    { status: "TERMINATED", inbox: [ev.terminated("again", true), ev.suspended()] },
    { status: "COMPLETED", inbox: [ev.resumed(), ev.childCompleted(3), ev.started()] },
  ];
  it.each(cases)("drops and consumes every row ($status)", ({ status, inbox: events }) => {
    const history = startedHistory({ name: "orders" }, ev.taskScheduled(1), ev.completed(status));
    const turn = prepareTurn("inst", history, inbox(events, 10), NOW);
    expect(turn.disposition).toBe("drop");
    expect(turn.newEvents).toEqual([]);
    expect(turn.consumedSeqs).toEqual(events.map((_, i) => 10 + i));
    expect(turn.workflowName).toBe("orders");
  });
});

describe("prepareTurn: duplicates", () => {
  const history = startedHistory({}, ev.taskScheduled(1), ev.timerCreated(2), ev.taskCompleted(1));

  it("drops a duplicate activity result but still consumes its row", () => {
    const turn = prepareTurn("inst", history, inbox([ev.taskCompleted(1), ev.raised("x")], 5), NOW);
    expect(turn.disposition).toBe("execute");
    expect(kinds(turn.newEvents)).toEqual(["orchestratorStarted", "eventRaised"]);
    expect(turn.consumedSeqs).toEqual([5, 6]);
  });

  it("drops the second of two results for the same task within one inbox", () => {
    const turn = prepareTurn(
      "inst",
      startedHistory({}, ev.taskScheduled(1)),
      inbox([ev.taskCompleted(1, "first"), ev.taskFailed(1), ev.taskCompleted(1, "third")]),
      NOW,
    );
    expect(turn.newEvents).toHaveLength(2);
    expect(turn.newEvents[1]).toMatchObject({ kind: "taskCompleted", taskScheduledId: 1, result: "first" });
    expect(turn.consumedSeqs).toEqual([1, 2, 3]);
  });

  it("keeps results for distinct ids", () => {
    const turn = prepareTurn(
      "inst",
      startedHistory({}, ev.taskScheduled(1), ev.taskScheduled(2)),
      inbox([ev.taskCompleted(1), ev.taskCompleted(2)]),
      NOW,
    );
    expect(kinds(turn.newEvents)).toEqual(["orchestratorStarted", "taskCompleted", "taskCompleted"]);
  });

  const onlyDuplicates: { name: string; inbox: HistoryEvent[] }[] = [
    { name: "taskCompleted", inbox: [ev.taskCompleted(1)] },
    { name: "taskFailed after a recorded completion", inbox: [ev.taskFailed(1)] },
    { name: "several", inbox: [ev.taskCompleted(1), ev.taskFailed(1), ev.started()] },
  ];
  it.each(onlyDuplicates)("drops an inbox of only duplicates: $name", ({ inbox: events }) => {
    const turn = prepareTurn("inst", history, inbox(events, 3), NOW);
    expect(turn.disposition).toBe("drop");
    expect(turn.newEvents).toEqual([]);
    expect(turn.consumedSeqs).toEqual(events.map((_, i) => 3 + i));
  });

  it("drops a running instance with an empty inbox", () => {
    const turn = prepareTurn("inst", history, [], NOW);
    expect(turn.disposition).toBe("drop");
    expect(turn.newEvents).toEqual([]);
  });
});

describe("prepareTurn: suspend, resume and terminate", () => {
  const running = startedHistory({});
  const suspended = startedHistory({}, ev.orchStarted(), ev.suspended());

  const cases: {
    name: string;
    history: HistoryEvent[];
    inbox: HistoryEvent[];
    disposition: TurnDisposition;
    newKinds: string[];
  }[] = [
    { name: "suspend of a suspended instance is a no-op", history: suspended, inbox: [ev.suspended()], disposition: "drop", newKinds: [] },
    { name: "resume of a running instance is a no-op", history: running, inbox: [ev.resumed()], disposition: "drop", newKinds: [] },
    {
      name: "suspend-only inbox is recorded",
      history: running,
      inbox: [ev.suspended()],
      disposition: "record",
      newKinds: ["orchestratorStarted", "executionSuspended"],
    },
    {
      name: "two suspends: the second is a no-op",
      history: running,
      inbox: [ev.suspended(), ev.suspended()],
      disposition: "record",
      newKinds: ["orchestratorStarted", "executionSuspended"],
    },
    {
      name: "resume of a suspended instance executes",
      history: suspended,
      inbox: [ev.resumed()],
      disposition: "execute",
      newKinds: ["orchestratorStarted", "executionResumed"],
    },
    {
      name: "suspend plus an activity result executes",
      history: startedHistory({}, ev.taskScheduled(1)),
      inbox: [ev.suspended(), ev.taskCompleted(1)],
      disposition: "execute",
      newKinds: ["orchestratorStarted", "executionSuspended", "taskCompleted"],
    },
    {
      name: "raised event while suspended executes (the SDK buffers it)",
      history: suspended,
      inbox: [ev.raised("x")],
      disposition: "execute",
      newKinds: ["orchestratorStarted", "eventRaised"],
    },
    {
      name: "a no-op suspend next to a raised event is left out",
      history: suspended,
      inbox: [ev.suspended(), ev.raised("x")],
      disposition: "execute",
      newKinds: ["orchestratorStarted", "eventRaised"],
    },
    {
      name: "terminate alone is recorded",
      history: running,
      inbox: [ev.terminated("bye")],
      disposition: "record",
      newKinds: ["orchestratorStarted", "executionTerminated"],
    },
    {
      name: "terminate with other events is recorded",
      history: startedHistory({}, ev.taskScheduled(1)),
      inbox: [ev.raised("x"), ev.taskCompleted(1), ev.terminated("bye")],
      disposition: "record",
      newKinds: ["orchestratorStarted", "eventRaised", "taskCompleted", "executionTerminated"],
    },
    {
      name: "terminate of a suspended instance is recorded",
      history: suspended,
      inbox: [ev.terminated("bye")],
      disposition: "record",
      newKinds: ["orchestratorStarted", "executionTerminated"],
    },
    {
      name: "terminate in the same turn as the start is recorded",
      history: [],
      inbox: [ev.terminated("bye"), ev.started()],
      disposition: "record",
      newKinds: ["orchestratorStarted", "executionStarted", "executionTerminated"],
    },
  ];
  it.each(cases)("$name", ({ history, inbox: events, disposition, newKinds }) => {
    const turn = prepareTurn("inst", history, inbox(events), NOW);
    expect(turn.disposition).toBe(disposition);
    expect(kinds(turn.newEvents)).toEqual(newKinds);
    expect(turn.consumedSeqs).toEqual(events.map((_, i) => i + 1));
  });
});

describe("prepareTurn: rows bound to an execution", () => {
  // History of execution "exec-0" with a timer (1) and an activity (2) outstanding.
  const history = startedHistory({ executionId: "exec-0" }, ev.timerCreated(1), ev.taskScheduled(2));

  const cases: { name: string; rows: InboxItem[]; disposition: TurnDisposition; newKinds: string[] }[] = [
    {
      name: "a row for the current execution is kept",
      rows: [{ seq: 1, event: ev.timerFired(1), executionId: "exec-0" }],
      disposition: "execute",
      newKinds: ["orchestratorStarted", "timerFired"],
    },
    {
      name: "a row without an execution is kept",
      rows: [{ seq: 1, event: ev.taskCompleted(2) }],
      disposition: "execute",
      newKinds: ["orchestratorStarted", "taskCompleted"],
    },
    {
      name: "a stale row from another execution is dropped",
      rows: [
        { seq: 1, event: ev.timerFired(1), executionId: "old-exec" },
        { seq: 2, event: ev.raised("x") },
      ],
      disposition: "execute",
      newKinds: ["orchestratorStarted", "eventRaised"],
    },
    {
      name: "only stale rows → drop",
      rows: [
        { seq: 1, event: ev.timerFired(1), executionId: "old-exec" },
        { seq: 2, event: ev.taskCompleted(2), executionId: "old-exec" },
      ],
      disposition: "drop",
      newKinds: [],
    },
  ];
  it.each(cases)("$name", ({ rows, disposition, newKinds }) => {
    const turn = prepareTurn("inst", history, rows, NOW);
    expect(turn.disposition).toBe(disposition);
    expect(kinds(turn.newEvents)).toEqual(newKinds);
    expect(turn.consumedSeqs).toEqual(rows.map((r) => r.seq));
  });

  it("a stale row does not mark its ID as resolved for the current execution", () => {
    const turn = prepareTurn("inst", history, [{ seq: 1, event: ev.timerFired(1), executionId: "old-exec" }], NOW);
    expect(turn.fold.state("inst")?.resolutionKeys.has("timer:1")).toBe(false);
  });

  it("after continue-as-new, the new start is kept and the old execution's timer is dropped", () => {
    const rows: InboxItem[] = [
      { seq: 1, event: ev.timerFired(1), executionId: "exec-0" },
      { seq: 2, event: ev.started({ executionId: "exec-1" }), executionId: "exec-1" },
      { seq: 3, event: ev.raised("x") },
    ];
    const turn = prepareTurn("inst", [], rows, NOW);
    expect(turn.disposition).toBe("execute");
    expect(kinds(turn.newEvents)).toEqual(["orchestratorStarted", "executionStarted", "eventRaised"]);
    expect(turn.fold.executionId).toBe("exec-1");
    expect(turn.consumedSeqs).toEqual([1, 2, 3]);
  });
});

describe("prepareTurn: invalid stored history", () => {
  it("throws on a corrupted history instead of repairing it", () => {
    expect(() => prepareTurn("inst", [ev.raised("x")], inbox([ev.started()]), NOW)).toThrow();
  });
});
