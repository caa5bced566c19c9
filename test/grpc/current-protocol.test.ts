/**
 * The current durabletask protocol (Dapr 1.16–1.19), spoken by a test client generated from
 * the vendored proto that behaves like today's Python and Go SDKs (test/grpc/current-client.ts).
 * Each turn is scripted by hand, so every field the SDKs rely on is checked as it comes back:
 * exact Timestamps (the Python SDK's year-9999 marker timer), versions and patches (STALLED
 * and its recovery), taskExecutionId across redelivery, completion tokens, stateful-history
 * delta delivery, CompleteWorkflowTask, purge options, history and instance listing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Code, codeOf, useGrpcTest, waitWorkers } from "./helpers.js";
import { currentClient, type CurrentClient, kindOf, rpc, STATEFUL_HISTORY, ts, WorkStream } from "./current-client.js";
import { eventually } from "../process/harness.js";
import { loadHistoryEventType } from "../../src/protocol/proto.js";

const t = useGrpcTest();
let clients: CurrentClient[] = [];
let streams: WorkStream[] = [];

afterEach(() => {
  for (const stream of streams) stream.cancel();
  for (const client of clients) client.close();
  clients = [];
  streams = [];
});

async function setup(env: Record<string, string> = {}) {
  const wd = await t.workflowd(env);
  const client = currentClient(wd.grpcPort);
  clients.push(client);
  const stream = (capabilities: number[] = []) => {
    const s = new WorkStream(client, capabilities);
    streams.push(s);
    return s;
  };
  return { wd, client, stream };
}

const STALLED = 8;
const PENDING = 6;
const COMPLETED = 1;
const FAILED = 3;

/** A turn's reply, as the SDKs send it: the work item's token echoed. */
function reply(item: any, actions: object[], extra: object = {}) {
  return { instanceId: item.workflowRequest.instanceId, completionToken: item.completionToken, actions, customStatus: { value: "" }, ...extra };
}

const completeAction = (id: number, result: string) => ({ id, completeWorkflow: { workflowStatus: COMPLETED, result: { value: result } } });

async function history(client: CurrentClient, instanceId: string): Promise<any[]> {
  return (await rpc(client, "GetInstanceHistory", { instanceId })).events ?? [];
}

async function status(client: CurrentClient, instanceId: string): Promise<number> {
  const got = await rpc(client, "GetInstance", { instanceId });
  return got.workflowState?.workflowStatus ?? 0;
}

