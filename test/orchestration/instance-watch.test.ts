/**
 * InstanceWatch with a fake clock: a wait has no server-side cap (gRPC's wait RPCs end only
 * when the instance gets there, the call's deadline passes or the caller cancels), and a
 * deadline longer than setTimeout can take is still honoured.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { InstanceWatch } from "../../src/orchestration/instance-watch.js";
import type { InstanceRecord } from "../../src/store/store.js";

afterEach(() => vi.useRealTimers());

const record = (status: InstanceRecord["status"]): InstanceRecord => ({
  instanceId: "i", name: "wf", executionId: "e", status, createdAt: 0, lastUpdatedAt: 0, input: undefined, output: undefined,
  customStatus: undefined, failureDetails: undefined, parentInstanceId: undefined, workflowVersion: undefined, historyLength: 1, version: 1,
});

describe("InstanceWatch", () => {
  it("an infinite wait is still waiting after 11 minutes, and ends when the instance gets there", async () => {
    vi.useFakeTimers();
    let status: InstanceRecord["status"] = "RUNNING";
    const watch = new InstanceWatch(async () => record(status), 1_000);
    let result: unknown;
    void watch.waitFor("i", (i) => i.status === "COMPLETED", Infinity).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(11 * 60 * 1000);
    expect(result).toBeUndefined();
    status = "COMPLETED";
    watch.changed("i");
    await vi.advanceTimersByTimeAsync(0);
    expect(result).toMatchObject({ kind: "reached", instance: { status: "COMPLETED" } });
  });

  it("a deadline beyond setTimeout's range (30 days) is honoured, not fired at once", async () => {
    vi.useFakeTimers();
    const watch = new InstanceWatch(async () => record("RUNNING"), 60_000);
    let result: { kind: string } | undefined;
    const thirtyDays = 30 * 24 * 3600 * 1000;
    void watch.waitFor("i", () => false, thirtyDays).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(thirtyDays - 2_000);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(result?.kind).toBe("timeout");
    watch.close();
  });
});
