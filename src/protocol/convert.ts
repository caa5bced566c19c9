/**
 * Conversions between the engine's types and durabletask's protobuf messages of the current
 * proto (`proto/`), as plain objects in @grpc/proto-loader's shape: `google.protobuf.Timestamp`
 * is `{seconds, nanos}`, `StringValue` is `{value}`, a oneof is its member's field plus a
 * virtual field naming it.
 *
 * The engine's history model follows the proto field for field (its kind names are the
 * 2022 edition's: subOrchestration* here is childWorkflow* on the wire, orchestratorStarted
 * is workflowStarted), so these are direct mappings. Every field is carried both ways:
 * Timestamps keep their nanoseconds, and messages the engine does not interpret (trace
 * contexts, routers, timer origins) are kept as received.
 */
import type { ActionCompletionStatus, OrchestratorAction, TurnResult } from "../engine/actions.js";
import {
  definedOnly,
  type Attested,
  type CompletionStatus,
  type ExactNanos,
  type FailureDetails,
  type HistoryEvent,
  type HistoryEventBody,
  type HistoryPropagationScope,
  type ParentInstance,
  type PropagatedHistory,
  type StalledReason,
  type WireValue,
  type WorkflowVersion,
} from "../engine/history.js";
import type { RuntimeStatus } from "../engine/state.js";
import type { ActivityRequest, ActivityResult, OrchestrationRequest } from "../orchestration/worker.js";
import type { InstanceView } from "../orchestration/workflow-service.js";
import { loadHistoryEventType } from "./proto.js";

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
export interface PbWorkflowInstance {
  instanceId?: string;
  executionId?: PbString | null;
}
/** A protobuf message as proto-loader decodes it: fields by proto name, a oneof's member named by a virtual field. */
export type PbMessage = Record<string, any>;
export interface PbHistoryEvent {
  eventId?: number;
  timestamp?: PbTimestamp | null;
  eventType?: string;
  router?: PbMessage | null;
  [member: string]: unknown;
}
export interface PbWorkflowVersion {
  patches?: string[];
  name?: string;
}
export interface PbAction {
  id?: number;
  workflowActionType?: string;
  router?: PbMessage | null;
  [member: string]: unknown;
}
export interface PbWorkflowResponse {
  instanceId?: string;
  actions?: PbAction[];
  customStatus?: PbString | null;
  completionToken?: string;
  version?: PbWorkflowVersion | null;
}
export interface PbActivityResponse {
  instanceId?: string;
  taskId?: number;
  result?: PbString | null;
  failureDetails?: PbFailureDetails | null;
  completionToken?: string;
}

/** A worker's reply that breaks the protocol (an event or action kind workflowd cannot keep). */
export class ProtocolError extends Error {}

// -- Scalars ------------------------------------------------------------------------------

/** A millisecond time, or its exact Timestamp when `nanos` (the nanoseconds of the second) was kept. */
export function timestamp(ms: number, nanos?: ExactNanos): PbTimestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: nanos ?? (ms - seconds * 1000) * 1_000_000 };
}

export function millis(ts: PbTimestamp | null | undefined): number | undefined {
  if (!ts) return undefined;
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000);
}

/** The nanoseconds of a Timestamp, when they are finer than its milliseconds (else undefined: nothing to keep). */
export function exactNanos(ts: PbTimestamp | null | undefined): ExactNanos | undefined {
  const nanos = ts?.nanos ?? 0;
  return nanos % 1_000_000 === 0 ? undefined : nanos;
}

/** `undefined` (no value) stays unset, which the SDKs read differently from `""`. */
export function stringValue(value: string | undefined): PbString | undefined {
  return value === undefined ? undefined : { value };
}

export function valueOf(wrapper: PbString | null | undefined): string | undefined {
  return wrapper ? (wrapper.value ?? "") : undefined;
}

/** A proto `string` field the engine keeps only when set (proto3 cannot tell "" from unset). */
function nonEmpty(value: string | null | undefined): string | undefined {
  return value ? value : undefined;
}

