/**
 * Dapr's runtime API on the gRPC port (`dapr.proto.runtime.v1.Dapr`, proto/dapr): the
 * workflow methods under their Beta1 and Alpha1 names and GetMetadata, as daprd answers them;
 * every other method UNIMPLEMENTED; the API token on all of them.
 *
 * Clients: `@dapr/dapr` 3.18's `DaprClient` over gRPC (it polls GetMetadata at start, and its
 * metadata and health calls use it; its `workflow` methods throw "GRPC is currently not
 * supported" without calling anything, so the workflow methods are driven with the client the
 * SDK generated from the same proto, `getClient()`: @connectrpc over HTTP/2, the SDK's own
 * transport), and a raw @grpc/grpc-js client of the vendored files for the Alpha1 names, the
 * error codes and the streaming methods. The workflows run in workflowd
 * (test/fixtures/workflows.mjs).
 */
import { credentials, makeGenericClientConstructor, Metadata, type Client, type ServiceDefinition, type ServiceError } from "@grpc/grpc-js";
import { CommunicationProtocolEnum, DaprClient, LogLevel } from "@dapr/dapr";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createWorkflowd } from "../../src/app.js";
import { GrpcServer } from "../../src/grpc/grpc-server.js";
import { daprServedMethods, notServedMessage, parseRfc3339 } from "../../src/grpc/dapr-runtime-service.js";
import { loadDaprService } from "../../src/protocol/proto.js";
import { eventually, fixtureWorkflows } from "../process/harness.js";
import { call, Code, codeOf, RawWorkItems, useGrpcTest, withToken, type Workflowd } from "./helpers.js";

const t = useGrpcTest();

const INVALID_ARGUMENT = 3;

const Dapr = makeGenericClientConstructor(loadDaprService(), "Dapr") as unknown as
  (new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & Record<string, any>) & { service: ServiceDefinition };

let raws: Client[] = [];
afterEach(() => {
  for (const raw of raws) raw.close();
  raws = [];
});

function rawDapr(wd: Workflowd) {
  const client = new Dapr(`127.0.0.1:${wd.grpcPort}`, credentials.createInsecure());
  raws.push(client);
  return client;
}

function sdkClient(wd: Workflowd, daprApiToken?: string): DaprClient {
  return new DaprClient({
    daprHost: "127.0.0.1",
    daprPort: String(wd.grpcPort),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    logger: { level: LogLevel.Error },
    ...(daprApiToken ? { daprApiToken } : {}),
  });
}

/** The SDK's generated Connect client of the Dapr service (camelCase fields, bigint seconds). */
async function generated(client: DaprClient): Promise<any> {
  return client.daprClient.getClient();
}

/** A rejected call's gRPC status and message. */
async function failure(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, details } = error as ServiceError;
    return { code, details };
  }
  return expect.fail("expected the call to fail");
}

const utf8 = (text: string) => new TextEncoder().encode(text);

