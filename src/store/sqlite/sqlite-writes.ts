/**
 * Every write of the SQLite store, on one connection: the code that runs inside a group
 * commit (group-commit.ts). Each public method is one atomic write (a savepoint of its group)
 * and takes and returns plain data, so that it can run on the thread that owns the write
 * connection (writer-thread.ts) as well as inline, on the store's own connection (`:memory:`,
 * and tests that inject faults into the statements). The store's reads stay in
 * sqlite-store.ts.
 *
 * Turns are guarded by the instance row's `version`: the UPDATE must match the version the
 * turn loaded, and every inbox row and activity row the turn consumed must still be there, or
 * the turn's savepoint rolls back and the caller gets "conflict".
 */
import type Database from "better-sqlite3";
import type { ExecutionStarted, HistoryEvent } from "../../engine/history.js";
import { appOfStart } from "../../engine/apps.js";
import { type InstanceState, isTerminal, type RuntimeStatus } from "../../engine/state.js";
import type { Effect } from "../../engine/turn.js";
import { encodeEvent, encodeFailure, encodePropagated } from "../codec.js";
import { activityApp, type ActivityRow, claimedWork, leasedWork, takesLease } from "../activity-row.js";
import { ConflictError, RewindRefusal } from "../write-refusals.js";
import { childCreation, type InstanceRow, stateColumns } from "../instance-row.js";
import type { PreparedStatements } from "./statements.js";
import type {
  ActivityLease, ActivityWork, CommitResult, EnqueueResult, PurgeOptions, PurgeResult, RewindWrite, RewindWriteResult, TurnCommit,
} from "../store.js";

export class SqliteWrites {
  /** Runs a function as a savepoint of the group's transaction (built once: costly per call). */
  private readonly atomic: <T>(work: () => T) => T;

  constructor(db: Database.Database, private readonly stmt: PreparedStatements) {
    const transaction = db.transaction((work: () => unknown) => work());
    this.atomic = <T>(work: () => T) => transaction.immediate(work) as T;
  }

  /**
   * Creates a PENDING instance and queues its start event. "exists" when the ID is taken in
   * any state: IDs are never reused until purged.
   */
  createInstance(start: ExecutionStarted): "created" | "exists" {
    return this.atomic(() => (this.insertInstance(start) ? "created" : "exists"));
  }

  /** Queues an event for an instance; events for a finished instance are not stored. */
  enqueue(instanceId: string, event: HistoryEvent, visibleAt: number): EnqueueResult {
    return this.atomic((): EnqueueResult => {
      const row = this.stmt.getStatus.get(instanceId) as { status: RuntimeStatus } | undefined;
      if (!row) return "not-found";
      if (isTerminal(row.status)) return "terminal";
      this.insertInbox(instanceId, visibleAt, null, event);
      return "queued";
    });
  }

  /**
   * Deletes an instance and everything it owns, and recursively its children. Only when the
   * instance and every descendant are finished: purging a running child would lose it.
   */
  purge(instanceId: string, options: PurgeOptions): PurgeResult {
    return this.atomic((): PurgeResult => {
      const root = this.stmt.getStatus.get(instanceId) as { status: RuntimeStatus } | undefined;
      if (!root) return { kind: "not-found" };
      const ids = options.recursive ? this.descendantsAndSelf(instanceId) : [instanceId];
      if (!options.force) {
        for (const id of ids) {
          const row = this.stmt.getStatus.get(id) as { status: RuntimeStatus };
          if (!isTerminal(row.status)) return { kind: "not-terminal", instanceId: id, status: row.status };
        }
      }
      for (const id of ids) this.deleteInstance(id);
      return { kind: "purged", instanceIds: ids };
    });
  }

  /**
   * A rewind's purges and rewrites (see engine/rewind.ts) in one savepoint: each rewritten
   * instance's history and state are replaced, guarded by `version`, and the work and events
   * it continues with are queued. Any refusal rolls back everything.
   */
  rewind(write: RewindWrite): RewindWriteResult {
    try {
      return this.atomic((): RewindWriteResult => {
        for (const id of write.purge) {
          const purged = this.purge(id, { recursive: true, force: false });
          if (purged.kind === "not-terminal") throw new RewindRefusal(purged);
        }
        for (const rewrite of write.rewrite) this.rewriteInstance(rewrite, write.now);
        return { kind: "rewound" };
      });
    } catch (error) {
      if (error instanceof RewindRefusal) return error.result;
      throw error;
    }
  }