/**
 * A message kept as received, without proto-loader's virtual oneof fields (`_name` for each
 * proto3 `optional` field that is set), which are not data.
 */
function wire(value: PbMessage | null | undefined): WireValue | undefined {
  return value ? (withoutVirtualFields(value) as WireValue) : undefined;
}

function withoutVirtualFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVirtualFields);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !key.startsWith("_")).map(([key, v]) => [key, withoutVirtualFields(v)]));
}

/**
 * OrchestrationStatus numbers. CANCELED (4) is never produced by the engine, and the Node
 * SDK throws on 4 and 8, so CANCELED is reported as TERMINATED; STALLED (8) is sent only for
 * an instance that stalled, which happens only to workers that use versioning.
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
  STALLED: 8,
};

export function statusNumber(status: RuntimeStatus): number {
  return statusNumbers[status];
}

const statusesByNumber = new Map<number, RuntimeStatus>([
  [0, "RUNNING"], [1, "COMPLETED"], [2, "CONTINUED_AS_NEW"], [3, "FAILED"], [4, "CANCELED"],
  [5, "TERMINATED"], [6, "PENDING"], [7, "SUSPENDED"], [8, "STALLED"],
]);

export function statusFromNumber(value: number): RuntimeStatus | undefined {
  return statusesByNumber.get(value);
}

const completionStatuses: Record<number, ActionCompletionStatus> = {
  1: "COMPLETED",
  2: "CONTINUED_AS_NEW",
  3: "FAILED",
  5: "TERMINATED",
};

const completedStatusNumbers: Record<CompletionStatus, number> = { COMPLETED: 1, FAILED: 3, TERMINATED: 5 };

const stalledReasons: readonly StalledReason[] = ["PATCH_MISMATCH", "VERSION_NOT_AVAILABLE", "PAYLOAD_SIZE_EXCEEDED"];
const scopes: readonly HistoryPropagationScope[] = ["NONE", "OWN_HISTORY", "LINEAGE"];

function scopeFromPb(value: number | undefined): HistoryPropagationScope | undefined {
  return value === undefined ? undefined : (scopes[value] ?? "NONE");
}

function scopeToPb(scope: HistoryPropagationScope | undefined): number | undefined {
  return scope === undefined ? undefined : scopes.indexOf(scope);
}

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

function versionFromPb(version: PbWorkflowVersion | null | undefined): WorkflowVersion | undefined {
  if (!version) return undefined;
  return { patches: [...(version.patches ?? [])], ...(version.name !== undefined ? { name: version.name } : {}) };
}

function versionToPb(version: WorkflowVersion): PbWorkflowVersion {
  return { patches: [...version.patches], ...(version.name !== undefined ? { name: version.name } : {}) };
}

// -- History events (engine → wire) -------------------------------------------------------

function instanceRef(instanceId: string, executionId: string | undefined): PbWorkflowInstance {
  return { instanceId, ...(executionId !== undefined ? { executionId: { value: executionId } } : {}) };
}

function parentToPb(parent: ParentInstance): PbMessage {
  return definedOnly({
    taskScheduledId: parent.taskScheduledId,
    name: { value: parent.name },
    version: stringValue(parent.version),
    workflowInstance: instanceRef(parent.instanceId, parent.executionId),
    appID: parent.appId,
    appNamespace: parent.appNamespace,
  });
}

/** The event's payload message, by the current proto's member name. */
function payloadToPb(event: HistoryEvent): [member: string, payload: PbMessage] {
  switch (event.kind) {
    case "executionStarted":
      return ["executionStarted", definedOnly({
        name: event.name,
        version: stringValue(event.version),
        input: stringValue(event.input),
        workflowInstance: instanceRef(event.instanceId, event.executionId),
        parentInstance: event.parentInstance ? parentToPb(event.parentInstance) : undefined,
        scheduledStartTimestamp: event.scheduledStartTimestamp !== undefined
          ? timestamp(event.scheduledStartTimestamp, event.scheduledStartNanos)
          : undefined,
        parentTraceContext: event.parentTraceContext,
        workflowSpanID: stringValue(event.workflowSpanId),
        tags: event.tags,
      })];
    case "executionCompleted":
      return ["executionCompleted", definedOnly({
        workflowStatus: completedStatusNumbers[event.status],
        result: stringValue(event.result),
        failureDetails: event.failureDetails ? failureToPb(event.failureDetails) : undefined,
      })];
    case "executionTerminated":
      return ["executionTerminated", definedOnly({ input: stringValue(event.input), recurse: event.recurse })];
    case "executionSuspended":
      return ["executionSuspended", definedOnly({ input: stringValue(event.input) })];
    case "executionResumed":
      return ["executionResumed", definedOnly({ input: stringValue(event.input) })];
    case "detachedWorkflowInstanceCreated":
      return ["detachedWorkflowInstanceCreated", { instanceId: event.instanceId }];
    case "executionStalled":
      return ["executionStalled", definedOnly({ reason: stalledReasons.indexOf(event.reason), description: event.description })];
    case "taskScheduled":
      return ["taskScheduled", definedOnly({
        name: event.name,
        version: stringValue(event.version),
        input: stringValue(event.input),
        parentTraceContext: event.parentTraceContext,
        taskExecutionId: event.taskExecutionId,
        rerunParentInstanceInfo: event.rerunParentInstanceInfo,
        historyPropagationScope: scopeToPb(event.historyPropagationScope),
      })];
    case "taskCompleted":
      return ["taskCompleted", definedOnly({
        taskScheduledId: event.taskScheduledId,
        result: stringValue(event.result),
        taskExecutionId: event.taskExecutionId,
        attestation: event.attestation,
        signerCertificate: event.signerCertificate,
      })];
    case "taskFailed":
      return ["taskFailed", definedOnly({
        taskScheduledId: event.taskScheduledId,
        failureDetails: failureToPb(event.failureDetails),
        taskExecutionId: event.taskExecutionId,
        attestation: event.attestation,
        signerCertificate: event.signerCertificate,
      })];
    case "subOrchestrationInstanceCreated":
      return ["childWorkflowInstanceCreated", definedOnly({
        instanceId: event.instanceId,
        name: event.name,
        version: stringValue(event.version),
        input: stringValue(event.input),
        parentTraceContext: event.parentTraceContext,
        rerunParentInstanceInfo: event.rerunParentInstanceInfo,
        historyPropagationScope: scopeToPb(event.historyPropagationScope),
        retryParentInstanceInfo: event.retryParentInstanceInfo,
      })];
    case "subOrchestrationInstanceCompleted":
      return ["childWorkflowInstanceCompleted", definedOnly({
        taskScheduledId: event.taskScheduledId,
        result: stringValue(event.result),
        attestation: event.attestation,
        signerCertificate: event.signerCertificate,
      })];
    case "subOrchestrationInstanceFailed":
      return ["childWorkflowInstanceFailed", definedOnly({
        taskScheduledId: event.taskScheduledId,
        failureDetails: failureToPb(event.failureDetails),
        attestation: event.attestation,
        signerCertificate: event.signerCertificate,
      })];
    case "timerCreated":
      return ["timerCreated", definedOnly({
        fireAt: timestamp(event.fireAt, event.fireAtNanos),
        name: event.name,
        rerunParentInstanceInfo: event.rerunParentInstanceInfo,
        ...(event.origin ?? {}),
      })];
    case "timerFired":
      return ["timerFired", { fireAt: timestamp(event.fireAt, event.fireAtNanos), timerId: event.timerId }];
    case "orchestratorStarted":
      return ["workflowStarted", event.version ? { version: versionToPb(event.version) } : {}];
    case "orchestratorCompleted":
      return ["workflowCompleted", {}];
    case "eventSent":
      return ["eventSent", definedOnly({ instanceId: event.instanceId, name: event.name, input: stringValue(event.input) })];
    case "eventRaised":
      return ["eventRaised", definedOnly({ name: event.name, input: stringValue(event.input) })];
    case "continueAsNew":
      return ["continueAsNew", definedOnly({ input: stringValue(event.input) })];
    default: {
      const unknown: never = event;
      throw new Error(`no wire form for history event ${JSON.stringify(unknown)}`);
    }
  }
}

