/**
 * The orchestration step: load, run the worker, apply, commit.
 *
 * One call runs at most one turn of one instance. The commit is a single transaction
 * guarded by the instance version; on a conflict the step reloads and runs again from the
 * committed state (never from the in-memory one that lost: dapr/dapr's savefail chaos test
 * guards exactly that), up to `conflictRetriesMax` times.
 */
import type { HistoryEvent } from "../engine/history.js";
import { runsIn } from "../engine/apps.js";
import { isTerminal } from "../engine/state.js";
import { applyTurn, type InboxItem, prepareTurn, type TurnOutcome } from "../engine/turn.js";
import type { ActivityLease, ActivityWork, TurnClaim, WorkflowStore } from "../store/store.js";
import type { PendingResult, PendingResults } from "./pending-results.js";
import { executionStartOf, type TurnEnd, type WorkflowTracer } from "./tracing.js";
import type { WorkerSet } from "./worker.js";

export interface StepDeps {
  store: WorkflowStore;
  workers: WorkerSet;
  clock: () => number;
  newExecutionId: () => string;
  inboxBatchMax: number;
  conflictRetriesMax: number;
  turnTimeoutMs: number;
  tracer: WorkflowTracer;
  /**
   * The app ID this process serves: it runs only the turns of instances of this app (or of
   * none recorded); another app's replicas run the rest (multi-app workflows).
   */
  appId: string;
  /**
   * Slots for the activities a turn schedules, leased in the turn's own commit and run right
   * after it (the activity dispatcher's `reserve`); none: they are queued for a claim.
   */
  reserveActivities?: ((count: number) => { lease: ActivityLease; settle: (leased: readonly ActivityWork[]) => void } | undefined) | undefined;
  /** Activity results handed over in memory, taken by the instance's next turn (see pending-results.ts). */
  pendingResults?: PendingResults | undefined;
  /**
   * On a store shared by replicas: who claims the turns this process runs, and for how long
   * (see WorkflowStore.loadTurn); undefined when the store is this process's alone. A claim
   * held for more than half its time yet is not renewed (`heldUntil`: what the scheduler
   * knows it holds), so a busy instance costs a claim every other second, not every turn.
   */
  turnClaim?: {
    owner: string;
    ms: number;
    heldUntil: (instanceId: string) => number | undefined;
    claimed: (instanceId: string, until: number) => void;
  } | undefined;
}

export class TurnTimeoutError extends Error {
  readonly code = "TURN_TIMEOUT";
}

export type StepResult =
  /** The instance does not exist (purged): nothing to do. */
  | { kind: "gone" }
  /**
   * Another replica runs the instance's turns now (its claim is current), or the instance is
   * another app's: nothing to do here.
   */
  | { kind: "claimed-elsewhere" }
  /** Nothing visible to process, or its start is not yet due. */
  | { kind: "idle" }
  /** The workflow's name is served by no worker; the events stay queued. */
  | { kind: "no-worker"; workflowName: string }
  /** `leased`: how many of the activities it scheduled the commit leased to run at once. */
  | { kind: "committed"; outcome: TurnOutcome; touchedInstanceIds: string[]; inboxFull: boolean; leased: number }
  | { kind: "conflict"; reason: string };

