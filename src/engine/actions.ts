/**
 * Orchestrator actions: what a worker asks for at the end of a turn.
 *
 * Mirrors durabletask's `OrchestratorAction` oneof. `id` is the worker's sequence number
 * for the action (1, 2, 3, ... per execution); the engine records scheduling actions in
 * history under that ID so replay can match them.
 */
import type { FailureDetails } from "./history.js";

/** Completion statuses a worker may report, including the transient continue-as-new. */
export type ActionCompletionStatus = "COMPLETED" | "FAILED" | "TERMINATED" | "CONTINUED_AS_NEW";

export interface ScheduleTaskAction {
  kind: "scheduleTask";
  id: number;
  name: string;
  input?: string | undefined;
}
export interface CreateTimerAction {
  kind: "createTimer";
  id: number;
  fireAt: number;
}
export interface CreateSubOrchestrationAction {
  kind: "createSubOrchestration";
  id: number;
  /** Empty means "derive it": `<parent>:<id as 4 hex digits>`. */
  instanceId: string;
  name: string;
  input?: string | undefined;
}
export interface SendEventAction {
  kind: "sendEvent";
  id: number;
  instanceId: string;
  name: string;
  data?: string | undefined;
}
export interface CompleteOrchestrationAction {
  kind: "completeOrchestration";
  id: number;
  status: ActionCompletionStatus;
  result?: string | undefined;
  failureDetails?: FailureDetails | undefined;
  /** Continue-as-new only: unconsumed EventRaised events to carry into the new execution. */
  carryoverEvents?: { name: string; input?: string | undefined }[] | undefined;
}
export interface TerminateOrchestrationAction {
  kind: "terminateOrchestration";
  id: number;
  instanceId: string;
  reason?: string | undefined;
  recurse: boolean;
}

export type OrchestratorAction =
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
}
