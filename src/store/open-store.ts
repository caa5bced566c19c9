/**
 * Opens the store `--db` names: a `postgres://` (or `postgresql://`) URL selects PostgreSQL,
 * which several workflowd processes may share; anything else is a SQLite file (or
 * `:memory:`), which one process owns, enforced by a lock taken before it is opened.
 */
import { PostgresStore, redacted } from "./postgres/postgres-store.js";
import { DatabaseLock } from "./sqlite/database-lock.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import type { WorkflowStore } from "./store.js";

export interface OpenStoreOptions {
  /** A SQLite file path, ":memory:", or a PostgreSQL URL. */
  db: string;
  /** Written into the SQLite lock file, to name the holder in a refusal. */
  version: string;
  busyTimeoutMs: number;
  hotHistoriesMax: number;
  adoptForeign: boolean;
  /** Where a SQLite file's writes run (sqlite/writer.ts; default "thread"). */
  sqliteWriter?: "thread" | "inline" | undefined;
}

export interface OpenedStore {
  store: WorkflowStore;
  /** Releases what the store's process held besides the store (the SQLite lock); after `close`. */
  release: () => void;
}

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The database as logs may show it (a URL without its password). */
export function describeDb(db: string): string {
  return isPostgresUrl(db) ? redacted(db) : db;
}

export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  if (isPostgresUrl(options.db)) {
    try {
      const store = await PostgresStore.open({ url: options.db, hotHistoriesMax: options.hotHistoriesMax });
      return { store, release: () => {} };
    } catch (error) {
      const cause = error instanceof Error ? error.message : String(error);
      throw new Error(`--db (WORKFLOWD_DB) '${describeDb(options.db)}': ${cause}; check the URL (user, password, host, port, database) and that the server accepts connections`, { cause: error });
    }
  }
  // One workflowd per file: taken before the database is opened, held until close.
  const lock = options.db === ":memory:" ? undefined : DatabaseLock.acquire(options.db, options.version);
  try {
    const store = new SqliteStore({
      path: options.db,
      busyTimeoutMs: options.busyTimeoutMs,
      hotHistoriesMax: options.hotHistoriesMax,
      adoptForeign: options.adoptForeign,
      writer: options.sqliteWriter,
    });
    return { store, release: () => lock?.release() };
  } catch (error) {
    lock?.release();
    throw error;
  }
}
