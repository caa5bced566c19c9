/**
 * `workflowd backup <file> [--db path]`: copies the database the server uses (WORKFLOWD_DB
 * or --db, read exactly as the server reads them) to <file> with SQLite's online backup API,
 * while a server may be running on it. The copy is a consistent snapshot that a second
 * workflowd opens like any database (to restore: stop the server, put the copy in place of
 * the database file, start it).
 *
 * It opens the store as the server does (migrations included), so run it with the same
 * workflowd version that serves the database: in its container (`docker exec`, `kubectl
 * exec`), not with a newer release before an upgrade.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pino } from "pino";
import { loadConfig } from "./config.js";
import { limits } from "./limits.js";
import { describeDb, isPostgresUrl } from "./store/open-store.js";
import { SqliteStore } from "./store/sqlite/sqlite-store.js";

/** Writes the backup and logs one JSON line ("backup written"); throws on any problem. */
export async function runBackupCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [destination, ...rest] = args;
  if (!destination || destination.startsWith("-")) throw new Error("usage: workflowd backup <file> [--db path]");
  const config = loadConfig(rest, env);
  const logger = pino({ level: config.logLevel });
  if (config.dbPath === ":memory:") throw new Error("the database is ':memory:': there is nothing to back up");
  if (isPostgresUrl(config.dbPath)) {
    throw new Error(`the database is PostgreSQL (${describeDb(config.dbPath)}): back it up with PostgreSQL's own tools (pg_dump, or the server's base backups); \`workflowd backup\` copies SQLite files`);
  }
  // Opening a missing file would create an empty database, and back that up.
  if (!existsSync(config.dbPath)) throw new Error(`database '${config.dbPath}' does not exist`);
  if (resolve(destination) === resolve(config.dbPath)) throw new Error("the backup file cannot be the database itself");

  const store = new SqliteStore({ path: config.dbPath, busyTimeoutMs: limits.busyTimeoutMsDefault, writer: "inline" });
  try {
    const { pages, bytes } = await store.backup(destination);
    logger.info({ db: config.dbPath, destination, pages, bytes }, "backup written");
  } finally {
    await store.close();
  }
}
