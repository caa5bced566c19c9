/**
 * History events: durabletask's event model as one discriminated union.
 *
 * An instance's history is the append-only list of these events; everything else about
 * an instance (status, output, pending work) is derived from it by `state.ts`. The kinds
 * and fields follow durabletask's `HistoryEvent` proto one to one (field names of the
 * 2022 edition the Node SDK speaks), so the gRPC layer converts without interpretation.
 *
 * Conventions:
 * - `eventId` is the action ID for TaskScheduled, TimerCreated,
 *   SubOrchestrationInstanceCreated and DetachedWorkflowInstanceCreated (the ID the worker
 *   chose), and -1 for everything else.
 * - `timestamp` and every other time are milliseconds since the Unix epoch (UTC). A time a
 *   worker or client gave with sub-millisecond precision also keeps its exact nanoseconds
 *   (`...Nanos`, see `ExactNanos`), so it is recorded and sent back unchanged.
 * - Protocol fields the engine records but never interprets (trace contexts, routers, timer
 *   origins, rerun markers) are `WireValue`s: the protobuf message as plain data, stored and
 *   sent back exactly as received.
 * - Payloads (`input`, `result`) are the serialized strings exactly as given; `undefined`
 *   means "no value" (a proto StringValue that is not set), which differs from `""`.
 */

/**
 * The nanoseconds of the second (0–999,999,999) of a protobuf Timestamp, kept beside a
 * millisecond time only when the Timestamp is finer than a millisecond: the engine's clock
 * needs milliseconds, but the SDKs match their own timers by the exact value (the Python
 * SDK's "wait forever" marker timer is 9999-12-31T23:59:59.999999999Z).
 */
export type ExactNanos = number;

/** A protobuf message as plain data (proto field names), recorded and sent back unchanged. */
export type WireValue = Readonly<Record<string, unknown>>;

/** Signing fields a completion may carry (clusters with signing enabled): kept, not checked. */
export interface Attested {
  attestation?: WireValue | undefined;
  /** base64 */
  signerCertificate?: string | undefined;
}

/** The version a worker reported for a turn (Dapr 1.17 workflow versioning). */
export interface WorkflowVersion {
  name?: string | undefined;
  /** Patches the code applied, in the order it first applied them. */
  patches: readonly string[];
}

/**
 * History handed to an activity or child workflow (Dapr 1.18 history propagation): the
 * producer's own history as the last chunk, after the chunks it received itself when the
 * scope is LINEAGE.
 */
export interface PropagatedHistory {
  scope: Exclude<HistoryPropagationScope, "NONE">;
  chunks: readonly PropagatedChunk[];
}
export interface PropagatedChunk {
  appId: string;
  instanceId: string;
  workflowName: string;
  events: readonly HistoryEvent[];
}

/** Why an instance stalled (durabletask's StalledReason). */
export type StalledReason = "PATCH_MISMATCH" | "VERSION_NOT_AVAILABLE" | "PAYLOAD_SIZE_EXCEEDED";

/** durabletask's HistoryPropagationScope: which history an activity or child receives. */
export type HistoryPropagationScope = "NONE" | "OWN_HISTORY" | "LINEAGE";

export interface FailureDetails {
  errorType: string;
  errorMessage: string;
  stackTrace?: string | undefined;
  innerFailure?: FailureDetails | undefined;
  isNonRetriable?: boolean | undefined;
}

export interface ParentInstance {
  /** The action ID under which the parent scheduled this child. */
  taskScheduledId: number;
  name: string;
  instanceId: string;
  executionId: string;
  /** The parent's orchestration version string. */
  version?: string | undefined;
  appId?: string | undefined;
  appNamespace?: string | undefined;
}

/** Terminal completion statuses an ExecutionCompleted event can carry. */
export type CompletionStatus = "COMPLETED" | "FAILED" | "TERMINATED";

interface EventBase {
  eventId: number;
  timestamp: number;
  /** Sub-millisecond part of `timestamp`, when a worker gave one (carried-over events). */
  timestampNanos?: ExactNanos | undefined;
  /** Multi-app routing (TaskRouter), as the worker gave it. */
  router?: WireValue | undefined;
}

