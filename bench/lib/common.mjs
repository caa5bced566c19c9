// Shared helpers for the bench/ scripts: machine description, tables, percentiles, temp
// directories, free ports, and a read-only view of a workflowd database to wait for and
// verify instances without going through the engine (no GET per instance).
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

// Ports below the kernel's ephemeral range, as the tests pick them: a port "free a moment ago"
// inside that range can be taken by any outgoing connection before a spawned server binds it.
import { freePort } from "../../test/process/server-env.mjs";

export { freePort };

export const terminal = ["COMPLETED", "FAILED", "TERMINATED"];

/** One line describing the machine; printed first by every script. */
export function machineLine() {
  const cpu = cpus();
  let sqlite = "?";
  try {
    const db = new Database(":memory:");
    sqlite = db.prepare("SELECT sqlite_version() AS v").get().v;
    db.close();
  } catch {
    // only descriptive
  }
  const load = loadavg().map((l) => l.toFixed(2)).join(" ");
  return (
    `machine: ${cpu.length} × ${cpu[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
    `node ${process.version}, SQLite ${sqlite}, load average ${load}`
  );
}

export function header(title, what) {
  console.log(`\n=== ${title} ===`);
  console.log(machineLine());
  if (what) console.log(what);
}

/** Prints a Markdown table (aligned), so it can be pasted into docs as is. */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((row) => row.map((c) => String(c ?? "")));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i].length), 3));
  const line = (row) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(cells[0]));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of cells.slice(1)) console.log(line(row));
}

/** "ok" or "MISS" for a figure against its target. */
export function verdict(ok) {
  return ok ? "ok" : "MISS";
}

export function fmt(n, digits = 0) {
  if (n === undefined || n === null || Number.isNaN(n)) return "n/a";
  return Number(n).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Nearest-rank percentile of an unsorted array of numbers. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function tempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `wfd-bench-${label}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A failed self-check: the script prints it and exits non-zero. */
export class CheckError extends Error {}

/** A run that could not finish its workload within its time budget: exit code 2. */
export class BudgetError extends Error {}

export function check(condition, message) {
  if (!condition) throw new CheckError(message);
}

/**
 * A second, read-only connection to a workflowd database file (WAL lets it read while the
 * server writes). Used to wait for instances to finish and to verify their outputs.
 */
export class DbView {
  constructor(path) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    this.countFinished = this.db.prepare(
      "SELECT count(*) AS n FROM instances WHERE status IN ('COMPLETED','FAILED','TERMINATED') AND instance_id >= ? AND instance_id < ?",
    );
    this.byStatus = this.db.prepare(
      "SELECT status, count(*) AS n FROM instances WHERE instance_id >= ? AND instance_id < ? GROUP BY status",
    );
    this.rows = this.db.prepare(
      "SELECT instance_id, status, output, created_at, last_updated_at, history_length FROM instances WHERE instance_id >= ? AND instance_id < ?",
    );
  }

  /** [lo, hi) bounds covering every ID that starts with `prefix`. */
  static range(prefix) {
    return [prefix, `${prefix}\uffff`];
  }

  statusCounts(prefix) {
    return Object.fromEntries(this.byStatus.all(...DbView.range(prefix)).map((r) => [r.status, r.n]));
  }

  /**
   * Resolves when `expected` instances whose IDs start with `prefix` are finished (any
   * terminal status; verify outputs afterwards). Polls every `pollMs`; throws a CheckError
   * with the status counts if `timeoutMs` passes first.
   */
  async waitFinished(prefix, expected, { timeoutMs, pollMs = 50, label = prefix, onProgress } = {}) {
    const began = Date.now();
    let lastReport = began;
    for (;;) {
      const n = this.countFinished.get(...DbView.range(prefix)).n;
      if (n >= expected) return;
      const now = Date.now();
      if (onProgress && now - lastReport >= 10_000) {
        lastReport = now;
        onProgress(n, now - began);
      }
      if (now - began > timeoutMs) {
        throw new CheckError(
          `${label}: only ${n} of ${expected} instances finished within ${Math.round(timeoutMs / 1000)} s; ` +
            `status counts ${JSON.stringify(this.statusCounts(prefix))}`,
        );
      }
      await sleep(pollMs);
    }
  }

  /**
   * Checks that the instances whose IDs start with `prefix` are exactly `expectedCount`,
   * all COMPLETED, each with the output `expectedOutput(id)` returns (a JSON string).
   * Returns their rows (for timing figures).
   */
  verifyCompleted(prefix, expectedCount, expectedOutput, label = prefix) {
    const rows = this.rows.all(...DbView.range(prefix));
    const problems = [];
    if (rows.length !== expectedCount) problems.push(`${rows.length} instances found, ${expectedCount} expected`);
    for (const row of rows) {
      if (problems.length >= 5) break;
      if (row.status !== "COMPLETED") problems.push(`${row.instance_id} is ${row.status}`);
      else {
        const want = expectedOutput(row.instance_id);
        if (row.output !== want) problems.push(`${row.instance_id} output ${row.output}, expected ${want}`);
      }
    }
    check(problems.length === 0, `${label}: verification failed: ${problems.join("; ")}`);
    return rows;
  }

  close() {
    this.db.close();
  }
}

/** Runs `main`; on a failed check or an error prints it loudly and exits non-zero. */
export function runScript(name, main) {
  const began = performance.now();
  main().then(
    () => {
      console.log(`(${name} took ${((performance.now() - began) / 1000).toFixed(1)} s)`);
      process.exit(0);
    },
    (error) => {
      const known = error instanceof CheckError || error instanceof BudgetError;
      const kind = error instanceof BudgetError ? "INCOMPLETE" : error instanceof CheckError ? "SELF-CHECK FAILED" : "ERROR";
      const text = known ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`\n!!! ${name}: ${kind}: ${text}`);
      console.log(`(${name} failed after ${((performance.now() - began) / 1000).toFixed(1)} s)`);
      process.exit(error instanceof BudgetError ? 2 : 1);
    },
  );
}

