/**
 * The wire conversions on plain data: every history event kind reaches the proto shape the
 * SDKs decode (checked by really encoding and decoding with the pinned .proto), actions and
 * replies come back into engine types, and the status rules of the protocol reference hold.
 */
import { loadSync } from "@grpc/proto-loader";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { HistoryEvent } from "../../src/engine/history.js";
import { historyEventKinds } from "../../src/engine/history.js";
import { runtimeStatuses } from "../../src/engine/state.js";
import {
  actionFromPb,
  activityResultFromPb,
  eventToPb,
  millis,
  orchestrationStateToPb,
  statusNumber,
  timestamp,
  turnResultFromPb,
} from "../../src/grpc/convert.js";
import { loadTaskHubService, protoPath } from "../../src/grpc/proto.js";

const T = Date.UTC(2026, 10, 27, 12, 0, 0, 123);
const failure = { errorType: "Boom", errorMessage: "it broke", stackTrace: "at x", innerFailure: { errorType: "Inner", errorMessage: "cause" } };

const samples: Record<(typeof historyEventKinds)[number], HistoryEvent> = {
  executionStarted: {
    kind: "executionStarted", eventId: -1, timestamp: T, name: "wf", instanceId: "i", executionId: "e", input: "1",
    parentInstance: { taskScheduledId: 3, name: "parent", instanceId: "p", executionId: "pe" }, scheduledStartTimestamp: T + 5,
  },
  executionCompleted: { kind: "executionCompleted", eventId: 4, timestamp: T, status: "FAILED", failureDetails: failure },
  executionTerminated: { kind: "executionTerminated", eventId: -1, timestamp: T, input: "\"bye\"", recurse: true },
  executionSuspended: { kind: "executionSuspended", eventId: -1, timestamp: T, input: "why" },
  executionResumed: { kind: "executionResumed", eventId: -1, timestamp: T },
  taskScheduled: { kind: "taskScheduled", eventId: 1, timestamp: T, name: "act", input: "\"x\"" },
  taskCompleted: { kind: "taskCompleted", eventId: -1, timestamp: T, taskScheduledId: 1, result: "" },
  taskFailed: { kind: "taskFailed", eventId: -1, timestamp: T, taskScheduledId: 1, failureDetails: failure },
  subOrchestrationInstanceCreated: { kind: "subOrchestrationInstanceCreated", eventId: 2, timestamp: T, instanceId: "i:0002", name: "child" },
  subOrchestrationInstanceCompleted: { kind: "subOrchestrationInstanceCompleted", eventId: -1, timestamp: T, taskScheduledId: 2, result: "7" },
  subOrchestrationInstanceFailed: { kind: "subOrchestrationInstanceFailed", eventId: -1, timestamp: T, taskScheduledId: 2, failureDetails: failure },
  timerCreated: { kind: "timerCreated", eventId: 3, timestamp: T, fireAt: T + 1500 },
  timerFired: { kind: "timerFired", eventId: -1, timestamp: T, timerId: 3, fireAt: T + 1500 },
  orchestratorStarted: { kind: "orchestratorStarted", eventId: -1, timestamp: T },
  orchestratorCompleted: { kind: "orchestratorCompleted", eventId: -1, timestamp: T },
  eventSent: { kind: "eventSent", eventId: 5, timestamp: T, instanceId: "other", name: "ping", input: "1" },
  eventRaised: { kind: "eventRaised", eventId: -1, timestamp: T, name: "Approval", input: "true" },
  continueAsNew: { kind: "continueAsNew", eventId: -1, timestamp: T, input: "2" },
};

// Encode exactly as the server does (the GetWorkItems serializer of the loaded service),
// then decode as the server's loader would, and also with the stubs `@dapr/dapr` 3.18
// really uses, so what the SDK reads is checked, not only what we meant to send.
const service = loadTaskHubService();
const encodeWorkItem = (item: object) => service.GetWorkItems!.responseSerialize(item);
const decodeWorkItem = (bytes: Buffer) => service.GetWorkItems!.responseDeserialize(bytes) as Record<string, any>;
const require = createRequire(import.meta.url);
const sdkStubs = require("@dapr/dapr/workflow/internal/durabletask/proto/orchestrator_service_pb.js");

