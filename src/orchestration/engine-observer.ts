/**
 * What the engine reports as it works, for metrics. Observers only listen: nothing they do
 * changes what the engine does, and an observer that throws is the observer's bug (the
 * engine calls them outside its transactions, after the fact).
 */
import type { RuntimeStatus } from "../engine/state.js";

export interface TurnReport {
  instanceId: string;
  workflowName: string;
  /** Load, worker, apply and commit, in milliseconds. */
  durationMs: number;
  /** Set when this turn finished the instance. */
  completion?: { status: RuntimeStatus; sinceCreatedMs: number } | undefined;
  continuedAsNew: boolean;
  /** Workflow names of the instances this turn started: children and detached workflows. */
  childrenStarted: string[];
}

export interface ActivityReport {
  name: string;
  ok: boolean;
  durationMs: number;
}

export interface EngineObserver {
  workflowStarted(workflowName: string): void;
  turnCommitted(report: TurnReport): void;
  activityExecuted(report: ActivityReport): void;
  /** The retention sweeper purged `count` instances (children included) of finished `status` trees. */
  retentionPurged(status: RuntimeStatus, count: number): void;
}

export const silentObserver: EngineObserver = {
  workflowStarted() {},
  turnCommitted() {},
  activityExecuted() {},
  retentionPurged() {},
};
