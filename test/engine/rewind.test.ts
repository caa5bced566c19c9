/**
 * planRewind on plain data: the history is cut at the turn that first saw a failure; what
 * arrived from outside after it is queued again; failed and unanswered work runs again;
 * failed children are rewound; children decided after the cut are purged; refusals are named.
 */
import { describe, expect, it } from "vitest";
import type { HistoryEvent } from "../../src/engine/history.js";
import { planRewind, type ChildOutcome, type RewindPlan } from "../../src/engine/rewind.js";
import { ev, T0 } from "./builders.js";

const NOW = T0 + 60_000;

/**
 * Turn 1 schedules activities 1 and 2, a timer 3 and child 4. Turn 2: 1 fails (first failure),
 * an event arrives; the code retries with activity 5 and a child 6. Turn 3: 2 completes, 5
 * fails, child 4 fails; the workflow fails.
 */
const history: HistoryEvent[] = [
  ev.orchStarted(),
  ev.started({ input: '"in"' }),
  ev.taskScheduled(1, "charge"),
  ev.taskScheduled(2, "ship"),
  ev.timerCreated(3),
  ev.childCreated(4, "inst:0004"),
  ev.orchStarted(T0 + 1),
  ev.taskFailed(1),
  ev.raised("approval", '"yes"'),
  ev.taskScheduled(5, "charge"),
  ev.childCreated(6, "inst:0006"),
  ev.orchStarted(T0 + 2),
  ev.taskCompleted(2, '"shipped"'),
  ev.taskFailed(5),
  ev.childFailed(4),
  ev.completed("FAILED", { failureDetails: { errorType: "E", errorMessage: "m" } }),
];

const children = (entries: Record<string, ChildOutcome | undefined>) => new Map(Object.entries(entries));

function plan(events: readonly HistoryEvent[], kids = children({ "inst:0004": { status: "FAILED" }, "inst:0006": { status: "COMPLETED", output: '"c"' } }), reason?: string): RewindPlan {
  const result = planRewind({ instanceId: "inst", history: events, children: kids, reason, now: NOW });
  if (result.kind !== "rewind") throw new Error(`expected a plan, got ${JSON.stringify(result)}`);
  return result;
}

describe("planRewind", () => {
  it("keeps the history before the turn that first saw a failure, and records the rewind as a turn of its own", () => {
    const result = plan(history, undefined, "fixed the card service");
    expect(result.events.slice(0, 6)).toEqual(history.slice(0, 6));
    expect(result.events.slice(6).map((e) => [e.kind, e.timestamp])).toEqual([["orchestratorStarted", NOW], ["executionResumed", NOW]]);
    expect(result.events.at(-1)).toMatchObject({ input: "rewound: fixed the card service" });
    expect(result.state).toMatchObject({ instanceId: "inst", status: "RUNNING", input: '"in"', lastUpdatedAt: NOW });
    expect(result.state.output).toBeUndefined();
    expect(result.state.failureDetails).toBeUndefined();
  });

  it("queues again what arrived from outside, in order; runs the failed activity again; decisions after the cut are dropped", () => {
    const result = plan(history);
    expect(result.inbox.map((e) => e.kind)).toEqual(["eventRaised", "taskCompleted"]);
    expect(result.inbox[1]).toMatchObject({ taskScheduledId: 2, result: '"shipped"' });
    const activities = result.effects.filter((e) => e.kind === "scheduleActivity");
    expect(activities).toMatchObject([{ taskId: 1, name: "charge" }]);
    // Activity 5 (a retry the code decided after the failure) is not queued: the replay decides again.
    expect(result.effects).toContainEqual({ kind: "scheduleTimer", fireAt: T0 + 1000, event: expect.objectContaining({ kind: "timerFired", timerId: 3 }) });
    expect(result.rewindChildren).toEqual(["inst:0004"]);
    expect(result.purgeChildren).toEqual(["inst:0006"]);
  });

  it("a child that finished after its parent failed delivers its result again; a running one is left to report", () => {
    const failedEarly: HistoryEvent[] = [
      ev.orchStarted(),
      ev.started(),
      ev.childCreated(1, "inst:0001"),
      ev.childCreated(2, "inst:0002"),
      ev.taskScheduled(3, "x"),
      ev.orchStarted(T0 + 1),
      ev.taskFailed(3),
      ev.completed("FAILED", { failureDetails: { errorType: "E", errorMessage: "m" } }),
    ];
    const result = plan(failedEarly, children({ "inst:0001": { status: "COMPLETED", output: '"one"' }, "inst:0002": { status: "RUNNING" } }));
    expect(result.inbox).toMatchObject([{ kind: "subOrchestrationInstanceCompleted", taskScheduledId: 1, result: '"one"', timestamp: NOW }]);
    expect(result.effects).toMatchObject([{ kind: "scheduleActivity", taskId: 3 }]);
    expect(result.rewindChildren).toEqual([]);
  });

  it("a workflow whose own code threw: its last turn runs again", () => {
    const threw: HistoryEvent[] = [
      ev.orchStarted(),
      ev.started(),
      ev.taskScheduled(1, "x"),
      ev.orchStarted(T0 + 1),
      ev.taskCompleted(1, '"r"'),
      ev.completed("FAILED", { failureDetails: { errorType: "E", errorMessage: "bad result" } }),
    ];
    const result = plan(threw, children({}));
    expect(result.events.map((e) => e.kind)).toEqual(["orchestratorStarted", "executionStarted", "taskScheduled", "orchestratorStarted", "executionResumed"]);
    expect(result.inbox).toMatchObject([{ kind: "taskCompleted", taskScheduledId: 1 }]);
    expect(result.effects).toEqual([]);
  });

  it("failed in its first turn: back to a queued start (PENDING), nothing recorded", () => {
    const first: HistoryEvent[] = [ev.orchStarted(), ev.started({ input: '"i"' }), ev.completed("FAILED", { failureDetails: { errorType: "E", errorMessage: "m" } })];
    const result = plan(first, children({}));
    expect(result.events).toEqual([]);
    expect(result.inbox).toMatchObject([{ kind: "executionStarted", input: '"i"' }]);
    expect(result.state).toMatchObject({ status: "PENDING", input: '"i"' });
  });

  it("refuses an instance that is not FAILED, and a child decided after the failure that still runs", () => {
    const completed = [...history.slice(0, 15), ev.completed("COMPLETED")];
    expect(planRewind({ instanceId: "inst", history: completed, children: children({}), now: NOW })).toEqual({ kind: "not-failed", status: "COMPLETED" });
    expect(planRewind({ instanceId: "inst", history: history.slice(0, 8), children: children({}), now: NOW })).toEqual({ kind: "not-failed", status: "RUNNING" });
    expect(planRewind({ instanceId: "inst", history, children: children({ "inst:0004": { status: "FAILED" }, "inst:0006": { status: "RUNNING" } }), now: NOW }))
      .toEqual({ kind: "child-running", instanceId: "inst:0006", status: "RUNNING" });
  });
});
