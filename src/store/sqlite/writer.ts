/**
 * Who runs the SQLite store's writes (sqlite-writes.ts), behind one interface:
 *
 * - `ThreadWriter` (a file database, the default): a worker thread owns the write connection
 *   and runs the group commits there (writer-thread.ts): the statements, the COMMIT and the
 *   WAL flush all leave the event loop, which keeps only the reads and the engine. The writes
 *   called in one turn of the event loop cross in one message, and their answers come back
 *   in one message per group, after the group is durable.
 * - `InlineWriter`: the group commits run on the store's own connection, on the event loop
 *   (`:memory:`, which one connection alone can see, and tests that inject faults into the
 *   statements or the WAL flush).
 *
 * Either way a write's promise settles only after its group's COMMIT and the WAL flush that
 * covers it (group-commit.ts, wal-sync.ts): nothing is acknowledged before it is on disk.
 */
import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { StoreCorruptionError } from "../codec.js";
import type { ActivityLease, TurnCommit } from "../store.js";
import { GroupCommitter } from "./group-commit.js";
import type { InstanceState } from "../../engine/state.js";
import { committedState, type SqliteWrites, type WriteOp } from "./sqlite-writes.js";
import { WalSync, WalSyncError } from "./wal-sync.js";

export type WriteArgs<Op extends WriteOp> = Parameters<SqliteWrites[Op]>;
export type WriteResult<Op extends WriteOp> = ReturnType<SqliteWrites[Op]>;

export interface SqliteWriter {
  /** Runs one write in the next group commit; resolves with its result once that group is durable. */
  call<Op extends WriteOp>(op: Op, args: WriteArgs<Op>): Promise<WriteResult<Op>>;
  /** Group commits so far, and the writes they carried. */
  readonly stats: { groups: number; writes: number };
  /** How commits reach the disk, for start-up logs and benchmarks. */
  readonly durability: string;
  /** Finishes the writes already called, then releases the connection (thread) or the WAL file. */
  close(): Promise<void>;
}

/** The writer thread stopped: writes since then fail until workflowd restarts. */
export class WriterThreadError extends Error {}

/** The group commits on the store's own connection. */
export class InlineWriter implements SqliteWriter {
  private readonly group: GroupCommitter;

  constructor(private readonly writes: SqliteWrites, db: Database.Database, writesPerGroupMax: number, private readonly walSync: WalSync | undefined) {
    this.group = new GroupCommitter(db, writesPerGroupMax, walSync);
  }

  call<Op extends WriteOp>(op: Op, args: WriteArgs<Op>): Promise<WriteResult<Op>> {
    return this.group.run(() => (this.writes[op] as (...a: unknown[]) => WriteResult<Op>)(...args));
  }

  get stats(): { groups: number; writes: number } {
    return { ...this.group.stats };
  }

  get durability(): string {
    return this.walSync ? "fdatasync of the WAL after each group commit, before any answer" : "synchronous=FULL (in memory: none)";
  }

  async close(): Promise<void> {
    this.walSync?.close();
  }
}

/** What the thread needs to open its connection. */
export interface WriterThreadOptions {
  path: string;
  busyTimeoutMs: number;
  writesPerGroupMax: number;
}

/** One call as it crosses to the thread: [id, op, args]. */
export type WireCall = [number, WriteOp, unknown[]];
/** One answer as it comes back: [id, true, value] or [id, false, error]. */
export type WireReply = [number, true, unknown] | [number, false, WireError];
export interface WireError {
  kind: "sqlite" | "wal-sync" | "corruption" | "error";
  message: string;
  code?: string | undefined;
}
export type ToThread = { kind: "calls"; calls: WireCall[] } | { kind: "close" };
export type FromThread = { kind: "replies"; replies: WireReply[]; stats: { groups: number; writes: number } };

/**
 * Calls that cross at once without waiting for the end of the event-loop turn: the thread
 * starts on a group while this thread still makes the rest, instead of the two taking turns
 * being idle (10,000 chains: about 760/s sending once per turn, 860–890/s with 8–64).
 */
