/**
 * RemoteWorker's flow control, reply matching and stateful history, on plain data (no
 * sockets): at most `itemsMax` items outstanding per stream, the rest sent in order as
 * replies free slots; replies matched by instance ID (turns) and instance ID + task ID
 * (activities) and then by the dispatch's completion token (fresh on every dispatch, a
 * redelivery included); a closed stream or an unanswered item fails its work so the engine
 * dispatches it again, while a retired stream lets the SDK finish what it holds; and a
 * stream that holds an instance's history (WarmHistories) gets only the events it lacks.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { HistoryEvent } from "../../src/engine/history.js";
import { applyTurn, prepareTurn } from "../../src/engine/turn.js";
import { eventToPb } from "../../src/protocol/convert.js";
import { activityKey, PendingReplies, RemoteWorker, turnKey, WarmHistories, type RemoteWorkerOptions } from "../../src/grpc/remote-worker.js";
import { WorkerUnavailableError, type ActivityRequest, type OrchestrationRequest } from "../../src/orchestration/worker.js";

const started: HistoryEvent = { kind: "orchestratorStarted", eventId: -1, timestamp: 0 };
const turn = (instanceId: string): OrchestrationRequest => ({ instanceId, executionId: "e", pastEvents: [], newEvents: [started] });
const activity = (instanceId: string, taskId: number): ActivityRequest => ({ name: "a", input: undefined, instanceId, executionId: "e", taskId, attempt: 1 });
const done = { actions: [], customStatus: { value: "ok" } };

/** One stream of an app: the items it was sent, and its worker. Streams of one app share `replies`. */
function stream(
  options: Partial<RemoteWorkerOptions> = {},
  replies = new PendingReplies(),
  warm?: WarmHistories,
  id = "w1",
) {
  const sent: any[] = [];
  const worker = new RemoteWorker(id, (item) => sent.push(item), replies, { itemsMax: 2, turnTimeoutMs: 60_000, activityTimeoutMs: 60_000, ...options }, warm);
  /** Answers the turn of `instanceId` as the SDK would: with the token of the item it was sent last. */
  const answerTurn = (instanceId: string, reply: object = done) => {
    const item = sent.findLast((s) => s.workflowRequest?.instanceId === instanceId);
    return replies.resolve(turnKey(instanceId), reply, item.completionToken);
  };
  return { sent, replies, worker, answerTurn };
}

function setup(itemsMax = 2, timeouts = 60_000) {
  return stream({ itemsMax, turnTimeoutMs: timeouts, activityTimeoutMs: timeouts });
}

afterEach(() => vi.useRealTimers());

describe("RemoteWorker", () => {
  it("keeps at most itemsMax items outstanding and sends the rest in order as replies arrive", async () => {
    const { sent, replies, worker } = setup(2);
    const results = ["a", "b", "c", "d"].map((id) => worker.executeOrchestration(turn(id)));
    expect(sent.map((s) => s.workflowRequest.instanceId)).toEqual(["a", "b"]);
    expect(worker.load()).toBe(4);
    expect(replies.resolve(turnKey("b"), done)).toBe("delivered");
    expect(sent.map((s) => s.workflowRequest.instanceId)).toEqual(["a", "b", "c"]);
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
    expect(replies.resolve(activityKey("x", 2), { instanceId: "x", taskId: 2, result: { value: "\"two\"" } })).toBe("delivered");
    expect(replies.resolve(activityKey("x", 1), { instanceId: "x", taskId: 1, failureDetails: { errorType: "E", errorMessage: "m" } })).toBe("delivered");
    expect(await two).toEqual({ ok: true, result: "\"two\"" });
    expect(await one).toMatchObject({ ok: false, failure: { errorType: "E", errorMessage: "m" } });
  });

  it("a reply nobody waits for (late or duplicate) is unknown and changes nothing", async () => {
    const { replies, worker } = setup();
    const result = worker.executeOrchestration(turn("a"));
    expect(replies.resolve(turnKey("a"), done)).toBe("delivered");
    expect(replies.resolve(turnKey("a"), done)).toBe("unknown");
    expect(replies.resolve(turnKey("never"), done, "some-token")).toBe("unknown");
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
    expect(worker.servesActivity()).toBe(false);
    expect(replies.size).toBe(0);
  });

  it("an item not answered in time fails and frees its slot for the next", async () => {
    vi.useFakeTimers();
    const { sent, worker } = setup(1, 1_000);
    const lost = worker.executeOrchestration(turn("a"));
    const next = worker.executeOrchestration(turn("b"));
    const lostFailed = expect(lost).rejects.toThrow(/not answered within 1000 ms/);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(999);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await lostFailed;
    expect(sent.map((s) => s.workflowRequest.instanceId)).toEqual(["a", "b"]);
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
    expect(sent.map((s) => s.workflowRequest.instanceId)).toEqual(["z", "a"]);
  });

  it("work items carry what the SDK requires, under the current proto's names", async () => {
    const { sent, worker } = setup();
    void worker.executeOrchestration(turn("a")).catch(() => undefined);
    const scheduled = {
      kind: "taskScheduled" as const, eventId: 7, timestamp: 0, name: "a", version: "v1", taskExecutionId: "te-7",
      parentTraceContext: { traceParent: "00-abc-def-01" },
    };
    void worker.executeActivity({ ...activity("b", 7), input: "\"in\"", scheduled }).catch(() => undefined);
    expect(sent[0].workflowRequest).toEqual({ instanceId: "a", executionId: { value: "e" }, pastEvents: [], newEvents: [eventToPb(started)] });
    expect(sent[0].workflowRequest.newEvents[0]).toHaveProperty("workflowStarted", {});
    expect(sent[1].activityRequest).toEqual({
      name: "a",
      version: { value: "v1" },
      input: { value: "\"in\"" },
      workflowInstance: { instanceId: "b", executionId: { value: "e" } },
      taskId: 7,
      parentTraceContext: { traceParent: "00-abc-def-01" },
      taskExecutionId: "te-7",
    });
    worker.close("end");
  });
});

