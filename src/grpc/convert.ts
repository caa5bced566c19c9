/**
 * Conversions between the engine's types and durabletask's protobuf messages (as plain
 * objects in @grpc/proto-loader's shape: `google.protobuf.Timestamp` is `{seconds, nanos}`,
 * `StringValue` is `{value}`, a oneof is its member's field plus a virtual field naming it).
 *
 * The engine's history model follows the proto field for field, so these are direct
 * mappings; the only judgement calls are documented where they are made.
 */
import type { ActionCompletionStatus, OrchestratorAction, TurnResult } from "../engine/actions.js";
import type { FailureDetails, HistoryEvent } from "../engine/history.js";
import type { RuntimeStatus } from "../engine/state.js";
import type { ActivityRequest, ActivityResult, OrchestrationRequest } from "../orchestration/worker.js";
import type { InstanceView } from "../orchestration/workflow-service.js";

// -- Wire shapes --------------------------------------------------------------------------

export interface PbTimestamp {
  seconds?: number | string;
  nanos?: number;
}
export interface PbString {
  value?: string;
}
export interface PbFailureDetails {
  errorType?: string;
  errorMessage?: string;
  stackTrace?: PbString | null;
  innerFailure?: PbFailureDetails | null;
  isNonRetriable?: boolean;
}
export interface PbOrchestrationInstance {
  instanceId?: string;
  executionId?: PbString | null;
}
export interface PbHistoryEvent {
  eventId?: number;
  timestamp?: PbTimestamp | null;
  eventType?: string;
  [member: string]: unknown;
}
export interface PbAction {
  id?: number;
  orchestratorActionType?: string;
  scheduleTask?: { name?: string; input?: PbString | null };
  createSubOrchestration?: { instanceId?: string; name?: string; input?: PbString | null };
  createTimer?: { fireAt?: PbTimestamp | null };
  sendEvent?: { instance?: PbOrchestrationInstance | null; name?: string; data?: PbString | null };
  completeOrchestration?: {
    orchestrationStatus?: number;
    result?: PbString | null;
    failureDetails?: PbFailureDetails | null;
    carryoverEvents?: PbHistoryEvent[];
  };
  terminateOrchestration?: { instanceId?: string; reason?: PbString | null; recurse?: boolean };
}
export interface PbOrchestratorResponse {
  instanceId?: string;
  actions?: PbAction[];
  customStatus?: PbString | null;
}
export interface PbActivityResponse {
  instanceId?: string;
  taskId?: number;
  result?: PbString | null;
  failureDetails?: PbFailureDetails | null;
}

// -- Scalars ------------------------------------------------------------------------------

export function timestamp(ms: number): PbTimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function millis(ts: PbTimestamp | null | undefined): number | undefined {
  if (!ts) return undefined;
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000);
}

/** `undefined` (no value) stays unset, which the SDKs read differently from `""`. */
export function stringValue(value: string | undefined): PbString | undefined {
  return value === undefined ? undefined : { value };
}

export function valueOf(wrapper: PbString | null | undefined): string | undefined {
  return wrapper ? (wrapper.value ?? "") : undefined;
}

/**
 * OrchestrationStatus numbers. CANCELED (4) is never produced by the engine, and the Node
 * SDK throws on 4 and 8, so they are never sent: CANCELED would be reported as TERMINATED.
 */
const statusNumbers: Record<RuntimeStatus, number> = {
  RUNNING: 0,
  COMPLETED: 1,
  CONTINUED_AS_NEW: 2,
  FAILED: 3,
  CANCELED: 5,
  TERMINATED: 5,
  PENDING: 6,
  SUSPENDED: 7,
};

export function statusNumber(status: RuntimeStatus): number {
  return statusNumbers[status];
}

const completionStatuses: Record<number, ActionCompletionStatus> = {
  1: "COMPLETED",
  2: "CONTINUED_AS_NEW",
  3: "FAILED",
  5: "TERMINATED",
};

export function failureToPb(failure: FailureDetails): PbFailureDetails {
  return {
    errorType: failure.errorType,
    errorMessage: failure.errorMessage,
    ...(failure.stackTrace !== undefined ? { stackTrace: { value: failure.stackTrace } } : {}),
    ...(failure.innerFailure ? { innerFailure: failureToPb(failure.innerFailure) } : {}),
    ...(failure.isNonRetriable ? { isNonRetriable: true } : {}),
  };
}

