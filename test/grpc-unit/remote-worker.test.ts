/**
 * RemoteWorker's flow control and reply matching, on plain data (no sockets): at most
 * `itemsMax` items outstanding per stream, the rest sent in order as replies free slots;
 * replies matched by instance ID (turns) and instance ID + task ID (activities); a closed
 * stream or an unanswered item fails its work so the engine dispatches it again.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { HistoryEvent } from "../../src/engine/history.js";
import { activityKey, PendingReplies, RemoteWorker, turnKey } from "../../src/grpc/remote-worker.js";
import { WorkerUnavailableError } from "../../src/orchestration/worker.js";

const started: HistoryEvent = { kind: "orchestratorStarted", eventId: -1, timestamp: 0 };
const turn = (instanceId: string) => ({ instanceId, executionId: "e", pastEvents: [], newEvents: [started] });
const activity = (instanceId: string, taskId: number) => ({ name: "a", input: undefined, instanceId, executionId: "e", taskId, attempt: 1 });
const done = { actions: [], customStatus: { value: "ok" } };

function setup(itemsMax = 2, timeouts = 60_000) {
  const sent: any[] = [];
  const replies = new PendingReplies();
  const worker = new RemoteWorker("w1", (item) => sent.push(item), replies, { itemsMax, turnTimeoutMs: timeouts, activityTimeoutMs: timeouts });
  return { sent, replies, worker };
}

afterEach(() => vi.useRealTimers());

describe("RemoteWorker", () => {
  it("keeps at most itemsMax items outstanding and sends the rest in order as replies arrive", async () => {
    const { sent, replies, worker } = setup(2);
    const results = ["a", "b", "c", "d"].map((id) => worker.executeOrchestration(turn(id)));
    expect(sent.map((s) => s.orchestratorRequest.instanceId)).toEqual(["a", "b"]);
    expect(worker.load()).toBe(4);
    expect(replies.resolve(turnKey("b"), done)).toBe(true);
    expect(sent.map((s) => s.orchestratorRequest.instanceId)).toEqual(["a", "b", "c"]);
    replies.resolve(turnKey("a"), done);
    replies.resolve(turnKey("c"), done);
    replies.resolve(turnKey("d"), done);
    for (const result of await Promise.all(results)) expect(result.customStatus).toBe("ok");
    expect(worker.load()).toBe(0);
  });

  it("matches activity replies by instance ID and task ID", async () => {
    const { replies, worker } = setup();
    const one = worker.executeActivity(activity("x", 1));
    const two = worker.executeActivity(activity("x", 2));
    expect(replies.resolve(activityKey("x", 2), { instanceId: "x", taskId: 2, result: { value: "\"two\"" } })).toBe(true);
    expect(replies.resolve(activityKey("x", 1), { instanceId: "x", taskId: 1, failureDetails: { errorType: "E", errorMessage: "m" } })).toBe(true);
    expect(await two).toEqual({ ok: true, result: "\"two\"" });
    expect(await one).toMatchObject({ ok: false, failure: { errorType: "E", errorMessage: "m" } });
  });

  it("a reply nobody waits for (late or duplicate) is refused and changes nothing", async () => {
    const { replies, worker } = setup();
    const result = worker.executeOrchestration(turn("a"));
    expect(replies.resolve(turnKey("a"), done)).toBe(true);
    expect(replies.resolve(turnKey("a"), done)).toBe(false);
    expect(replies.resolve(turnKey("never"), done)).toBe(false);
    await expect(result).resolves.toMatchObject({ actions: [] });
  });

  it("closing the stream fails queued and outstanding work with WorkerUnavailableError, and refuses new work", async () => {
    const { replies, worker } = setup(1);
    const first = worker.executeOrchestration(turn("a"));
    const second = worker.executeActivity(activity("b", 1));
    worker.close("test");
    await expect(first).rejects.toBeInstanceOf(WorkerUnavailableError);
    await expect(second).rejects.toBeInstanceOf(WorkerUnavailableError);
    await expect(worker.executeOrchestration(turn("c"))).rejects.toBeInstanceOf(WorkerUnavailableError);
    expect(worker.servesWorkflow()).toBe(false);
    expect(replies.size).toBe(0);
  });

  it("an item not answered in time fails and frees its slot for the next", async () => {
    vi.useFakeTimers();
    const { sent, worker } = setup(1, 1_000);
    const lost = worker.executeOrchestration(turn("a"));
    const next = worker.executeOrchestration(turn("b"));
    const lostFailed = expect(lost).rejects.toThrow(/not answered within 1000 ms/);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    await lostFailed;
    expect(sent.map((s) => s.orchestratorRequest.instanceId)).toEqual(["a", "b"]);
    worker.close("end");
    await expect(next).rejects.toBeInstanceOf(WorkerUnavailableError);
  });

  it("a newer dispatch of the same turn replaces a queued older one, which is never sent", async () => {
    const { sent, replies, worker } = setup(1);
    const blocker = worker.executeOrchestration(turn("z"));
    const older = worker.executeOrchestration(turn("a"));
    const newer = worker.executeOrchestration(turn("a"));
    await expect(older).rejects.toThrow(/superseded/);
    replies.resolve(turnKey("z"), done);
    replies.resolve(turnKey("a"), done);
    await Promise.all([blocker, newer]);
    expect(sent.map((s) => s.orchestratorRequest.instanceId)).toEqual(["z", "a"]);
  });

  it("work items carry what the SDK requires: a turn's instance and events, an activity's instance and task ID", async () => {
    const { sent, worker } = setup();
    void worker.executeOrchestration(turn("a")).catch(() => undefined);
    void worker.executeActivity(activity("b", 7)).catch(() => undefined);
    expect(sent[0].orchestratorRequest).toMatchObject({ instanceId: "a", executionId: { value: "e" }, newEvents: [{ orchestratorStarted: {} }] });
    expect(sent[1].activityRequest).toMatchObject({ name: "a", taskId: 7, orchestrationInstance: { instanceId: "b", executionId: { value: "e" } } });
    worker.close("end");
  });
});