  /**
   * Creates an instance with a history of its own (a rerun's fork, see engine/rerun.ts) and
   * queues the work that history has outstanding; "exists" (and nothing written) when the ID
   * is taken.
   */
  createFork(instanceId: string, events: readonly HistoryEvent[], state: InstanceState, effects: readonly Effect[], now: number): "created" | "exists" {
    return this.atomic(() => {
      const inserted = this.stmt.insertFork.run(stateColumns(instanceId, state, events.length));
      if (inserted.changes === 0) return "exists";
      events.forEach((event, seq) => this.stmt.insertHistory.run(instanceId, seq, encodeEvent(event)));
      const touched = new Set<string>();
      for (const effect of effects) this.applyEffect(instanceId, state.executionId, effect, now, touched, appOfStart(state));
      return "created";
    });
  }

  /**
   * Commits a turn's outcome, guarded by the instance version. Returns the IDs of instances
   * whose inbox gained visible events (they need a turn) and the activities leased with it.
   */
  commitTurn(commit: TurnCommit): CommitResult {
    try {
      return this.atomic(() => this.applyCommit(commit));
    } catch (error) {
      if (error instanceof ConflictError) return { kind: "conflict", reason: error.message };
      throw error;
    }
  }

  /**
   * Leases up to `limit` free or expired activities to `owner` for `leaseMs`. `names`
   * restricts the claim to activities some worker can run; undefined means any.
   */
  claimActivities(owner: string, now: number, leaseMs: number, limit: number, names?: readonly string[], appId?: string): ActivityWork[] {
    const rows = this.atomic(() =>
      this.stmt.claimActivities.all({
        owner,
        now,
        expires: now + leaseMs,
        limit,
        names: names ? JSON.stringify(names) : null,
        app: appId ?? null,
      }),
    ) as ActivityRow[];
    return rows.map(claimedWork);
  }

  /**
   * Records an activity's result: the result event goes into the instance's inbox and the
   * queue row is deleted. "gone" when the row no longer exists (another run already completed
   * it, or the instance finished or was purged): the result is dropped.
   */
  completeActivity(seq: number, result: HistoryEvent, now: number): "delivered" | "gone" {
    return this.atomic(() => {
      const row = this.stmt.getActivity.get(seq) as { instance_id: string; execution_id: string } | undefined;
      if (!row) return "gone";
      this.stmt.deleteActivity.run(seq);
      this.insertInbox(row.instance_id, now, row.execution_id, result);
      return "delivered";
    });
  }

  /** Every lease given back (start-up recovery: no other process owns the file). */
  releaseAllLeases(): number {
    return this.stmt.releaseAllLeases.run().changes;
  }

  /** One lease given back; only its holder may. */
  releaseLease(seq: number, owner: string): boolean {
    return this.stmt.releaseLease.run(seq, owner).changes > 0;
  }

  renewLeases(owner: string, until: number): number {
    return this.stmt.renewLeases.run(until, owner).changes;
  }

  // -- Internals ----------------------------------------------------------------------

  private rewriteInstance(rewrite: RewindWrite["rewrite"][number], now: number): void {
    const { instanceId, state } = rewrite;
    const updated = this.stmt.rewriteInstance.run({
      ...stateColumns(instanceId, state, rewrite.events.length),
      expected_version: rewrite.expectedVersion,
    });
    if (updated.changes === 0) throw new RewindRefusal({ kind: "conflict", instanceId });
    this.stmt.deleteHistory.run(instanceId);
    this.stmt.deleteInboxOf.run(instanceId);
    this.stmt.deleteActivitiesOf.run(instanceId);
    rewrite.events.forEach((event, seq) => this.stmt.insertHistory.run(instanceId, seq, encodeEvent(event)));
    const touched = new Set<string>();
    for (const effect of rewrite.effects) this.applyEffect(instanceId, state.executionId, effect, now, touched, appOfStart(state));
    for (const event of rewrite.inbox) this.insertInbox(instanceId, now, null, event);
  }