describe("exact timestamps and versions", () => {
  it("the year-9999 marker timer and a microsecond timer come back exactly; versions are kept; CompleteWorkflowTask and CompleteOrchestratorTask both complete turns", async () => {
    const { client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "marker", name: "wf", version: { value: "1.2.0" }, input: { value: "1" } });
    const worker = stream();
    const first = await worker.next();
    expect(first.completionToken).toMatch(/.+/);
    expect(first.workflowRequest.newEvents.map(kindOf)).toEqual(["workflowStarted", "executionStarted"]);
    expect(first.workflowRequest.newEvents[1].executionStarted.version).toEqual({ value: "1.2.0" });

    // wait_for_external_event without a time-out: the Python SDK's marker timer; plus a
    // timer due in 300 ms with microseconds.
    const dueMs = Date.now() + 300;
    const micro = ts(Math.floor(dueMs / 1000), (dueMs % 1000) * 1_000_000 + 123_456);
    const marker = ts(253402300799, 999999999);
    await rpc(client, "CompleteWorkflowTask", reply(first, [
      { id: 1, createTimer: { fireAt: marker, externalEvent: { name: "approve" } } },
      { id: 2, createTimer: { fireAt: micro, name: "short", createTimer: {} } },
    ]));

    const fired = await worker.next();
    const past = fired.workflowRequest.pastEvents;
    const created = past.filter((e: any) => kindOf(e) === "timerCreated");
    expect(created.map((e: any) => e.eventId)).toEqual([1, 2]);
    expect(created[0].timerCreated.fireAt).toEqual(marker);
    expect(created[0].timerCreated.externalEvent).toEqual({ name: "approve" });
    expect(created[1].timerCreated.fireAt).toEqual(micro);
    expect(created[1].timerCreated.name).toBe("short");
    expect(created[1].timerCreated.createTimer).toEqual({});
    const timerFired = fired.workflowRequest.newEvents.find((e: any) => kindOf(e) === "timerFired");
    expect(timerFired.timerFired).toEqual({ timerId: 2, fireAt: micro });
    expect(fired.workflowRequest.cachedHistory).toBeUndefined();
    await rpc(client, "CompleteOrchestratorTask", reply(fired, []));

    await rpc(client, "RaiseEvent", { instanceId: "marker", name: "approve", input: { value: "true" } });
    const approved = await worker.next();
    expect(approved.workflowRequest.newEvents.map(kindOf)).toEqual(["workflowStarted", "eventRaised"]);
    await rpc(client, "CompleteWorkflowTask", reply(approved, [completeAction(3, '"done"')]));

    await eventually("COMPLETED", async () => ((await status(client, "marker")) === COMPLETED ? true : "not yet"));
    const state = (await rpc(client, "GetInstance", { instanceId: "marker", getInputsAndOutputs: true })).workflowState;
    expect(state.version).toEqual({ value: "1.2.0" });
    expect(state.output).toEqual({ value: '"done"' });
    const stored = await history(client, "marker");
    expect(stored.find((e: any) => kindOf(e) === "timerCreated").timerCreated.fireAt).toEqual(marker);
  });

  it("patches are recorded; a worker reporting a mismatch stalls the instance (STALLED), which carries on once a compatible worker connects", async () => {
    const { client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "patched", name: "wf" });
    const v1 = stream();
    const first = await v1.next();
    await rpc(client, "CompleteWorkflowTask", reply(first, [
      { id: 1, scheduleTask: { name: "act", input: { value: "1" }, taskExecutionId: "tx-1" } },
    ], { version: { patches: ["p1"], name: "v1" } }));
    const activity = await v1.next();
    expect(activity.activityRequest.taskExecutionId).toBe("tx-1");
    expect(activity.activityRequest.workflowInstance.instanceId).toBe("patched");
    await rpc(client, "CompleteActivityTask", { instanceId: "patched", taskId: 1, result: { value: "2" }, completionToken: activity.completionToken });

    const second = await v1.next();
    const started = second.workflowRequest.pastEvents.find((e: any) => kindOf(e) === "workflowStarted" && e.workflowStarted.version);
    expect(started.workflowStarted.version).toMatchObject({ patches: ["p1"], name: "v1" });
    const completed = second.workflowRequest.newEvents.find((e: any) => kindOf(e) === "taskCompleted");
    expect(completed.taskCompleted).toMatchObject({ taskScheduledId: 1, taskExecutionId: "tx-1" });
    // This worker's code no longer applies p1: history's patches are not a prefix of its own.
    await rpc(client, "CompleteWorkflowTask", reply(second, [completeAction(2, '"wrong"')], { version: { patches: ["p2"], name: "v1" } }));

    await eventually("STALLED", async () => ((await status(client, "patched")) === STALLED ? true : "not yet"));
    const stalled = (await history(client, "patched")).at(-1);
    expect(kindOf(stalled)).toBe("executionStalled");
    // PATCH_MISMATCH is enum value 0 (omitted on the wire); daprd's description, word for word.
    expect(stalled.executionStalled.reason ?? 0).toBe(0);
    expect(stalled.executionStalled.description).toBe("Patch mismatch. History patches: [p1], current patches: [p2]. ");

    // Events wait while it is stalled; nothing is dispatched to the incompatible worker.
    await rpc(client, "RaiseEvent", { instanceId: "patched", name: "go", input: { value: "1" } });
    expect(await v1.quiet(500)).toBe(true);
    expect(await status(client, "patched")).toBe(STALLED);

    // A worker with compatible code connects: the instance runs again and finishes.
    v1.cancel();
    const v2 = stream();
    const retry = await v2.next();
    expect(retry.workflowRequest.pastEvents.at(-1).executionStalled).toBeDefined();
    // The stalled turn's events stayed queued (as in daprd) and come again, with the new one.
    expect(retry.workflowRequest.newEvents.map(kindOf)).toEqual(["workflowStarted", "taskCompleted", "eventRaised"]);
    await rpc(client, "CompleteWorkflowTask", reply(retry, [completeAction(2, '"ok"')], { version: { patches: ["p1", "p2"], name: "v1" } }));
    await eventually("COMPLETED", async () => ((await status(client, "patched")) === COMPLETED ? true : "not yet"));
    const versions = (await history(client, "patched"))
      .filter((e: any) => kindOf(e) === "workflowStarted" && e.workflowStarted.version)
      .map((e: any) => ({ patches: e.workflowStarted.version.patches, name: e.workflowStarted.version.name }));
    // Each turn records only the patches history lacked, as daprd does.
    expect(versions).toEqual([{ patches: ["p1"], name: "v1" }, { patches: ["p2"], name: "v1" }]);
  });

  it("WorkflowVersionNotAvailableAction stalls with VERSION_NOT_AVAILABLE; terminate and purge work on a stalled instance", async () => {
    const { client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "no-version", name: "wf" });
    const worker = stream();
    const first = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(first, [{ id: 1, workflowVersionNotAvailable: {} }]));
    await eventually("STALLED", async () => ((await status(client, "no-version")) === STALLED ? true : "not yet"));
    const stalled = (await history(client, "no-version")).at(-1).executionStalled;
    expect(stalled).toMatchObject({ reason: 1, description: "Version not available: " });
    expect(await codeOf(rpc(client, "PurgeInstances", { instanceId: "no-version" }))).toBe(Code.FAILED_PRECONDITION);
    await rpc(client, "TerminateInstance", { instanceId: "no-version", output: { value: '"stop"' } });
    expect(await status(client, "no-version")).toBe(5);
    expect((await rpc(client, "PurgeInstances", { instanceId: "no-version" })).deletedInstanceCount).toBe(1);
  });
});

