/**
 * Flag values that need more than a string: durations, points in time, statuses, counts
 * and JSON bodies. Each parser throws a UsageError naming the flag, so a typo exits 2 with a
 * message instead of reaching the server.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "./errors.js";

const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  // Not Go's: `7d` is what people type for retention windows.
  d: 86_400_000,
};

/**
 * A Go duration as `dapr workflow` takes them (`300ms`, `1.5h`, `2h45m`), plus `d` for days.
 * Returns milliseconds.
 */
export function parseDuration(text: string, flag: string): number {
  const whole = /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h|d)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h|d))*$/;
  if (text === "0") return 0;
  if (!whole.test(text)) {
    throw new UsageError(`${flag}: '${text}' is not a duration (examples: 90s, 30m, 1h30m, 24h, 7d)`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/g)) {
    total += Number(amount) * unitMs[unit!]!;
  }
  return total;
}

/**
 * A point in time given as an age (a duration before `now`) or as a time, as `dapr
 * workflow`'s `--filter-max-age` and `--all-older-than` accept: RFC 3339, or
 * `2023-01-02T15:04:05` and `2023-01-02`, read as UTC.
 */
export function parseAgeOrTime(text: string, flag: string, now: Date): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const zoned = /(Z|[+-]\d{2}:\d{2})$/i.test(text);
    const shaped = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/i.test(text);
    // Date.parse reads a zone-less date-time as local time; the Dapr CLI reads it as UTC.
    const ms = shaped ? Date.parse(zoned || !text.includes("T") ? text : `${text}Z`) : Number.NaN;
    if (Number.isNaN(ms)) {
      throw new UsageError(`${flag}: '${text}' is not a time (examples: 2023-01-02, 2023-01-02T15:04:05Z)`);
    }
    return new Date(ms);
  }
  return new Date(now.getTime() - parseDuration(text, flag));
}

/** The runtime statuses an instance can be stored with, in `dapr workflow`'s order. */
export const runtimeStatuses = ["RUNNING", "COMPLETED", "FAILED", "TERMINATED", "PENDING", "SUSPENDED", "STALLED"] as const;

/** Statuses `dapr workflow` offers that workflowd never stores (the server would refuse them). */
const neverStored = ["CONTINUED_AS_NEW", "CANCELED"];

/** Statuses a purge may select: the server purges only finished instances. */
export const purgeableStatuses = ["COMPLETED", "FAILED", "TERMINATED"] as const;

/** `--status` values: repeatable and comma-separated, any case; returned upper case, deduplicated. */
export function parseStatuses(values: readonly string[], flag: string, allowed: readonly string[] = runtimeStatuses): string[] {
  const statuses: string[] = [];
  for (const value of values) {
    for (const part of value.split(",")) {
      const status = part.trim().toUpperCase();
      if (status === "") continue;
      if (neverStored.includes(status)) {
        throw new UsageError(`${flag}: workflowd never stores ${status} instances (a continued-as-new instance is RUNNING under its ID; none is CANCELED)`);
      }
      if (!allowed.includes(status)) {
        throw new UsageError(`${flag}: unknown status '${part.trim()}'; use ${allowed.join(", ")}`);
      }
      if (!statuses.includes(status)) statuses.push(status);
    }
  }
  if (statuses.length === 0) throw new UsageError(`${flag}: give at least one status`);
  return statuses;
}

/** A whole number from `min` up. */
export function parseCount(text: string, flag: string, min = 0): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${flag}: '${text}' is not a whole number${min > 0 ? ` of at least ${min}` : ""}`);
  }
  return value;
}

/**
 * A request body given on the command line: JSON text sent exactly as written (as `curl -d`
 * sends it, never re-encoded), or `@file` / `@-` for a file or stdin. It must parse as JSON:
 * the API stores inputs and event payloads as JSON, and a workflow would fail to read
 * anything else.
 */
export function readJsonBody(text: string, flag: string): string {
  let body = text;
  if (text.startsWith("@")) {
    const file = text.slice(1);
    try {
      body = readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (error) {
      throw new UsageError(`${flag}: cannot read ${file === "-" ? "stdin" : `'${file}'`}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  try {
    JSON.parse(body);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new UsageError(
      `${flag} must be JSON (${detail}); a string is written with its quotes, e.g. ${flag} '"Berlin"'`,
    );
  }
  return body;
}
