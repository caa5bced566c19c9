/**
 * The durabletask protocol spoken directly with @grpc/grpc-js and the SDK's own .proto
 * (no SDK in between): the test acts as the worker where it needs to, and checks status
 * codes the SDK would hide. Also the API token on both transports, and /v1.0/metadata's
 * connected-worker count.
 */
import { describe, expect, it } from "vitest";
import { eventually, outputOf } from "../process/harness.js";
import { call, Code, codeOf, connectedWorkers, RawWorkItems, SdkStatus, sleep, useGrpcTest, waitWorkers, withToken } from "./helpers.js";
// @ts-expect-error -- a plain .mjs module shared with the fixture app (no declarations)
import { chainResult, sdkChain } from "../fixtures/sdk-workflows.mjs";

const t = useGrpcTest();

/** Seconds+nanos → ms. */
const ms = (ts: { seconds?: number; nanos?: number } | undefined) => (ts ? (ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6) : NaN);

describe("raw gRPC: status codes", () => {
  it("methods of the entity and task-hub kind answer UNIMPLEMENTED (QueryInstances and RewindInstance are served: legacy-calls.test.ts)", async () => {
    const wd = await t.workflowd();
    const raw = t.raw(wd);
    expect(await codeOf(call(raw, "CreateTaskHub", {}))).toBe(Code.UNIMPLEMENTED);
    expect(await codeOf(call(raw, "SignalEntity", {}))).toBe(Code.UNIMPLEMENTED);
    expect((await call(raw, "QueryInstances", {})).orchestrationState ?? []).toEqual([]);
    expect(await codeOf(call(raw, "RewindInstance", { instanceId: "x" }))).toBe(Code.NOT_FOUND);
  });

  it("StartInstance with an input above WORKFLOWD_GRPC_MAX_MESSAGE (1Ki) fails with RESOURCE_EXHAUSTED and creates nothing", async () => {
    const wd = await t.workflowd({ WORKFLOWD_GRPC_MAX_MESSAGE: "1Ki" });
    const raw = t.raw(wd);
    const input = JSON.stringify("x".repeat(2_000));
    expect(await codeOf(call(raw, "StartInstance", { instanceId: "too-big", name: "sdkChain", input: { value: input } }))).toBe(
      Code.RESOURCE_EXHAUSTED,
    );
    expect(await wd.server.get("too-big")).toBeUndefined();
    expect((await call(raw, "GetInstance", { instanceId: "too-big" })).exists ?? false).toBe(false);

    // A small one still goes through (PENDING: no worker is connected).
    const small = await call(raw, "StartInstance", { instanceId: "small", name: "sdkChain", input: { value: '{"seed":1}' } });
    expect(small.instanceId).toBe("small");
    expect((await wd.server.get("small"))?.runtimeStatus).toBe("PENDING");
  });

  it("CompleteOrchestratorTask / CompleteActivityTask with nothing awaiting them answer NOT_FOUND and change nothing", async () => {
    const wd = await t.workflowd();
    const raw = t.raw(wd);
    await call(raw, "StartInstance", { instanceId: "waiting", name: "nobodyServesThis", input: { value: "1" } });
    const complete = { instanceId: "waiting", actions: [{ id: 1, completeOrchestration: { orchestrationStatus: 1, result: { value: '"forged"' } } }] };
    expect(await codeOf(call(raw, "CompleteOrchestratorTask", complete))).toBe(Code.NOT_FOUND);
    expect(await codeOf(call(raw, "CompleteOrchestratorTask", { ...complete, instanceId: "unknown" }))).toBe(Code.NOT_FOUND);
    expect(await codeOf(call(raw, "CompleteActivityTask", { instanceId: "waiting", taskId: 1, result: { value: "1" } }))).toBe(Code.NOT_FOUND);

    const state = await wd.server.get("waiting");
    expect(state?.runtimeStatus).toBe("PENDING");
    expect(state?.properties?.["dapr.workflow.output"]).toBeUndefined();
  });
});

// These tests act as a worker with one long-lived stream each, so the server's reconnect
// priming (ending each connection's first stream, for the Node SDK) is off here and tested
// on its own below.
const noPriming = { WORKFLOWD_GRPC_PRIME_RECONNECT: "false" };