async function httpGet(wd: Workflowd, instanceId: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${wd.server.baseUrl}/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}`);
  return { status: response.status, body: response.status === 200 ? await response.json() : await response.text() };
}

/** Calls any method of any shape with an empty request; resolves with the status code (0 = OK). */
function callAny(client: Client & Record<string, any>, name: string, metadata: Metadata): Promise<{ code: number; details: string }> {
  const method = Dapr.service[name]!;
  const deadline = Date.now() + 5_000;
  return new Promise((resolve) => {
    const done = (error: ServiceError | null) => resolve(error ? { code: error.code, details: error.details } : { code: 0, details: "" });
    if (!method.requestStream && !method.responseStream) {
      client[name]({}, metadata, { deadline }, done);
    } else if (!method.requestStream) {
      const stream = client[name]({}, metadata, { deadline });
      stream.on("error", done);
      stream.on("data", () => {
        done(null);
        stream.cancel();
      });
      stream.on("end", () => done(null));
    } else if (!method.responseStream) {
      client[name](metadata, { deadline }, done).end();
    } else {
      const stream = client[name](metadata, { deadline });
      stream.on("error", done);
      stream.on("data", () => done(null));
      stream.end();
    }
  });
}

describe("the Dapr runtime API's workflow methods", () => {
  it("the SDK's DaprClient starts against workflowd over gRPC, and its generated client runs every Beta1 method", async () => {
    const wd = await t.workflowd({ WORKFLOWD_WORKFLOWS: fixtureWorkflows });
    const client = sdkClient(wd);
    await client.start(); // polls GetMetadata until it answers
    expect(await client.health.isHealthy()).toBe(true);
    // @dapr/dapr 3.18 implements its workflow methods over HTTP only.
    expect(() => client.workflow.start("echo", "x")).toThrow("GRPC is currently not supported");
    const dapr = await generated(client);

    // Start (the input bytes are stored as their text), raise twice, read it back both ways.
    expect(await dapr.startWorkflowBeta1({ instanceId: "c-1", workflowComponent: "dapr", workflowName: "collector", input: utf8("2") }))
      .toMatchObject({ instanceId: "c-1" });
    await dapr.raiseEventWorkflowBeta1({ instanceId: "c-1", workflowComponent: "dapr", eventName: "item", eventData: utf8('"a"') });
    await dapr.raiseEventWorkflowBeta1({ instanceId: "c-1", workflowComponent: "dapr", eventName: "item", eventData: utf8('{"b":[1]}') });
    const done = await wd.server.waitTerminal("c-1");
    expect(done.runtimeStatus).toBe("COMPLETED");
    const got = await dapr.getWorkflowBeta1({ instanceId: "c-1", workflowComponent: "dapr" });
    expect(got).toMatchObject({
      instanceId: "c-1",
      workflowName: "collector",
      runtimeStatus: "COMPLETED",
      properties: { "dapr.workflow.input": "2", "dapr.workflow.output": '["a",{"b":[1]}]', "dapr.workflow.custom_status": "collecting" },
    });
    expect(got.properties).toEqual(done.properties);
    const ms = (ts: { seconds: bigint; nanos: number }) => Number(ts.seconds) * 1000 + ts.nanos / 1e6;
    expect(ms(got.createdAt)).toBe(Date.parse(done.createdAt));
    expect(ms(got.lastUpdatedAt)).toBe(Date.parse(done.lastUpdatedAt));

    // Pause, resume and terminate return once the change shows; purge deletes it.
    await dapr.startWorkflowBeta1({ instanceId: "c-2", workflowComponent: "dapr", workflowName: "collector", input: utf8("5") });
    await wd.server.waitFor("c-2", "running", (s) => s.runtimeStatus === "RUNNING");
    await dapr.pauseWorkflowBeta1({ instanceId: "c-2", workflowComponent: "dapr" });
    expect((await httpGet(wd, "c-2")).body.runtimeStatus).toBe("SUSPENDED");
    await dapr.resumeWorkflowBeta1({ instanceId: "c-2", workflowComponent: "dapr" });
    expect((await httpGet(wd, "c-2")).body.runtimeStatus).toBe("RUNNING");
    await dapr.terminateWorkflowBeta1({ instanceId: "c-2", workflowComponent: "dapr" });
    expect((await dapr.getWorkflowBeta1({ instanceId: "c-2" })).runtimeStatus).toBe("TERMINATED");
    await dapr.purgeWorkflowBeta1({ instanceId: "c-2", workflowComponent: "dapr" });
    expect((await httpGet(wd, "c-2")).status).toBe(404);
    // daprd: an unknown instance is an empty answer naming the ID, not an error.
    const gone = await dapr.getWorkflowBeta1({ instanceId: "c-2", workflowComponent: "dapr" });
    expect(gone).toMatchObject({ instanceId: "c-2", workflowName: "", runtimeStatus: "", properties: {} });
    expect(gone.createdAt).toBeUndefined();

    // No instance ID: a random UUID, as daprd generates.
    const { instanceId } = await dapr.startWorkflowBeta1({ workflowComponent: "dapr", workflowName: "echo", input: utf8('"hi"') });
    expect(instanceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect((await wd.server.waitTerminal(instanceId)).properties?.["dapr.workflow.output"]).toBe('"HI"');

    // The codes reach the SDK's client too.
    const exists = await dapr.startWorkflowBeta1({ instanceId: "c-1", workflowName: "collector" }).catch((e: { code: number; rawMessage: string }) => e);
    expect(exists).toMatchObject({ code: Code.ALREADY_EXISTS, rawMessage: "error starting workflow 'collector': workflow instance ID 'c-1' already exists; purge it before reusing the ID" });
    const missing = await dapr.terminateWorkflowBeta1({ instanceId: "nope" }).catch((e: { code: number; rawMessage: string }) => e);
    expect(missing).toMatchObject({ code: Code.NOT_FOUND, rawMessage: "unable to find workflow with the provided instance ID: nope" });
  });

  it("stores a start's input bytes exactly as the HTTP start stores the same body, and schedules a start at dapr.workflow.start_time", async () => {
    const wd = await t.workflowd({ WORKFLOWD_WORKFLOWS: fixtureWorkflows });
    const raw = rawDapr(wd);
    const bodies = [Buffer.from('{"a": 1 , "b":"wörld"}'), Buffer.from("plain text, not JSON"), Buffer.from([0x68, 0xff, 0x69, 0xc3]), Buffer.from("\uFEFF\"bom\"\r\n"), Buffer.alloc(0)];
    for (const [i, body] of bodies.entries()) {
      const http = await fetch(`${wd.server.baseUrl}/v1.0/workflows/dapr/collector/start?instanceID=http-${i}`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body,
      });
      expect(http.status).toBe(202);
      expect(await call(raw, "StartWorkflowAlpha1", { instance_id: `grpc-${i}`, workflow_name: "collector", input: body })).toEqual({ instance_id: `grpc-${i}` });
      const [viaHttp, viaGrpc] = [(await httpGet(wd, `http-${i}`)).body, (await httpGet(wd, `grpc-${i}`)).body];
      expect(viaGrpc.properties?.["dapr.workflow.input"], `body #${i}`).toBe(viaHttp.properties?.["dapr.workflow.input"]);
    }
    expect((await httpGet(wd, "grpc-0")).body.properties["dapr.workflow.input"]).toBe('{"a": 1 , "b":"wörld"}');

    // A fraction of a second is RFC 3339 too.
    const at = new Date(Date.now() + 500);
    const startTime = at.toISOString();
    await call(raw, "StartWorkflowBeta1", { instance_id: "later", workflow_name: "echo", input: Buffer.from('"x"'), options: { "dapr.workflow.start_time": startTime } });
    expect((await call(raw, "GetWorkflowBeta1", { instance_id: "later" })).runtime_status).toBe("PENDING");
    const ran = await wd.server.waitTerminal("later", 5_000);
    expect(ran.properties?.["dapr.workflow.output"]).toBe('"X"');
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());

    const bad = await failure(call(raw, "StartWorkflowBeta1", { instance_id: "bad-time", workflow_name: "echo", options: { "dapr.workflow.start_time": "tomorrow" } }));
    expect(bad).toEqual({ code: INVALID_ARGUMENT, details: `error starting workflow 'echo': start times must be in RFC3339 format (e.g. "2009-11-10T23:00:00Z")` });
    expect((await httpGet(wd, "bad-time")).status).toBe(404);
  });

  it("the Alpha1 twins, and daprd's codes and texts for a missing, invalid, taken or unknown ID, a missing name, a running purge", async () => {
    const wd = await t.workflowd({ WORKFLOWD_WORKFLOWS: fixtureWorkflows });
    const raw = rawDapr(wd);

    await call(raw, "StartWorkflowAlpha1", { instance_id: "a-1", workflow_component: "dapr", workflow_name: "collector", input: Buffer.from("1") });
    await wd.server.waitFor("a-1", "running", (s) => s.runtimeStatus === "RUNNING");
    await call(raw, "PauseWorkflowAlpha1", { instance_id: "a-1" });
    expect((await call(raw, "GetWorkflowAlpha1", { instance_id: "a-1" })).runtime_status).toBe("SUSPENDED");
    await call(raw, "ResumeWorkflowAlpha1", { instance_id: "a-1" });
    expect(await failure(call(raw, "PurgeWorkflowAlpha1", { instance_id: "a-1" }))).toEqual({
      code: Code.FAILED_PRECONDITION,
      details: "error purging workflow a-1: workflow is RUNNING; only COMPLETED, FAILED or TERMINATED workflows can be purged",
    });
    await call(raw, "RaiseEventWorkflowAlpha1", { instance_id: "a-1", event_name: "item", event_data: Buffer.from("42") });
    await eventually("a-1 to complete", async () => {
      const state = await call(raw, "GetWorkflowAlpha1", { instance_id: "a-1" });
      return state.runtime_status === "COMPLETED" ? state : `status ${state.runtime_status}`;
    });
    expect((await call(raw, "GetWorkflowAlpha1", { instance_id: "a-1" })).properties["dapr.workflow.output"]).toBe("[42]");
    await call(raw, "TerminateWorkflowAlpha1", { instance_id: "a-1" }); // a no-op once finished
    await call(raw, "PurgeWorkflowAlpha1", { instance_id: "a-1" });
    expect(await call(raw, "GetWorkflowAlpha1", { instance_id: "a-1" })).toEqual({ instance_id: "a-1" });

    // A child's unfinished tree blocks the purge of its parent, naming the child.
    await call(raw, "StartWorkflowBeta1", { instance_id: "tree-1", workflow_name: "tree", input: Buffer.from("1") });
    await wd.server.waitFor("tree-1:0001", "running", (s) => s.runtimeStatus === "RUNNING");
    await call(raw, "TerminateWorkflowBeta1", { instance_id: "tree-1" });
    // Recursive: the child ends too.
    await wd.server.waitFor("tree-1:0001", "terminated", (s) => s.runtimeStatus === "TERMINATED");
    await call(raw, "PurgeWorkflowBeta1", { instance_id: "tree-1" });
    expect((await httpGet(wd, "tree-1:0001")).status).toBe(404);

    const start = (request: object) => failure(call(raw, "StartWorkflowBeta1", { workflow_name: "echo", ...request }));
    await call(raw, "StartWorkflowBeta1", { instance_id: "dup", workflow_name: "echo" });
    expect(await start({ instance_id: "dup" })).toEqual({
      code: Code.ALREADY_EXISTS,
      details: "error starting workflow 'echo': workflow instance ID 'dup' already exists; purge it before reusing the ID",
    });
    expect(await start({ instance_id: "has space" })).toEqual({
      code: INVALID_ARGUMENT,
      details: "workflow instance ID 'has space' is invalid: only letters, digits, '_' and '-' are allowed",
    });
    expect(await start({ instance_id: "x".repeat(65) })).toEqual({ code: INVALID_ARGUMENT, details: "workflow instance ID exceeds the max length of 64 characters" });
    expect(await start({ instance_id: "é".repeat(33) })).toMatchObject({ code: INVALID_ARGUMENT }); // 66 UTF-8 bytes
    expect(await failure(call(raw, "StartWorkflowBeta1", { instance_id: "no-name" }))).toEqual({ code: INVALID_ARGUMENT, details: "workflow name is not configured" });
    // daprd checks the ID before the name.
    expect((await failure(call(raw, "StartWorkflowBeta1", { instance_id: "bad id" }))).details).toMatch(/^workflow instance ID 'bad id' is invalid/);

    for (const suffix of ["Beta1", "Alpha1"]) {
      for (const method of ["GetWorkflow", "TerminateWorkflow", "RaiseEventWorkflow", "PauseWorkflow", "ResumeWorkflow", "PurgeWorkflow"]) {
        expect(await failure(call(raw, `${method}${suffix}`, { workflow_component: "dapr", event_name: "e" })), `${method}${suffix} without an ID`)
          .toEqual({ code: INVALID_ARGUMENT, details: "no instance ID was provided" });
      }
      for (const method of ["TerminateWorkflow", "RaiseEventWorkflow", "PauseWorkflow", "ResumeWorkflow", "PurgeWorkflow"]) {
        expect(await failure(call(raw, `${method}${suffix}`, { instance_id: "ghost", event_name: "e" })), `${method}${suffix} of an unknown ID`)
          .toEqual({ code: Code.NOT_FOUND, details: "unable to find workflow with the provided instance ID: ghost" });
      }
      expect(await call(raw, `GetWorkflow${suffix}`, { instance_id: "ghost" })).toEqual({ instance_id: "ghost" });
      expect(await failure(call(raw, `RaiseEventWorkflow${suffix}`, { instance_id: "dup" }))).toEqual({ code: INVALID_ARGUMENT, details: "missing workflow event name" });
    }
  });
});