  private applyCommit(commit: TurnCommit): CommitResult {
    const { instanceId, outcome, now } = commit;
    // Typed as the columns alone: what crosses to the writer thread (see `committedState`).
    const state: CommittedState | undefined = outcome.state;
    const updated = this.stmt.updateInstance.run({
      instance_id: instanceId,
      expected_version: commit.expectedVersion,
      has_state: state ? 1 : 0,
      execution_id: state?.executionId ?? null,
      last_updated_at: state?.lastUpdatedAt ?? null,
      input: state?.input ?? null,
      output: state?.output ?? null,
      failure_details: encodeFailure(state?.failureDetails),
      workflow_version: state?.version ?? null,
      custom_status: outcome.customStatus ?? null,
      history_length: outcome.historyMode === "replace" ? outcome.events.length : commit.historyLength + outcome.events.length,
    });
    if (updated.changes === 0) throw new ConflictError(`instance '${instanceId}' changed since it was loaded`);
    const before = commit.loaded;
    if (state && (!before || before.status !== state.status || before.name !== state.name || before.createdAt !== state.createdAt)) {
      this.stmt.updateInstanceListed.run(state.name, state.status, state.createdAt, instanceId);
    }
    let deleted = 0;
    for (const seq of commit.consumedSeqs) deleted += this.stmt.deleteInbox.run(seq, instanceId).changes;
    if (deleted !== commit.consumedSeqs.length) {
      throw new ConflictError(`inbox of '${instanceId}' was consumed by another turn`);
    }
    // Results taken from memory: their activity rows go (one already gone was answered otherwise).
    const takeActivityRow = (activitySeq: number) => {
      if (this.stmt.deleteActivity.run(activitySeq).changes === 0) {
        throw new ConflictError(`the result of activity #${activitySeq} of '${instanceId}' was already recorded`);
      }
    };
    for (const activitySeq of commit.consumedActivities ?? []) takeActivityRow(activitySeq);
    for (const kept of commit.keptResults ?? []) {
      takeActivityRow(kept.activitySeq);
      this.insertInbox(instanceId, now, kept.executionId, kept.event);
    }

    let seq = commit.historyLength;
    if (outcome.historyMode === "replace") {
      this.stmt.deleteHistory.run(instanceId);
      this.stmt.deleteActivitiesOf.run(instanceId);
      seq = 0;
    }
    for (const event of outcome.events) this.stmt.insertHistory.run(instanceId, seq++, encodeEvent(event));

    const touched = new Set<string>();
    const executionId = state?.executionId ?? "";
    const leased: ActivityWork[] = [];
    for (const effect of outcome.effects) {
      if (effect.kind === "scheduleActivity") {
        const app = activityApp(effect.scheduled, commit.appId);
        const lease = commit.lease;
        if (takesLease(lease, leased.length, effect.name, app)) {
          const work = this.insertLeasedActivity(instanceId, executionId, effect, app, lease);
          if (work) leased.push(work);
        } else {
          this.insertActivity(instanceId, executionId, effect, app);
        }
        continue;
      }
      this.applyEffect(instanceId, executionId, effect, now, touched);
    }
    for (const event of outcome.requeue) {
      // Visible at time 0: ahead of everything already queued for this instance.
      this.insertInbox(instanceId, 0, null, event);
      touched.add(instanceId);
    }
    if (state && isTerminal(state.status)) {
      // A finished instance takes no more work: queued activities, timers and events go.
      this.stmt.deleteActivitiesOf.run(instanceId);
      this.stmt.deleteInboxOf.run(instanceId);
    }
    return { kind: "committed", touchedInstanceIds: [...touched], leased };
  }

  /** Queues an activity already leased to `lease.owner`; undefined when the task is queued already. */
  private insertLeasedActivity(
    instanceId: string,
    executionId: string,
    effect: Extract<Effect, { kind: "scheduleActivity" }>,
    app: string | null,
    lease: ActivityLease,
  ): ActivityWork | undefined {
    const inserted = this.stmt.insertLeasedActivity.run(
      instanceId, executionId, effect.taskId, effect.name, effect.input ?? null, encodeEvent(effect.scheduled),
      effect.propagatedHistory ? encodePropagated(effect.propagatedHistory) : null, app, lease.owner, lease.expiresAt,
    );
    if (inserted.changes === 0) return undefined;
    return leasedWork(Number(inserted.lastInsertRowid), instanceId, executionId, effect);
  }

  /** Queues an activity for a claim (a no-op when the task is queued already). */
  private insertActivity(instanceId: string, executionId: string, effect: Extract<Effect, { kind: "scheduleActivity" }>, app: string | null): void {
    this.stmt.insertActivity.run(
      instanceId, executionId, effect.taskId, effect.name, effect.input ?? null, encodeEvent(effect.scheduled),
      effect.propagatedHistory ? encodePropagated(effect.propagatedHistory) : null, app,
    );
  }