export function eventToPb(event: HistoryEvent): PbHistoryEvent {
  const [member, payload] = payloadToPb(event);
  return definedOnly({
    eventId: event.eventId,
    timestamp: timestamp(event.timestamp, event.timestampNanos),
    [member]: payload,
    router: event.router,
  });
}

// -- History events (wire → engine): events a worker hands back (continue-as-new carry-over) --

/** Signing fields of completion events (clusters with signing enabled), kept as received. */
function attestationOf(p: PbMessage): Attested {
  return definedOnly({ attestation: wire(p.attestation), signerCertificate: p.signerCertificate as string | undefined });
}

const timerOrigins = ["createTimer", "externalEvent", "activityRetry", "childWorkflowRetry"] as const;

/** The member of the timer origin oneof that is set, as `{ member: {...} }`. */
function originOf(message: PbMessage): WireValue | undefined {
  const member = timerOrigins.find((name) => message[name] !== undefined && message[name] !== null);
  return member ? { [member]: message[member] } : undefined;
}

function parentFromPb(parent: PbMessage): ParentInstance {
  return definedOnly({
    taskScheduledId: parent.taskScheduledId ?? 0,
    name: valueOf(parent.name) ?? "",
    instanceId: parent.workflowInstance?.instanceId ?? "",
    executionId: valueOf(parent.workflowInstance?.executionId) ?? "",
    version: valueOf(parent.version),
    appId: parent.appID,
    appNamespace: parent.appNamespace,
  });
}

