/**
 * Group commit: writes that arrive together share one transaction, so one fsync covers many
 * of them; grouping is what lets thousands of starts, events and steps per second stay fully
 * durable.
 *
 * A write is a synchronous function that uses the store (its own `db.transaction` becomes a
 * savepoint inside the group). Writes queued during one turn of the event loop run together
 * in the next check phase (`setImmediate`), inside `BEGIN IMMEDIATE ... COMMIT`; each caller's
 * promise settles only after that COMMIT succeeded and is on disk, so nothing is acknowledged
 * before it is durable. On disk means: with a `WalSync` (a file database), after the WAL's
 * fdatasync that follows the COMMIT, which runs off the event loop while the next groups
 * execute; without one (`synchronous=FULL`, or `:memory:`), when COMMIT returns. A write that
 * throws rolls back only its own savepoint and fails only its own caller; a failed COMMIT or
 * sync fails every write of the group.
 */
import type Database from "better-sqlite3";
import type { WalSync } from "./wal-sync.js";

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  /** Groups committed and writes in them, for benchmarks and tests. */
  readonly stats = { groups: 0, writes: 0 };

  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;

  constructor(
    private readonly db: Database.Database,
    private readonly writesPerGroupMax: number,
    /** Makes committed groups durable before their callers hear back; none: COMMIT did (FULL). */
    private readonly walSync?: WalSync | undefined,
  ) {
    // Prepared once: `db.exec` would parse the statement on every group.
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
  }

  /** Runs `work` in the next group transaction; resolves with its result once committed. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.queue.splice(0, this.writesPerGroupMax);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    if (group.length === 0) return;
    if (!this.db.open) {
      for (const pending of group) pending.reject(new Error("the database is closed"));
      return;
    }
    try {
      this.begin.run();
    } catch (error) {
      // Locked by another process past busy_timeout, or the disk is gone: nothing ran.
      for (const pending of group) pending.reject(error);
      return;
    }
    const done: { pending: Pending; value: unknown }[] = [];
    for (const [index, pending] of group.entries()) {
      let value: unknown;
      try {
        value = pending.work();
      } catch (error) {
        pending.reject(error);
        // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) make SQLite roll back the whole
        // transaction: the writes before this one are gone too, so their callers fail.
        if (!this.db.inTransaction) {
          for (const ok of done.splice(0)) ok.pending.reject(error);
          try {
            this.begin.run();
          } catch (again) {
            for (const rest of group.slice(index + 1)) rest.reject(again);
            return;
          }
        }
        continue;
      }
      done.push({ pending, value });
    }
    try {
      this.commit.run();
    } catch (error) {
      try {
        if (this.db.inTransaction) this.rollback.run();
      } catch {
        // The connection is unusable; the next group's BEGIN reports it.
      }
      for (const ok of done) ok.pending.reject(error);
      return;
    }
    this.stats.groups += 1;
    this.stats.writes += done.length;
    if (!this.walSync) {
      for (const ok of done) ok.pending.resolve(ok.value);
      return;
    }
    this.walSync.afterCommit((error) => {
      for (const ok of done) {
        if (error) ok.pending.reject(error);
        else ok.pending.resolve(ok.value);
      }
    });
  }
}