describe("completion tokens", () => {
  it("every item sent carries its own non-empty completion token", () => {
    const { sent, worker } = setup(3);
    void worker.executeOrchestration(turn("a")).catch(() => undefined);
    void worker.executeOrchestration(turn("b")).catch(() => undefined);
    void worker.executeActivity(activity("a", 1)).catch(() => undefined);
    const tokens = sent.map((s) => s.completionToken);
    expect(tokens).toHaveLength(3);
    for (const token of tokens) expect(token).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(tokens).size).toBe(3);
    worker.close("end");
  });

  it("a reply with another dispatch's token is stale: dropped, and the dispatch stays outstanding", async () => {
    const { sent, replies, worker } = setup();
    const result = worker.executeOrchestration(turn("a"));
    expect(replies.resolve(turnKey("a"), { actions: [], customStatus: { value: "stale" } }, "not-the-token")).toBe("stale");
    expect(replies.size).toBe(1);
    expect(worker.load()).toBe(1);
    expect(replies.resolve(turnKey("a"), done, sent[0].completionToken)).toBe("delivered");
    expect((await result).customStatus).toBe("ok");
    expect(worker.load()).toBe(0);
  });

  it("an absent or empty token is accepted (SDKs that predate tokens)", async () => {
    const { replies, worker } = setup();
    const one = worker.executeOrchestration(turn("a"));
    const two = worker.executeActivity(activity("a", 1));
    expect(replies.resolve(turnKey("a"), done, "")).toBe("delivered");
    expect(replies.resolve(activityKey("a", 1), { result: { value: "1" } }, undefined)).toBe("delivered");
    await expect(one).resolves.toMatchObject({ customStatus: "ok" });
    await expect(two).resolves.toEqual({ ok: true, result: "1" });
  });

  it("a redelivery gets a new token; the lost dispatch's reply is then stale", async () => {
    vi.useFakeTimers();
    const { sent, replies, worker } = setup(2, 1_000);
    const lost = worker.executeOrchestration(turn("a"));
    const lostFailed = expect(lost).rejects.toThrow(/not answered/);
    vi.advanceTimersByTime(1_000);
    await lostFailed;
    // The engine dispatches the turn again (here, on the same stream).
    const again = worker.executeOrchestration(turn("a"));
    expect(sent).toHaveLength(2);
    expect(sent[1].completionToken).not.toBe(sent[0].completionToken);
    expect(replies.resolve(turnKey("a"), { actions: [] }, sent[0].completionToken)).toBe("stale");
    expect(replies.resolve(turnKey("a"), done, sent[1].completionToken)).toBe("delivered");
    await expect(again).resolves.toMatchObject({ customStatus: "ok" });
  });

  it("a dispatch superseded by one on another stream fails; its token is then stale there too", async () => {
    const replies = new PendingReplies();
    const one = stream({}, replies, undefined, "w1");
    const two = stream({}, replies, undefined, "w2");
    const first = one.worker.executeActivity(activity("x", 1));
    const second = two.worker.executeActivity(activity("x", 1));
    await expect(first).rejects.toThrow(/superseded/);
    expect(one.worker.load()).toBe(0);
    expect(replies.resolve(activityKey("x", 1), { result: { value: "old" } }, one.sent[0].completionToken)).toBe("stale");
    expect(replies.resolve(activityKey("x", 1), { result: { value: "new" } }, two.sent[0].completionToken)).toBe("delivered");
    await expect(second).resolves.toEqual({ ok: true, result: "new" });
  });
});

