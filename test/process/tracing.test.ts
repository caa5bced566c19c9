/**
 * Tracing with OpenTelemetry, end to end: workflowd runs as its own process with a Dapr
 * Configuration's `spec.tracing`, and a real OTLP receiver in this test (HTTP and gRPC,
 * decoding with the OpenTelemetry protocol's proto files) collects what it exports. A run is
 * one trace: the start continues the caller's traceparent; turns nest under the run's span;
 * activities under the turn that scheduled them; a child workflow under its parent's turn; SDK
 * workers receive the context in the protocol's parentTraceContext fields.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Metadata } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { currentClient, type CurrentClient, WorkStream } from "../grpc/current-client.js";
import { useGrpcTest } from "../grpc/helpers.js";
import { eventually, fixturesDir, type ServerProcess } from "./harness.js";
import { OtlpReceiver, type ReceivedSpan } from "./otlp-receiver.js";

const t = useGrpcTest();
const tracedWorkflows = join(fixturesDir, "traced-workflows.mjs");
let receivers: OtlpReceiver[] = [];
let clients: CurrentClient[] = [];
let streams: WorkStream[] = [];

afterEach(async () => {
  for (const stream of streams) stream.cancel();
  for (const client of clients) client.close();
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
  clients = [];
  streams = [];
});

const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const callerSpan = "00f067aa0ba902b7";
const traceparent = `00-${callerTrace}-${callerSpan}-01`;

async function receiver(): Promise<OtlpReceiver> {
  const r = new OtlpReceiver();
  receivers.push(r);
  return r;
}

/** A Dapr Configuration file with `spec.tracing`. */
function configuration(tracing: string): string {
  const file = join(t.processes.tempDir(), "config.yaml");
  writeFileSync(file, `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: tracing\nspec:\n  tracing:\n${tracing}`);
  return file;
}

const otelHttp = (port: number, rate = "1") =>
  `    samplingRate: "${rate}"\n    otel:\n      endpointAddress: "127.0.0.1:${port}"\n      isSecure: false\n      protocol: http\n`;

async function tracedServer(config: string, env: Record<string, string> = {}) {
  return t.workflowd({ WORKFLOWD_CONFIG: config, WORKFLOWD_WORKFLOWS: tracedWorkflows, APP_ID: "orders", ...env });
}

