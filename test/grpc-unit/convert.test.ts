/**
 * The wire conversions on plain data, checked through real bytes: every history event kind
 * reaches the current proto's shape (encoded and decoded with the vendored .proto and the
 * server's loader options, and read back by the stubs `@dapr/dapr` 3.18 really uses), comes
 * back unchanged through `eventFromPb` (continue-as-new carry-over), Timestamps keep their
 * nanoseconds end to end (worker action → engine event → wire), actions and replies map into
 * engine types with every protocol field, anything the engine cannot represent becomes a
 * FAILED WorkerProtocolError completion, and the status rules of the protocol hold.
 */
import { loadSync } from "@grpc/proto-loader";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { OrchestratorAction, TurnResult } from "../../src/engine/actions.js";
import type { FailureDetails, HistoryEvent, HistoryEventKind, TaskScheduled } from "../../src/engine/history.js";
import { historyEventKinds } from "../../src/engine/history.js";
import { runtimeStatuses, type RuntimeStatus } from "../../src/engine/state.js";
import { applyTurn, prepareTurn, type Effect } from "../../src/engine/turn.js";
import {
  actionFromPb,
  activityRequestToPb,
  activityResultFromPb,
  eventFromPb,
  eventToPb,
  exactNanos,
  millis,
  statusFromNumber,
  statusNumber,
  timestamp,
  turnResultFromPb,
  workflowRequestToPb,
  workflowStateToPb,
  type PbAction,
  type PbWorkflowResponse,
} from "../../src/protocol/convert.js";
import { loaderOptions, loadTaskHubService, protoDir, protoFile, protoPath } from "../../src/protocol/proto.js";
import type { ActivityRequest } from "../../src/orchestration/worker.js";

