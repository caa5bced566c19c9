/**
 * History events: durabletask's event model as one discriminated union.
 *
 * An instance's history is the append-only list of these events; everything else about
 * an instance (status, output, pending work) is derived from it by `state.ts`. The kinds
 * and fields follow durabletask's `HistoryEvent` proto one to one (field names of the
 * 2022 edition the Node SDK speaks), so the gRPC layer converts without interpretation.
 *
 * Conventions:
 * - `eventId` is the action ID for TaskScheduled, TimerCreated and
 *   SubOrchestrationInstanceCreated (the ID the worker chose), and -1 for everything else.
 * - `timestamp` and every other time are milliseconds since the Unix epoch (UTC).
 * - Payloads (`input`, `result`) are the serialized strings exactly as given; `undefined`
 *   means "no value" (a proto StringValue that is not set), which differs from `""`.
 */

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
}

/** Terminal completion statuses an ExecutionCompleted event can carry. */
export type CompletionStatus = "COMPLETED" | "FAILED" | "TERMINATED";

interface EventBase {
  eventId: number;
  timestamp: number;
}

export interface ExecutionStarted extends EventBase {
  kind: "executionStarted";
  name: string;
  instanceId: string;
  executionId: string;
  input?: string | undefined;
  parentInstance?: ParentInstance | undefined;
  scheduledStartTimestamp?: number | undefined;
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
export interface TaskScheduled extends EventBase {
  kind: "taskScheduled";
  name: string;
  input?: string | undefined;
}
export interface TaskCompleted extends EventBase {
  kind: "taskCompleted";
  taskScheduledId: number;
  result?: string | undefined;
}
export interface TaskFailed extends EventBase {
  kind: "taskFailed";
  taskScheduledId: number;
  failureDetails: FailureDetails;
}
export interface SubOrchestrationInstanceCreated extends EventBase {
  kind: "subOrchestrationInstanceCreated";
  instanceId: string;
  name: string;
  input?: string | undefined;
}
export interface SubOrchestrationInstanceCompleted extends EventBase {
  kind: "subOrchestrationInstanceCompleted";
  taskScheduledId: number;
  result?: string | undefined;
}
export interface SubOrchestrationInstanceFailed extends EventBase {
  kind: "subOrchestrationInstanceFailed";
  taskScheduledId: number;
  failureDetails: FailureDetails;
}
export interface TimerCreated extends EventBase {
  kind: "timerCreated";
  fireAt: number;
}
export interface TimerFired extends EventBase {
  kind: "timerFired";
  timerId: number;
  fireAt: number;
}
export interface OrchestratorStarted extends EventBase {
  kind: "orchestratorStarted";
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
  | ContinueAsNew;

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
] as const satisfies readonly HistoryEventKind[];

/** Distributes Omit over the union so each member keeps its own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event without the envelope fields; `newEvent` adds them. */
export type HistoryEventBody = DistributiveOmit<HistoryEvent, "eventId" | "timestamp">;

export function newEvent<E extends HistoryEventBody>(
  body: E,
  timestamp: number,
  eventId = -1,
): E & EventBase {
  return { eventId, timestamp, ...body };
}