describe("raw gRPC: acting as the worker", () => {
  it("work items carry sane histories; scheduleTask → activity item → completeOrchestration gives COMPLETED with the output", async () => {
    const wd = await t.workflowd(noPriming);
    const raw = t.raw(wd);

    // Started while no worker is connected: it waits, PENDING.
    const started = await call(raw, "StartInstance", { instanceId: "manual", name: "manualWorkflow", input: { value: '"hi"' } });
    expect(started.instanceId).toBe("manual");
    await sleep(300);
    expect((await wd.server.get("manual"))?.runtimeStatus).toBe("PENDING");

    // The test connects as the worker and gets the turn, stamped with the current time.
    const before = Date.now();
    const items = new RawWorkItems(raw);
    // Turn 1: no past events; new events start with orchestratorStarted (now), then executionStarted.
    const first = await items.item(1);
    expect(first.request).toBe("orchestratorRequest");
    const turn1 = first.orchestratorRequest;
    expect(turn1.instanceId).toBe("manual");
    expect(turn1.pastEvents ?? []).toEqual([]);
    expect(turn1.newEvents.length).toBeGreaterThanOrEqual(2);
    expect(turn1.newEvents[0].eventType).toBe("orchestratorStarted");
    expect(ms(turn1.newEvents[0].timestamp)).toBeGreaterThanOrEqual(before - 50);
    expect(ms(turn1.newEvents[0].timestamp)).toBeLessThanOrEqual(Date.now() + 50);
    const executionStarted = turn1.newEvents.find((e: any) => e.eventType === "executionStarted");
    expect(executionStarted?.executionStarted?.name).toBe("manualWorkflow");
    expect(executionStarted?.executionStarted?.input?.value).toBe('"hi"');
    expect(executionStarted?.executionStarted?.orchestrationInstance?.instanceId).toBe("manual");
    for (const event of turn1.newEvents) expect(event.eventId ?? 0).toBeGreaterThanOrEqual(-1);

    // Reply: schedule one activity (action ID 1).
    await call(raw, "CompleteOrchestratorTask", {
      instanceId: "manual",
      actions: [{ id: 1, scheduleTask: { name: "manualActivity", input: { value: "21" } } }],
      customStatus: { value: "scheduled" },
    });

    const second = await items.item(2);
    expect(second.request).toBe("activityRequest");
    const activity = second.activityRequest;
    expect(activity.name).toBe("manualActivity");
    expect(activity.taskId).toBe(1);
    expect(activity.input?.value).toBe("21");
    expect(activity.orchestrationInstance?.instanceId).toBe("manual");
    const running = await wd.server.get("manual");
    expect(running?.runtimeStatus).toBe("RUNNING");
    expect(running?.properties?.["dapr.workflow.custom_status"]).toBe("scheduled");

    await call(raw, "CompleteActivityTask", { instanceId: "manual", taskId: 1, result: { value: "42" } });

    // Turn 2: the past holds taskScheduled with event ID 1 (= the action ID); the new events
    // start with orchestratorStarted and carry taskCompleted pointing at it.
    const third = await items.item(3);
    expect(third.request).toBe("orchestratorRequest");
    const turn2 = third.orchestratorRequest;
    expect(turn2.instanceId).toBe("manual");
    expect(turn2.executionId?.value).toBe(turn1.executionId?.value);
    const pastTypes = turn2.pastEvents.map((e: any) => e.eventType);
    expect(pastTypes).toContain("executionStarted");
    const scheduled = turn2.pastEvents.filter((e: any) => e.eventType === "taskScheduled");
    expect(scheduled).toHaveLength(1);
    expect(scheduled[0].eventId).toBe(1);
    expect(scheduled[0].taskScheduled.name).toBe("manualActivity");
    expect(turn2.newEvents[0].eventType).toBe("orchestratorStarted");
    const completed = turn2.newEvents.filter((e: any) => e.eventType === "taskCompleted");
    expect(completed).toHaveLength(1);
    expect(completed[0].taskCompleted.taskScheduledId).toBe(1);
    expect(completed[0].taskCompleted.result?.value).toBe("42");
    for (const event of [...turn2.pastEvents, ...turn2.newEvents]) expect(event.eventId ?? 0).toBeGreaterThanOrEqual(-1);

    // Reply: complete with "done".
    await call(raw, "CompleteOrchestratorTask", {
      instanceId: "manual",
      actions: [{ id: 2, completeOrchestration: { orchestrationStatus: 1, result: { value: '"done"' } } }],
    });
    const done = await wd.server.waitTerminal("manual");
    expect(done.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(done)).toBe("done");
    const viaGrpc = await call(raw, "GetInstance", { instanceId: "manual", getInputsAndOutputs: true });
    expect(viaGrpc.exists).toBe(true);
    expect(viaGrpc.orchestrationState.orchestrationStatus).toBe(SdkStatus.COMPLETED);
    expect(viaGrpc.orchestrationState.output?.value).toBe('"done"');

    // A duplicate reply for the finished turn is refused and changes nothing.
    const duplicate = {
      instanceId: "manual",
      actions: [{ id: 2, completeOrchestration: { orchestrationStatus: 3, failureDetails: { errorType: "Late", errorMessage: "late" } } }],
    };
    expect(await codeOf(call(raw, "CompleteOrchestratorTask", duplicate))).toBe(Code.NOT_FOUND);
    expect(await codeOf(call(raw, "CompleteActivityTask", { instanceId: "manual", taskId: 1, result: { value: "43" } }))).toBe(Code.NOT_FOUND);
    const after = await wd.server.get("manual");
    expect(after?.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(after)).toBe("done");
    // Nothing more was dispatched.
    expect(items.items).toHaveLength(3);
  });

  it("a work item received and never answered is dispatched again to a new stream once its stream closes", async () => {
    const wd = await t.workflowd(noPriming);
    const raw = t.raw(wd);
    const first = new RawWorkItems(raw);
    await waitWorkers(wd.server, (n) => n === 1, "to be 1");
    await call(raw, "StartInstance", { instanceId: "orphan", name: "manualWorkflow", input: { value: "7" } });
    const lost = (await first.item(1)).orchestratorRequest;
    expect(lost.instanceId).toBe("orphan");

    // The "app" goes away without answering.
    first.cancel();
    await waitWorkers(wd.server, (n) => n === 0, "to drop to 0");
    expect((await wd.server.get("orphan"))?.runtimeStatus).toBe("PENDING");

    // A new connection gets the same turn again.
    const second = new RawWorkItems(raw);
    const again = (await second.item(1)).orchestratorRequest;
    expect(again.instanceId).toBe("orphan");
    expect(again.newEvents[0].eventType).toBe("orchestratorStarted");
    expect(again.newEvents.find((e: any) => e.eventType === "executionStarted")?.executionStarted?.input?.value).toBe("7");

    await call(raw, "CompleteOrchestratorTask", {
      instanceId: "orphan",
      actions: [{ id: 1, completeOrchestration: { orchestrationStatus: 1, result: { value: '"done"' } } }],
    });
    const done = await wd.server.waitTerminal("orphan");
    expect(done.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(done)).toBe("done");
    expect(first.items).toHaveLength(1);
    expect(second.items).toHaveLength(1);
  });
});