describe("GetMetadata and the methods workflowd does not serve", () => {
  it("GetMetadata answers what GET /v1.0/metadata answers; every other Dapr method is UNIMPLEMENTED, streaming ones too", async () => {
    const wd = await t.workflowd({ WORKFLOWD_WORKFLOWS: fixtureWorkflows });
    const raw = rawDapr(wd);
    const http = (await (await fetch(`${wd.server.baseUrl}/v1.0/metadata`)).json()) as { id: string; runtimeVersion: string; workflows: { connectedWorkers: number } };
    const metadata = await call(raw, "GetMetadata", {});
    expect(metadata).toMatchObject({
      id: http.id,
      registered_components: [{ name: "dapr", type: "workflow.dapr", version: "v1" }],
      extended_metadata: { runtime: "workflowd", daprRuntimeVersion: metadata.runtime_version },
      actor_runtime: { runtime_status: "DISABLED" },
      workflows: { connected_workers: http.workflows.connectedWorkers },
    });
    expect(metadata.runtime_version).toBe(http.runtimeVersion);
    // A worker stream on TaskHubSidecarService counts, as daprd counts its connected workers.
    const stream = new RawWorkItems(t.raw(wd));
    await eventually("a connected worker", async () => ((await call(raw, "GetMetadata", {})).workflows?.connected_workers === 1 ? true : "none yet"));
    expect((await (await fetch(`${wd.server.baseUrl}/v1.0/metadata`)).json()) as unknown).toMatchObject({ workflows: { connectedWorkers: 1 } });
    stream.cancel();

    const sdk = sdkClient(wd);
    expect(await sdk.metadata.get()).toMatchObject({ id: http.id, components: [{ name: "dapr", type: "workflow.dapr" }] });
    await expect(sdk.state.get("statestore", "key")).rejects.toThrow(notServedMessage("GetState"));

    const methods = Object.keys(Dapr.service);
    expect(methods.length).toBe(66);
    expect(methods).toEqual(expect.arrayContaining([...daprServedMethods]));
    const answers: string[] = [];
    for (const method of methods.filter((m) => !daprServedMethods.includes(m))) {
      const { code, details } = await callAny(raw, method, new Metadata());
      if (code !== Code.UNIMPLEMENTED || details !== notServedMessage(method)) answers.push(`${method}: ${code} ${details}`);
    }
    expect(answers).toEqual([]);
    expect(notServedMessage("InvokeService")).toBe("workflowd serves only the workflow API; Dapr's InvokeService is not available");
  });

  it("reports the app ID and version it is given", async () => {
    const wd = await createWorkflowd();
    const grpc = new GrpcServer({ engine: wd.engine, logger: pino({ level: "silent" }), apiToken: undefined, activityLeaseMs: 60_000, turnTimeoutMs: 60_000, appId: "orders", version: "9.8.7" });
    try {
      const port = await grpc.listen("127.0.0.1", 0);
      const raw = rawDapr({ grpcPort: port } as Workflowd);
      expect(await call(raw, "GetMetadata", {})).toMatchObject({ id: "orders", runtime_version: "9.8.7", extended_metadata: { daprRuntimeVersion: "9.8.7" } });
    } finally {
      for (const raw of raws) raw.close();
      raws = [];
      await grpc.close(1_000);
      await wd.app.close();
    }
  });
});

