/**
 * forkForRerun on plain data: the fork is the source's history prefix up to and including
 * the target; what that prefix left unresolved (the target included) runs again; children
 * get IDs of the new instance; every refusal names its reason.
 */
import { describe, expect, it } from "vitest";
import { forkForRerun, type RerunFork, type RerunRequest } from "../../src/engine/rerun.js";
import type { HistoryEvent } from "../../src/engine/history.js";
import { ev, T0 } from "./builders.js";

const NOW = T0 + 60_000;
const ids = () => {
  let executions = 0;
  return { now: NOW, newExecutionId: () => `exec-new-${++executions}` };
};
const request = (eventId: number, extra: Partial<RerunRequest> = {}): RerunRequest => ({
  sourceInstanceId: "inst",
  newInstanceId: "again",
  eventId,
  overwriteInput: false,
  ...extra,
});

/** A finished run: activity 1 done, timer 2 fired, child 3 done, activity 4 failed, then FAILED. */
const source: HistoryEvent[] = [
  ev.orchStarted(),
  ev.started({ input: '"in"' }),
  ev.taskScheduled(1, "first"),
  ev.orchStarted(T0 + 1),
  ev.taskCompleted(1, '"one"'),
  ev.timerCreated(2),
  ev.childCreated(3, "inst:0003"),
  ev.orchStarted(T0 + 2),
  ev.timerFired(2),
  ev.childCompleted(3, '"c"'),
  { ...ev.taskScheduled(4, "second"), input: '"old"' },
  ev.orchStarted(T0 + 3),
  ev.taskFailed(4),
  ev.completed("FAILED", { failureDetails: { errorType: "E", errorMessage: "m" } }),
];

function fork(eventId: number, extra: Partial<RerunRequest> = {}): RerunFork {
  const result = forkForRerun(source, request(eventId, extra), ids());
  if (result.kind !== "fork") throw new Error(`expected a fork, got ${JSON.stringify(result)}`);
  return result;
}

describe("forkForRerun", () => {
  it("from the last activity: the prefix up to it, the activity queued again with its new input and marked", () => {
    const result = fork(4, { input: '"new"', overwriteInput: true });
    expect(result.events.map((e) => e.kind)).toEqual(source.slice(0, 11).map((e) => e.kind));
    expect(result.events[1]).toMatchObject({ kind: "executionStarted", instanceId: "again", executionId: "exec-new-1", input: '"in"', timestamp: NOW });
    const target = result.events.at(-1);
    expect(target).toMatchObject({ kind: "taskScheduled", eventId: 4, name: "second", input: '"new"', rerunParentInstanceInfo: { instanceID: "inst" } });
    expect(result.effects).toEqual([{ kind: "scheduleActivity", taskId: 4, name: "second", input: '"new"', scheduled: target }]);
    expect(result.state).toMatchObject({ instanceId: "again", status: "RUNNING", executionId: "exec-new-1", lastUpdatedAt: NOW });
    // The source's own events are untouched.
    expect(source[10]).toMatchObject({ input: '"old"' });
  });

  it("without overwriteInput the target keeps its input", () => {
    expect(fork(4).effects).toMatchObject([{ kind: "scheduleActivity", input: '"old"' }]);
  });

  it("from an early activity: later work is cut, and what the prefix had not resolved runs again", () => {
    const result = fork(1);
    expect(result.events.map((e) => e.kind)).toEqual(["orchestratorStarted", "executionStarted", "taskScheduled"]);
    expect(result.effects.map((e) => e.kind)).toEqual(["scheduleActivity"]);
  });

  it("from a child: a fresh child under the new instance, or under the ID asked for; the earlier timer, unresolved in the prefix, is armed again", () => {
    const result = fork(3);
    expect(result.effects.map((e) => e.kind)).toEqual(["scheduleTimer", "createChild"]);
    expect(result.effects[0]).toMatchObject({ kind: "scheduleTimer", fireAt: T0 + 1000, event: { kind: "timerFired", timerId: 2 } });
    const child = result.effects[1];
    expect(child).toMatchObject({
      kind: "createChild",
      event: { instanceId: "again:0003", parentInstance: { taskScheduledId: 3, instanceId: "again", executionId: "exec-new-1" } },
    });
    expect(result.events.at(-1)).toMatchObject({ kind: "subOrchestrationInstanceCreated", instanceId: "again:0003" });
    expect(fork(3, { newChildInstanceId: "chosen" }).events.at(-1)).toMatchObject({ instanceId: "chosen" });
  });

  it("from a timer: armed again at its time", () => {
    expect(fork(2).effects).toMatchObject([{ kind: "scheduleTimer", fireAt: T0 + 1000 }]);
  });

  it("refuses what daprd refuses", () => {
    const running = source.slice(0, 5);
    expect(forkForRerun(running, request(1), ids())).toEqual({ kind: "not-terminal", status: "RUNNING" });
    const child = [ev.orchStarted(), ev.started({ parent: { taskScheduledId: 1, name: "p", instanceId: "p", executionId: "e" } }), ev.taskScheduled(1), ev.completed("COMPLETED")];
    expect(forkForRerun(child, request(1), ids())).toEqual({ kind: "is-child" });
    expect(forkForRerun(source, request(99), ids())).toEqual({ kind: "no-event" });
    expect(forkForRerun([...source.slice(0, 13), { ...source[13]!, eventId: 7 }], request(7), ids())).toEqual({ kind: "not-rerunnable", eventKind: "executionCompleted" });
    expect(forkForRerun(source, request(2, { overwriteInput: true, input: "1" }), ids())).toMatchObject({ kind: "bad-option" });
    expect(forkForRerun(source, request(1, { newChildInstanceId: "x" }), ids())).toMatchObject({ kind: "bad-option" });
  });
});