/**
 * A history event as a worker sent it. Every field the current proto defines is kept; an
 * event kind workflowd does not model is a ProtocolError (never silently dropped).
 */
export function eventFromPb(pb: PbHistoryEvent): HistoryEvent {
  const envelope = definedOnly({
    // proto3 leaves a 0 off the wire: an absent ID is 0 (workers send -1 explicitly).
    eventId: pb.eventId ?? 0,
    timestamp: millis(pb.timestamp) ?? 0,
    timestampNanos: exactNanos(pb.timestamp),
    router: wire(pb.router),
  });
  const member = pb.eventType;
  const p = (member ? pb[member] : undefined) as PbMessage | undefined;
  if (!member || !p) throw new ProtocolError(`history event ${pb.eventId ?? "?"} has no event type`);
  const body = ((): HistoryEventBody => {
    switch (member) {
      case "executionStarted":
        return {
          kind: "executionStarted",
          name: p.name ?? "",
          instanceId: p.workflowInstance?.instanceId ?? "",
          executionId: valueOf(p.workflowInstance?.executionId) ?? "",
          input: valueOf(p.input),
          parentInstance: p.parentInstance ? parentFromPb(p.parentInstance) : undefined,
          scheduledStartTimestamp: millis(p.scheduledStartTimestamp),
          scheduledStartNanos: exactNanos(p.scheduledStartTimestamp),
          version: valueOf(p.version),
          tags: p.tags,
          parentTraceContext: wire(p.parentTraceContext),
          workflowSpanId: valueOf(p.workflowSpanID),
        };
      case "executionCompleted": {
        const status = statusFromNumber(p.workflowStatus ?? 0);
        if (status !== "COMPLETED" && status !== "FAILED" && status !== "TERMINATED") {
          throw new ProtocolError(`executionCompleted event with status ${p.workflowStatus ?? 0}`);
        }
        return { kind: "executionCompleted", status, result: valueOf(p.result), failureDetails: p.failureDetails ? failureFromPb(p.failureDetails) : undefined };
      }
      case "executionTerminated":
        return { kind: "executionTerminated", input: valueOf(p.input), recurse: p.recurse === true };
      case "executionSuspended":
        return { kind: "executionSuspended", input: valueOf(p.input) };
      case "executionResumed":
        return { kind: "executionResumed", input: valueOf(p.input) };
      case "detachedWorkflowInstanceCreated":
        return { kind: "detachedWorkflowInstanceCreated", instanceId: p.instanceId ?? "" };
      case "executionStalled":
        return { kind: "executionStalled", reason: stalledReasons[p.reason ?? 0] ?? "PATCH_MISMATCH", description: p.description };
      case "taskScheduled":
        return {
          kind: "taskScheduled",
          name: p.name ?? "",
          input: valueOf(p.input),
          version: valueOf(p.version),
          taskExecutionId: nonEmpty(p.taskExecutionId),
          parentTraceContext: wire(p.parentTraceContext),
          rerunParentInstanceInfo: wire(p.rerunParentInstanceInfo),
          historyPropagationScope: scopeFromPb(p.historyPropagationScope),
        };
      case "taskCompleted":
        return { kind: "taskCompleted", taskScheduledId: p.taskScheduledId ?? 0, result: valueOf(p.result), taskExecutionId: nonEmpty(p.taskExecutionId), ...attestationOf(p) };
      case "taskFailed":
        return {
          kind: "taskFailed",
          taskScheduledId: p.taskScheduledId ?? 0,
          failureDetails: failureFromPb(p.failureDetails ?? {}),
          taskExecutionId: nonEmpty(p.taskExecutionId),
          ...attestationOf(p),
        };
      case "childWorkflowInstanceCreated":
        return {
          kind: "subOrchestrationInstanceCreated",
          instanceId: p.instanceId ?? "",
          name: p.name ?? "",
          input: valueOf(p.input),
          version: valueOf(p.version),
          parentTraceContext: wire(p.parentTraceContext),
          rerunParentInstanceInfo: wire(p.rerunParentInstanceInfo),
          historyPropagationScope: scopeFromPb(p.historyPropagationScope),
          retryParentInstanceInfo: wire(p.retryParentInstanceInfo),
        };
      case "childWorkflowInstanceCompleted":
        return { kind: "subOrchestrationInstanceCompleted", taskScheduledId: p.taskScheduledId ?? 0, result: valueOf(p.result), ...attestationOf(p) };
      case "childWorkflowInstanceFailed":
        return { kind: "subOrchestrationInstanceFailed", taskScheduledId: p.taskScheduledId ?? 0, failureDetails: failureFromPb(p.failureDetails ?? {}), ...attestationOf(p) };
      case "timerCreated":
        return {
          kind: "timerCreated",
          fireAt: millis(p.fireAt) ?? 0,
          fireAtNanos: exactNanos(p.fireAt),
          name: p.name,
          origin: originOf(p),
          rerunParentInstanceInfo: wire(p.rerunParentInstanceInfo),
        };
      case "timerFired":
        return { kind: "timerFired", timerId: p.timerId ?? 0, fireAt: millis(p.fireAt) ?? 0, fireAtNanos: exactNanos(p.fireAt) };
      case "workflowStarted":
        return { kind: "orchestratorStarted", version: versionFromPb(p.version) };
      case "workflowCompleted":
        return { kind: "orchestratorCompleted" };
      case "eventSent":
        return { kind: "eventSent", instanceId: p.instanceId ?? "", name: p.name ?? "", input: valueOf(p.input) };
      case "eventRaised":
        return { kind: "eventRaised", name: p.name ?? "", input: valueOf(p.input) };
      case "continueAsNew":
        return { kind: "continueAsNew", input: valueOf(p.input) };
      default:
        throw new ProtocolError(`history event ${pb.eventId ?? "?"} has kind '${member}', which workflowd does not keep`);
    }
  })();
  return definedOnly({ ...body, ...envelope }) as HistoryEvent;
}