describe("dispatch: redelivery, completion tokens, stateful history", () => {
  it("an activity keeps its taskExecutionId when redelivered to another stream; a reply with the old dispatch's token is dropped", async () => {
    const { wd, client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "redeliver", name: "wf" });
    const a = stream();
    const turn = await a.next();
    await rpc(client, "CompleteWorkflowTask", reply(turn, [{ id: 1, scheduleTask: { name: "act", taskExecutionId: "tx-r" } }]));
    const first = await a.next();
    expect(first.activityRequest.taskExecutionId).toBe("tx-r");
    a.cancel();
    await waitWorkers(wd.server, (n) => n === 0, "to be 0");
    const b = stream();
    const again = await b.next();
    expect(again.activityRequest.taskExecutionId).toBe("tx-r");
    expect(again.activityRequest.taskId).toBe(1);
    expect(again.completionToken).not.toBe(first.completionToken);

    // The first dispatch's reply arrives late: dropped, the outstanding dispatch still awaited.
    await rpc(client, "CompleteActivityTask", { instanceId: "redeliver", taskId: 1, result: { value: '"stale"' }, completionToken: first.completionToken });
    expect(await b.quiet(300)).toBe(true);
    expect((await history(client, "redeliver")).some((e: any) => kindOf(e) === "taskCompleted")).toBe(false);
    await rpc(client, "CompleteActivityTask", { instanceId: "redeliver", taskId: 1, result: { value: '"fresh"' }, completionToken: again.completionToken });
    const next = await b.next();
    const completed = next.workflowRequest.newEvents.find((e: any) => kindOf(e) === "taskCompleted").taskCompleted;
    expect(completed).toEqual({ taskScheduledId: 1, result: { value: '"fresh"' }, taskExecutionId: "tx-r" });
    // A reply with nothing outstanding is refused.
    expect(await codeOf(rpc(client, "CompleteActivityTask", { instanceId: "redeliver", taskId: 1, result: { value: "1" } }))).toBe(Code.NOT_FOUND);
  });

  it("a stateful stream gets only the events it lacks (cachedHistory.eventCount + pastEvents = the committed history); a cache miss is recovered with GetInstanceHistory", async () => {
    const { client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "delta", name: "wf" });
    const worker = stream([STATEFUL_HISTORY]);
    const runActivity = async (taskId: number) => {
      const item = await worker.next();
      expect(item.activityRequest.taskId).toBe(taskId);
      await rpc(client, "CompleteActivityTask", { instanceId: "delta", taskId, result: { value: String(taskId) }, completionToken: item.completionToken });
    };
    const t1 = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(t1, [{ id: 1, scheduleTask: { name: "a" } }]));
    await runActivity(1);
    const t2 = await worker.next();
    expect(t2.workflowRequest.cachedHistory).toBeUndefined();
    const t2Past = t2.workflowRequest.pastEvents;
    expect(t2Past.length).toBeGreaterThan(0);
    await rpc(client, "CompleteWorkflowTask", reply(t2, [{ id: 2, scheduleTask: { name: "a" } }]));
    await runActivity(2);

    const t3 = await worker.next();
    const cached = t3.workflowRequest.cachedHistory?.eventCount;
    expect(cached).toBe(t2Past.length);
    const committed = await history(client, "delta");
    expect(cached + t3.workflowRequest.pastEvents.length).toBe(committed.length);
    expect(t3.workflowRequest.pastEvents).toEqual(committed.slice(cached));
    // The SDK lost its cache (a restart of its process, say): GetInstanceHistory gives the
    // committed history, whose prefix is what the stream was sent before.
    expect(committed.slice(0, cached)).toEqual(t2Past);
    await rpc(client, "CompleteWorkflowTask", reply(t3, [completeAction(3, '"ok"')]));
    await eventually("COMPLETED", async () => ((await status(client, "delta")) === COMPLETED ? true : "not yet"));
  });
});