function roundTrip(event: object): Record<string, any> {
  const bytes = encodeWorkItem({ orchestratorRequest: { instanceId: "i", newEvents: [event] } });
  return decodeWorkItem(bytes).orchestratorRequest.newEvents[0];
}

function sdkRead(event: object): any {
  const bytes = encodeWorkItem({ orchestratorRequest: { instanceId: "i", newEvents: [event] } });
  return sdkStubs.WorkItem.deserializeBinary(bytes).getOrchestratorrequest().getNeweventsList()[0];
}

describe("history events to the wire", () => {
  it.each(historyEventKinds)("%s encodes with the pinned proto and keeps its ID, time and fields", (kind) => {
    const decoded = roundTrip(eventToPb(samples[kind]));
    expect(decoded.eventType).toBe(kind);
    expect(decoded.eventId).toBe(samples[kind].eventId);
    expect(millis(decoded.timestamp)).toBe(T);
  });

  it("the SDK's own stubs read the event kind, ID and time", () => {
    for (const kind of historyEventKinds) {
      const read = sdkRead(eventToPb(samples[kind]));
      expect(read.getEventid(), kind).toBe(samples[kind].eventId);
      expect(read.getTimestamp().toDate().getTime(), kind).toBe(T);
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

  it("executionStarted carries the instance, execution, parent and input as the SDK reads them", () => {
    const decoded = roundTrip(eventToPb(samples.executionStarted)) as Record<string, any>;
    expect(decoded.executionStarted).toMatchObject({
      name: "wf",
      input: { value: "1" },
      orchestrationInstance: { instanceId: "i", executionId: { value: "e" } },
      parentInstance: { taskScheduledId: 3, name: { value: "parent" }, orchestrationInstance: { instanceId: "p" } },
    });
    expect(millis(decoded.executionStarted.scheduledStartTimestamp)).toBe(T + 5);
  });

  it("an empty result stays an empty StringValue; no result stays unset", () => {
    expect((roundTrip(eventToPb(samples.taskCompleted)) as any).taskCompleted.result).toEqual({ value: "" });
    const none = roundTrip(eventToPb({ ...samples.taskCompleted, result: undefined } as HistoryEvent)) as any;
    expect(none.taskCompleted.result).toBeUndefined();
  });

  it("failure details keep type, message, stack and the inner failure", () => {
    const decoded = roundTrip(eventToPb(samples.taskFailed)) as any;
    expect(decoded.taskFailed.failureDetails).toMatchObject({
      errorType: "Boom",
      errorMessage: "it broke",
      stackTrace: { value: "at x" },
      innerFailure: { errorType: "Inner", errorMessage: "cause" },
    });
  });

  it("timestamps keep millisecond precision", () => {
    expect(timestamp(T)).toEqual({ seconds: Math.floor(T / 1000), nanos: 123_000_000 });
    expect(millis(timestamp(T))).toBe(T);
    expect(millis({ seconds: "1700000000", nanos: 5_000_000 })).toBe(1_700_000_000_005);
  });
});

describe("statuses", () => {
  it("never sends CANCELED (4) or STALLED (8): the Node client throws on them", () => {
    for (const status of runtimeStatuses) expect([0, 1, 2, 3, 5, 6, 7]).toContain(statusNumber(status));
  });

  it("a FAILED instance always has a non-empty error type and message (the Node client needs both)", () => {
    const state = orchestrationStateToPb({
      instanceId: "i", name: "wf", executionId: "e", status: "FAILED", createdAt: T, lastUpdatedAt: T + 1,
      input: "1", output: undefined, customStatus: undefined, failureDetails: { errorType: "", errorMessage: "" },
      parentInstanceId: undefined, historyLength: 3, version: 2,
    }, false);
    expect(state.failureDetails?.errorType).toBe("Error");
    expect(state.failureDetails?.errorMessage).toBe("(no message)");
    expect(state).not.toHaveProperty("input");
  });

  it("payloads are included only when asked for", () => {
    const record = {
      instanceId: "i", name: "wf", executionId: "e", status: "COMPLETED" as const, createdAt: T, lastUpdatedAt: T,
      input: "1", output: "2", customStatus: "s", failureDetails: undefined, parentInstanceId: undefined, historyLength: 3, version: 2,
    };
    expect(orchestrationStateToPb(record, true)).toMatchObject({ input: { value: "1" }, output: { value: "2" }, customStatus: { value: "s" } });
    expect(orchestrationStateToPb(record, false)).not.toHaveProperty("output");
  });
});

describe("replies from the wire", () => {
  it("maps each action kind, keeping the SDK's action IDs", () => {
    const result = turnResultFromPb({
      instanceId: "i",
      customStatus: { value: "" },
      actions: [
        { id: 1, orchestratorActionType: "scheduleTask", scheduleTask: { name: "a", input: { value: "1" } } },
        { id: 2, orchestratorActionType: "createTimer", createTimer: { fireAt: timestamp(T) } },
        { id: 3, orchestratorActionType: "createSubOrchestration", createSubOrchestration: { instanceId: "", name: "c" } },
        { id: 4, orchestratorActionType: "sendEvent", sendEvent: { instance: { instanceId: "o" }, name: "n", data: { value: "d" } } },
        { id: 5, orchestratorActionType: "terminateOrchestration", terminateOrchestration: { instanceId: "o", recurse: true } },
        {
          id: 6, orchestratorActionType: "completeOrchestration",
          completeOrchestration: {
            orchestrationStatus: 2, result: { value: "9" },
            carryoverEvents: [{ eventId: -1, eventType: "eventRaised", eventRaised: { name: "x", input: { value: "1" } } }],
          },
        },
      ],
    });
    expect(result.customStatus).toBe("");
    expect(result.actions).toEqual([
      { kind: "scheduleTask", id: 1, name: "a", input: "1" },
      { kind: "createTimer", id: 2, fireAt: T },
      { kind: "createSubOrchestration", id: 3, instanceId: "", name: "c", input: undefined },
      { kind: "sendEvent", id: 4, instanceId: "o", name: "n", data: "d" },
      { kind: "terminateOrchestration", id: 5, instanceId: "o", reason: undefined, recurse: true },
      { kind: "completeOrchestration", id: 6, status: "CONTINUED_AS_NEW", result: "9", failureDetails: undefined, carryoverEvents: [{ name: "x", input: "1" }] },
    ]);
  });

  it.each([
    [{ id: 7, orchestratorActionType: "completeOrchestration", completeOrchestration: { orchestrationStatus: 4 } }, /unsupported status 4/],
    [{ id: 7, orchestratorActionType: "somethingNew" }, /unknown orchestrator action type 'somethingNew'/],
    [{ id: 7, orchestratorActionType: "createTimer", createTimer: {} }, /no fireAt/],
  ])("an action the engine cannot represent becomes a FAILED WorkerProtocolError completion: %j", (action, message) => {
    const mapped = actionFromPb(action);
    expect(mapped).toMatchObject({ kind: "completeOrchestration", id: 7, status: "FAILED", failureDetails: { errorType: "WorkerProtocolError" } });
    expect(mapped.kind === "completeOrchestration" && mapped.failureDetails?.errorMessage).toMatch(message);
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

// The loader options the server uses must decode the SDK's action oneof with its name.
describe("the server's proto loading", () => {
  it("loads the pinned proto from @dapr/durabletask-js", () => {
    expect(protoPath).toMatch(/node_modules\/@dapr\/durabletask-js\/proto\/orchestrator_service\.proto$/);
    expect(Object.keys(loadSync(protoPath))).toContain("TaskHubSidecarService");
  });
});
