/**
 * The two calls the current proto dropped and earlier SDKs still send (proto/legacy):
 * QueryInstances (the list's filters and keyset paging) and RewindInstance (a FAILED
 * instance continues from its failure point). Sent by a raw client of the 2023 proto, as
 * `@dapr/dapr` 3.18 builds them; the workflow is driven by a test worker of the current proto.
 */
import { afterEach, describe, expect, it } from "vitest";
import { call, Code, codeOf, useGrpcTest } from "./helpers.js";
import { currentClient, type CurrentClient, kindOf, rpc, WorkStream } from "./current-client.js";
import { eventually } from "../process/harness.js";

const t = useGrpcTest();
let clients: CurrentClient[] = [];
let streams: WorkStream[] = [];
afterEach(() => {
  for (const stream of streams) stream.cancel();
  for (const client of clients) client.close();
  clients = [];
  streams = [];
});

const COMPLETED = 1;
const FAILED = 3;
const PENDING = 6;
const INVALID_ARGUMENT = 3;

async function setup() {
  const wd = await t.workflowd();
  const client = currentClient(wd.grpcPort);
  clients.push(client);
  const worker = new WorkStream(client);
  streams.push(worker);
  return { wd, client, worker, legacy: t.raw(wd) };
}

const reply = (item: any, actions: object[]) => ({ instanceId: item.workflowRequest.instanceId, completionToken: item.completionToken, actions });

async function status(client: CurrentClient, instanceId: string): Promise<number> {
  return (await rpc(client, "GetInstance", { instanceId })).workflowState?.workflowStatus ?? 0;
}

describe("QueryInstances (earlier proto)", () => {
  it("lists newest first with the status, time and prefix filters, pages with its token, and fetches payloads on request", async () => {
    const { client, worker, legacy } = await setup();
    for (const id of ["q-a", "q-b", "q-c", "other"]) await rpc(client, "StartInstance", { instanceId: id, name: "wf", input: { value: `"${id}"` } });
    const turn = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(turn, [{ id: 1, completeWorkflow: { workflowStatus: COMPLETED, result: { value: '"ok"' } } }]));
    const done = turn.workflowRequest.instanceId as string;
    await eventually("one COMPLETED", async () => ((await status(client, done)) === COMPLETED ? true : "not yet"));

    const all = await call(legacy, "QueryInstances", { query: { instanceIdPrefix: { value: "q-" } } });
    expect(all.orchestrationState.map((s: any) => s.instanceId).sort()).toEqual(["q-a", "q-b", "q-c"]);
    expect(all.continuationToken).toBeUndefined();
    const first = all.orchestrationState[0];
    expect(first).toMatchObject({ name: "wf", createdTimestamp: expect.any(Object), lastUpdatedTimestamp: expect.any(Object) });
    expect(first.input).toBeUndefined();

    const pending = await call(legacy, "QueryInstances", { query: { runtimeStatus: [PENDING], maxInstanceCount: 2, fetchInputsAndOutputs: true } });
    expect(pending.orchestrationState).toHaveLength(2);
    expect(pending.orchestrationState.every((s: any) => s.orchestrationStatus === PENDING)).toBe(true);
    expect(pending.orchestrationState[0].input.value).toMatch(/^"/);
    const rest = await call(legacy, "QueryInstances", { query: { runtimeStatus: [PENDING], maxInstanceCount: 2, continuationToken: pending.continuationToken } });
    expect(rest.orchestrationState).toHaveLength(1);
    expect(rest.continuationToken).toBeUndefined();
    const ids = [...pending.orchestrationState, ...rest.orchestrationState].map((s: any) => s.instanceId);
    expect(new Set(ids).size).toBe(3);
    expect(ids).not.toContain(done);

    const completed = await call(legacy, "QueryInstances", { query: { runtimeStatus: [COMPLETED], fetchInputsAndOutputs: true } });
    expect(completed.orchestrationState).toMatchObject([{ instanceId: done, orchestrationStatus: COMPLETED, output: { value: '"ok"' } }]);
    const future = { seconds: Math.floor(Date.now() / 1000) + 3600, nanos: 0 };
    expect((await call(legacy, "QueryInstances", { query: { createdTimeFrom: future } })).orchestrationState ?? []).toEqual([]);
    expect((await call(legacy, "QueryInstances", { query: { createdTimeTo: future } })).orchestrationState).toHaveLength(4);

    expect(await codeOf(call(legacy, "QueryInstances", { query: { runtimeStatus: [42] } }))).toBe(INVALID_ARGUMENT);
    expect(await codeOf(call(legacy, "QueryInstances", { query: { maxInstanceCount: 5000 } }))).toBe(INVALID_ARGUMENT);
    expect(await codeOf(call(legacy, "QueryInstances", { query: { continuationToken: { value: "forged" } } }))).toBe(INVALID_ARGUMENT);
  });
});