/** The HistoryEvent message, for the raw event bytes of propagated history. */
const historyEventMessage = loadHistoryEventType();

/** A history event as protobuf bytes (what PropagatedHistoryChunk.rawEvents holds). */
export function eventBytes(event: HistoryEvent): Uint8Array {
  return historyEventMessage.encode(historyEventMessage.fromObject(eventToPb(event))).finish();
}

/** History propagation on the wire: each chunk's events as raw HistoryEvent bytes. */
export function propagatedHistoryToPb(history: PropagatedHistory) {
  return {
    scope: scopeToPb(history.scope),
    chunks: history.chunks.map((chunk) => ({
      rawEvents: chunk.events.map(eventBytes),
      appId: chunk.appId,
      instanceId: chunk.instanceId,
      workflowName: chunk.workflowName,
    })),
  };
}

export interface WorkflowRequestExtras {
  /** Stateful history: committed events left out of `pastEvents` (the worker holds them). */
  cachedEventCount?: number | undefined;
}

export function workflowRequestToPb(request: OrchestrationRequest, extras: WorkflowRequestExtras = {}) {
  const past = extras.cachedEventCount ? request.pastEvents.slice(extras.cachedEventCount) : request.pastEvents;
  return definedOnly({
    instanceId: request.instanceId,
    executionId: { value: request.executionId },
    pastEvents: past.map(eventToPb),
    newEvents: request.newEvents.map(eventToPb),
    cachedHistory: extras.cachedEventCount ? { eventCount: extras.cachedEventCount } : undefined,
    propagatedHistory: request.propagatedHistory ? propagatedHistoryToPb(request.propagatedHistory) : undefined,
  });
}