describe("reconnect priming (the Node SDK only retries after a stream that ended cleanly)", () => {
  const nodeSdk = { "grpc.primary_user_agent": "dapr-js-sdk/workflow" };

  it("the @dapr/dapr SDK's first stream serves work at once and is ended cleanly once idle; the next one stays open", async () => {
    const wd = await t.workflowd();
    const raw = t.raw(wd, nodeSdk);
    const first = new RawWorkItems(raw);
    await waitWorkers(wd.server, (n) => n === 1, "to be 1 with the first stream");
    // Not delayed: a workflow started now is dispatched on the first stream.
    await wd.server.start("anything", "primed-1", 1);
    const item = await first.item(1, 2_000);
    expect(item.orchestratorRequest.instanceId).toBe("primed-1");
    // Busy: the item is unanswered, so the stream stays open.
    await sleep(800);
    expect(first.ended).toBe(false);
    await call(raw, "CompleteOrchestratorTask", { instanceId: "primed-1", actions: [], customStatus: { value: "" } });
    // Idle now: ended cleanly (no error) within the idle time and a check.
    await eventually("the first stream to end", () => first.ended || (first.error ? `failed: ${first.error.message}` : "still open"), 3_000);
    expect(first.error).toBeUndefined();
    const second = new RawWorkItems(raw);
    await waitWorkers(wd.server, (n) => n === 1, "to be 1 with the second stream");
    await sleep(1_000);
    expect(second.ended).toBe(false);
    expect(second.error).toBeUndefined();
  });

  it("no other SDK's stream is ever ended (@dapr/durabletask-js sleeps 5 s after a stream ends)", async () => {
    const wd = await t.workflowd();
    const python = new RawWorkItems(t.raw(wd, { "grpc.primary_user_agent": "grpc-python/1.66" }));
    const durabletaskJs = new RawWorkItems(t.raw(wd, { "grpc.primary_user_agent": "durabletask-js" }));
    await waitWorkers(wd.server, (n) => n === 2, "to be 2");
    await sleep(1_500);
    expect(python.ended).toBe(false);
    expect(durabletaskJs.ended).toBe(false);
  });

  it("with WORKFLOWD_GRPC_PRIME_RECONNECT=false the Node SDK's first stream stays open", async () => {
    const wd = await t.workflowd(noPriming);
    const first = new RawWorkItems(t.raw(wd, nodeSdk));
    await waitWorkers(wd.server, (n) => n === 1, "to be 1");
    await sleep(1_500);
    expect(first.ended).toBe(false);
  });
});

