/**
 * The SQLite writer thread (see writer.ts): owns the file's write connection, runs the calls
 * it receives in group commits (group-commit.ts) and flushes the WAL (wal-sync.ts) before
 * answering; the answers of one group go back in one message. The store's connection on the
 * main thread only reads: in WAL mode it sees each group once its COMMIT is done, and the
 * callers hear back later still, after the flush.
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { GroupCommitter } from "./group-commit.js";
import { SqliteWrites } from "./sqlite-writes.js";
import { prepareStatements } from "./statements.js";
import { WalSync } from "./wal-sync.js";
import { fromWire, type FromThread, type ToThread, toWireError, type WireReply, type WriterThreadOptions } from "./writer.js";

const port = parentPort;
if (!port) throw new Error("writer-thread.js runs as a worker thread of the SQLite store");
const options = workerData as WriterThreadOptions;

const db = new Database(options.path, { fileMustExist: true });
// The same pragmas as the store's connection (sqlite-store.ts): WAL, NORMAL plus our own flush.
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
const writes = new SqliteWrites(db, prepareStatements(db));
const walSync = new WalSync(`${db.name}-wal`);
const group = new GroupCommitter(db, options.writesPerGroupMax, walSync);

let replies: WireReply[] = [];
/** Queued by the first answer of a group: the rest of its answers settle before it runs. */
function answer(reply: WireReply): void {
  if (replies.length === 0) queueMicrotask(sendReplies);
  replies.push(reply);
}

function sendReplies(): void {
  const message: FromThread = { kind: "replies", replies, stats: { ...group.stats } };
  replies = [];
  port!.postMessage(message);
}

port.on("message", (message: ToThread) => {
  if (message.kind === "close") {
    // Calls already received are in the group queue ahead of this one: they finish first.
    void group.run(() => undefined).finally(() => {
      if (replies.length > 0) sendReplies();
      walSync.close();
      db.close();
      port.close();
    });
    return;
  }
  for (const [id, op, args] of message.calls) {
    const run = writes[op] as (...a: unknown[]) => unknown;
    group.run(() => run.apply(writes, fromWire(op, args))).then(
      (value) => answer([id, true, value]),
      (error: unknown) => answer([id, false, toWireError(error)]),
    );
  }
});
