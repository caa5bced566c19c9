/**
 * Health and metadata under /v1.0: what SDKs poll before they call the workflow routes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WorkflowRegistry } from "../../src/index.js";
import { expectError, startServer, type TestServer } from "./helpers.js";

let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("GET /v1.0/healthz", () => {
  it("answers 204 with an empty body when ready", async () => {
    server = await startServer();
    const res = await server.http.get("/v1.0/healthz");
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
  });

  it("answers 500 ERR_HEALTH_NOT_READY once the store is closed", async () => {
    server = await startServer();
    expect((await server.http.get("/v1.0/healthz")).status).toBe(204);
    server.store.close();
    const res = await server.http.get("/v1.0/healthz");
    const err = expectError(res, 500, "ERR_HEALTH_NOT_READY");
    expect(err.message).toMatch(/^dapr is not ready: .*store/);
  });

  it("is served only under /v1.0", async () => {
    server = await startServer();
    expectError(await server.http.get("/v1.0-beta1/healthz"), 404, "ERR_NOT_FOUND");
  });
});

describe("GET /v1.0/healthz/outbound", () => {
  it("answers 204 with an empty body", async () => {
    server = await startServer();
    const res = await server.http.get("/v1.0/healthz/outbound");
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
  });
});

describe("GET /v1.0/metadata", () => {
  it("answers 200 JSON with id, runtimeVersion, extended, components, actorRuntime and 1 connected worker", async () => {
    server = await startServer({ appId: "my-app" });
    const res = await server.http.get("/v1.0/metadata");
    expect(res.status).toBe(200);
    expect(String(res.headers["content-type"])).toMatch(/^application\/json/);
    expect(res.text.length).toBeGreaterThan(2);
    const body = JSON.parse(res.text) as Record<string, any>;
    expect(body.id).toBe("my-app");
    expect(body.runtimeVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(body.extended?.daprRuntimeVersion).toBe(body.runtimeVersion);
    expect(Array.isArray(body.components)).toBe(true);
    expect(typeof body.actorRuntime).toBe("object");
    expect(body.actorRuntime).not.toBeNull();
    expect(Array.isArray(body.actorRuntime)).toBe(false);
    expect(typeof body.actorRuntime.runtimeStatus).toBe("string");
    expect(typeof body.actorRuntime.hostReady).toBe("boolean");
    expect(body.workflows).toEqual({ connectedWorkers: 1 });
  });

  it("reports 0 connected workers when no in-process workflows are registered", async () => {
    server = await startServer({ workflows: () => undefined });
    const res = await server.http.get("/v1.0/metadata");
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as { workflows: { connectedWorkers: number }; id: string };
    expect(body.workflows.connectedWorkers).toBe(0);
    expect(body.id).toBe("workflowd");
  });

  it("reports 0 connected workers with an empty registry passed directly", async () => {
    server = await startServer({ workflows: undefined, registry: new WorkflowRegistry() });
    const body = JSON.parse((await server.http.get("/v1.0/metadata")).text) as { workflows: { connectedWorkers: number } };
    expect(body.workflows.connectedWorkers).toBe(0);
  });
});
