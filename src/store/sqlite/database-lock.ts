/**
 * One workflowd per database file, enforced. The lock is SQLite's own: a small side database
 * (`<db>.lock`) opened in exclusive locking mode and written once, so its connection holds an
 * exclusive file lock for the life of the process. The operating system drops that lock when
 * the process ends, however it ends (SIGKILL and power loss included), so a stale lock never
 * blocks a restart. Who holds it is written beside it (`<db>.owner`, JSON), so a refused start
 * can name the other process.
 *
 * `workflowd backup` does not take the lock: it reads while the server runs.
 */
import Database from "better-sqlite3";
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";

interface Owner {
  pid: number;
  host: string;
  startedAt: string;
}

export class DatabaseLock {
  private constructor(private readonly connection: Database.Database) {}

  /** Takes the lock of the database at `path`, or throws an Error naming who holds it. */
  static acquire(path: string, version: string): DatabaseLock {
    const lockPath = `${path}.lock`;
    let connection: Database.Database;
    try {
      connection = new Database(lockPath);
    } catch (error) {
      throw new Error(`cannot create the lock file '${lockPath}' beside the database: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    try {
      connection.pragma("busy_timeout = 0");
      connection.pragma("locking_mode = EXCLUSIVE");
      // The first write takes the exclusive lock; in exclusive mode it is kept until close.
      connection.exec("CREATE TABLE IF NOT EXISTS held (at TEXT); DELETE FROM held; INSERT INTO held VALUES (datetime('now'))");
    } catch (error) {
      connection.close();
      if ((error as { code?: string }).code === "SQLITE_BUSY") throw new Error(inUse(path));
      throw error;
    }
    const owner: Owner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    writeFileSync(`${path}.owner`, `${JSON.stringify({ ...owner, version })}\n`);
    return new DatabaseLock(connection);
  }

  release(): void {
    if (this.connection.open) this.connection.close();
  }
}

function inUse(path: string): string {
  let holder = "another process";
  try {
    const owner = JSON.parse(readFileSync(`${path}.owner`, "utf8")) as Owner;
    holder = `workflowd process ${owner.pid} on ${owner.host} (started ${owner.startedAt})`;
  } catch {
    // No owner file (written a moment after the lock): the generic wording stands.
  }
  return `database '${path}' is in use by ${holder}: run one workflowd per database file; stop that process first, or point --db (WORKFLOWD_DB) at another file`;
}
