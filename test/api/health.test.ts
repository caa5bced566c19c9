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
    await server.store.close();
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
  it("answers 200 JSON with id, runtimeVersion, extended, components, actorRuntime; the in-process runtime is not a connected worker", async () => {
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
    expect(body.workflows).toEqual({ connectedWorkers: 0, inProcessRuntime: true });
  });

  it("reports 0 connected workers and no in-process runtime when no in-process workflows are registered", async () => {
    server = await startServer({ workflows: () => undefined });
    const res = await server.http.get("/v1.0/metadata");
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as { workflows: { connectedWorkers: number; inProcessRuntime: boolean }; id: string };
    expect(body.workflows).toEqual({ connectedWorkers: 0, inProcessRuntime: false });
    expect(body.id).toBe("workflowd");
  });

  it("reports 0 connected workers with an empty registry passed directly", async () => {
    server = await startServer({ workflows: undefined, registry: new WorkflowRegistry() });
    const body = JSON.parse((await server.http.get("/v1.0/metadata")).text) as { workflows: { connectedWorkers: number } };
    expect(body.workflows.connectedWorkers).toBe(0);
  });
});

describe("shutdown", () => {
  it("refuses a request that arrives after close() began, in Dapr's error shape", async () => {
    const { buildApp } = await import("../../src/app.js");
    const { connect } = await import("node:net");
    const app = await buildApp();
    const signal = () => {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    };
    const gate = signal();
    const slowArrived = signal();
    const preClosed = signal();
    const secondAnswered = signal();
    // A test-only route that stays in flight until released, so the connection stays open
    // (close() only reaps idle sockets) and a request can still arrive on it.
    app.get("/test/slow", async () => {
      slowArrived.resolve();
      await gate.promise;
      return "slow done";
    });
    // Registered after workflowd's own hooks, so they have run when these fire.
    app.addHook("preClose", async () => preClosed.resolve());
    app.addHook("onSend", async (request) => {
      if (request.url === "/v1.0/metadata") secondAnswered.resolve();
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as import("node:net").AddressInfo;

    const socket = connect(port, "127.0.0.1");
    let raw = "";
    socket.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write("GET /test/slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await slowArrived.promise;
    const closed = app.close();
    await preClosed.promise;
    socket.write("GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n\r\n");
    await secondAnswered.promise;
    gate.resolve();
    await closed;
    await ended;

    const responses = raw.split(/(?=HTTP\/1\.1 )/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(/^HTTP\/1\.1 200[\s\S]*slow done$/);
    expect(responses[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(responses[1]).toMatch(/content-type: application\/json/i);
    const body = responses[1]!.slice(responses[1]!.indexOf("\r\n\r\n") + 4);
    expect(JSON.parse(body)).toEqual({ errorCode: "ERR_SHUTTING_DOWN", message: expect.any(String) });
  });
});