describe("retire", () => {
  it("stops taking work and fails only the queued items; items the SDK holds can still be answered after close", async () => {
    const { sent, replies, worker } = setup(1);
    const held = worker.executeOrchestration(turn("a"));
    const queuedTurn = worker.executeOrchestration(turn("b"));
    const queuedActivity = worker.executeActivity(activity("c", 1));
    expect(sent).toHaveLength(1);

    worker.retire();
    await expect(queuedTurn).rejects.toBeInstanceOf(WorkerUnavailableError);
    await expect(queuedActivity).rejects.toBeInstanceOf(WorkerUnavailableError);
    expect(worker.servesWorkflow()).toBe(false);
    expect(worker.servesActivity()).toBe(false);
    await expect(worker.executeActivity(activity("d", 1))).rejects.toBeInstanceOf(WorkerUnavailableError);
    expect(worker.load()).toBe(1);
    expect(replies.size).toBe(1);

    // The stream ends; the reply comes on a unary call afterwards and still counts.
    worker.close("primed");
    expect(replies.resolve(turnKey("a"), done, sent[0].completionToken)).toBe("delivered");
    await expect(held).resolves.toMatchObject({ customStatus: "ok" });
    // Nothing else was ever sent.
    expect(sent.map((s) => s.workflowRequest.instanceId)).toEqual(["a"]);
    expect(worker.load()).toBe(0);
  });

  it("a retired stream's held item still times out (and is dispatched again elsewhere)", async () => {
    vi.useFakeTimers();
    const { replies, worker } = setup(1, 1_000);
    const held = worker.executeOrchestration(turn("a"));
    const failed = expect(held).rejects.toThrow(/not answered within 1000 ms/);
    worker.retire();
    worker.close("primed");
    vi.advanceTimersByTime(1_000);
    await failed;
    expect(replies.size).toBe(0);
  });

  it("retiring a closed stream changes nothing", async () => {
    const { worker } = setup(1);
    const first = worker.executeOrchestration(turn("a"));
    worker.close("gone");
    worker.retire();
    await expect(first).rejects.toThrow(/disconnected \(gone\)/);
  });
});

describe("idleSinceMs", () => {
  it("is the creation time, undefined while anything is queued or outstanding, then the time the last item finished", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000);
    const { replies, worker } = setup(1);
    expect(worker.idleSinceMs()).toBe(1_000);
    vi.setSystemTime(2_000);
    const one = worker.executeOrchestration(turn("a"));
    const two = worker.executeActivity(activity("b", 1));
    expect(worker.idleSinceMs()).toBeUndefined();
    vi.setSystemTime(3_000);
    replies.resolve(turnKey("a"), done);
    await one;
    expect(worker.idleSinceMs()).toBeUndefined();
    vi.setSystemTime(4_000);
    replies.resolve(activityKey("b", 1), {});
    await two;
    expect(worker.idleSinceMs()).toBe(4_000);
  });

  it("a failed item counts as finished", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(10_000);
    const { worker } = setup(1, 500);
    const lost = worker.executeOrchestration(turn("a"));
    const failed = expect(lost).rejects.toThrow(/not answered/);
    expect(worker.idleSinceMs()).toBeUndefined();
    vi.advanceTimersByTime(500);
    await failed;
    expect(worker.idleSinceMs()).toBe(10_500);
  });
});

