/**
 * Durability off the event loop: the store runs SQLite in WAL mode with `synchronous=NORMAL`
 * (a COMMIT appends its frames to the `-wal` file with write(2), no fsync) and, before any
 * caller of a committed group hears back, this class has `fdatasync(2)` run on the `-wal`
 * file on libuv's thread pool. What a COMMIT wrote is then on disk before its answer leaves,
 * as with `synchronous=FULL`, but the event loop never waits for the disk: it goes on with the
 * next group (pipelining) while the sync runs.
 *
 * Why this is as durable as FULL: in WAL mode FULL differs from NORMAL only by one WAL sync
 * at the end of each commit (checkpoints and WAL resets are synced in both). Here that sync
 * is issued by us, after the COMMIT returned and before the answer; an fdatasync covers every
 * byte written to the file before it was called, so one sync covers all the groups that
 * committed while the previous one ran. A frame that is not synced is never acknowledged,
 * and recovery never applies a frame whose predecessors were lost (WAL frames are
 * checksummed in a chain), so nothing that depends on an unacknowledged write survives
 * without it.
 */
import { closeSync, fdatasync, openSync } from "node:fs";

/** A failed sync: the commits it covered may not be on disk. */
export class WalSyncError extends Error {}

export class WalSync {
  private fd: number | undefined;
  private syncing = false;
  private closing = false;
  /** Callbacks of commits made since the sync in flight started. */
  private waiting: ((error: Error | undefined) => void)[] = [];
  /** Syncs issued, for tests and benchmarks. */
  syncs = 0;

  constructor(
    private readonly walPath: string,
    /** fdatasync(2); a test passes its own to hold or fail a sync. */
    private readonly flush: (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => void = fdatasync,
  ) {}

  /** Calls `done` once everything committed before this call is on disk (or the sync failed). */
  afterCommit(done: (error: Error | undefined) => void): void {
    this.waiting.push(done);
    if (!this.syncing) this.syncNow();
  }

  /** Closes the file once no sync is in flight. */
  close(): void {
    this.closing = true;
    if (!this.syncing) this.closeFile();
  }

  private syncNow(): void {
    const batch = this.waiting;
    this.waiting = [];
    let fd: number;
    try {
      // Opened at the first commit (the -wal file exists from then on, for the life of the
      // connection: SQLite resets it in place after a checkpoint and never replaces it).
      fd = this.fd ??= openSync(this.walPath, "r");
    } catch (error) {
      const failure = new WalSyncError(`could not open the write-ahead log '${this.walPath}' to flush it: ${(error as Error).message}`);
      for (const done of batch) done(failure);
      return;
    }
    this.syncing = true;
    this.syncs++;
    this.flush(fd, (error) => {
      this.syncing = false;
      const failure = error ? new WalSyncError(`could not flush the write-ahead log '${this.walPath}' to disk: ${error.message}`) : undefined;
      for (const done of batch) done(failure);
      if (this.waiting.length > 0) this.syncNow();
      else if (this.closing) this.closeFile();
    });
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Already closed: nothing to release.
    }
    this.fd = undefined;
  }
}