async function start(server: ServerProcess, name: string, id: string, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(`${server.baseUrl}/v1.0/workflows/dapr/${name}/start?instanceID=${id}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify("ada"),
  });
  expect(response.status).toBe(202);
}

async function finished(server: ServerProcess, id: string): Promise<{ runtimeStatus: string; properties: Record<string, string> }> {
  return eventually(`${id} to finish`, async () => {
    const body = await (await fetch(`${server.baseUrl}/v1.0/workflows/dapr/${id}`)).json() as { runtimeStatus: string; properties: Record<string, string> };
    return ["COMPLETED", "FAILED"].includes(body.runtimeStatus) ? body : body.runtimeStatus;
  }, 15_000);
}

async function historyOf(server: ServerProcess, id: string): Promise<any[]> {
  return ((await (await fetch(`${server.baseUrl}/v1.0/workflows/dapr/${id}/history`)).json()) as { events: any[] }).events;
}

const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReceivedSpan[], name: string): ReceivedSpan => {
  const found = named(spans, name);
  expect(found.map((s) => s.name), `exactly one ${name} among ${spans.map((s) => s.name).join(", ")}`).toEqual([name]);
  return found[0]!;
};

describe("tracing over OTLP (spec.tracing in --config)", () => {
  it("exports one trace per run within seconds: it continues the caller's traceparent, turns nest under the run, activities under their turn, the child under its parent's turn", async () => {
    const otlp = await receiver();
    const port = await otlp.listenHttp();
    const wd = await tracedServer(configuration(otelHttp(port)));
    await start(wd.server, "traced", "run-1", { traceparent, tracestate: "vendor=abc" });
    expect((await finished(wd.server, "run-1")).runtimeStatus).toBe("COMPLETED");
    const completedAt = Date.now();

    // The run span (exported when the run finishes) and the child's are the last to come.
    const spans = await eventually("the run's spans", () => {
      const got = otlp.trace(callerTrace);
      return named(got, "orchestration||traced").length === 1 && named(got, "activity||greet").length === 2 ? got : `${got.length} span(s)`;
    }, 10_000, 50);
    expect(Date.now() - completedAt, "exported within a few seconds of the work").toBeLessThan(5_000);
    expect(otlp.requests.http).toBeGreaterThan(0);
    expect(new Set(spans.map((s) => s.serviceName))).toEqual(new Set(["orders"]));

    const created = one(spans, "create_orchestration||traced");
    expect(created.parentSpanId).toBe(callerSpan);
    expect(created.attributes["durabletask.task.instance_id"]).toBe("run-1");
    const run = one(spans, "orchestration||traced");
    expect(run.parentSpanId).toBe(created.spanId);
    expect(run.attributes["durabletask.runtime_status"]).toBe("COMPLETED");
    expect(run.statusCode).not.toBe(2);

    // Every turn of the parent nests under its run span: start, activity result, timer, child result.
    const turns = named(spans, "turn||traced");
    expect(turns.length).toBeGreaterThanOrEqual(4);
    for (const turn of turns) expect(turn.parentSpanId).toBe(run.spanId);
    expect(run.startMs).toBeLessThanOrEqual(Math.min(...turns.map((s) => s.startMs)));
    expect(run.endMs).toBeGreaterThanOrEqual(Math.max(...turns.map((s) => s.startMs)));

    const timer = one(spans, "timer||timer");
    expect(timer.parentSpanId).toBe(run.spanId);
    expect(timer.endMs - timer.startMs).toBeGreaterThanOrEqual(150);

    // The child: its run span under one of the parent's turns; its turns and activity under it.
    const childRun = one(spans, "orchestration||helper");
    expect(turns.map((s) => s.spanId)).toContain(childRun.parentSpanId);
    const [parentActivity, childActivity] = [...named(spans, "activity||greet")].sort((a, b) => a.startMs - b.startMs);
    expect(turns.map((s) => s.spanId)).toContain(parentActivity!.parentSpanId);
    const childTurns = named(spans, "turn||helper");
    expect(childTurns.length).toBeGreaterThanOrEqual(2);
    expect(childTurns.map((s) => s.spanId)).toContain(childActivity!.parentSpanId);
    expect(childActivity!.kind).toBe(2); // SERVER: the activity's execution

    // History records what was handed on: the start's context and the run span's ID.
    const started = (await historyOf(wd.server, "run-1")).find((e) => e.executionStarted)!.executionStarted;
    expect(started.parentTraceContext.traceParent).toBe(`00-${callerTrace}-${created.spanId}-01`);
    expect(started.parentTraceContext.traceState).toBe("vendor=abc");
    expect(started.workflowSpanID).toBe(run.spanId);
  });

  it("a run without a traceparent is a trace of its own; a failed run's span carries the error", async () => {
    const otlp = await receiver();
    const port = await otlp.listenHttp();
    const wd = await tracedServer(configuration(otelHttp(port)));
    await start(wd.server, "broken", "broken-1");
    expect((await finished(wd.server, "broken-1")).runtimeStatus).toBe("FAILED");
    const run = await eventually("the failed run's span", () => otlp.spans.find((s) => s.name === "orchestration||broken") ?? "not yet", 10_000, 50);
    expect(run.traceId).not.toBe(callerTrace);
    expect(run.statusCode).toBe(2);
    expect(run.statusMessage).toContain("broken on purpose");
    expect(run.attributes["durabletask.runtime_status"]).toBe("FAILED");
    const trace = otlp.trace(run.traceId);
    const created = one(trace, "create_orchestration||broken");
    expect(created.parentSpanId).toBe("");
    expect(run.parentSpanId).toBe(created.spanId);
    // One trace holds the whole run, and no span of it is anywhere else.
    expect(otlp.spans.filter((s) => s.attributes["durabletask.task.instance_id"] === "broken-1").every((s) => s.traceId === run.traceId)).toBe(true);
  });

  it("exports over OTLP/gRPC when the protocol is grpc", async () => {
    const otlp = await receiver();
    const port = await otlp.listenGrpc();
    const wd = await tracedServer(configuration(
      `    samplingRate: "1"\n    otel:\n      endpointAddress: "127.0.0.1:${port}"\n      isSecure: false\n      protocol: grpc\n`,
    ));
    await start(wd.server, "traced", "grpc-1", { traceparent });
    expect((await finished(wd.server, "grpc-1")).runtimeStatus).toBe("COMPLETED");
    await eventually("the run span over gRPC", () => named(otlp.trace(callerTrace), "orchestration||traced").length === 1 || `${otlp.spans.length} span(s)`, 10_000, 50);
    expect(otlp.requests.grpc).toBeGreaterThan(0);
    expect(otlp.requests.http).toBe(0);
  });

  it("records nothing when the sampling rate is 0 (daprd's default), yet hands the caller's context on in history", async () => {
    const otlp = await receiver();
    const port = await otlp.listenHttp();
    const wd = await tracedServer(configuration(otelHttp(port, "0")), { LOG_LEVEL: "info" });
    await start(wd.server, "traced", "off-1", { traceparent });
    expect((await finished(wd.server, "off-1")).runtimeStatus).toBe("COMPLETED");
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(otlp.requests.http).toBe(0);
    const history = await historyOf(wd.server, "off-1");
    expect(history.find((e) => e.executionStarted).executionStarted.parentTraceContext.traceParent).toBe(traceparent);
    for (const event of history.filter((e) => e.taskScheduled)) expect(event.taskScheduled.parentTraceContext.traceParent).toBe(traceparent);
    expect(wd.server.stdout).toContain("spec.tracing records no spans (samplingRate is 0)");
  });
});

describe("trace context for SDK workers (a client like today's Python and Go SDKs)", () => {
  it("the start's traceparent metadata, the turn's context on TaskScheduled and the activity's own span on ActivityRequest", async () => {
    const otlp = await receiver();
    const port = await otlp.listenHttp();
    const wd = await t.workflowd({ WORKFLOWD_CONFIG: configuration(otelHttp(port)) });
    const client = currentClient(wd.grpcPort);
    clients.push(client);
    const metadata = new Metadata();
    metadata.set("traceparent", traceparent);
    await new Promise<void>((resolve, reject) => client.StartInstance({ instanceId: "sdk-1", name: "wf", input: { value: "1" } }, metadata, (error: Error | null) => (error ? reject(error) : resolve())));

    const worker = new WorkStream(client);
    streams.push(worker);
    const first = await worker.next();
    const started = first.workflowRequest.newEvents.find((e: any) => e.executionStarted).executionStarted;
    expect(started.parentTraceContext.traceParent).toMatch(new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));
    await call(client, "CompleteWorkflowTask", {
      instanceId: "sdk-1",
      completionToken: first.completionToken,
      actions: [{ id: 1, scheduleTask: { name: "work", input: { value: "2" } } }],
    });

    const activity = await worker.next();
    const context = activity.activityRequest.parentTraceContext.traceParent as string;
    expect(context).toMatch(new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));
    await call(client, "CompleteActivityTask", {
      instanceId: "sdk-1",
      taskId: activity.activityRequest.taskId,
      completionToken: activity.completionToken,
      result: { value: "3" },
    });
    const second = await worker.next();
    const scheduled = second.workflowRequest.pastEvents.find((e: any) => e.taskScheduled).taskScheduled;
    await call(client, "CompleteWorkflowTask", {
      instanceId: "sdk-1",
      completionToken: second.completionToken,
      actions: [{ id: 2, completeWorkflow: { workflowStatus: 1, result: { value: "3" } } }],
    });

    const spans = await eventually("the SDK run's spans", () => {
      const got = otlp.trace(callerTrace);
      return named(got, "orchestration||wf").length === 1 ? got : `${got.length} span(s)`;
    }, 10_000, 50);
    const activitySpan = one(spans, "activity||work");
    // The ActivityRequest carries the activity span itself, so the SDK's spans nest under it.
    expect(context.split("-")[2]).toBe(activitySpan.spanId);
    // TaskScheduled carries the turn that scheduled it, which is the activity span's parent.
    expect(scheduled.parentTraceContext.traceParent.split("-")[2]).toBe(activitySpan.parentSpanId);
    expect(named(spans, "turn||wf").map((s) => s.spanId)).toContain(activitySpan.parentSpanId);
  });
});

function call(client: CurrentClient, method: string, request: object): Promise<unknown> {
  return new Promise((resolve, reject) => client[method](request, new Metadata(), (error: Error | null, response: unknown) => (error ? reject(error) : resolve(response))));
}
