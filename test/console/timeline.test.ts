/** The console's timeline, built from a history in the API's JSON (plain data, no browser). */
import { describe, expect, it } from "vitest";
import { buildTimeline, describeBar, duration } from "../../console/src/timeline.js";

const t = (ms: number) => new Date(Date.UTC(2026, 10, 30, 12, 0, 0) + ms).toISOString();

describe("buildTimeline", () => {
  it("one bar per activity attempt, timer, child and event wait, from scheduled to resolved; retries count attempts; failures carry their message", () => {
    const bars = buildTimeline([
      { eventId: -1, timestamp: t(0), workflowStarted: {} },
      { eventId: -1, timestamp: t(0), executionStarted: { name: "wf" } },
      { eventId: 1, timestamp: t(1), taskScheduled: { name: "charge" } },
      { eventId: 2, timestamp: t(1), childWorkflowInstanceCreated: { name: "ship", instanceId: "wf-1:0002" } },
      { eventId: -1, timestamp: t(10), workflowStarted: {} },
      { eventId: -1, timestamp: t(9), taskFailed: { taskScheduledId: 1, failureDetails: { errorMessage: "declined" } } },
      { eventId: 3, timestamp: t(10), timerCreated: { fireAt: t(510) } },
      { eventId: -1, timestamp: t(510), workflowStarted: {} },
      { eventId: -1, timestamp: t(510), timerFired: { timerId: 3 } },
      { eventId: 4, timestamp: t(511), taskScheduled: { name: "charge" } },
      { eventId: -1, timestamp: t(600), workflowStarted: {} },
      { eventId: -1, timestamp: t(590), taskCompleted: { taskScheduledId: 4 } },
      { eventId: -1, timestamp: t(595), childWorkflowInstanceCompleted: { taskScheduledId: 2 } },
      { eventId: -1, timestamp: t(2000), workflowStarted: {} },
      { eventId: -1, timestamp: t(1990), eventRaised: { name: "approval" } },
      { eventId: 5, timestamp: t(2000), timerCreated: { fireAt: t(9000), origin: { externalEvent: { name: "Payment" } } } },
    ]);
    expect(bars.map((b) => [b.kind, b.name, b.attempt, b.state, b.start, b.end])).toEqual([
      ["activity", "charge", 1, "failed", Date.parse(t(1)), Date.parse(t(9))],
      ["child", "ship", 1, "completed", Date.parse(t(1)), Date.parse(t(595))],
      ["timer", "timer", 1, "completed", Date.parse(t(10)), Date.parse(t(510))],
      ["activity", "charge", 2, "completed", Date.parse(t(511)), Date.parse(t(590))],
      // The wait began with the last turn before its arrival (at 600 ms, which recorded no action).
      ["event", "approval", 1, "completed", Date.parse(t(600)), Date.parse(t(1990))],
      ["event", "Payment", 1, "open", Date.parse(t(2000)), undefined],
    ]);
    expect(bars[0]!.error).toBe("declined");
    expect(bars[1]!.childInstanceId).toBe("wf-1:0002");
    expect(bars[0]!.eventId).toBe(1);
    expect(describeBar(bars[0]!, 0)).toBe("activity charge: failed after 8 ms: declined");
    expect(describeBar(bars[3]!, 0)).toBe("activity charge (attempt 2): completed after 79 ms");
    expect(describeBar(bars[5]!, Date.parse(t(5000)))).toBe("waited for event Payment: running for 3.0 s");
  });

  it("a wait with a time-out that fired is a failed wait; an event that arrives closes its open wait", () => {
    const bars = buildTimeline([
      { eventId: 1, timestamp: t(0), timerCreated: { fireAt: t(100), origin: { externalEvent: { name: "go" } } } },
      { eventId: 2, timestamp: t(0), timerCreated: { fireAt: t(100), origin: { externalEvent: { name: "stop" } } } },
      { eventId: -1, timestamp: t(100), timerFired: { timerId: 1 } },
      { eventId: -1, timestamp: t(50), eventRaised: { name: "STOP" } },
    ]);
    expect(bars.map((b) => [b.name, b.state, b.error])).toEqual([["go", "failed", "timed out"], ["stop", "completed", undefined]]);
  });

  it("durations read as people say them", () => {
    expect([duration(5), duration(1500), duration(125_000), duration(7_260_000), duration(90_000_000)]).toEqual(["5 ms", "1.5 s", "2 min 5 s", "2 h 1 min", "1 d 1 h"]);
  });
});