export function activityRequestToPb(request: ActivityRequest) {
  const scheduled = request.scheduled;
  return definedOnly({
    name: request.name,
    version: stringValue(scheduled?.version),
    input: stringValue(request.input),
    workflowInstance: instanceRef(request.instanceId, request.executionId),
    taskId: request.taskId,
    parentTraceContext: request.parentTraceContext ?? scheduled?.parentTraceContext,
    taskExecutionId: scheduled?.taskExecutionId,
    propagatedHistory: request.propagatedHistory ? propagatedHistoryToPb(request.propagatedHistory) : undefined,
  });
}

// -- Replies (wire → engine) --------------------------------------------------------------

/**
 * A worker's turn result. Something the engine cannot represent (an unknown action, an
 * unsupported completion status, a carried-over event of an unknown kind) becomes a FAILED
 * completion naming the problem, so the instance fails visibly instead of retrying a broken
 * reply forever.
 */
export function turnResultFromPb(response: PbWorkflowResponse): TurnResult {
  const actions = (response.actions ?? []).map(actionFromPb);
  return definedOnly({ actions, customStatus: valueOf(response.customStatus), version: versionFromPb(response.version) });
}

function protocolFailure(id: number, message: string): OrchestratorAction {
  return { kind: "completeOrchestration", id, status: "FAILED", failureDetails: { errorType: "WorkerProtocolError", errorMessage: message } };
}

