/**
 * Retry policies for activities and child workflows, in the shape the durabletask SDKs use
 * (Python's RetryPolicy, .NET's RetryOptions): attempts, a first interval that grows by a
 * backoff coefficient up to a maximum, and an overall time-out. `@dapr/dapr` for Node has
 * none yet (dapr/js-sdk#840); workflowd's in-process runtime offers it as an option of
 * callActivity / callChildWorkflow.
 *
 * The waits between attempts are durable timers in the workflow's history, so a retry
 * survives restarts and replays deterministically.
 */
export interface RetryPolicyOptions {
  /** Total runs, the first included (1 = no retry). */
  maxNumberOfAttempts: number;
  /** Wait before the second attempt. */
  firstRetryIntervalInMilliseconds: number;
  /** Each later wait is the previous one times this (default 1: constant waits). */
  backoffCoefficient?: number;
  /** Cap on a single wait (default: no cap). */
  maxRetryIntervalInMilliseconds?: number;
  /** No attempt starts later than this after the first one was scheduled (default: none). */
  retryTimeoutInMilliseconds?: number;
}

export class RetryPolicy {
  readonly maxNumberOfAttempts: number;
  readonly firstRetryIntervalInMilliseconds: number;
  readonly backoffCoefficient: number;
  readonly maxRetryIntervalInMilliseconds: number;
  readonly retryTimeoutInMilliseconds: number;

  constructor(options: RetryPolicyOptions) {
    this.maxNumberOfAttempts = check("maxNumberOfAttempts", options.maxNumberOfAttempts, 1, true);
    this.firstRetryIntervalInMilliseconds = check("firstRetryIntervalInMilliseconds", options.firstRetryIntervalInMilliseconds, 0, false);
    this.backoffCoefficient = check("backoffCoefficient", options.backoffCoefficient ?? 1, 1, false);
    this.maxRetryIntervalInMilliseconds = check("maxRetryIntervalInMilliseconds", options.maxRetryIntervalInMilliseconds ?? Infinity, 0, false);
    this.retryTimeoutInMilliseconds = check("retryTimeoutInMilliseconds", options.retryTimeoutInMilliseconds ?? Infinity, 0, false);
  }

  /** Accepts a policy or its plain options. */
  static from(value: RetryPolicy | RetryPolicyOptions): RetryPolicy {
    return value instanceof RetryPolicy ? value : new RetryPolicy(value);
  }

  /**
   * The wait before the next attempt after `failedAttempt` (1-based) failed at `nowMs`, or
   * undefined when the policy allows no further attempt.
   */
  nextDelayMs(failedAttempt: number, firstScheduledMs: number, nowMs: number): number | undefined {
    if (failedAttempt >= this.maxNumberOfAttempts) return undefined;
    const delay = Math.min(
      this.firstRetryIntervalInMilliseconds * this.backoffCoefficient ** (failedAttempt - 1),
      this.maxRetryIntervalInMilliseconds,
    );
    if (nowMs + delay > firstScheduledMs + this.retryTimeoutInMilliseconds) return undefined;
    return delay;
  }
}

function check(name: string, value: unknown, min: number, integer: boolean): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new TypeError(`retry policy: ${name} must be ${integer ? "an integer" : "a number"} ≥ ${min}, got ${String(value)}`);
  }
  return value;
}
