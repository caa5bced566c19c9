/**
 * Waiting until an instance reaches a state: gRPC's WaitForInstanceStart and
 * WaitForInstanceCompletion, and the bounded waits after terminate, suspend and resume.
 *
 * A waiter re-reads the instance from the store whenever a turn that touched it commits in
 * this process, and every `pollMs` as well (another process may serve the same file). An
 * idle wait costs one timer and no queries between polls.
 */
import type { InstanceRecord } from "../store/store.js";
import { limits } from "../limits.js";

export type WaitResult =
  | { kind: "reached"; instance: InstanceRecord }
  | { kind: "not-found" }
  | { kind: "timeout"; instance: InstanceRecord }
  | { kind: "cancelled" };

export class InstanceWatch {
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly read: (instanceId: string) => Promise<InstanceRecord | undefined>,
    private readonly pollMs: number,
  ) {}

  /** A turn of this instance committed (or the instance was created or removed). */
  changed(instanceId: string): void {
    const waiting = this.waiters.get(instanceId);
    if (waiting) for (const check of [...waiting]) check();
  }

  /**
   * Resolves once `until` holds for the stored instance, when it does not exist, after
   * `timeoutMs` (Infinity: never), or when `signal` aborts or the watch closes. Storage
   * faults reject.
   */
  waitFor(instanceId: string, until: (instance: InstanceRecord) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<WaitResult> {
    return new Promise<WaitResult>((resolve, reject) => {
      if (this.closed || signal?.aborted) return resolve({ kind: "cancelled" });
      let poll: NodeJS.Timeout | undefined;
      let deadline: NodeJS.Timeout | undefined;
      let last: InstanceRecord | undefined;
      let settled = false;
      // One read at a time; a change seen during a read asks for another after it.
      let reading = false;
      let readAgain = false;
      const finish = (result: WaitResult | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(poll);
        clearTimeout(deadline);
        signal?.removeEventListener("abort", onAbort);
        const set = this.waiters.get(instanceId);
        set?.delete(check);
        if (set?.size === 0) this.waiters.delete(instanceId);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const check = (): void => {
        if (settled) return;
        if (this.closed) return finish({ kind: "cancelled" });
        if (reading) {
          readAgain = true;
          return;
        }
        reading = true;
        this.read(instanceId).then(
          (record) => {
            reading = false;
            if (settled) return;
            last = record;
            if (!last) return finish({ kind: "not-found" });
            if (until(last)) return finish({ kind: "reached", instance: last });
            if (readAgain) {
              readAgain = false;
              return check();
            }
            clearTimeout(poll);
            poll = setTimeout(check, this.pollMs);
          },
          (error: unknown) => {
            reading = false;
            finish(error instanceof Error ? error : new Error(String(error)));
          },
        );
      };
      const onAbort = () => finish({ kind: "cancelled" });
      signal?.addEventListener("abort", onAbort);
      // No deadline for an infinite wait; a longer one than setTimeout takes is re-armed in steps.
      const endsAt = Date.now() + timeoutMs;
      const armDeadline = () => {
        const remaining = endsAt - Date.now();
        if (remaining > limits.timerDelayMsMax) deadline = setTimeout(armDeadline, limits.timerDelayMsMax);
        else deadline = setTimeout(() => finish(last ? { kind: "timeout", instance: last } : { kind: "not-found" }), Math.max(0, remaining));
      };
      if (Number.isFinite(timeoutMs)) armDeadline();
      let set = this.waiters.get(instanceId);
      if (!set) this.waiters.set(instanceId, (set = new Set()));
      set.add(check);
      check();
    });
  }

  /** Ends every wait with "cancelled" (shutdown). */
  close(): void {
    this.closed = true;
    for (const set of [...this.waiters.values()]) for (const check of [...set]) check();
  }
}