describe("RewindInstance (earlier proto)", () => {
  it("a FAILED instance runs its failed activity again and completes under the same ID; refusals are FAILED_PRECONDITION and NOT_FOUND", async () => {
    const { client, worker, legacy } = await setup();
    await rpc(client, "StartInstance", { instanceId: "rw", name: "wf" });
    const turn1 = await worker.next();
    await rpc(client, "CompleteWorkflowTask", reply(turn1, [{ id: 1, scheduleTask: { name: "act", input: { value: "1" } } }]));
    const activity = await worker.next();
    await rpc(client, "CompleteActivityTask", {
      instanceId: "rw",
      taskId: 1,
      failureDetails: { errorType: "Boom", errorMessage: "down" },
      completionToken: activity.completionToken,
    });
    const turn2 = await worker.next();
    expect(turn2.workflowRequest.newEvents.map(kindOf)).toContain("taskFailed");
    expect(await codeOf(call(legacy, "RewindInstance", { instanceId: "rw" }))).toBe(Code.FAILED_PRECONDITION);
    await rpc(client, "CompleteWorkflowTask", reply(turn2, [{ id: 2, completeWorkflow: { workflowStatus: FAILED, failureDetails: { errorType: "Boom", errorMessage: "down" } } }]));
    await eventually("FAILED", async () => ((await status(client, "rw")) === FAILED ? true : "not yet"));

    expect(await call(legacy, "RewindInstance", { instanceId: "rw", reason: { value: "fixed" } })).toEqual({});
    expect(await status(client, "rw")).not.toBe(FAILED);
    const again = await worker.next();
    expect(again.activityRequest).toMatchObject({ name: "act", taskId: 1, input: { value: "1" } });
    await rpc(client, "CompleteActivityTask", { instanceId: "rw", taskId: 1, result: { value: '"ok"' }, completionToken: again.completionToken });
    const turn3 = await worker.next();
    const past = turn3.workflowRequest.pastEvents.map(kindOf);
    expect(past).toEqual(["workflowStarted", "executionStarted", "taskScheduled", "workflowStarted", "executionResumed"]);
    expect(turn3.workflowRequest.pastEvents[4].executionResumed.input.value).toBe("rewound: fixed");
    expect(turn3.workflowRequest.newEvents.map(kindOf)).toEqual(["workflowStarted", "taskCompleted"]);
    await rpc(client, "CompleteWorkflowTask", reply(turn3, [{ id: 2, completeWorkflow: { workflowStatus: COMPLETED, result: { value: '"ok"' } } }]));
    await eventually("COMPLETED", async () => ((await status(client, "rw")) === COMPLETED ? true : "not yet"));

    expect(await codeOf(call(legacy, "RewindInstance", { instanceId: "rw" }))).toBe(Code.FAILED_PRECONDITION);
    expect(await codeOf(call(legacy, "RewindInstance", { instanceId: "nope" }))).toBe(Code.NOT_FOUND);
    expect(await codeOf(call(legacy, "RewindInstance", {}))).toBe(INVALID_ARGUMENT);
  });
});