export function actionFromPb(action: PbAction): OrchestratorAction {
  const id = action.id ?? 0;
  const router = wire(action.router);
  const type = action.workflowActionType;
  const a = (type ? action[type] : undefined) as PbMessage | undefined;
  try {
    switch (type) {
      case "scheduleTask":
        return definedOnly({
          kind: "scheduleTask" as const,
          id,
          router,
          name: a?.name ?? "",
          input: valueOf(a?.input),
          version: valueOf(a?.version),
          taskExecutionId: nonEmpty(a?.taskExecutionId),
          historyPropagationScope: scopeFromPb(a?.historyPropagationScope),
        });
      case "createChildWorkflow":
        return definedOnly({
          kind: "createSubOrchestration" as const,
          id,
          router,
          instanceId: a?.instanceId ?? "",
          name: a?.name ?? "",
          input: valueOf(a?.input),
          version: valueOf(a?.version),
          historyPropagationScope: scopeFromPb(a?.historyPropagationScope),
          retryParentInstanceInfo: wire(a?.retryParentInstanceInfo),
        });
      case "createTimer": {
        const fireAt = millis(a?.fireAt);
        if (fireAt === undefined) return protocolFailure(id, `createTimer action ${id} has no fireAt`);
        return definedOnly({ kind: "createTimer" as const, id, router, fireAt, fireAtNanos: exactNanos(a?.fireAt), name: a?.name, origin: originOf(a ?? {}) });
      }
      case "sendEvent":
        return definedOnly({
          kind: "sendEvent" as const,
          id,
          router,
          instanceId: a?.instance?.instanceId ?? "",
          name: a?.name ?? "",
          data: valueOf(a?.data),
        });
      case "completeWorkflow": {
        const status = completionStatuses[a?.workflowStatus ?? 0];
        if (!status) return protocolFailure(id, `completeWorkflow with unsupported status ${a?.workflowStatus ?? 0}`);
        return definedOnly({
          kind: "completeOrchestration" as const,
          id,
          router,
          status,
          result: valueOf(a?.result),
          failureDetails: a?.failureDetails ? failureFromPb(a.failureDetails) : undefined,
          newVersion: valueOf(a?.newVersion),
          carryoverEvents: (a?.carryoverEvents ?? []).map(eventFromPb),
        });
      }
      case "terminateWorkflow":
        return definedOnly({
          kind: "terminateOrchestration" as const,
          id,
          router,
          instanceId: a?.instanceId ?? "",
          reason: valueOf(a?.reason),
          recurse: a?.recurse ?? false,
        });
      case "workflowVersionNotAvailable":
        return { kind: "workflowVersionNotAvailable", id };
      case "createDetachedWorkflow":
        return definedOnly({
          kind: "createDetachedWorkflow" as const,
          id,
          router,
          instanceId: a?.instanceId ?? "",
          name: a?.name ?? "",
          input: valueOf(a?.input),
          version: valueOf(a?.version),
          scheduledStartTimestamp: millis(a?.scheduledStartTimestamp),
          scheduledStartNanos: exactNanos(a?.scheduledStartTimestamp),
          executionId: valueOf(a?.executionId),
          tags: a?.tags,
          parentTraceContext: wire(a?.parentTraceContext),
        });
      default:
        return protocolFailure(id, `unknown workflow action type '${type ?? "(none)"}'`);
    }
  } catch (error) {
    if (error instanceof ProtocolError) return protocolFailure(id, `action ${id}: ${error.message}`);
    throw error;
  }
}

export function activityResultFromPb(response: PbActivityResponse): ActivityResult {
  if (response.failureDetails) return { ok: false, failure: failureFromPb(response.failureDetails) };
  return { ok: true, result: valueOf(response.result) };
}

// -- Instance state (engine → wire) --------------------------------------------------------

/**
 * GetInstance's WorkflowState. Payloads only when asked for. A FAILED instance always has a
 * non-empty errorType and errorMessage: the Node client builds failure details only when
 * both are set.
 */
/** The earlier file's OrchestrationState (QueryInstances): the same fields, the status under its old name. */
export function orchestrationStateToPb(instance: InstanceView, withPayloads: boolean) {
  const { workflowStatus, ...rest } = workflowStateToPb(instance, withPayloads);
  return { ...rest, orchestrationStatus: workflowStatus };
}

export function workflowStateToPb(instance: InstanceView, withPayloads: boolean) {
  const failure = instance.failureDetails;
  return definedOnly({
    instanceId: instance.instanceId,
    name: instance.name,
    version: stringValue(instance.workflowVersion),
    workflowStatus: statusNumber(instance.status),
    createdTimestamp: timestamp(instance.createdAt),
    lastUpdatedTimestamp: timestamp(instance.lastUpdatedAt),
    executionId: stringValue(instance.executionId),
    parentInstanceId: stringValue(instance.parentInstanceId),
    ...(withPayloads
      ? {
          input: stringValue(instance.input),
          output: stringValue(instance.output),
          customStatus: stringValue(instance.customStatus),
        }
      : {}),
    failureDetails: failure
      ? failureToPb({
          ...failure,
          errorType: failure.errorType || "Error",
          errorMessage: failure.errorMessage || "(no message)",
        })
      : undefined,
  });
}