const callsPerMessageMax = 64;

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The client of the writer thread (writer-thread.ts). */
export class ThreadWriter implements SqliteWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private outgoing: WireCall[] = [];
  private sendScheduled = false;
  private failure: WriterThreadError | undefined;
  private closed: Promise<void> | undefined;
  private exited = false;
  stats = { groups: 0, writes: 0 };
  readonly durability = "a writer thread; fdatasync of the WAL after each group commit, before any answer";

  constructor(options: WriterThreadOptions) {
    this.worker = new Worker(writerThreadEntry(), { workerData: options });
    // Only calls in flight keep the process alive (`call` refs it, `onReplies` unrefs it).
    this.worker.unref();
    this.worker.on("message", (message: FromThread) => this.onReplies(message));
    this.worker.on("error", (error) => this.fail(`the SQLite writer thread failed: ${error.message}`));
    this.worker.on("exit", (code) => {
      this.exited = true;
      if (!this.closed) this.fail(`the SQLite writer thread exited (code ${code})`);
    });
  }

  call<Op extends WriteOp>(op: Op, args: WriteArgs<Op>): Promise<WriteResult<Op>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error("the database is closed"));
    return new Promise<WriteResult<Op>>((resolve, reject) => {
      const call: WireCall = [this.nextId++, op, toWire(op, args)];
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(call[0], { resolve: resolve as (value: unknown) => void, reject });
      this.outgoing.push(call);
      if (this.outgoing.length >= callsPerMessageMax) {
        this.send();
      } else if (!this.sendScheduled) {
        this.sendScheduled = true;
        // The calls of one turn of the event loop cross together, as they would group inline.
        setImmediate(() => this.send());
      }
    });
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      this.send();
      this.worker.once("exit", () => resolve());
      this.worker.ref();
      this.worker.postMessage({ kind: "close" } satisfies ToThread);
    });
    return this.closed;
  }

  private send(): void {
    this.sendScheduled = false;
    if (this.outgoing.length === 0) return;
    const calls = this.outgoing;
    this.outgoing = [];
    this.worker.postMessage({ kind: "calls", calls } satisfies ToThread);
  }

  private onReplies(message: FromThread): void {
    this.stats = message.stats;
    for (const reply of message.replies) {
      const waiting = this.waiting.get(reply[0]);
      if (!waiting) continue;
      this.waiting.delete(reply[0]);
      if (reply[1]) waiting.resolve(reply[2]);
      else waiting.reject(fromWireError(reply[2]));
    }
    // Closing keeps the thread referenced until it has exited (close() waits for that).
    if (this.waiting.size === 0 && !this.closed) this.worker.unref();
  }

  private fail(message: string): void {
    this.failure ??= new WriterThreadError(`${message}; writes cannot be made durable: restart workflowd`);
    for (const waiting of this.waiting.values()) waiting.reject(this.failure);
    this.waiting.clear();
    this.outgoing = [];
    this.worker.unref();
  }
}

/**
 * A commit as it crosses: of the state, only the columns the commit writes (`committedState`;
 * the rest grows with the history and is not read), no fold (the engine's cache of the
 * history), and the lease's `serves` (a function) becomes the names it serves among the
 * commit's activities.
 */
type WireLease = Omit<ActivityLease, "serves"> & { served: string[] };

export function toWire(op: WriteOp, args: readonly unknown[]): unknown[] {
  if (op !== "commitTurn") return args as unknown[];
  const commit = args[0] as TurnCommit;
  const { state } = commit.outcome;
  const outcome = { ...commit.outcome, fold: undefined, state: state && (committedState(state) as InstanceState) };
  const { lease } = commit;
  let wireLease: WireLease | undefined;
  if (lease) {
    const { serves, ...rest } = lease;
    const names = new Set<string>();
    for (const effect of outcome.effects) if (effect.kind === "scheduleActivity" && serves(effect.name)) names.add(effect.name);
    wireLease = { ...rest, served: [...names] };
  }
  return [{ ...commit, outcome, lease: wireLease }];
}

export function fromWire(op: WriteOp, args: unknown[]): unknown[] {
  if (op !== "commitTurn") return args;
  const commit = args[0] as Omit<TurnCommit, "lease"> & { lease?: WireLease };
  if (!commit.lease) return args;
  const { served, ...rest } = commit.lease;
  const names = new Set(served);
  return [{ ...commit, lease: { ...rest, serves: (name: string) => names.has(name) } }];
}

export function toWireError(error: unknown): WireError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof WalSyncError) return { kind: "wal-sync", message };
  if (error instanceof StoreCorruptionError) return { kind: "corruption", message };
  if (error instanceof Database.SqliteError) return { kind: "sqlite", message, code: error.code };
  return { kind: "error", message };
}

function fromWireError(error: WireError): Error {
  switch (error.kind) {
    case "wal-sync":
      return new WalSyncError(error.message);
    case "corruption":
      return new StoreCorruptionError(error.message);
    case "sqlite":
      return new Database.SqliteError(error.message, error.code ?? "SQLITE_ERROR");
    default:
      return new Error(error.message);
  }
}

/**
 * The thread's entry file. Run from the compiled build, it sits beside this file. Run from
 * the TypeScript sources (vitest), a worker thread cannot load `.ts`: it runs the compiled
 * twin in dist/ (`npm test` builds first).
 */
function writerThreadEntry(): URL {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new URL("./writer-thread.js", here);
  const twin = new URL(here.replace("/src/store/sqlite/writer.ts", "/dist/src/store/sqlite/writer-thread.js"));
  if (!existsSync(fileURLToPath(twin))) throw new Error(`the writer thread's compiled entry '${fileURLToPath(twin)}' is missing: run npm run build`);
  return twin;
}