describe("client calls of the current protocol", () => {
  async function finishedParentAndChild(client: CurrentClient, worker: WorkStream, parent: string) {
    await rpc(client, "StartInstance", { instanceId: parent, name: "parent" });
    const p1 = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(p1, [{ id: 1, createChildWorkflow: { name: "child", instanceId: `${parent}-child`, version: { value: "2" } } }]));
    const c1 = await worker.next();
    const childStart = c1.workflowRequest.newEvents[1].executionStarted;
    expect(childStart.parentInstance).toMatchObject({ taskScheduledId: 1, name: { value: "parent" }, workflowInstance: { instanceId: parent } });
    expect(childStart.version).toEqual({ value: "2" });
    await rpc(client, "CompleteWorkflowTask", reply(c1, [completeAction(1, "1")]));
    const p2 = await worker.next();
    expect(p2.workflowRequest.newEvents.map(kindOf)).toContain("childWorkflowInstanceCompleted");
    await rpc(client, "CompleteWorkflowTask", reply(p2, [completeAction(2, "2")]));
    await eventually("both COMPLETED", async () => ((await status(client, parent)) === COMPLETED ? true : "not yet"));
  }

  it("PurgeInstances honours recursive and force, and purges by filter", async () => {
    const { client, stream } = await setup();
    const worker = stream();
    await finishedParentAndChild(client, worker, "solo");
    expect((await rpc(client, "PurgeInstances", { instanceId: "solo", recursive: false })).deletedInstanceCount).toBe(1);
    expect((await rpc(client, "GetInstance", { instanceId: "solo-child" })).exists).toBe(true);

    await finishedParentAndChild(client, worker, "tree");
    const tree = await rpc(client, "PurgeInstances", { instanceId: "tree", recursive: true });
    expect(tree).toEqual({ deletedInstanceCount: 2, isComplete: { value: true } });
    expect((await rpc(client, "GetInstance", { instanceId: "tree-child" })).exists ?? false).toBe(false);

    await rpc(client, "StartInstance", { instanceId: "busy", name: "wf" });
    await worker.next(); // its first turn is dispatched and never answered: not finished
    expect(await codeOf(rpc(client, "PurgeInstances", { instanceId: "busy" }))).toBe(Code.FAILED_PRECONDITION);
    expect((await rpc(client, "PurgeInstances", { instanceId: "busy", force: true })).deletedInstanceCount).toBe(1);
    expect((await rpc(client, "GetInstance", { instanceId: "busy" })).exists ?? false).toBe(false);

    const byFilter = await rpc(client, "PurgeInstances", { purgeInstanceFilter: { runtimeStatus: [COMPLETED] } });
    expect(byFilter).toEqual({ deletedInstanceCount: 1, isComplete: { value: true } });
    expect((await rpc(client, "GetInstance", { instanceId: "solo-child" })).exists ?? false).toBe(false);
    expect(await codeOf(rpc(client, "PurgeInstances", { purgeInstanceFilter: { runtimeStatus: [42] } }))).toBe(3);
  });

  it("ListInstanceIDs pages in creation order; GetInstanceHistory of an unknown instance is NOT_FOUND", async () => {
    const { client } = await setup();
    for (const id of ["l1", "l2", "l3", "l4", "l5"]) await rpc(client, "StartInstance", { instanceId: id, name: "wf" });
    const first = await rpc(client, "ListInstanceIDs", { pageSize: 2 });
    expect(first.instanceIds).toEqual(["l1", "l2"]);
    const second = await rpc(client, "ListInstanceIDs", { pageSize: 2, continuationToken: first.continuationToken });
    expect(second.instanceIds).toEqual(["l3", "l4"]);
    const last = await rpc(client, "ListInstanceIDs", { pageSize: 2, continuationToken: second.continuationToken });
    expect(last.instanceIds).toEqual(["l5"]);
    expect(last.continuationToken).toBeUndefined();
    expect((await rpc(client, "ListInstanceIDs", {})).instanceIds).toHaveLength(5);
    expect(await codeOf(rpc(client, "ListInstanceIDs", { continuationToken: "not-ours" }))).toBe(3);
    expect(await codeOf(rpc(client, "GetInstanceHistory", { instanceId: "nope" }))).toBe(Code.NOT_FOUND);
  });

  it("a carried-over event workflowd cannot read (no event type) fails the workflow visibly (never silently dropped)", async () => {
    const { client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "carry", name: "wf" });
    const worker = stream();
    const first = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(first, [{
      id: 1,
      completeWorkflow: {
        workflowStatus: 2,
        result: { value: "2" },
        carryoverEvents: [{ eventId: 6, timestamp: ts(1) }],
      },
    }]));
    await eventually("FAILED", async () => ((await status(client, "carry")) === FAILED ? true : "not yet"));
    const failure = (await rpc(client, "GetInstance", { instanceId: "carry" })).workflowState.failureDetails;
    expect(failure.errorType).toBe("WorkerProtocolError");
    expect(failure.errorMessage).toContain("history event 6 has no event type");
  });

  it("RerunWorkflowFromEvent runs a finished instance again from an activity, as a new instance with a new input; daprd's errors", async () => {
    const { client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "src", name: "wf", input: { value: "1" } });
    const worker = stream();
    const t1 = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(t1, [{ id: 1, scheduleTask: { name: "act", input: { value: "1" } } }]));
    const a1 = await worker.next();
    await rpc(client, "CompleteActivityTask", { instanceId: "src", taskId: 1, result: { value: "10" }, completionToken: a1.completionToken });
    const t2 = await worker.next();
    expect(await codeOf(rpc(client, "RerunWorkflowFromEvent", { sourceInstanceID: "src", eventID: 1 }))).toBe(3); // still running
    await rpc(client, "CompleteWorkflowTask", reply(t2, [completeAction(2, "10")]));
    await eventually("COMPLETED", async () => ((await status(client, "src")) === COMPLETED ? true : "not yet"));

    const rerun = await rpc(client, "RerunWorkflowFromEvent", {
      sourceInstanceID: "src", eventID: 1, newInstanceID: "src-again", input: { value: "9" }, overwriteInput: true,
    });
    expect(rerun).toEqual({ newInstanceID: "src-again" });
    const again = await worker.next();
    expect(again.activityRequest).toMatchObject({ name: "act", taskId: 1, input: { value: "9" }, workflowInstance: { instanceId: "src-again" } });
    await rpc(client, "CompleteActivityTask", { instanceId: "src-again", taskId: 1, result: { value: "90" }, completionToken: again.completionToken });
    const turn = await worker.next();
    expect(turn.workflowRequest.instanceId).toBe("src-again");
    const scheduled = turn.workflowRequest.pastEvents.find((e: any) => kindOf(e) === "taskScheduled").taskScheduled;
    expect(scheduled).toMatchObject({ name: "act", input: { value: "9" }, rerunParentInstanceInfo: { instanceID: "src" } });
    expect(turn.workflowRequest.newEvents.find((e: any) => kindOf(e) === "taskCompleted").taskCompleted.result).toEqual({ value: "90" });
    await rpc(client, "CompleteWorkflowTask", reply(turn, [completeAction(2, "90")]));
    await eventually("the rerun COMPLETED", async () => ((await status(client, "src-again")) === COMPLETED ? true : "not yet"));
    expect((await rpc(client, "GetInstance", { instanceId: "src", getInputsAndOutputs: true })).workflowState.output).toEqual({ value: "10" });

    expect(await codeOf(rpc(client, "RerunWorkflowFromEvent", { sourceInstanceID: "src", eventID: 1, newInstanceID: "src" }))).toBe(3);
    expect(await codeOf(rpc(client, "RerunWorkflowFromEvent", { sourceInstanceID: "src", eventID: 1, newInstanceID: "src-again" }))).toBe(Code.ALREADY_EXISTS);
    expect(await codeOf(rpc(client, "RerunWorkflowFromEvent", { sourceInstanceID: "nope", eventID: 1 }))).toBe(Code.NOT_FOUND);
    expect(await codeOf(rpc(client, "RerunWorkflowFromEvent", { sourceInstanceID: "src", eventID: 42 }))).toBe(Code.NOT_FOUND);
    expect(await codeOf(rpc(client, "RerunWorkflowFromEvent", { sourceInstanceID: "src", eventID: 2 }))).toBe(Code.NOT_FOUND); // the completion
    expect(await codeOf(rpc(client, "RerunWorkflowFromEvent", { eventID: 1 }))).toBe(3);
  });

  it("CreateDetachedWorkflowAction starts a top-level instance that outlives its creator; a taken ID is dropped as daprd does; no ID fails the turn", async () => {
    const { client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "spawner", name: "wf" });
    await rpc(client, "StartInstance", { instanceId: "taken", name: "wf", input: { value: "0" } });
    const worker = stream();
    const items = [await worker.next(), await worker.next()];
    const spawner = items.find((i) => i.workflowRequest.instanceId === "spawner");
    const taken = items.find((i) => i.workflowRequest.instanceId === "taken");
    await rpc(client, "CompleteWorkflowTask", reply(taken, []));
    await rpc(client, "CompleteWorkflowTask", reply(spawner, [
      { id: 1, createDetachedWorkflow: { instanceId: "spawned", name: "other", input: { value: "5" }, version: { value: "3" } } },
      { id: 2, createDetachedWorkflow: { instanceId: "taken", name: "other", input: { value: "6" } } },
      completeAction(3, '"spawned"'),
    ]));
    const spawned = await worker.next();
    expect(spawned.workflowRequest.instanceId).toBe("spawned");
    const start = spawned.workflowRequest.newEvents[1].executionStarted;
    expect(start).toMatchObject({ name: "other", input: { value: "5" }, version: { value: "3" } });
    expect(start.parentInstance).toBeUndefined();
    expect(await status(client, "spawner")).toBe(COMPLETED);
    const created = (await history(client, "spawner")).filter((e: any) => kindOf(e) === "detachedWorkflowInstanceCreated");
    expect(created.map((e: any) => [e.eventId, e.detachedWorkflowInstanceCreated.instanceId])).toEqual([[1, "spawned"], [2, "taken"]]);
    // The taken ID's instance is left as it was.
    expect((await rpc(client, "GetInstance", { instanceId: "taken", getInputsAndOutputs: true })).workflowState.input).toEqual({ value: "0" });

    await rpc(client, "StartInstance", { instanceId: "no-id", name: "wf" });
    const noId = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(noId, [{ id: 1, createDetachedWorkflow: { name: "other" } }]));
    await eventually("FAILED", async () => ((await status(client, "no-id")) === FAILED ? true : "not yet"));
    const failure = (await rpc(client, "GetInstance", { instanceId: "no-id" })).workflowState.failureDetails;
    expect(failure.errorMessage).toContain("CreateDetachedWorkflowAction requires an instance ID");
  });

  it("history propagation: an activity gets its workflow's own history, a child the lineage, as raw HistoryEvent bytes, on every turn", async () => {
    const { client, stream } = await setup();
    await rpc(client, "StartInstance", { instanceId: "prop", name: "wf", input: { value: "1" } });
    const worker = stream();
    const t1 = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(t1, [
      { id: 1, scheduleTask: { name: "act", historyPropagationScope: 1 } },
      { id: 2, createChildWorkflow: { name: "child", instanceId: "prop-child", historyPropagationScope: 2 } },
    ]));
    const items = [await worker.next(), await worker.next()];
    const activity = items.find((i) => i.activityRequest)!.activityRequest;
    const childItem = items.find((i) => i.workflowRequest)!;
    const child = childItem.workflowRequest;

    expect(activity.propagatedHistory.scope).toBe(1);
    expect(activity.propagatedHistory.chunks.map((c: any) => [c.instanceId, c.workflowName])).toEqual([["prop", "wf"]]);
    // Up to and including the action's own event.
    expect(decodeRaw(activity.propagatedHistory.chunks[0]).map(kindOf)).toEqual(["workflowStarted", "executionStarted", "taskScheduled"]);

    expect(child.instanceId).toBe("prop-child");
    expect(child.propagatedHistory.scope).toBe(2);
    const parentChunk = decodeRaw(child.propagatedHistory.chunks[0]);
    expect(parentChunk.map(kindOf)).toEqual(["workflowStarted", "executionStarted", "taskScheduled", "childWorkflowInstanceCreated"]);
    expect(parentChunk[1].executionStarted.input).toEqual({ value: "1" });

    // The child passes the lineage on: its parent's chunk, then its own.
    await rpc(client, "CompleteWorkflowTask", reply(childItem, [{ id: 1, scheduleTask: { name: "act", historyPropagationScope: 2 } }]));
    const grand = (await worker.next()).activityRequest;
    expect(grand.workflowInstance.instanceId).toBe("prop-child");
    expect(grand.propagatedHistory.chunks.map((c: any) => c.instanceId)).toEqual(["prop", "prop-child"]);
    expect(decodeRaw(grand.propagatedHistory.chunks[1]).map(kindOf)).toEqual(["workflowStarted", "executionStarted", "taskScheduled"]);
    await rpc(client, "CompleteActivityTask", { instanceId: "prop-child", taskId: 1, result: { value: "1" } });
    // Every later turn of the child carries what it received.
    const next = (await worker.next()).workflowRequest;
    expect(next.instanceId).toBe("prop-child");
    expect(next.propagatedHistory.chunks.map((c: any) => c.instanceId)).toEqual(["prop"]);
  });
});