export function failureFromPb(failure: PbFailureDetails): FailureDetails {
  return {
    errorType: failure.errorType ?? "",
    errorMessage: failure.errorMessage ?? "",
    stackTrace: valueOf(failure.stackTrace),
    innerFailure: failure.innerFailure ? failureFromPb(failure.innerFailure) : undefined,
    isNonRetriable: failure.isNonRetriable || undefined,
  };
}

// -- History events (engine → wire) -------------------------------------------------------

function instanceRef(instanceId: string, executionId: string | undefined): PbOrchestrationInstance {
  return { instanceId, ...(executionId !== undefined ? { executionId: { value: executionId } } : {}) };
}

export function eventToPb(event: HistoryEvent): PbHistoryEvent {
  const envelope = { eventId: event.eventId, timestamp: timestamp(event.timestamp) };
  switch (event.kind) {
    case "executionStarted":
      return {
        ...envelope,
        executionStarted: {
          name: event.name,
          input: stringValue(event.input),
          orchestrationInstance: instanceRef(event.instanceId, event.executionId),
          ...(event.parentInstance
            ? {
                parentInstance: {
                  taskScheduledId: event.parentInstance.taskScheduledId,
                  name: { value: event.parentInstance.name },
                  orchestrationInstance: instanceRef(event.parentInstance.instanceId, event.parentInstance.executionId),
                },
              }
            : {}),
          ...(event.scheduledStartTimestamp !== undefined ? { scheduledStartTimestamp: timestamp(event.scheduledStartTimestamp) } : {}),
        },
      };
    case "executionCompleted":
      return {
        ...envelope,
        executionCompleted: {
          orchestrationStatus: statusNumber(event.status),
          result: stringValue(event.result),
          ...(event.failureDetails ? { failureDetails: failureToPb(event.failureDetails) } : {}),
        },
      };
    case "executionTerminated":
      return { ...envelope, executionTerminated: { input: stringValue(event.input), recurse: event.recurse } };
    case "executionSuspended":
      return { ...envelope, executionSuspended: { input: stringValue(event.input) } };
    case "executionResumed":
      return { ...envelope, executionResumed: { input: stringValue(event.input) } };
    case "taskScheduled":
      return { ...envelope, taskScheduled: { name: event.name, input: stringValue(event.input) } };
    case "taskCompleted":
      return { ...envelope, taskCompleted: { taskScheduledId: event.taskScheduledId, result: stringValue(event.result) } };
    case "taskFailed":
      return { ...envelope, taskFailed: { taskScheduledId: event.taskScheduledId, failureDetails: failureToPb(event.failureDetails) } };
    case "subOrchestrationInstanceCreated":
      return {
        ...envelope,
        subOrchestrationInstanceCreated: { instanceId: event.instanceId, name: event.name, input: stringValue(event.input) },
      };
    case "subOrchestrationInstanceCompleted":
      return {
        ...envelope,
        subOrchestrationInstanceCompleted: { taskScheduledId: event.taskScheduledId, result: stringValue(event.result) },
      };
    case "subOrchestrationInstanceFailed":
      return {
        ...envelope,
        subOrchestrationInstanceFailed: { taskScheduledId: event.taskScheduledId, failureDetails: failureToPb(event.failureDetails) },
      };
    case "timerCreated":
      return { ...envelope, timerCreated: { fireAt: timestamp(event.fireAt) } };
    case "timerFired":
      return { ...envelope, timerFired: { fireAt: timestamp(event.fireAt), timerId: event.timerId } };
    case "orchestratorStarted":
      return { ...envelope, orchestratorStarted: {} };
    case "orchestratorCompleted":
      return { ...envelope, orchestratorCompleted: {} };
    case "eventSent":
      return { ...envelope, eventSent: { instanceId: event.instanceId, name: event.name, input: stringValue(event.input) } };
    case "eventRaised":
      return { ...envelope, eventRaised: { name: event.name, input: stringValue(event.input) } };
    case "continueAsNew":
      return { ...envelope, continueAsNew: { input: stringValue(event.input) } };
    default: {
      const unknown: never = event;
      throw new Error(`no wire form for history event ${JSON.stringify(unknown)}`);
    }
  }
}

export function orchestratorRequestToPb(request: OrchestrationRequest) {
  return {
    instanceId: request.instanceId,
    executionId: { value: request.executionId },
    pastEvents: request.pastEvents.map(eventToPb),
    newEvents: request.newEvents.map(eventToPb),
  };
}