describe("the API token on the Dapr service", () => {
  it("every Dapr method answers UNAUTHENTICATED without or with a wrong token; with it the SDK's client works", async () => {
    const token = "dapr-tok-123";
    const wd = await t.workflowd({ WORKFLOWD_WORKFLOWS: fixtureWorkflows, DAPR_API_TOKEN: token });
    const raw = rawDapr(wd);
    const calls = Object.keys(Dapr.service).flatMap((method) =>
      [new Metadata(), withToken("wrong"), withToken(`${token}x`)].map(async (metadata) => {
        const { code } = await callAny(raw, method, metadata);
        return code === Code.UNAUTHENTICATED ? [] : [`${method} answered ${code}`];
      }));
    expect((await Promise.all(calls)).flat()).toEqual([]);

    expect(await call(raw, "StartWorkflowBeta1", { instance_id: "tok-1", workflow_name: "echo", input: Buffer.from('"t"') }, withToken(token))).toEqual({ instance_id: "tok-1" });
    expect(await codeOf(call(raw, "GetState", {}, withToken(token)))).toBe(Code.UNIMPLEMENTED);

    const sdk = sdkClient(wd, token);
    const dapr = await generated(sdk);
    await eventually("tok-1 to complete", async () => {
      const state = await dapr.getWorkflowBeta1({ instanceId: "tok-1" });
      return state.runtimeStatus === "COMPLETED" ? state : `status ${state.runtimeStatus}`;
    });
    expect((await sdk.metadata.get()).id).toBe("workflowd");
    // Without the token (getClient(false): the SDK's own start-up would poll for a minute).
    const anonymous = await sdkClient(wd).daprClient.getClient(false);
    await expect(anonymous.getMetadata({})).rejects.toMatchObject({ code: Code.UNAUTHENTICATED });
  });
});