describe("stateful history (WarmHistories)", () => {
  // Four turns' worth of committed events; each turn's pastEvents are the objects committed
  // before it (the store's hot history hands back the very objects a turn committed).
  const at = (timestamp: number): HistoryEvent => ({ kind: "orchestratorStarted", eventId: -1, timestamp });
  const os0 = at(1);
  const es: HistoryEvent = { kind: "executionStarted", eventId: -1, timestamp: 1, name: "wf", instanceId: "i", executionId: "e" };
  const os1 = at(2);
  const raised: HistoryEvent = { kind: "eventRaised", eventId: -1, timestamp: 2, name: "go" };
  const scheduled: HistoryEvent = { kind: "taskScheduled", eventId: 1, timestamp: 2, name: "act" };
  const os2 = at(3);
  const completed: HistoryEvent = { kind: "taskCompleted", eventId: -1, timestamp: 3, taskScheduledId: 1, result: "1" };
  const timer: HistoryEvent = { kind: "timerCreated", eventId: 2, timestamp: 3, fireAt: 10 };
  const os3 = at(10);
  const fired: HistoryEvent = { kind: "timerFired", eventId: -1, timestamp: 10, timerId: 2, fireAt: 10 };

  const turn1: OrchestrationRequest = { instanceId: "i", executionId: "e", pastEvents: [os0, es], newEvents: [os1, raised] };
  const turn2: OrchestrationRequest = { instanceId: "i", executionId: "e", pastEvents: [os0, es, os1, raised, scheduled], newEvents: [os2, completed] };
  const turn3: OrchestrationRequest = { instanceId: "i", executionId: "e", pastEvents: [...turn2.pastEvents, os2, completed, timer], newEvents: [os3, fired] };
  const turn4: OrchestrationRequest = { instanceId: "i", executionId: "e", pastEvents: [...turn3.pastEvents, os3, fired], newEvents: [at(11)] };

  /** Runs a turn on a stream and answers it; returns the workflowRequest sent. */
  async function run(s: ReturnType<typeof stream>, request: OrchestrationRequest) {
    const result = s.worker.executeOrchestration(request);
    const sent = s.sent[s.sent.length - 1].workflowRequest;
    expect(s.answerTurn(request.instanceId)).toBe("delivered");
    await result;
    return sent;
  }

  const warmStream = () => stream({ statefulHistory: true }, new PendingReplies(), new WarmHistories());

  it("the next turn on the same stream gets only the past events it lacks, with cachedHistory counting the rest", async () => {
    const s = warmStream();
    const first = await run(s, turn1);
    expect(first).not.toHaveProperty("cachedHistory");
    expect(first.pastEvents).toEqual([os0, es].map(eventToPb));

    // The stream holds the committed history it was sent last: turn 1's past events (2).
    const second = await run(s, turn2);
    expect(second.cachedHistory).toEqual({ eventCount: 2 });
    expect(second.pastEvents).toEqual([os1, raised, scheduled].map(eventToPb));
    expect(second.newEvents).toEqual([os2, completed].map(eventToPb));

    const third = await run(s, turn3);
    expect(third.cachedHistory).toEqual({ eventCount: 5 });
    expect(third.pastEvents).toEqual([os2, completed, timer].map(eventToPb));
    expect(third.newEvents).toEqual([os3, fired].map(eventToPb));
  });

  it("after another stream ran the instance, the first one is cold: a full send without cachedHistory", async () => {
    const replies = new PendingReplies();
    const warm = new WarmHistories();
    const a = stream({ statefulHistory: true }, replies, warm, "a");
    const b = stream({ statefulHistory: true }, replies, warm, "b");
    await run(a, turn1);
    const onB = await run(b, turn2);
    expect(onB).not.toHaveProperty("cachedHistory");
    expect(onB.pastEvents).toHaveLength(5);
    // A's events are still a prefix of the history, but B ran the instance since.
    const backOnA = await run(a, turn3);
    expect(backOnA).not.toHaveProperty("cachedHistory");
    expect(backOnA.pastEvents).toHaveLength(8);
    // And A is warm again from there on.
    const fourth = await run(a, turn4);
    expect(fourth.cachedHistory).toEqual({ eventCount: 8 });
    expect(fourth.pastEvents).toEqual([os3, fired].map(eventToPb));
  });

  it("past events that are equal but not the same objects (reloaded history) mean a full send", async () => {
    const s = warmStream();
    await run(s, turn1);
    const reloaded = { ...turn2, pastEvents: turn2.pastEvents.map((e) => ({ ...e })) };
    const second = await run(s, reloaded);
    expect(second).not.toHaveProperty("cachedHistory");
    expect(second.pastEvents).toEqual(turn2.pastEvents.map(eventToPb));
  });

  it("a history that no longer starts with what was sent (rolled back, continue-as-new) means a full send", async () => {
    const s = warmStream();
    await run(s, turn2);
    // Shorter than what the stream holds.
    const shorter = await run(s, turn1);
    expect(shorter).not.toHaveProperty("cachedHistory");
    expect(shorter.pastEvents).toHaveLength(2);
    // As long, but one event in the held prefix is another object.
    await run(s, turn2);
    const diverged = await run(s, { ...turn3, pastEvents: [os0, es, os1, { ...raised }, scheduled, os2, completed, timer] });
    expect(diverged).not.toHaveProperty("cachedHistory");
    expect(diverged.pastEvents).toHaveLength(8);
  });

  it("a turn that was not answered is not remembered: the next delta starts after the last answered turn", async () => {
    vi.useFakeTimers();
    const s = stream({ statefulHistory: true, turnTimeoutMs: 1_000 }, new PendingReplies(), new WarmHistories());
    await run(s, turn1);
    const lost = s.worker.executeOrchestration(turn2);
    const lostFailed = expect(lost).rejects.toThrow(/not answered/);
    expect(s.sent[1].workflowRequest.cachedHistory).toEqual({ eventCount: 2 });
    vi.advanceTimersByTime(1_000);
    await lostFailed;
    const third = await run(s, turn3);
    expect(third.cachedHistory).toEqual({ eventCount: 2 });
    expect(third.pastEvents).toHaveLength(6);
  });

  it("with the engine's real turns: the committed history reuses the objects sent, so the next turn is a delta", async () => {
    const s = warmStream();
    const ids = (now: number) => ({ now, newExecutionId: () => "e2" });
    const history: HistoryEvent[] = [os0, es];
    const prepared1 = prepareTurn("i", history, [{ seq: 1, event: raised }], 5);
    const pending1 = s.worker.executeOrchestration({ instanceId: "i", executionId: "e", pastEvents: prepared1.pastEvents, newEvents: prepared1.newEvents });
    s.answerTurn("i", { actions: [{ id: 1, workflowActionType: "scheduleTask", scheduleTask: { name: "act" } }], version: { patches: ["p1"] } });
    const outcome1 = applyTurn(prepared1, await pending1, ids(5));
    const committed = [...history, ...outcome1.events];
    expect(committed.map((e) => e.kind)).toEqual(["orchestratorStarted", "executionStarted", "orchestratorStarted", "eventRaised", "taskScheduled"]);

    const prepared2 = prepareTurn("i", committed, [{ seq: 2, event: completed }], 6);
    void s.worker.executeOrchestration({ instanceId: "i", executionId: "e", pastEvents: prepared2.pastEvents, newEvents: prepared2.newEvents }).catch(() => undefined);
    const second = s.sent[1].workflowRequest;
    expect(second.cachedHistory).toEqual({ eventCount: 2 });
    expect(second.pastEvents).toEqual(committed.slice(2).map(eventToPb));
    // The version the worker reported is on the committed OrchestratorStarted (a copy), which it now gets.
    expect(committed[2]).not.toBe(prepared1.newEvents[0]);
    expect(second.pastEvents[0].workflowStarted).toEqual({ version: { patches: ["p1"] } });
    s.worker.close("end");
  });

  it("without the capability, a stream always gets the full history, even with a shared WarmHistories", async () => {
    const warm = new WarmHistories();
    const plain = stream({ statefulHistory: false }, new PendingReplies(), warm);
    await run(plain, turn1);
    const second = await run(plain, turn2);
    expect(second).not.toHaveProperty("cachedHistory");
    expect(second.pastEvents).toHaveLength(5);
    expect(warm.cachedCount(plain.worker, "i", turn2.pastEvents)).toBe(0);
  });

  it("a stateful stream without a WarmHistories always gets the full history", async () => {
    const s = stream({ statefulHistory: true }, new PendingReplies());
    await run(s, turn1);
    expect(await run(s, turn2)).not.toHaveProperty("cachedHistory");
  });

  it("cachedCount, forgetWorker and the entry bound", () => {
    const replies = new PendingReplies();
    const a = stream({}, replies, undefined, "a").worker;
    const b = stream({}, replies, undefined, "b").worker;
    const warm = new WarmHistories(2);
    const held = [os0, es, os1, raised];
    warm.remember(a, "i", held);
    expect(warm.cachedCount(a, "i", turn2.pastEvents)).toBe(4);
    expect(warm.cachedCount(a, "i", held)).toBe(4);
    expect(warm.cachedCount(a, "i", [os0, es])).toBe(0);
    expect(warm.cachedCount(b, "i", turn2.pastEvents)).toBe(0);
    expect(warm.cachedCount(a, "other", turn2.pastEvents)).toBe(0);
    warm.remember(b, "j", held);
    warm.forgetWorker(a);
    expect(warm.cachedCount(a, "i", turn2.pastEvents)).toBe(0);
    // Another stream's entries stay.
    expect(warm.cachedCount(b, "j", held)).toBe(4);
    // At most two entries: the oldest goes first.
    warm.remember(a, "i1", held);
    warm.remember(a, "i2", held);
    warm.remember(a, "i3", held);
    expect(warm.cachedCount(a, "i1", held)).toBe(0);
    expect(warm.cachedCount(a, "i2", held)).toBe(4);
    expect(warm.cachedCount(a, "i3", held)).toBe(4);
  });
});