describe("API token (DAPR_API_TOKEN)", () => {
  const token = "s3cret-token";

  it("HTTP: without the token 401, with it the API works", async () => {
    const wd = await t.workflowd({ DAPR_API_TOKEN: token });
    const base = wd.server.baseUrl;
    const start = `${base}/v1.0/workflows/dapr/sdkChain/start?instanceID=tok-http`;
    const body = JSON.stringify({ seed: 1 });
    const json = { "content-type": "application/json" };

    expect((await fetch(start, { method: "POST", headers: json, body })).status).toBe(401);
    expect((await fetch(`${base}/v1.0/metadata`)).status).toBe(401);
    expect((await fetch(`${base}/v1.0/workflows/dapr/tok-http`, { headers: { "dapr-api-token": "wrong" } })).status).toBe(401);

    expect((await fetch(start, { method: "POST", headers: { ...json, "dapr-api-token": token }, body })).status).toBe(202);
    const got = await fetch(`${base}/v1.0/workflows/dapr/tok-http`, { headers: { "dapr-api-token": token } });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { runtimeStatus: string }).runtimeStatus).toBe("PENDING");
    expect(await connectedWorkers(wd.server, token)).toBe(0);
  });

  it("gRPC: the SDK runtime and client with daprApiToken work; without it (or with a wrong one) calls fail with UNAUTHENTICATED", async () => {
    const wd = await t.workflowd({ DAPR_API_TOKEN: token });
    await t.runtime(wd, token);
    const client = t.client(wd, token);
    const id = await client.scheduleNewWorkflow(sdkChain, { seed: 4, steps: 3 }, "tok-grpc");
    const done = await client.waitForWorkflowCompletion(id, true, 15);
    expect(done?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(JSON.parse(done!.serializedOutput!)).toBe(chainResult(4, 3));

    const anonymous = t.client(wd);
    expect(await codeOf(anonymous.scheduleNewWorkflow(sdkChain, { seed: 1 }, "tok-anon"))).toBe(Code.UNAUTHENTICATED);
    expect(await codeOf(anonymous.getWorkflowState("tok-grpc", true))).toBe(Code.UNAUTHENTICATED);
    expect(await codeOf(t.client(wd, "wrong-token").getWorkflowState("tok-grpc", true))).toBe(Code.UNAUTHENTICATED);

    const raw = t.raw(wd);
    expect(await codeOf(call(raw, "GetInstance", { instanceId: "tok-grpc" }))).toBe(Code.UNAUTHENTICATED);
    expect(await codeOf(call(raw, "Hello", {}))).toBe(Code.UNAUTHENTICATED);
    expect((await call(raw, "GetInstance", { instanceId: "tok-grpc" }, withToken(token))).exists).toBe(true);
    const stream = new RawWorkItems(raw);
    expect((await stream.failure()).code).toBe(Code.UNAUTHENTICATED);
    expect(stream.items).toHaveLength(0);

    // Nothing unauthenticated got in.
    const anon = await fetch(`${wd.server.baseUrl}/v1.0/workflows/dapr/tok-anon`, { headers: { "dapr-api-token": token } });
    expect(anon.status).toBe(404);
    // Only the SDK runtime's stream counts as a worker.
    expect(await connectedWorkers(wd.server, token)).toBe(1);
  });
});

describe("/v1.0/metadata", () => {
  it("reports workflows.connectedWorkers ≥ 1 while an SDK runtime is connected and 0 after it stops", async () => {
    const wd = await t.workflowd();
    expect(await connectedWorkers(wd.server)).toBe(0);
    const runtime = await t.runtime(wd);
    expect(await waitWorkers(wd.server, (n) => n >= 1, "to be at least 1")).toBeGreaterThanOrEqual(1);
    await t.stopRuntime(runtime);
    expect(await waitWorkers(wd.server, (n) => n === 0, "to drop to 0")).toBe(0);
  });
});