export function activityRequestToPb(request: ActivityRequest) {
  return {
    name: request.name,
    input: stringValue(request.input),
    orchestrationInstance: instanceRef(request.instanceId, request.executionId),
    taskId: request.taskId,
  };
}

// -- Replies (wire → engine) --------------------------------------------------------------

/**
 * A worker's turn result. Something the engine cannot represent (an unknown action, an
 * unsupported completion status) becomes a FAILED completion naming the problem, so the
 * instance fails visibly instead of retrying a broken reply forever.
 */
export function turnResultFromPb(response: PbOrchestratorResponse): TurnResult {
  const actions = (response.actions ?? []).map(actionFromPb);
  return { actions, customStatus: valueOf(response.customStatus) };
}

function protocolFailure(id: number, message: string): OrchestratorAction {
  return { kind: "completeOrchestration", id, status: "FAILED", failureDetails: { errorType: "WorkerProtocolError", errorMessage: message } };
}

export function actionFromPb(action: PbAction): OrchestratorAction {
  const id = action.id ?? 0;
  switch (action.orchestratorActionType) {
    case "scheduleTask":
      return { kind: "scheduleTask", id, name: action.scheduleTask?.name ?? "", input: valueOf(action.scheduleTask?.input) };
    case "createSubOrchestration": {
      const child = action.createSubOrchestration ?? {};
      return { kind: "createSubOrchestration", id, instanceId: child.instanceId ?? "", name: child.name ?? "", input: valueOf(child.input) };
    }
    case "createTimer": {
      const fireAt = millis(action.createTimer?.fireAt);
      if (fireAt === undefined) return protocolFailure(id, `createTimer action ${id} has no fireAt`);
      return { kind: "createTimer", id, fireAt };
    }
    case "sendEvent":
      return {
        kind: "sendEvent",
        id,
        instanceId: action.sendEvent?.instance?.instanceId ?? "",
        name: action.sendEvent?.name ?? "",
        data: valueOf(action.sendEvent?.data),
      };
    case "completeOrchestration": {
      const done = action.completeOrchestration ?? {};
      const status = completionStatuses[done.orchestrationStatus ?? 0];
      if (!status) return protocolFailure(id, `completeOrchestration with unsupported status ${done.orchestrationStatus ?? 0}`);
      return {
        kind: "completeOrchestration",
        id,
        status,
        result: valueOf(done.result),
        failureDetails: done.failureDetails ? failureFromPb(done.failureDetails) : undefined,
        // The SDK carries over only EventRaised events (names lower-cased by the SDK).
        carryoverEvents: (done.carryoverEvents ?? [])
          .filter((e) => e.eventType === "eventRaised")
          .map((e) => {
            const raised = e.eventRaised as { name?: string; input?: PbString | null } | undefined;
            return { name: raised?.name ?? "", input: valueOf(raised?.input) };
          }),
      };
    }
    case "terminateOrchestration":
      return {
        kind: "terminateOrchestration",
        id,
        instanceId: action.terminateOrchestration?.instanceId ?? "",
        reason: valueOf(action.terminateOrchestration?.reason),
        recurse: action.terminateOrchestration?.recurse ?? false,
      };
    default:
      return protocolFailure(id, `unknown orchestrator action type '${action.orchestratorActionType ?? "(none)"}'`);
  }
}

export function activityResultFromPb(response: PbActivityResponse): ActivityResult {
  if (response.failureDetails) return { ok: false, failure: failureFromPb(response.failureDetails) };
  return { ok: true, result: valueOf(response.result) };
}

// -- Instance state (engine → wire) --------------------------------------------------------

/**
 * GetInstance's OrchestrationState. Payloads only when asked for. A FAILED instance always
 * has a non-empty errorType and errorMessage: the Node client builds failure details only
 * when both are set.
 */
export function orchestrationStateToPb(instance: InstanceView, withPayloads: boolean) {
  const failure = instance.failureDetails;
  return {
    instanceId: instance.instanceId,
    name: instance.name,
    orchestrationStatus: statusNumber(instance.status),
    createdTimestamp: timestamp(instance.createdAt),
    lastUpdatedTimestamp: timestamp(instance.lastUpdatedAt),
    ...(withPayloads
      ? {
          input: stringValue(instance.input),
          output: stringValue(instance.output),
          customStatus: stringValue(instance.customStatus),
        }
      : {}),
    ...(failure
      ? {
          failureDetails: failureToPb({
            ...failure,
            errorType: failure.errorType || "Error",
            errorMessage: failure.errorMessage || "(no message)",
          }),
        }
      : {}),
  };
}