export interface ExecutionStarted extends EventBase {
  kind: "executionStarted";
  name: string;
  instanceId: string;
  executionId: string;
  input?: string | undefined;
  parentInstance?: ParentInstance | undefined;
  scheduledStartTimestamp?: number | undefined;
  scheduledStartNanos?: ExactNanos | undefined;
  /** The orchestration version string (durabletask's `version`), not Dapr's patch versioning. */
  version?: string | undefined;
  tags?: Readonly<Record<string, string>> | undefined;
  parentTraceContext?: WireValue | undefined;
  workflowSpanId?: string | undefined;
  /** History this instance received from its parent; sent with each of its turns. */
  propagatedHistory?: PropagatedHistory | undefined;
}
export interface ExecutionCompleted extends EventBase {
  kind: "executionCompleted";
  status: CompletionStatus;
  result?: string | undefined;
  failureDetails?: FailureDetails | undefined;
}
export interface ExecutionTerminated extends EventBase {
  kind: "executionTerminated";
  input?: string | undefined;
  recurse: boolean;
}
export interface ExecutionSuspended extends EventBase {
  kind: "executionSuspended";
  input?: string | undefined;
}
export interface ExecutionResumed extends EventBase {
  kind: "executionResumed";
  input?: string | undefined;
}
/** What TaskScheduled and SubOrchestrationInstanceCreated share beyond name and input. */
interface ScheduledWork {
  version?: string | undefined;
  parentTraceContext?: WireValue | undefined;
  rerunParentInstanceInfo?: WireValue | undefined;
  historyPropagationScope?: HistoryPropagationScope | undefined;
}
export interface TaskScheduled extends EventBase, ScheduledWork {
  kind: "taskScheduled";
  name: string;
  input?: string | undefined;
  /** The activity's idempotency key, the same across its retries (chosen by the SDK). */
  taskExecutionId?: string | undefined;
  /**
   * Which retry-policy attempt this is, from 2 (absent on a first attempt). Recorded for the
   * in-process runtime's activity context; not a protocol field, never sent to workers.
   */
  retryAttempt?: number | undefined;
}
export interface TaskCompleted extends EventBase, Attested {
  kind: "taskCompleted";
  taskScheduledId: number;
  result?: string | undefined;
  taskExecutionId?: string | undefined;
}
export interface TaskFailed extends EventBase, Attested {
  kind: "taskFailed";
  taskScheduledId: number;
  failureDetails: FailureDetails;
  taskExecutionId?: string | undefined;
}
export interface SubOrchestrationInstanceCreated extends EventBase, ScheduledWork {
  kind: "subOrchestrationInstanceCreated";
  instanceId: string;
  name: string;
  input?: string | undefined;
  retryParentInstanceInfo?: WireValue | undefined;
}
export interface SubOrchestrationInstanceCompleted extends EventBase, Attested {
  kind: "subOrchestrationInstanceCompleted";
  taskScheduledId: number;
  result?: string | undefined;
}
export interface SubOrchestrationInstanceFailed extends EventBase, Attested {
  kind: "subOrchestrationInstanceFailed";
  taskScheduledId: number;
  failureDetails: FailureDetails;
}
export interface TimerCreated extends EventBase {
  kind: "timerCreated";
  fireAt: number;
  fireAtNanos?: ExactNanos | undefined;
  name?: string | undefined;
  /** Why the SDK created the timer (createTimer, externalEvent, activityRetry, childWorkflowRetry): `{ <member>: {...} }`. */
  origin?: WireValue | undefined;
  rerunParentInstanceInfo?: WireValue | undefined;
}
export interface TimerFired extends EventBase {
  kind: "timerFired";
  timerId: number;
  fireAt: number;
  fireAtNanos?: ExactNanos | undefined;
}
export interface OrchestratorStarted extends EventBase {
  kind: "orchestratorStarted";
  /** The version (patches, name) the worker reported for this turn, recorded as daprd does. */
  version?: WorkflowVersion | undefined;
}
export interface OrchestratorCompleted extends EventBase {
  kind: "orchestratorCompleted";
}
export interface EventSent extends EventBase {
  kind: "eventSent";
  instanceId: string;
  name: string;
  input?: string | undefined;
}
export interface EventRaised extends EventBase {
  kind: "eventRaised";
  name: string;
  input?: string | undefined;
}
export interface ContinueAsNew extends EventBase {
  kind: "continueAsNew";
  input?: string | undefined;
}
/** A detached workflow the instance started: a new top-level instance, not its child (Dapr 1.19). */
export interface DetachedWorkflowInstanceCreated extends EventBase {
  kind: "detachedWorkflowInstanceCreated";
  instanceId: string;
}
/** The instance cannot go on with the connected workers' code (Dapr 1.17 versioning). */
export interface ExecutionStalled extends EventBase {
  kind: "executionStalled";
  reason: StalledReason;
  description?: string | undefined;
}

export type HistoryEvent =
  | ExecutionStarted
  | ExecutionCompleted
  | ExecutionTerminated
  | ExecutionSuspended
  | ExecutionResumed
  | TaskScheduled
  | TaskCompleted
  | TaskFailed
  | SubOrchestrationInstanceCreated
  | SubOrchestrationInstanceCompleted
  | SubOrchestrationInstanceFailed
  | TimerCreated
  | TimerFired
  | OrchestratorStarted
  | OrchestratorCompleted
  | EventSent
  | EventRaised
  | ContinueAsNew
  | ExecutionStalled
  | DetachedWorkflowInstanceCreated;

export type HistoryEventKind = HistoryEvent["kind"];

/** Every kind, for exhaustive tables and for validating decoded events. */
export const historyEventKinds = [
  "executionStarted",
  "executionCompleted",
  "executionTerminated",
  "executionSuspended",
  "executionResumed",
  "taskScheduled",
  "taskCompleted",
  "taskFailed",
  "subOrchestrationInstanceCreated",
  "subOrchestrationInstanceCompleted",
  "subOrchestrationInstanceFailed",
  "timerCreated",
  "timerFired",
  "orchestratorStarted",
  "orchestratorCompleted",
  "eventSent",
  "eventRaised",
  "continueAsNew",
  "executionStalled",
  "detachedWorkflowInstanceCreated",
] as const satisfies readonly HistoryEventKind[];

/** Distributes Omit over the union so each member keeps its own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event without the envelope fields; `newEvent` adds them. */
export type HistoryEventBody = DistributiveOmit<HistoryEvent, "eventId" | "timestamp">;

/** The object without its undefined properties, so stored events and messages hold only what was given. */
export function definedOnly<T extends object>(value: T): T {
  // A plain loop: this runs for every event converted to or from the wire.
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = v;
  }
  return out as T;
}

export function newEvent<E extends HistoryEventBody>(
  body: E,
  timestamp: number,
  eventId = -1,
): E & EventBase {
  return { eventId, timestamp, ...body };
}