// A time with milliseconds (123) so that dropping them would show.
const T = Date.UTC(2026, 10, 27, 12, 0, 0, 123);
const failure: FailureDetails = {
  errorType: "Boom",
  errorMessage: "it broke",
  stackTrace: "at x",
  isNonRetriable: true,
  innerFailure: { errorType: "Inner", errorMessage: "cause", stackTrace: "at y" },
};
// Messages the engine keeps without interpreting them. The router has only its plain
// member here: its proto3 `optional` ones are covered (and a known problem shown) further down.
const router = { sourceAppID: "app-a" };
const trace = { traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", spanID: "b7ad6b7169203331", traceState: { value: "k=v" } };
const rerun = { instanceID: "rerun-source" };
const envelope = { timestamp: T, timestampNanos: 123_456_789, router };

/** Every kind with every field the engine models set (and none left undefined). */
const samples: Record<HistoryEventKind, HistoryEvent> = {
  executionStarted: {
    kind: "executionStarted", eventId: -1, ...envelope, name: "wf", instanceId: "i", executionId: "e", input: "1",
    parentInstance: { taskScheduledId: 3, name: "parent", instanceId: "p", executionId: "pe", version: "pv", appId: "app-p", appNamespace: "ns" },
    scheduledStartTimestamp: T + 5, scheduledStartNanos: 128_000_001, version: "1.0", tags: { team: "a", tier: "gold" },
    parentTraceContext: trace, workflowSpanId: "span-1",
  },
  executionCompleted: { kind: "executionCompleted", eventId: 4, ...envelope, status: "FAILED", result: "r", failureDetails: failure },
  executionTerminated: { kind: "executionTerminated", eventId: -1, ...envelope, input: "\"bye\"", recurse: true },
  executionSuspended: { kind: "executionSuspended", eventId: -1, ...envelope, input: "why" },
  executionResumed: { kind: "executionResumed", eventId: -1, ...envelope, input: "because" },
  taskScheduled: {
    kind: "taskScheduled", eventId: 1, ...envelope, name: "act", input: "\"x\"", version: "v1", taskExecutionId: "te-1",
    parentTraceContext: trace, rerunParentInstanceInfo: rerun, historyPropagationScope: "LINEAGE",
  },
  taskCompleted: { kind: "taskCompleted", eventId: -1, ...envelope, taskScheduledId: 1, result: "", taskExecutionId: "te-1" },
  taskFailed: { kind: "taskFailed", eventId: -1, ...envelope, taskScheduledId: 1, failureDetails: failure, taskExecutionId: "te-1" },
  subOrchestrationInstanceCreated: {
    kind: "subOrchestrationInstanceCreated", eventId: 2, ...envelope, instanceId: "i:0002", name: "child", input: "2", version: "cv",
    parentTraceContext: trace, rerunParentInstanceInfo: rerun, historyPropagationScope: "OWN_HISTORY", retryParentInstanceInfo: { instanceID: "i:0001" },
  },
  subOrchestrationInstanceCompleted: { kind: "subOrchestrationInstanceCompleted", eventId: -1, ...envelope, taskScheduledId: 2, result: "7" },
  subOrchestrationInstanceFailed: { kind: "subOrchestrationInstanceFailed", eventId: -1, ...envelope, taskScheduledId: 2, failureDetails: failure },
  timerCreated: {
    kind: "timerCreated", eventId: 3, ...envelope, fireAt: T + 1500, fireAtNanos: 623_000_456, name: "wait",
    origin: { activityRetry: { taskExecutionId: "te-1" } }, rerunParentInstanceInfo: rerun,
  },
  timerFired: { kind: "timerFired", eventId: -1, ...envelope, timerId: 3, fireAt: T + 1500, fireAtNanos: 623_000_456 },
  orchestratorStarted: { kind: "orchestratorStarted", eventId: -1, ...envelope, version: { name: "v2", patches: ["p1", "p2"] } },
  orchestratorCompleted: { kind: "orchestratorCompleted", eventId: -1, ...envelope },
  eventSent: { kind: "eventSent", eventId: 5, ...envelope, instanceId: "other", name: "ping", input: "1" },
  eventRaised: { kind: "eventRaised", eventId: -1, ...envelope, name: "Approval", input: "true" },
  continueAsNew: { kind: "continueAsNew", eventId: -1, ...envelope, input: "2" },
  executionStalled: { kind: "executionStalled", eventId: -1, ...envelope, reason: "VERSION_NOT_AVAILABLE", description: "no worker runs v3" },
  detachedWorkflowInstanceCreated: { kind: "detachedWorkflowInstanceCreated", eventId: 6, ...envelope, instanceId: "spawned" },
};

// The current proto's member name of each engine kind (the engine keeps the 2022 names).
const wireMember: Record<HistoryEventKind, string> = {
  ...Object.fromEntries(historyEventKinds.map((kind) => [kind, kind])),
  subOrchestrationInstanceCreated: "childWorkflowInstanceCreated",
  subOrchestrationInstanceCompleted: "childWorkflowInstanceCompleted",
  subOrchestrationInstanceFailed: "childWorkflowInstanceFailed",
  orchestratorStarted: "workflowStarted",
  orchestratorCompleted: "workflowCompleted",
} as Record<HistoryEventKind, string>;

// Serializers of the vendored proto, loaded with the server's options: encoding and decoding
// exactly as the server does (what the server reads is what these decode to).
type Method = { requestSerialize(v: object): Buffer; requestDeserialize(b: Buffer): any; responseSerialize(v: object): Buffer; responseDeserialize(b: Buffer): any; path: string };
const methods = loadSync(protoFile, loaderOptions).TaskHubSidecarService as unknown as Record<string, Method>;
const encodeWorkItem = (item: object) => methods.GetWorkItems!.responseSerialize(item);
const decodeWorkItem = (bytes: Buffer) => methods.GetWorkItems!.responseDeserialize(bytes) as Record<string, any>;
/** A worker's reply, through bytes, as CompleteWorkflowTask receives it. */
const workerReply = (response: PbWorkflowResponse): PbWorkflowResponse =>
  methods.CompleteWorkflowTask!.requestDeserialize(methods.CompleteWorkflowTask!.requestSerialize(response));
const require = createRequire(import.meta.url);
const sdkStubs = require("@dapr/dapr/workflow/internal/durabletask/proto/orchestrator_service_pb.js");

/** An event as sent in a WorkItem and decoded by the server's loader. */
function roundTrip(event: object): Record<string, any> {
  return decodeWorkItem(encodeWorkItem({ workflowRequest: { instanceId: "i", newEvents: [event] } })).workflowRequest.newEvents[0];
}

/** An event as `@dapr/dapr` 3.18's stubs read it (field numbers are those of the 2022 proto). */
function sdkRead(event: object): any {
  const bytes = encodeWorkItem({ workflowRequest: { instanceId: "i", newEvents: [event] } });
  return sdkStubs.WorkItem.deserializeBinary(bytes).getOrchestratorrequest().getNeweventsList()[0];
}

describe("history events to the wire", () => {
  it.each(historyEventKinds)("%s encodes with the vendored proto under its current member name, keeping ID and exact time", (kind) => {
    const decoded = roundTrip(eventToPb(samples[kind]));
    expect(decoded.eventType).toBe(wireMember[kind]);
    expect(decoded.eventId).toBe(samples[kind].eventId);
    expect(decoded.timestamp).toEqual({ seconds: Math.floor(T / 1000), nanos: 123_456_789 });
    expect(decoded.router).toMatchObject(router);
  });

  it("the 2022 SDK's own stubs read the event kind, ID and time (every kind they know)", () => {
    // executionStalled (31) and detachedWorkflowInstanceCreated (32) are newer than @dapr/dapr
    // 3.18; they are sent only to workers that version or spawn detached workflows.
    for (const kind of historyEventKinds.filter((k) => k !== "executionStalled" && k !== "detachedWorkflowInstanceCreated")) {
      const read = sdkRead(eventToPb(samples[kind]));
      expect(read.getEventid(), kind).toBe(samples[kind].eventId);
      expect(read.getTimestamp().toDate().getTime(), kind).toBe(T);
      expect(read.getTimestamp().getNanos(), kind).toBe(123_456_789);
      expect(read.getEventtypeCase(), kind).toBe(sdkStubs.HistoryEvent.EventtypeCase[kind.toUpperCase()]);
    }
  });

  it("the SDK's stubs read a TaskScheduled's name and input, and an EventRaised's name and payload", () => {
    const scheduled = sdkRead(eventToPb(samples.taskScheduled)).getTaskscheduled();
    expect(scheduled.getName()).toBe("act");
    expect(scheduled.getInput().getValue()).toBe("\"x\"");
    const raised = sdkRead(eventToPb(samples.eventRaised)).getEventraised();
    expect(raised.getName()).toBe("Approval");
    expect(raised.getInput().getValue()).toBe("true");
  });

  it("executionStarted carries the instance, execution, parent and input under the current names, as the SDK reads them", () => {
    const decoded = roundTrip(eventToPb(samples.executionStarted));
    expect(decoded.executionStarted).toMatchObject({
      name: "wf",
      version: { value: "1.0" },
      input: { value: "1" },
      workflowInstance: { instanceId: "i", executionId: { value: "e" } },
      parentInstance: { taskScheduledId: 3, name: { value: "parent" }, version: { value: "pv" }, workflowInstance: { instanceId: "p", executionId: { value: "pe" } }, appID: "app-p", appNamespace: "ns" },
      scheduledStartTimestamp: { seconds: Math.floor(T / 1000), nanos: 128_000_001 },
      parentTraceContext: trace,
      workflowSpanID: { value: "span-1" },
      tags: { team: "a", tier: "gold" },
    });
    const started = sdkRead(eventToPb(samples.executionStarted)).getExecutionstarted();
    expect(started.getOrchestrationinstance().getInstanceid()).toBe("i");
    expect(started.getParentinstance().getOrchestrationinstance().getInstanceid()).toBe("p");
  });

  it("executionCompleted sends its status as workflowStatus", () => {
    const statuses = { COMPLETED: 1, FAILED: 3, TERMINATED: 5 } as const;
    for (const [status, number] of Object.entries(statuses)) {
      const decoded = roundTrip(eventToPb({ kind: "executionCompleted", eventId: -1, timestamp: T, status: status as keyof typeof statuses }));
      expect(decoded.executionCompleted.workflowStatus, status).toBe(number);
    }
  });

  it("a workflowStarted carries the version the worker reported; without one it is empty", () => {
    expect(roundTrip(eventToPb(samples.orchestratorStarted)).workflowStarted.version).toMatchObject({ name: "v2", patches: ["p1", "p2"] });
    expect(roundTrip(eventToPb({ kind: "orchestratorStarted", eventId: -1, timestamp: T })).workflowStarted).toEqual({});
  });

  it("an empty result stays an empty StringValue; no result stays unset", () => {
    expect(roundTrip(eventToPb(samples.taskCompleted)).taskCompleted.result).toEqual({ value: "" });
    const none = roundTrip(eventToPb({ ...samples.taskCompleted, result: undefined } as HistoryEvent));
    expect(none.taskCompleted.result).toBeUndefined();
  });

  it("failure details keep type, message, stack, the non-retriable flag and the inner failure", () => {
    expect(roundTrip(eventToPb(samples.taskFailed)).taskFailed.failureDetails).toMatchObject({
      errorType: "Boom",
      errorMessage: "it broke",
      stackTrace: { value: "at x" },
      isNonRetriable: true,
      innerFailure: { errorType: "Inner", errorMessage: "cause", stackTrace: { value: "at y" } },
    });
  });

  it("a millisecond-exact time has no nanosecond remainder; the envelope's own nanos are sent as they are", () => {
    const plain = roundTrip(eventToPb({ kind: "eventRaised", eventId: -1, timestamp: T, name: "x" }));
    expect(plain.timestamp).toEqual({ seconds: Math.floor(T / 1000), nanos: 123_000_000 });
    expect(roundTrip(eventToPb(samples.eventRaised)).timestamp.nanos).toBe(123_456_789);
  });
});

describe("history events from the wire (eventFromPb)", () => {
  // The loop a carried-over event makes: engine → bytes the SDK gets → back to the engine.
  it.each(historyEventKinds)("%s, fully populated, comes back deep-equal through real bytes", (kind) => {
    const decoded = roundTrip(eventToPb(samples[kind]));
    expect(eventFromPb(decoded)).toEqual(samples[kind]);
  });

  it("every kind at once, echoed by a worker as continue-as-new carry-over through CompleteWorkflowTask's bytes", () => {
    const events = historyEventKinds.map((kind) => samples[kind]);
    const sent = decodeWorkItem(encodeWorkItem({ workflowRequest: { instanceId: "i", newEvents: events.map(eventToPb) } })).workflowRequest.newEvents;
    const reply = workerReply({ instanceId: "i", actions: [{ id: 9, completeWorkflow: { workflowStatus: 2, result: { value: "next" }, carryoverEvents: sent } }] });
    const [action] = turnResultFromPb(reply).actions;
    expect(action).toEqual({ kind: "completeOrchestration", id: 9, status: "CONTINUED_AS_NEW", result: "next", carryoverEvents: events });
  });

  it.each([
    [{ createTimer: {} }],
    [{ externalEvent: { name: "Approval" } }],
    [{ activityRetry: { taskExecutionId: "te-9" } }],
    [{ childWorkflowRetry: { instanceId: "i:0004" } }],
  ])("a timer's origin %j is kept as the member that was set", (origin) => {
    const event: HistoryEvent = { kind: "timerCreated", eventId: 4, timestamp: T, fireAt: T + 10, origin };
    const decoded = roundTrip(eventToPb(event));
    expect(decoded.timerCreated.origin).toBe(Object.keys(origin)[0]);
    expect(eventFromPb(decoded)).toEqual(event);
  });

  it("a history propagation scope of NONE (0) is still present after the round trip", () => {
    const event = { ...samples.taskScheduled, historyPropagationScope: "NONE" } as HistoryEvent;
    const decoded = roundTrip(eventToPb(event));
    expect(decoded.taskScheduled.historyPropagationScope).toBe(0);
    expect(eventFromPb(decoded)).toEqual(event);
  });

  it("a bare event from an SDK gets proto3's defaults: event ID 0 (a 0 is left off the wire), time 0, no optional fields", () => {
    expect(eventFromPb({ eventType: "eventRaised", eventRaised: { name: "x" } })).toStrictEqual({ kind: "eventRaised", name: "x", eventId: 0, timestamp: 0 });
    expect(eventFromPb({ eventType: "executionTerminated", executionTerminated: {} })).toStrictEqual({ kind: "executionTerminated", recurse: false, eventId: 0, timestamp: 0 });
  });

  it("an event of a kind workflowd does not model, or one without a member, is a protocol error", () => {
    expect(() => eventFromPb({ eventId: 7, eventType: "genericEvent", genericEvent: { data: "d" } })).toThrow(/history event 7 has kind 'genericEvent'/);
    expect(() => eventFromPb({ eventId: 8 })).toThrow(/history event 8 has no event type/);
    expect(() => eventFromPb({ eventType: "executionCompleted", executionCompleted: { workflowStatus: 2 } })).toThrow(/executionCompleted event with status 2/);
  });

  it("a TaskRouter's optional members reach the wire and come back on the wire unchanged", () => {
    const full = { sourceAppID: "app-a", targetAppID: "app-b", targetAppNamespace: "ns-b" };
    const event: HistoryEvent = { ...samples.eventRaised, router: full };
    const decoded = roundTrip(eventToPb(event));
    expect(decoded.router).toMatchObject(full);
    // Whatever the engine keeps, it encodes back to the same bytes.
    const again = eventToPb(eventFromPb(decoded));
    expect(encodeWorkItem({ workflowRequest: { newEvents: [again] } })).toEqual(encodeWorkItem({ workflowRequest: { newEvents: [eventToPb(event)] } }));
  });

  // Known problem (see the report): the loader's `oneofs: true` adds a virtual `_targetAppID`
  // (`_targetAppNamespace`) member for proto3 `optional` fields, and eventFromPb / actionFromPb
  // keep the decoded TaskRouter as is, so the stored router is not the one that was sent.
  // This fails as long as that is so; when it is fixed, drop `.fails`.
  it("a TaskRouter with its optional members comes back deep-equal (no virtual oneof fields)", () => {
    const full = { sourceAppID: "app-a", targetAppID: "app-b", targetAppNamespace: "ns-b" };
    expect(eventFromPb(roundTrip(eventToPb({ ...samples.eventRaised, router: full }))).router).toStrictEqual(full);
  });
});

describe("timestamps keep their nanoseconds", () => {
  it("timestamp, millis and exactNanos", () => {
    expect(timestamp(T)).toEqual({ seconds: Math.floor(T / 1000), nanos: 123_000_000 });
    expect(timestamp(T, 123_456_789)).toEqual({ seconds: Math.floor(T / 1000), nanos: 123_456_789 });
    expect(millis(timestamp(T))).toBe(T);
    expect(millis({ seconds: "1700000000", nanos: 5_000_000 })).toBe(1_700_000_000_005);
    expect(millis({ seconds: 253402300799, nanos: 999_999_999 })).toBe(253402300799_999);
    expect(millis(undefined)).toBeUndefined();
    expect(exactNanos({ seconds: 1, nanos: 123_000_000 })).toBeUndefined();
    expect(exactNanos({ seconds: 1, nanos: 123_456_000 })).toBe(123_456_000);
    expect(exactNanos({ seconds: 1, nanos: 1 })).toBe(1);
    expect(exactNanos({ seconds: 1 })).toBeUndefined();
    expect(exactNanos(null)).toBeUndefined();
  });

  /**
   * A createTimer action at `fireAt` goes the whole way: the worker's reply bytes →
   * actionFromPb → the engine's turn (applyTurn records TimerCreated and schedules
   * TimerFired) → eventToPb → the WorkItem bytes the SDK gets. The SDKs match their timers
   * by the exact Timestamp.
   */
  function timerThroughTheEngine(fireAt: { seconds: number; nanos: number }) {
    const reply = workerReply({ instanceId: "i", actions: [{ id: 1, createTimer: { fireAt, name: "t" } }] });
    const result = turnResultFromPb(reply);
    const history: HistoryEvent[] = [
      { kind: "orchestratorStarted", eventId: -1, timestamp: T },
      { kind: "executionStarted", eventId: -1, timestamp: T, name: "wf", instanceId: "i", executionId: "e" },
    ];
    const raised: HistoryEvent = { kind: "eventRaised", eventId: -1, timestamp: T, name: "go" };
    const prepared = prepareTurn("i", history, [{ seq: 1, event: raised }], T + 10);
    const outcome = applyTurn(prepared, result, { now: T + 10, newExecutionId: () => "e2" });
    const created = outcome.events.find((e) => e.kind === "timerCreated")!;
    const fired = (outcome.effects.find((e) => e.kind === "scheduleTimer") as Extract<Effect, { kind: "scheduleTimer" }>).event;
    return { action: result.actions[0]!, created, fired, effectFireAt: (outcome.effects[0] as Extract<Effect, { kind: "scheduleTimer" }>).fireAt };
  }

  it("9999-12-31T23:59:59.999999999Z (the Python SDK's 'wait forever' timer) round-trips exactly", () => {
    const forever = { seconds: 253402300799, nanos: 999_999_999 };
    const { action, created, fired, effectFireAt } = timerThroughTheEngine(forever);
    expect(action).toEqual({ kind: "createTimer", id: 1, fireAt: 253402300799_999, fireAtNanos: 999_999_999, name: "t" });
    // The engine's clock uses the millisecond; the exact value rides along.
    expect(effectFireAt).toBe(253402300799_999);
    expect(created).toMatchObject({ kind: "timerCreated", eventId: 1, fireAt: 253402300799_999, fireAtNanos: 999_999_999, name: "t" });
    expect(fired).toMatchObject({ kind: "timerFired", timerId: 1, fireAt: 253402300799_999, fireAtNanos: 999_999_999 });
    expect(roundTrip(eventToPb(created)).timerCreated.fireAt).toEqual(forever);
    expect(roundTrip(eventToPb(fired)).timerFired.fireAt).toEqual(forever);
    const sdkFireAt = sdkRead(eventToPb(fired)).getTimerfired().getFireat();
    expect([sdkFireAt.getSeconds(), sdkFireAt.getNanos()]).toEqual([253402300799, 999_999_999]);
  });

  it("a microsecond timer round-trips exactly", () => {
    const micro = { seconds: Math.floor(T / 1000), nanos: 123_456_000 };
    const { action, created, fired } = timerThroughTheEngine(micro);
    expect(action).toMatchObject({ fireAt: T, fireAtNanos: 123_456_000 });
    expect(roundTrip(eventToPb(created)).timerCreated.fireAt).toEqual(micro);
    expect(roundTrip(eventToPb(fired)).timerFired.fireAt).toEqual(micro);
    expect(fired.timestamp).toBe(T);
  });

  it("a millisecond timer keeps no nanoseconds and still round-trips", () => {
    const milli = { seconds: Math.floor(T / 1000), nanos: 123_000_000 };
    const { action, created } = timerThroughTheEngine(milli);
    expect(action).toEqual({ kind: "createTimer", id: 1, fireAt: T, name: "t" });
    expect(roundTrip(eventToPb(created)).timerCreated.fireAt).toEqual(milli);
  });
});

describe("statuses", () => {
  it("every status has its number; CANCELED is sent as TERMINATED (5), STALLED as 8", () => {
    const expected: Record<RuntimeStatus, number> = {
      RUNNING: 0, COMPLETED: 1, CONTINUED_AS_NEW: 2, FAILED: 3, CANCELED: 5, TERMINATED: 5, PENDING: 6, SUSPENDED: 7, STALLED: 8,
    };
    for (const status of runtimeStatuses) expect(statusNumber(status), status).toBe(expected[status]);
    expect(runtimeStatuses.map(statusNumber)).not.toContain(4);
    expect(statusFromNumber(8)).toBe("STALLED");
    expect(statusFromNumber(4)).toBe("CANCELED");
    expect(statusFromNumber(9)).toBeUndefined();
  });

  const view = {
    instanceId: "i", name: "wf", executionId: "e", status: "COMPLETED" as RuntimeStatus, createdAt: T, lastUpdatedAt: T + 1,
    input: "1", output: "2", customStatus: "s", failureDetails: undefined as FailureDetails | undefined, parentInstanceId: "p",
    workflowVersion: "1.0", historyLength: 3, version: 2,
  };

  it("a FAILED instance always has a non-empty error type and message (the Node client needs both)", () => {
    const state = workflowStateToPb({ ...view, status: "FAILED", failureDetails: { errorType: "", errorMessage: "" } }, false);
    expect(state.failureDetails?.errorType).toBe("Error");
    expect(state.failureDetails?.errorMessage).toBe("(no message)");
    expect(state.workflowStatus).toBe(3);
    expect(state).not.toHaveProperty("input");
  });

  it("payloads are included only when asked for", () => {
    expect(workflowStateToPb(view, true)).toMatchObject({ input: { value: "1" }, output: { value: "2" }, customStatus: { value: "s" } });
    expect(workflowStateToPb(view, false)).not.toHaveProperty("output");
    expect(workflowStateToPb(view, false)).not.toHaveProperty("customStatus");
  });

  it("GetInstance's WorkflowState decodes with the current proto: workflowStatus, version, times, parent", () => {
    const bytes = methods.GetInstance!.responseSerialize({ exists: true, workflowState: workflowStateToPb({ ...view, status: "STALLED" }, true) });
    expect(methods.GetInstance!.responseDeserialize(bytes).workflowState).toMatchObject({
      instanceId: "i",
      name: "wf",
      version: { value: "1.0" },
      workflowStatus: 8,
      createdTimestamp: { seconds: Math.floor(T / 1000), nanos: 123_000_000 },
      lastUpdatedTimestamp: { seconds: Math.floor(T / 1000), nanos: 124_000_000 },
      executionId: { value: "e" },
      parentInstanceId: { value: "p" },
      input: { value: "1" },
    });
    // The 2022 stubs read the same field as orchestrationStatus.
    const read = sdkStubs.GetInstanceResponse.deserializeBinary(
      methods.GetInstance!.responseSerialize({ exists: true, workflowState: workflowStateToPb({ ...view, status: "SUSPENDED" }, false) }),
    );
    expect(read.getOrchestrationstate().getOrchestrationstatus()).toBe(7);
  });
});

describe("work items to the wire", () => {
  const past: HistoryEvent[] = [samples.orchestratorStarted, samples.executionStarted, samples.taskScheduled];
  const request = { instanceId: "i", executionId: "e", pastEvents: past, newEvents: [samples.orchestratorStarted, samples.taskCompleted] };

  it("a turn carries every past and new event, and no cachedHistory", () => {
    const pb = workflowRequestToPb(request);
    const decoded = decodeWorkItem(encodeWorkItem({ workflowRequest: pb })).workflowRequest;
    expect(decoded.instanceId).toBe("i");
    expect(decoded.executionId).toEqual({ value: "e" });
    expect(decoded.pastEvents.map((e: any) => e.eventType)).toEqual(["workflowStarted", "executionStarted", "taskScheduled"]);
    expect(decoded.newEvents.map((e: any) => e.eventType)).toEqual(["workflowStarted", "taskCompleted"]);
    expect(decoded).not.toHaveProperty("cachedHistory");
    expect(workflowRequestToPb(request, { cachedEventCount: 0 })).not.toHaveProperty("cachedHistory");
  });

  it("stateful history: the first cachedEventCount past events are left out and counted in cachedHistory", () => {
    const pb = workflowRequestToPb(request, { cachedEventCount: 2 });
    const decoded = decodeWorkItem(encodeWorkItem({ workflowRequest: pb })).workflowRequest;
    expect(decoded.cachedHistory).toEqual({ eventCount: 2 });
    expect(decoded.pastEvents.map((e: any) => e.eventType)).toEqual(["taskScheduled"]);
    expect(decoded.newEvents).toHaveLength(2);
    // Everything cached: an empty delta, still marked.
    const all = decodeWorkItem(encodeWorkItem({ workflowRequest: workflowRequestToPb(request, { cachedEventCount: 3 }) })).workflowRequest;
    expect(all.cachedHistory).toEqual({ eventCount: 3 });
    expect(all.pastEvents ?? []).toEqual([]);
  });

  it("an activity carries the instance, task ID and, from its TaskScheduled, version, trace context and execution ID", () => {
    const activity: ActivityRequest = {
      name: "act", input: "\"x\"", instanceId: "i", executionId: "e", taskId: 1, attempt: 2, scheduled: samples.taskScheduled as TaskScheduled,
    };
    const decoded = decodeWorkItem(encodeWorkItem({ activityRequest: activityRequestToPb(activity) })).activityRequest;
    expect(decoded).toEqual({
      name: "act",
      version: { value: "v1" },
      input: { value: "\"x\"" },
      workflowInstance: { instanceId: "i", executionId: { value: "e" } },
      taskId: 1,
      parentTraceContext: trace,
      taskExecutionId: "te-1",
    });
    // Without its TaskScheduled (older rows) none of them is invented.
    const bare = activityRequestToPb({ ...activity, scheduled: undefined, input: undefined });
    expect(bare).toEqual({ name: "act", workflowInstance: { instanceId: "i", executionId: { value: "e" } }, taskId: 1 });
  });
});

describe("replies from the wire", () => {
  it("maps each action kind with every field, keeping the SDK's action IDs, the custom status and the version", () => {
    const result: TurnResult = turnResultFromPb(workerReply({
      instanceId: "i",
      customStatus: { value: "" },
      version: { name: "v2", patches: ["p1", "p2"] },
      actions: [
        {
          id: 1, router,
          scheduleTask: { name: "a", input: { value: "1" }, version: { value: "v1" }, taskExecutionId: "te-1", historyPropagationScope: 1 },
        },
        { id: 2, createTimer: { fireAt: timestamp(T), name: "t", externalEvent: { name: "Approval" } } },
        {
          id: 3, router,
          createChildWorkflow: {
            instanceId: "", name: "c", input: { value: "2" }, version: { value: "cv" }, historyPropagationScope: 2, retryParentInstanceInfo: { instanceID: "i:0001" },
          },
        },
        { id: 4, sendEvent: { instance: { instanceId: "o" }, name: "n", data: { value: "d" } } },
        { id: 5, terminateWorkflow: { instanceId: "o", reason: { value: "why" }, recurse: true } },
        { id: 6, workflowVersionNotAvailable: {} },
        {
          id: 7,
          completeWorkflow: {
            workflowStatus: 2, result: { value: "9" }, newVersion: { value: "v3" },
            carryoverEvents: [{ eventId: -1, timestamp: timestamp(T), eventRaised: { name: "x", input: { value: "1" } } }],
          },
        },
      ],
    }));
    expect(result.customStatus).toBe("");
    expect(result.version).toEqual({ name: "v2", patches: ["p1", "p2"] });
    const expected: OrchestratorAction[] = [
      { kind: "scheduleTask", id: 1, router, name: "a", input: "1", version: "v1", taskExecutionId: "te-1", historyPropagationScope: "OWN_HISTORY" },
      { kind: "createTimer", id: 2, fireAt: T, name: "t", origin: { externalEvent: { name: "Approval" } } },
      {
        kind: "createSubOrchestration", id: 3, router, instanceId: "", name: "c", input: "2", version: "cv",
        historyPropagationScope: "LINEAGE", retryParentInstanceInfo: { instanceID: "i:0001" },
      },
      { kind: "sendEvent", id: 4, instanceId: "o", name: "n", data: "d" },
      { kind: "terminateOrchestration", id: 5, instanceId: "o", reason: "why", recurse: true },
      { kind: "workflowVersionNotAvailable", id: 6 },
      {
        kind: "completeOrchestration", id: 7, status: "CONTINUED_AS_NEW", result: "9", newVersion: "v3",
        carryoverEvents: [{ kind: "eventRaised", eventId: -1, timestamp: T, name: "x", input: "1" }],
      },
    ];
    expect(result.actions).toEqual(expected);
  });

  it("a reply without a version, and one with an empty version", () => {
    expect(turnResultFromPb(workerReply({ instanceId: "i" }))).toEqual({ actions: [] });
    expect(turnResultFromPb(workerReply({ instanceId: "i", version: {} })).version).toEqual({ patches: [] });
  });

  it("a FAILED completion keeps its failure details; TERMINATED and COMPLETED map to themselves", () => {
    const reply = workerReply({
      actions: [
        { id: 1, completeWorkflow: { workflowStatus: 3, failureDetails: { errorType: "E", errorMessage: "m", isNonRetriable: true } } },
        { id: 2, completeWorkflow: { workflowStatus: 5 } },
        { id: 3, completeWorkflow: { workflowStatus: 1, result: { value: "" } } },
      ],
    });
    expect(turnResultFromPb(reply).actions).toEqual([
      { kind: "completeOrchestration", id: 1, status: "FAILED", failureDetails: { errorType: "E", errorMessage: "m", isNonRetriable: true }, carryoverEvents: [] },
      { kind: "completeOrchestration", id: 2, status: "TERMINATED", carryoverEvents: [] },
      { kind: "completeOrchestration", id: 3, status: "COMPLETED", result: "", carryoverEvents: [] },
    ]);
  });

  it.each<[string, PbAction, RegExp]>([
    ["CANCELED (4)", { id: 7, completeWorkflow: { workflowStatus: 4 } }, /unsupported status 4/],
    ["STALLED (8)", { id: 7, completeWorkflow: { workflowStatus: 8 } }, /unsupported status 8/],
    ["RUNNING (no status)", { id: 7, completeWorkflow: { result: { value: "x" } } }, /unsupported status 0/],
    ["an action with no type", { id: 7 }, /unknown workflow action type '\(none\)'/],
    ["a timer without fireAt", { id: 7, createTimer: { name: "t" } }, /createTimer action 7 has no fireAt/],
    [
      "a carried-over event with no member",
      { id: 7, completeWorkflow: { workflowStatus: 2, carryoverEvents: [{ eventId: 5, timestamp: timestamp(T) }] } },
      /action 7: history event 5 has no event type/,
    ],
  ])("%s becomes a FAILED WorkerProtocolError completion (through real bytes)", (_, action, message) => {
    const [mapped] = turnResultFromPb(workerReply({ instanceId: "i", actions: [action] })).actions;
    expect(mapped).toMatchObject({ kind: "completeOrchestration", id: 7, status: "FAILED", failureDetails: { errorType: "WorkerProtocolError" } });
    expect(mapped!.kind === "completeOrchestration" && mapped!.failureDetails?.errorMessage).toMatch(message);
  });

  it("createDetachedWorkflow maps with every field (through real bytes)", () => {
    const [mapped] = turnResultFromPb(workerReply({
      instanceId: "i",
      actions: [{
        id: 7,
        router: { sourceAppID: "a" },
        createDetachedWorkflow: {
          instanceId: "d", name: "w", version: { value: "2" }, input: { value: "1" }, scheduledStartTimestamp: timestamp(T, 123_456_789),
          executionId: { value: "x" }, tags: { k: "v" }, parentTraceContext: { traceParent: "00-t-s-01" },
        },
      }],
    })).actions;
    expect(mapped).toEqual({
      kind: "createDetachedWorkflow", id: 7, router: { sourceAppID: "a" }, instanceId: "d", name: "w", version: "2", input: "1",
      scheduledStartTimestamp: T, scheduledStartNanos: 123_456_789, executionId: "x", tags: { k: "v" }, parentTraceContext: { traceParent: "00-t-s-01" },
    });
  });

  it("an action type the proto does not know (hand-built, as a newer SDK's decoded reply would be) is a protocol failure", () => {
    const mapped = actionFromPb({ id: 3, workflowActionType: "somethingNew", somethingNew: {} });
    expect(mapped).toEqual({
      kind: "completeOrchestration", id: 3, status: "FAILED",
      failureDetails: { errorType: "WorkerProtocolError", errorMessage: "unknown workflow action type 'somethingNew'" },
    });
  });

  it("an activity reply with failure details is a failure; otherwise its result (empty stays empty)", () => {
    expect(activityResultFromPb({ instanceId: "i", taskId: 1, result: { value: "" } })).toEqual({ ok: true, result: "" });
    expect(activityResultFromPb({ instanceId: "i", taskId: 1 })).toEqual({ ok: true, result: undefined });
    expect(activityResultFromPb({ instanceId: "i", taskId: 1, failureDetails: { errorType: "E", errorMessage: "m" } })).toEqual({
      ok: false,
      failure: { errorType: "E", errorMessage: "m", stackTrace: undefined, innerFailure: undefined, isNonRetriable: undefined },
    });
  });
});

// The loader options the server uses must decode the SDK's oneofs with their member's name.
describe("the server's proto loading", () => {
  it("loads the vendored proto from proto/ at the package root", () => {
    expect(protoDir).toMatch(/\/proto\/$/);
    expect(protoPath).toBe(`${protoDir}orchestrator_service.proto`);
    expect(existsSync(protoPath)).toBe(true);
    expect(Object.keys(loadSync(protoFile, loaderOptions))).toEqual(expect.arrayContaining(["TaskHubSidecarService", "WorkflowRequest", "WorkflowAction", "HistoryEvent"]));
  });

  it("the service has both completion methods and unprefixed paths, as the SDKs call them", () => {
    const service = loadTaskHubService();
    expect(service.GetWorkItems!.path).toBe("/TaskHubSidecarService/GetWorkItems");
    expect(service.CompleteWorkflowTask!.path).toBe("/TaskHubSidecarService/CompleteWorkflowTask");
    expect(service.CompleteOrchestratorTask!.path).toBe("/TaskHubSidecarService/CompleteOrchestratorTask");
    expect(service.GetInstanceHistory!.path).toBe("/TaskHubSidecarService/GetInstanceHistory");
  });

  it("decoding names the member set in each oneof, and keeps 64-bit seconds as numbers", () => {
    const decoded = decodeWorkItem(encodeWorkItem({ workflowRequest: { instanceId: "i", newEvents: [eventToPb(samples.timerFired)] }, completionToken: "tok" }));
    expect(decoded.request).toBe("workflowRequest");
    expect(decoded.completionToken).toBe("tok");
    expect(decoded.workflowRequest.newEvents[0].eventType).toBe("timerFired");
    expect(typeof decoded.workflowRequest.newEvents[0].timestamp.seconds).toBe("number");
    const reply = workerReply({ actions: [{ id: 1, scheduleTask: { name: "a" } }] });
    expect(reply.actions![0]!.workflowActionType).toBe("scheduleTask");
  });
});