  /** `instanceApp`: the app of the instance the effect is of (its activities run there unless routed). */
  private applyEffect(instanceId: string, executionId: string, effect: Effect, now: number, touched: Set<string>, instanceApp?: string): void {
    switch (effect.kind) {
      case "scheduleActivity":
        this.insertActivity(instanceId, executionId, effect, activityApp(effect.scheduled, instanceApp));
        return;
      case "scheduleTimer":
        this.insertInbox(instanceId, effect.fireAt, executionId, effect.event);
        return;
      case "createChild":
        this.createChild(instanceId, executionId, effect.event, now, touched);
        return;
      case "startDetached":
        // As daprd: a detached start whose ID is taken is dropped; the caller is not told.
        if (this.insertInstance(effect.event)) touched.add(effect.event.instanceId);
        return;
      case "deliver": {
        const inserted = this.stmt.insertInboxIfExists.run(
          effect.instanceId, now, effect.executionId ?? null, encodeEvent(effect.event), effect.instanceId,
        );
        if (inserted.changes > 0) touched.add(effect.instanceId);
        return;
      }
    }
  }

  /** A child's creation (see `childCreation`). */
  private createChild(parentId: string, parentExecutionId: string, start: ExecutionStarted, now: number, touched: Set<string>): void {
    const creation = childCreation(this.stmt.getInstance.get(start.instanceId) as InstanceRow | undefined, parentId, start, now);
    if (creation.kind === "refuse") {
      this.insertInbox(parentId, now, parentExecutionId, creation.failure);
      touched.add(parentId);
      return;
    }
    if (creation.kind === "replace") {
      for (const id of this.descendantsAndSelf(start.instanceId)) this.deleteInstance(id);
    }
    this.insertInstance(start);
    touched.add(start.instanceId);
  }

  /** Inserts a PENDING row and its start event; false (and nothing written) if the ID is taken. */
  private insertInstance(start: ExecutionStarted): boolean {
    const inserted = this.stmt.insertInstance.run({
      instance_id: start.instanceId,
      name: start.name,
      execution_id: start.executionId,
      created_at: start.timestamp,
      input: start.input ?? null,
      parent_instance_id: start.parentInstance?.instanceId ?? null,
      workflow_version: start.version ?? null,
      app_id: appOfStart(start) ?? null,
    });
    if (inserted.changes === 0) return false;
    this.insertInbox(start.instanceId, start.scheduledStartTimestamp ?? start.timestamp, null, start);
    return true;
  }

  private insertInbox(instanceId: string, visibleAt: number, executionId: string | null, event: HistoryEvent): void {
    this.stmt.insertInbox.run(instanceId, visibleAt, executionId, encodeEvent(event));
  }

  private descendantsAndSelf(instanceId: string): string[] {
    const ids = [instanceId];
    for (let i = 0; i < ids.length; i++) {
      for (const row of this.stmt.getChildren.all(ids[i]!) as { instance_id: string }[]) ids.push(row.instance_id);
    }
    return ids;
  }

  private deleteInstance(instanceId: string): void {
    this.stmt.deleteHistory.run(instanceId);
    this.stmt.deleteInboxOf.run(instanceId);
    this.stmt.deleteActivitiesOf.run(instanceId);
    this.stmt.deleteInstance.run(instanceId);
  }
}

/** The instance's columns a turn's commit writes: all of its state that the commit reads. */
export type CommittedState = Pick<InstanceState, "executionId" | "lastUpdatedAt" | "input" | "output" | "failureDetails" | "version" | "status" | "name" | "createdAt">;

/**
 * Those columns alone: what of a turn's state crosses to the writer thread (the engine's sets
 * of scheduled IDs and resolutions, which grow with the history, stay behind).
 */
export function committedState(state: CommittedState): CommittedState {
  return {
    executionId: state.executionId,
    lastUpdatedAt: state.lastUpdatedAt,
    input: state.input,
    output: state.output,
    failureDetails: state.failureDetails,
    version: state.version,
    status: state.status,
    name: state.name,
    createdAt: state.createdAt,
  };
}

/** The writes a store can ask for, by name (what crosses to the writer thread). */
export type WriteOp = "createInstance" | "enqueue" | "purge" | "rewind" | "createFork" | "commitTurn" | "claimActivities"
  | "completeActivity" | "releaseAllLeases" | "releaseLease" | "renewLeases";
