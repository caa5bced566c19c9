/**
 * Orchestrator actions: what a worker asks for at the end of a turn.
 *
 * Mirrors durabletask's `OrchestratorAction` oneof. `id` is the worker's sequence number
 * for the action (1, 2, 3, ... per execution); the engine records scheduling actions in
 * history under that ID so replay can match them.
 */
import type {
  ExactNanos,
  FailureDetails,
  HistoryEvent,
  HistoryPropagationScope,
  WireValue,
  WorkflowVersion,
} from "./history.js";

/** Completion statuses a worker may report, including the transient continue-as-new. */
export type ActionCompletionStatus = "COMPLETED" | "FAILED" | "TERMINATED" | "CONTINUED_AS_NEW";

/** Fields every action may carry. */
interface ActionBase {
  id: number;
  /** Multi-app routing (TaskRouter), recorded on the resulting history event. */
  router?: WireValue | undefined;
}
export interface ScheduleTaskAction extends ActionBase {
  kind: "scheduleTask";
  name: string;
  input?: string | undefined;
  version?: string | undefined;
  taskExecutionId?: string | undefined;
  historyPropagationScope?: HistoryPropagationScope | undefined;
  /** In-process runtime only (not on the wire): which retry-policy attempt this is, from 2. */
  retryAttempt?: number | undefined;
}
export interface CreateTimerAction extends ActionBase {
  kind: "createTimer";
  fireAt: number;
  fireAtNanos?: ExactNanos | undefined;
  name?: string | undefined;
  origin?: WireValue | undefined;
}
export interface CreateSubOrchestrationAction extends ActionBase {
  kind: "createSubOrchestration";
  /** Empty means "derive it": `<parent>:<id as 4 hex digits>`. */
  instanceId: string;
  name: string;
  input?: string | undefined;
  version?: string | undefined;
  historyPropagationScope?: HistoryPropagationScope | undefined;
  retryParentInstanceInfo?: WireValue | undefined;
}
export interface SendEventAction extends ActionBase {
  kind: "sendEvent";
  instanceId: string;
  name: string;
  data?: string | undefined;
}
export interface CompleteOrchestrationAction extends ActionBase {
  kind: "completeOrchestration";
  status: ActionCompletionStatus;
  result?: string | undefined;
  failureDetails?: FailureDetails | undefined;
  /** Continue-as-new only: the new execution's orchestration version. */
  newVersion?: string | undefined;
  /** Continue-as-new only: events (received, unconsumed) to carry into the new execution, as the worker sent them. */
  carryoverEvents?: HistoryEvent[] | undefined;
}
export interface TerminateOrchestrationAction extends ActionBase {
  kind: "terminateOrchestration";
  instanceId: string;
  reason?: string | undefined;
  recurse: boolean;
}

/** Starts a new top-level instance that outlives this one (durabletask-go ≥ 0.13 `ScheduleNewWorkflow`). */
export interface CreateDetachedWorkflowAction extends ActionBase {
  kind: "createDetachedWorkflow";
  instanceId: string;
  name: string;
  input?: string | undefined;
  version?: string | undefined;
  scheduledStartTimestamp?: number | undefined;
  scheduledStartNanos?: ExactNanos | undefined;
  executionId?: string | undefined;
  tags?: Readonly<Record<string, string>> | undefined;
  parentTraceContext?: WireValue | undefined;
}

/** The worker cannot run the version history records: the instance stalls (VERSION_NOT_AVAILABLE). */
export interface WorkflowVersionNotAvailableAction extends ActionBase {
  kind: "workflowVersionNotAvailable";
}

export type OrchestratorAction =
  | WorkflowVersionNotAvailableAction
  | CreateDetachedWorkflowAction
  | ScheduleTaskAction
  | CreateTimerAction
  | CreateSubOrchestrationAction
  | SendEventAction
  | CompleteOrchestrationAction
  | TerminateOrchestrationAction;

/** What a worker returns for one turn. */
export interface TurnResult {
  actions: OrchestratorAction[];
  /** The raw custom status string; `undefined` leaves the stored one unchanged. */
  customStatus?: string | undefined;
  /** The workflow version (patches, name) the worker ran; checked against history's. */
  version?: WorkflowVersion | undefined;
}