/** `retryStalled`: run a STALLED instance again (a worker connected that may now run its version). */
export async function runStep(deps: StepDeps, instanceId: string, retryStalled = false): Promise<StepResult> {
  let lastConflict = "";
  for (let attempt = 0; attempt <= deps.conflictRetriesMax; attempt++) {
    const now = deps.clock();
    const claim = claimToTake(deps, instanceId, now);
    // Results held in memory are wanted only while their activity rows exist: the load says which do.
    const waiting = deps.pendingResults?.peek(instanceId, deps.inboxBatchMax) ?? [];
    const snapshot = await deps.store.loadTurn(instanceId, now, deps.inboxBatchMax, claim, waiting.map((r) => r.activitySeq));
    if (claim && snapshot && snapshot !== "claimed-elsewhere") deps.turnClaim!.claimed(instanceId, claim.until);
    // A store one process owns takes no claims: another app's instance is recognised here.
    if (snapshot === "claimed-elsewhere" || (snapshot && !runsIn(snapshot.instance.appId, deps.appId))) {
      await handOver(deps, instanceId, now);
      return { kind: "claimed-elsewhere" };
    }
    if (!snapshot) {
      deps.pendingResults?.forget(instanceId);
      return { kind: "gone" };
    }
    const inbox = withPendingResults(deps, instanceId, snapshot.inbox, waiting, snapshot.liveActivities);
    if (inbox.length === 0 && !(retryStalled && snapshot.instance.status === "STALLED")) return { kind: "idle" };
    const prepared = prepareTurn(instanceId, snapshot.history, inbox, now, snapshot.fold, retryStalled);
    if (prepared.disposition === "wait") return { kind: "idle" };

    const name = prepared.workflowName ?? snapshot.instance.name;
    let worker;
    if (prepared.disposition === "execute") {
      worker = deps.workers.forWorkflow(name);
      if (!worker) return { kind: "no-worker", workflowName: name };
    }
    const span = deps.tracer.turn(name, instanceId, executionStartOf(prepared.pastEvents, prepared.newEvents));
    let outcome: TurnOutcome;
    let committed;
    let reservation: ReturnType<NonNullable<StepDeps["reserveActivities"]>>;
    let consumedActivities: number[] = [];
    let keptActivities: number[] = [];
    try {
      const result = worker && await withTimeout(
        worker.executeOrchestration({
          instanceId,
          executionId: prepared.fold.executionId ?? snapshot.instance.executionId,
          pastEvents: prepared.pastEvents,
          newEvents: prepared.newEvents,
          propagatedHistory: prepared.fold.propagatedHistory,
        }),
        deps.turnTimeoutMs,
        () => new TurnTimeoutError(`turn of '${instanceId}' took longer than ${deps.turnTimeoutMs} ms; abandoned`),
      );
      outcome = applyTurn(prepared, result, { now: deps.clock(), newExecutionId: deps.newExecutionId, traceContext: span.context });
      const scheduling = outcome.effects.reduce((n, effect) => (effect.kind === "scheduleActivity" ? n + 1 : n), 0);
      reservation = scheduling > 0 ? deps.reserveActivities?.(scheduling) : undefined;
      const taken = takenFromQueues(inbox, prepared.consumedSeqs, outcome.inboxKept === true);
      consumedActivities = taken.consumedActivities;
      keptActivities = taken.keptResults.map((r) => r.activitySeq);
      const commit = {
        instanceId,
        expectedVersion: snapshot.instance.version,
        historyLength: snapshot.history.length,
        ...taken,
        outcome,
        now: deps.clock(),
        loaded: snapshot.instance,
        appId: snapshot.instance.appId,
        lease: reservation?.lease,
      };
      // Shares one transaction (and one fsync) with the other writes of this moment.
      committed = await deps.store.commitTurn(commit);
      reservation?.settle(committed.kind === "committed" ? committed.leased : []);
    } catch (error) {
      reservation?.settle([]);
      span.end({ pastEvents: prepared.pastEvents, newEvents: prepared.newEvents, error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
    if (deps.tracer.recording) span.end(turnEnd(prepared.pastEvents, prepared.newEvents, outcome, committed.kind === "conflict" ? committed.reason : undefined));
    if (committed.kind === "committed") {
      if (consumedActivities.length + keptActivities.length > 0) deps.pendingResults?.remove(instanceId, [...consumedActivities, ...keptActivities]);
      deps.store.rememberTurn(instanceId, snapshot.instance.version + 1, snapshot.history, outcome);
      return {
        kind: "committed",
        outcome,
        touchedInstanceIds: committed.touchedInstanceIds,
        inboxFull: inbox.length >= deps.inboxBatchMax,
        leased: committed.leased.length,
      };
    }
    lastConflict = committed.reason;
  }
  return { kind: "conflict", reason: lastConflict };
}

/**
 * The inbox rows, then the results waiting in memory whose activity row still exists (a row
 * that is gone was answered otherwise, or its instance finished or continued as new: the
 * result is stale and forgotten). A result goes to the engine as an inbox item whose `seq` is
 * its activity row's, negated, so that the commit deletes the activity row, not an inbox row.
 */
function withPendingResults(
  deps: StepDeps,
  instanceId: string,
  inbox: InboxItem[],
  peeked: readonly PendingResult[],
  live: ReadonlySet<number>,
): InboxItem[] {
  const waiting = peeked.slice(0, Math.max(0, deps.inboxBatchMax - inbox.length));
  if (waiting.length === 0) return inbox;
  const fresh = waiting.filter((r) => live.has(r.activitySeq));
  if (fresh.length < waiting.length) deps.pendingResults!.remove(instanceId, waiting.filter((r) => !live.has(r.activitySeq)).map((r) => r.activitySeq));
  return [...inbox, ...fresh.map((r) => ({ seq: -r.activitySeq, executionId: r.executionId, event: r.event }))];
}

/** The claim a turn takes, or none: the store is not shared, or this process holds the claim long enough yet. */
function claimToTake(deps: StepDeps, instanceId: string, now: number): TurnClaim | undefined {
  const turnClaim = deps.turnClaim;
  if (!turnClaim) return undefined;
  const held = turnClaim.heldUntil(instanceId);
  if (held !== undefined && held - now > turnClaim.ms / 2) return undefined;
  return { owner: turnClaim.owner, until: now + turnClaim.ms, appId: deps.appId };
}

/**
 * Another replica runs the instance: results this process holds for it in memory go to its
 * inbox, where that replica's next turn finds them.
 */
async function handOver(deps: StepDeps, instanceId: string, now: number): Promise<void> {
  const waiting = deps.pendingResults?.peek(instanceId, Number.MAX_SAFE_INTEGER) ?? [];
  if (waiting.length === 0) return;
  await Promise.all(waiting.map((r) => deps.store.completeActivity(r.activitySeq, r.event, now)));
  deps.pendingResults!.remove(instanceId, waiting.map((r) => r.activitySeq));
}

/**
 * What the commit removes from the queues: the inbox rows the turn consumed, the activity rows
 * whose results it took from memory (negative seqs, see `withPendingResults`), and, when the
 * turn keeps its events queued (a stall), the results it held, to be written to the inbox
 * (behind what is queued there, ahead of what comes later, and durably).
 */
function takenFromQueues(inbox: readonly InboxItem[], consumedSeqs: readonly number[], kept: boolean) {
  if (kept) {
    const keptResults = inbox.filter((item) => item.seq < 0).map((item) => ({ activitySeq: -item.seq, executionId: item.executionId ?? "", event: item.event }));
    return { consumedSeqs: [] as number[], consumedActivities: [] as number[], keptResults };
  }
  return {
    consumedSeqs: consumedSeqs.filter((seq) => seq > 0),
    consumedActivities: consumedSeqs.filter((seq) => seq < 0).map((seq) => -seq),
    keptResults: [],
  };
}

/** What a turn's span reports: a finished execution (or a continued one) ends the run's span. */
function turnEnd(pastEvents: readonly HistoryEvent[], newEvents: readonly HistoryEvent[], outcome: TurnOutcome, conflict: string | undefined): TurnEnd {
  if (conflict !== undefined) return { pastEvents, newEvents, error: `conflict: ${conflict}` };
  const state = outcome.state;
  const finished = outcome.historyMode === "replace" ? { status: "CONTINUED_AS_NEW" as const }
    : state && isTerminal(state.status) ? { status: state.status, failure: state.failureDetails?.errorMessage } : undefined;
  return { pastEvents, newEvents, finished };
}

/** Rejects with `onTimeout()` if `work` has not settled in time; a late result is ignored. */
async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