describe("multi-app workflows (Dapr 1.16 TaskRouter)", () => {
  it("a start names this app as its source; an activity or child routed to another app is recorded with its router and left for that app, the rest run here", async () => {
    const { client, stream } = await setup({ APP_ID: "orders" });
    await rpc(client, "StartInstance", { instanceId: "ma", name: "wf" });
    const worker = stream();
    const t1 = await worker.next();
    // The SDKs learn their app ID from the start (python-sdk reads router.targetAppID, else sourceAppID).
    expect(t1.workflowRequest.newEvents.find((e: any) => e.executionStarted).router).toMatchObject({ sourceAppID: "orders" });
    const elsewhere = { sourceAppID: "orders", targetAppID: "shipping" };
    await rpc(client, "CompleteWorkflowTask", reply(t1, [
      { id: 1, scheduleTask: { name: "local" }, router: { sourceAppID: "orders" } },
      { id: 2, scheduleTask: { name: "remote" }, router: elsewhere },
      { id: 3, createChildWorkflow: { name: "child", instanceId: "ma-child" }, router: elsewhere },
    ]));
    const local = await worker.next();
    expect(local.activityRequest).toMatchObject({ name: "local", taskId: 1 });
    // Shipping has no replica here: its activity and child wait (they are not failed).
    expect(await worker.quiet(1_500)).toBe(true);
    const events = await history(client, "ma");
    const scheduled = events.filter((e: any) => kindOf(e) === "taskScheduled");
    // (toMatchObject: the test client's loader adds a virtual `_targetAppID` to decoded routers.)
    expect(scheduled.map((e: any) => [e.eventId, e.router])).toMatchObject([[1, { sourceAppID: "orders" }], [2, elsewhere]]);
    expect(scheduled[0].router.targetAppID).toBeUndefined();
    expect(events.find((e: any) => kindOf(e) === "childWorkflowInstanceCreated").router).toMatchObject(elsewhere);
    const child = await rpc(client, "GetInstance", { instanceId: "ma-child" });
    expect(child.workflowState.workflowStatus).toBe(PENDING);
    expect(await history(client, "ma-child")).toEqual([]); // no turn ran: its start waits in its inbox
    await rpc(client, "CompleteActivityTask", { instanceId: "ma", taskId: 1, result: { value: "1" }, completionToken: local.completionToken });
    expect(await status(client, "ma")).toBe(0); // RUNNING: waiting for shipping
  });
});

const historyEventType = loadHistoryEventType();
/** A propagated chunk's raw events, decoded with the vendored proto (bytes arrive base64 with the loader's options). */
function decodeRaw(chunk: { rawEvents: string[] }): any[] {
  return chunk.rawEvents.map((raw) => {
    const message = historyEventType.decode(Buffer.from(raw, "base64"));
    return historyEventType.toObject(message, { longs: Number, oneofs: true });
  });
}