/**
 * Spawns `node dist/src/main.js` on `dbPath` (loopback, a free HTTP port, gRPC and metrics on
 * free ports, no token, no retention config) and resolves once GET /v1.0/healthz answers 204.
 * `stop()` sends SIGTERM (SIGKILL after `stopTimeoutMs`) and checks the exit was clean; `kill()`
 * sends SIGKILL. `env` adds or overrides settings.
 */
export async function spawnWorkflowd({ dbPath, workflows = "none", label = "workflowd", stopTimeoutMs = 15_000, env = {} }) {
  const { spawn } = await import("node:child_process");
  const mainJs = new URL("../../dist/src/main.js", import.meta.url).pathname;
  const port = await freePort();
  const began = performance.now();
  const child = spawn(process.execPath, [mainJs], {
    env: {
      ...process.env,
      WORKFLOWD_DB: dbPath,
      WORKFLOWD_HOST: "127.0.0.1",
      WORKFLOWD_WORKFLOWS: workflows,
      WORKFLOWD_CONFIG: "",
      DAPR_HTTP_PORT: String(port),
      DAPR_GRPC_PORT: "0",
      DAPR_METRICS_PORT: "0",
      LOG_LEVEL: "warn",
      DAPR_API_TOKEN: "",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (c) => (output += c));
  child.stderr.setEncoding("utf8").on("data", (c) => (output += c));
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
    const exit = await exited;
    clearTimeout(timer);
    check(exit.code === 0, `${label}: workflowd exited with ${JSON.stringify(exit)}: ${output}`);
  };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${label}: workflowd exited during start-up: ${output}`);
      const status = await fetch(`http://127.0.0.1:${port}/v1.0/healthz`).then((r) => r.status, () => undefined);
      if (status === 204) break;
      check(performance.now() - began < 60_000, `${label}: not healthy after 60 s: ${output}`);
      await sleep(5);
    }
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  const kill = async () => {
    child.kill("SIGKILL");
    return exited;
  };
  return { label, port, pid: child.pid, startupMs: performance.now() - began, stop, kill, output: () => output };
}

/**
 * How the store makes a commit durable, as it reports it (store.settings()): WAL with
 * synchronous=FULL, or (since issue 14) synchronous=NORMAL plus an fdatasync of the WAL after
 * each group commit, before any answer. Throws a CheckError if neither holds.
 */
export function durabilityLine(store) {
  const s = store.settings();
  const fsyncPerGroup = s.synchronous === 2 || (s.synchronous === 1 && typeof s.durability === "string" && s.durability.includes("fdatasync of the WAL after each group commit"));
  check(s.journalMode === "wal" && fsyncPerGroup, `store runs ${JSON.stringify(s)}: neither WAL + FULL nor WAL + an fdatasync per group commit`);
  return `store: journal_mode=${s.journalMode}, synchronous=${s.synchronous === 2 ? "FULL" : "NORMAL"}${s.durability ? `; durability: ${s.durability}` : ""}`;
}
