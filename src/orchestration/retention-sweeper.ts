/**
 * Retention (daprd's `spec.workflow.stateRetentionPolicy`): purges finished instances once
 * their final status's time-to-live has passed since they finished (a status's own setting
 * wins over `anyTerminal`). Each instance is purged with its children, as a purge does; one
 * whose children are not all finished waits. Unlike daprd 1.17, which arms a reminder when an
 * instance finishes, the sweeper asks the database, so instances that finished before the
 * policy was set (or while workflowd was down) are purged too.
 *
 * Replicas sharing a store take turns: the one that leads the "retention" task sweeps.
 *
 * It checks every `checkMs` (an indexed query of the oldest finished instances: cheap), so an
 * instance goes a few seconds after it becomes due, and purges in small batches, each its own
 * transaction, so the event loop and the other writers are never held for long.
 */
import type { Logger } from "pino";
import type { RuntimeStatus } from "../engine/state.js";
import type { WorkflowStore } from "../store/store.js";
import type { EngineObserver } from "./engine-observer.js";

/** Milliseconds from finishing to being purged, by final status. */
export interface RetentionPolicy {
  anyTerminal?: number | undefined;
  completed?: number | undefined;
  failed?: number | undefined;
  terminated?: number | undefined;
}

export interface RetentionSweeperDeps {
  store: WorkflowStore;
  policy: RetentionPolicy;
  clock: () => number;
  logger: Logger;
  observer: EngineObserver;
  checkMs: number;
  /** Who this process is among the replicas sharing the store: one of them sweeps at a time. */
  owner: string;
}

const batchSize = 50;

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly ttls: [RuntimeStatus, number][];

  constructor(private readonly deps: RetentionSweeperDeps) {
    const { policy } = deps;
    const ttls: [RuntimeStatus, number | undefined][] = [
      ["COMPLETED", policy.completed ?? policy.anyTerminal],
      ["FAILED", policy.failed ?? policy.anyTerminal],
      ["TERMINATED", policy.terminated ?? policy.anyTerminal],
    ];
    this.ttls = ttls.filter((entry): entry is [RuntimeStatus, number] => entry[1] !== undefined);
  }

  start(): void {
    if (this.ttls.length === 0) return;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Purges everything due now, unless another replica leads retention; resolves with how many instances it purged. */
  async sweep(): Promise<number> {
    const { store, clock, owner, checkMs } = this.deps;
    // Led for a few checks past this one: a replica that dies hands it on soon after.
    if (!(await store.lead("retention", owner, clock(), clock() + 3 * checkMs))) return 0;
    let total = 0;
    for (const [status, ttl] of this.ttls) {
      let after: { at: number; instanceId: string } | undefined;
      while (!this.stopped) {
        const due = await store.finishedBefore(status, this.deps.clock() - ttl, after, batchSize);
        if (due.length === 0) break;
        // Called together, the batch's purges share one group commit.
        const results = await Promise.all(due.map(({ instanceId }) => store.purge(instanceId, { recursive: true, force: false })));
        let purged = 0;
        for (const result of results) if (result.kind === "purged") purged += result.instanceIds.length;
        if (purged > 0) this.deps.observer.retentionPurged(status, purged);
        total += purged;
        after = due.at(-1);
      }
    }
    return total;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep().then(
        (purged) => {
          if (purged > 0) this.deps.logger.info({ purged }, "retention policy purged finished workflows");
        },
        (error: unknown) => this.deps.logger.error({ err: error }, "retention sweep failed; retrying at the next check"),
      ).finally(() => {
        this.running = undefined;
        this.schedule(this.deps.checkMs);
      });
    }, delayMs);
    this.timer.unref();
  }
}
