/**
 * Prometheus metrics on DAPR_METRICS_PORT: after a known set of workflows the counters have
 * moved by exactly the right amounts, the gauges show what is queued, and the endpoint
 * needs no API token.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, fixtureWorkflows, freePort, useProcesses } from "./harness.js";

const processes = useProcesses();

/** Parses the Prometheus text format into "name{labels}" → value. */
function parse(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

describe("metrics", () => {
  it("counts starts, completions by status, steps, activities and HTTP requests, and shows queue depths", async () => {
    const metricsPort = await freePort();
    const server = await processes.spawn({
      env: {
        WORKFLOWD_WORKFLOWS: fixtureWorkflows,
        WORKFLOWD_DB: join(processes.tempDir(), "wf.db"),
        DAPR_METRICS_PORT: String(metricsPort),
        DAPR_API_TOKEN: "secret",
        LOG_LEVEL: "warn",
      },
    });
    const scrape = async () => {
      const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      return parse(await response.text());
    };
    await eventually("the metrics port to answer", async () => (await scrape().then(() => true).catch(() => false)) || "not yet");

    const headers = { "dapr-api-token": "secret", "content-type": "application/json" };
    const api = (path: string, body?: unknown) =>
      fetch(`${server.baseUrl}/v1.0/workflows/dapr/${path}`, { method: "POST", headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const state = async (id: string) => (await (await fetch(`${server.baseUrl}/v1.0/workflows/dapr/${id}`, { headers })).json()) as { runtimeStatus: string };
    const waitStatus = (id: string, status: string) =>
      eventually(`${id} to be ${status}`, async () => ((await state(id)).runtimeStatus === status ? true : (await state(id)).runtimeStatus));

    for (let i = 0; i < 3; i++) expect((await api(`echo/start?instanceID=echo-${i}`, "hi")).status).toBe(202);
    expect((await api("adder/start?instanceID=adder", { total: 0, seen: 0, target: 2 })).status).toBe(202);
    expect((await api("collector/start?instanceID=stopped", 5)).status).toBe(202);
    expect((await api("sleeper/start?instanceID=sleepy", 600)).status).toBe(202);
    expect((await api("echo/start?instanceID=echo-0", "again")).status).toBe(409);
    for (let i = 0; i < 3; i++) await waitStatus(`echo-${i}`, "COMPLETED");
    for (const value of [5, 7]) expect((await api("adder/raiseEvent/add", value)).status).toBe(202);
    await waitStatus("adder", "COMPLETED");
    await waitStatus("stopped", "RUNNING");
    expect((await fetch(`${server.baseUrl}/v1.0/workflows/dapr/stopped/terminate`, { method: "POST", headers })).status).toBe(202);
    await waitStatus("stopped", "TERMINATED");
    await waitStatus("sleepy", "RUNNING");

    const m = await scrape();
    expect(m.get('dapr_runtime_workflow_started_total{workflow_name="echo"}')).toBe(3);
    expect(m.get('dapr_runtime_workflow_started_total{workflow_name="adder"}')).toBe(1);
    expect(m.get('dapr_runtime_workflow_completed_total{workflow_name="echo",status="COMPLETED"}')).toBe(3);
    expect(m.get('dapr_runtime_workflow_completed_total{workflow_name="adder",status="CONTINUED_AS_NEW"}')).toBe(2);
    expect(m.get('dapr_runtime_workflow_completed_total{workflow_name="adder",status="COMPLETED"}')).toBe(1);
    expect(m.get('dapr_runtime_workflow_completed_total{workflow_name="collector",status="TERMINATED"}')).toBe(1);
    expect(m.get('dapr_runtime_workflow_activity_execution_total{activity_name="shout",status="success"}')).toBe(3);
    expect(m.get('dapr_runtime_workflow_activity_execution_latency_seconds_count{activity_name="shout"}')).toBe(3);
    // echo: start turn, result turn.
    expect(m.get('dapr_runtime_workflow_steps_total{workflow_name="echo"}')).toBe(6);
    expect(m.get('dapr_runtime_workflow_step_latency_seconds_count{workflow_name="echo"}')).toBe(6);
    expect(m.get('dapr_runtime_workflow_execution_latency_seconds_count{workflow_name="echo",status="COMPLETED"}')).toBe(3);
    expect(m.get("dapr_runtime_workflow_pending_timers")).toBe(1);
    expect(m.get("dapr_runtime_workflow_queued_activities")).toBe(0);
    expect(m.get("dapr_runtime_workflow_connected_workers")).toBe(0);
    const start = "/v1.0/workflows/:component/:name/start";
    expect(m.get(`dapr_http_server_request_count{method="POST",path="${start}",status="202"}`)).toBe(6);
    expect(m.get(`dapr_http_server_request_count{method="POST",path="${start}",status="409"}`)).toBe(1);
    expect(m.get("process_resident_memory_bytes")).toBeGreaterThan(0);

    expect((await fetch(`http://127.0.0.1:${metricsPort}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