describe("dapr.workflow.start_time", () => {
  it("is parsed as Go's time.RFC3339", () => {
    expect(parseRfc3339("2009-11-10T23:00:00Z")).toEqual({ seconds: 1257894000, nanos: 0 });
    expect(parseRfc3339("2009-11-10T23:00:00.5+01:30")).toEqual({ seconds: 1257894000 - 5400, nanos: 500_000_000 });
    expect(parseRfc3339("2009-11-10T23:00:00.123456789-02:00")).toEqual({ seconds: 1257894000 + 7200, nanos: 123_456_789 });
    for (const bad of ["2009-11-10", "2009-11-10 23:00:00Z", "2009-11-10T23:00:00", "2009-02-30T00:00:00Z", "2009-11-10T24:00:00Z", "2009-11-10T23:00:00+1:00", "tomorrow", ""]) {
      expect(parseRfc3339(bad), bad).toBeUndefined();
    }
  });
});

describe("backpressure over gRPC", () => {
  it("a full backlog refuses starts with RESOURCE_EXHAUSTED on both services and writes nothing", async () => {
    // No worker: each started instance waits, and the second one fills a backlog of 2.
    const wd = await t.workflowd({ WORKFLOWD_MAX_BACKLOG: "2" });
    const raw = rawDapr(wd);
    await call(raw, "StartWorkflowBeta1", { instance_id: "bp-1", workflow_name: "echo", input: Buffer.from('"x"') });
    await call(raw, "StartWorkflowAlpha1", { instance_id: "bp-2", workflow_name: "echo", input: Buffer.from('"x"') });
    const expected = "workflowd has 2 workflow instances waiting to run, at or over its limit of 2 (--max-backlog, WORKFLOWD_MAX_BACKLOG); retry shortly";
    expect(await failure(call(raw, "StartWorkflowBeta1", { instance_id: "bp-3", workflow_name: "echo" }))).toEqual({ code: Code.RESOURCE_EXHAUSTED, details: expected });
    const taskHub = t.raw(wd);
    expect(await failure(call(taskHub, "StartInstance", { instanceId: "bp-4", name: "echo" }))).toEqual({ code: Code.RESOURCE_EXHAUSTED, details: expected });
    expect((await httpGet(wd, "bp-3")).status).toBe(404);
    expect((await httpGet(wd, "bp-4")).status).toBe(404);
  });
});
