/**
 * An instance row as both stores keep it (the same columns, times as epoch milliseconds), and
 * its conversions to and from the orchestration layer's records and the engine's state.
 */
import type { ExecutionStarted, HistoryEvent } from "../engine/history.js";
import { appOfStart } from "../engine/apps.js";
import { type InstanceState, isTerminal, type RuntimeStatus } from "../engine/state.js";
import { childCreationRejected } from "../engine/turn.js";
import { decodeFailure } from "./codec.js";
import type { InstanceRecord } from "./store.js";

export interface InstanceRow {
  instance_id: string;
  name: string;
  execution_id: string;
  status: string;
  created_at: number;
  last_updated_at: number;
  input: string | null;
  output: string | null;
  custom_status: string | null;
  failure_details: string | null;
  parent_instance_id: string | null;
  workflow_version: string | null;
  app_id: string | null;
  history_length: number;
  version: number;
}

/** An instance row's columns from a state the engine folded (a fork, a rewind). */
export function stateColumns(instanceId: string, state: InstanceState, historyLength: number) {
  return {
    instance_id: instanceId,
    name: state.name,
    execution_id: state.executionId,
    status: state.status,
    created_at: state.createdAt,
    last_updated_at: state.lastUpdatedAt,
    input: state.input ?? null,
    workflow_version: state.version ?? null,
    app_id: appOfStart(state) ?? null,
    history_length: historyLength,
  };
}

export function toRecord(row: InstanceRow): InstanceRecord {
  const where = `instance '${row.instance_id}'`;
  return {
    instanceId: row.instance_id,
    name: row.name,
    executionId: row.execution_id,
    status: row.status as RuntimeStatus,
    createdAt: row.created_at,
    lastUpdatedAt: row.last_updated_at,
    input: row.input ?? undefined,
    output: row.output ?? undefined,
    customStatus: row.custom_status ?? undefined,
    failureDetails: decodeFailure(row.failure_details, where),
    parentInstanceId: row.parent_instance_id ?? undefined,
    workflowVersion: row.workflow_version ?? undefined,
    appId: row.app_id ?? undefined,
    historyLength: row.history_length,
    version: row.version,
  };
}

/**
 * Creating a child whose ID may be taken (both stores apply this): a taken ID is replaced only
 * when the existing instance is a finished child of the same parent (a parent that continued
 * as new re-creates `<parent>:0001`, as in durabletask). Any other clash fails the parent's
 * task with the returned event instead of hijacking an instance.
 */
export function childCreation(existing: InstanceRow | undefined, parentId: string, start: ExecutionStarted, now: number):
  { kind: "create" } | { kind: "replace" } | { kind: "refuse"; failure: HistoryEvent } {
  if (!existing) return { kind: "create" };
  if (isTerminal(existing.status as RuntimeStatus) && existing.parent_instance_id === parentId) return { kind: "replace" };
  const reason = existing.parent_instance_id === parentId
    ? `an instance with this ID is still ${existing.status}`
    : "an instance with this ID already exists";
  return { kind: "refuse", failure: childCreationRejected(start.parentInstance?.taskScheduledId ?? -1, start.instanceId, reason, now) };
}
