/**
 * The real `@dapr/dapr` 3.18 DaprClient, over HTTP, against a real listening workflowd
 * running the bundled example workflows. Nothing here is mocked: the SDK's own sidecar
 * probe (GET /v1.0/metadata), URL building, body serialization and error mapping all run.
 */
import type { AddressInfo } from "node:net";
import { CommunicationProtocolEnum, DaprClient, LogLevel, type LoggerService } from "@dapr/dapr";
import { Settings } from "@dapr/dapr/utils/Settings.util.js";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import { buildApp, type BuildAppOptions } from "../../src/app.js";
import register from "../../examples/index.js";

type WorkflowState = Awaited<ReturnType<DaprClient["workflow"]["get"]>>;

/** The SDK logs every failed call at error level; the failures here are expected. */
const silentService: LoggerService = {
  error: () => {},
  warn: () => {},
  info: () => {},
  verbose: () => {},
  debug: () => {},
};

const apps: FastifyInstance[] = [];
const clients: DaprClient[] = [];

afterEach(async () => {
  // Clients first (they hold keep-alive sockets to the servers), then the servers.
  for (const client of clients.splice(0)) await client.stop();
  for (const app of apps.splice(0)) await app.close();
});

async function serve(options: BuildAppOptions = {}): Promise<number> {
  const app = await buildApp({ workflows: register, ...options });
  apps.push(app);
  await app.listen({ host: "127.0.0.1", port: 0 });
  return (app.server.address() as AddressInfo).port;
}

function connect(port: number, daprApiToken?: string): DaprClient {
  const client = new DaprClient({
    daprHost: "127.0.0.1",
    daprPort: String(port),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    ...(daprApiToken ? { daprApiToken } : {}),
    logger: { level: LogLevel.Error, service: silentService },
  });
  clients.push(client);
  return client;
}

async function setup(options: BuildAppOptions = {}): Promise<DaprClient> {
  const client = connect(await serve(options), options.apiToken);
  // The SDK probes GET /v1.0/metadata before its first call; a 2xx JSON body lets it go on.
  await client.start();
  return client;
}

async function waitForState(
  client: DaprClient,
  instanceId: string,
  until: (state: WorkflowState) => boolean,
): Promise<WorkflowState> {
  return vi.waitFor(
    async () => {
      const state = await client.workflow.get(instanceId);
      if (!until(state)) throw new Error(`not yet: ${state.runtimeStatus} ${JSON.stringify(state.properties)}`);
      return state;
    },
    { timeout: 10_000, interval: 20 },
  );
}

/**
 * The SDK passes the server's upper-case status through, although its TS enum spells
 * "Running" etc. (dapr-http-api.md §9), so statuses are compared as strings.
 */
const hasStatus = (status: string) => (state: WorkflowState) => String(state.runtimeStatus) === status;

/** The SDK throws `Error(JSON.stringify({ error, error_msg, status }))` for non-2xx/3xx answers. */
async function sdkError(promise: Promise<unknown>): Promise<{ error: string; error_msg: string; status: number }> {
  try {
    await promise;
  } catch (error) {
    return JSON.parse((error as Error).message) as { error: string; error_msg: string; status: number };
  }
  throw new Error("expected the SDK call to throw");
}

describe("DaprClient (HTTP) against workflowd", () => {
  it("start + get: hello runs to COMPLETED and the SDK returns name, dates, input, output and custom status", async () => {
    const client = await setup();
    const returned = await client.workflow.start("hello", "Paris", "hello-sdk-1");
    expect(returned).toBe("hello-sdk-1");

    const state = await waitForState(client, "hello-sdk-1", hasStatus("COMPLETED"));
    expect(state.instanceID).toBe("hello-sdk-1");
    expect(state.workflowName).toBe("hello");
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(state.createdAt).toBeInstanceOf(Date);
    expect(Number.isNaN(state.createdAt.getTime())).toBe(false);
    expect(Math.abs(state.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(state.lastUpdatedAt.getTime()).toBeGreaterThanOrEqual(state.createdAt.getTime());
    // A string input is sent as text/plain, so it is stored exactly as sent (not JSON)
    // and reaches the workflow as that string.
    expect(state.properties).toEqual({
      "dapr.workflow.custom_status": "greeted 3 of 3",
      "dapr.workflow.input": "Paris",
      "dapr.workflow.output": JSON.stringify(["Hello, Tokyo!", "Hello, London!", "Hello, Paris!"]),
    });
  });

  it("start without an instance ID: the SDK generates a UUID that get() finds", async () => {
    const client = await setup();
    const id = await client.workflow.start("hello");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const state = await waitForState(client, id, hasStatus("COMPLETED"));
    expect(state.instanceID).toBe(id);
    expect(state.properties?.["dapr.workflow.input"]).toBeUndefined();
    expect(JSON.parse(state.properties!["dapr.workflow.output"]!)).toEqual([
      "Hello, Tokyo!",
      "Hello, London!",
      "Hello, Seattle!",
    ]);
  });

  it("fanOutFanIn: an array input is sent as JSON, a number as text; both reach the workflow as values", async () => {
    const client = await setup();
    await client.workflow.start("fanOutFanIn", [1, 2, 3], "fan-array");
    await client.workflow.start("fanOutFanIn", 4, "fan-number");

    const array = await waitForState(client, "fan-array", hasStatus("COMPLETED"));
    expect(array.workflowName).toBe("fanOutFanIn");
    expect(array.properties?.["dapr.workflow.input"]).toBe("[1,2,3]");
    expect(JSON.parse(array.properties!["dapr.workflow.output"]!)).toEqual({ count: 3, sumOfSquares: 14 });

    const number = await waitForState(client, "fan-number", hasStatus("COMPLETED"));
    expect(number.properties?.["dapr.workflow.input"]).toBe("4");
    expect(JSON.parse(number.properties!["dapr.workflow.output"]!)).toEqual({ count: 4, sumOfSquares: 30 });
  });

  it("failing: FAILED with failure properties and no output", async () => {
    const client = await setup();
    await client.workflow.start("failing", { amount: 7 }, "failing-sdk");
    const state = await waitForState(client, "failing-sdk", hasStatus("FAILED"));
    expect(state.workflowName).toBe("failing");
    const properties = state.properties ?? {};
    expect(properties["dapr.workflow.failure.error_type"]).toBe("TaskFailedError");
    expect(properties["dapr.workflow.failure.error_message"]).toContain("card declined for amount 7");
    expect(properties["dapr.workflow.failure.stack_trace"]).toBeTruthy();
    expect(properties["dapr.workflow.input"]).toBe('{"amount":7}');
    expect(properties).not.toHaveProperty("dapr.workflow.output");
  });

  it("approval: pause → SUSPENDED, resume → RUNNING, raise completes it with output \"approved\"", async () => {
    const client = await setup();
    await client.workflow.start("approval", { item: "laptop" }, "approval-sdk");
    await waitForState(
      client,
      "approval-sdk",
      (s) => String(s.runtimeStatus) === "RUNNING" && s.properties?.["dapr.workflow.custom_status"] === "waiting for approval",
    );

    await client.workflow.pause("approval-sdk");
    await waitForState(client, "approval-sdk", hasStatus("SUSPENDED"));

    await client.workflow.resume("approval-sdk");
    await waitForState(client, "approval-sdk", hasStatus("RUNNING"));

    await client.workflow.raise("approval-sdk", "approval", { approved: true });
    const done = await waitForState(client, "approval-sdk", hasStatus("COMPLETED"));
    expect(done.properties?.["dapr.workflow.output"]).toBe('"approved"');
    expect(done.properties?.["dapr.workflow.input"]).toBe('{"item":"laptop"}');
  });

  it("approval: an event raised with approved:false gives \"rejected\" (the payload reaches the workflow)", async () => {
    const client = await setup();
    await client.workflow.start("approval", {}, "approval-no");
    await waitForState(client, "approval-no", (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
    await client.workflow.raise("approval-no", "approval", { approved: false });
    const done = await waitForState(client, "approval-no", hasStatus("COMPLETED"));
    expect(done.properties?.["dapr.workflow.output"]).toBe('"rejected"');
  });

  it("terminate → TERMINATED; purge → get throws 404", async () => {
    const client = await setup();
    await client.workflow.start("approval", undefined, "term-sdk");
    await waitForState(client, "term-sdk", (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");

    await client.workflow.terminate("term-sdk");
    const terminated = await waitForState(client, "term-sdk", hasStatus("TERMINATED"));
    expect(terminated.workflowName).toBe("approval");

    await client.workflow.purge("term-sdk");
    const error = await sdkError(client.workflow.get("term-sdk"));
    expect(error.status).toBe(404);
    expect(JSON.parse(error.error_msg)).toMatchObject({ errorCode: "ERR_INSTANCE_ID_NOT_FOUND" });
  });

  it("purge of a running instance throws (409) and the instance stays", async () => {
    const client = await setup();
    await client.workflow.start("approval", undefined, "purge-running");
    await waitForState(client, "purge-running", hasStatus("RUNNING"));
    const error = await sdkError(client.workflow.purge("purge-running"));
    expect(error.status).toBe(409);
    expect(JSON.parse(error.error_msg)).toMatchObject({ errorCode: "ERR_PURGE_WORKFLOW" });
    expect((await client.workflow.get("purge-running")).runtimeStatus).toBe("RUNNING");
  });

  it("starting an existing instance ID throws 409", async () => {
    const client = await setup();
    await client.workflow.start("hello", undefined, "dup-sdk");
    const error = await sdkError(client.workflow.start("hello", undefined, "dup-sdk"));
    expect(error.status).toBe(409);
    expect(JSON.parse(error.error_msg)).toMatchObject({ errorCode: "ERR_START_WORKFLOW" });
  });

  it("every instance command on an unknown ID throws 404", async () => {
    const client = await setup();
    for (const call of [
      () => client.workflow.get("nope"),
      () => client.workflow.raise("nope", "approval", { approved: true }),
      () => client.workflow.terminate("nope"),
      () => client.workflow.pause("nope"),
      () => client.workflow.resume("nope"),
      () => client.workflow.purge("nope"),
    ]) {
      expect((await sdkError(call())).status).toBe(404);
    }
  });

  it("parent: child workflows' outputs reach the parent; children get <parent>:000N IDs; purge is recursive", async () => {
    const client = await setup();
    await client.workflow.start("parent", ["Paris", "Oslo"], "parent-sdk");
    const state = await waitForState(client, "parent-sdk", hasStatus("COMPLETED"));
    expect(JSON.parse(state.properties!["dapr.workflow.output"]!)).toEqual([
      ["Hello, Tokyo!", "Hello, London!", "Hello, Paris!"],
      ["Hello, Tokyo!", "Hello, London!", "Hello, Oslo!"],
    ]);

    const first = await client.workflow.get("parent-sdk:0001");
    expect(first.workflowName).toBe("hello");
    expect(first.runtimeStatus).toBe("COMPLETED");
    expect(first.properties?.["dapr.workflow.input"]).toBe('"Paris"');
    const second = await client.workflow.get("parent-sdk:0002");
    expect(second.properties?.["dapr.workflow.input"]).toBe('"Oslo"');

    await client.workflow.purge("parent-sdk");
    expect((await sdkError(client.workflow.get("parent-sdk"))).status).toBe(404);
    expect((await sdkError(client.workflow.get("parent-sdk:0001"))).status).toBe(404);
    expect((await sdkError(client.workflow.get("parent-sdk:0002"))).status).toBe(404);
  });
});

describe("DaprClient with an API token", () => {
  it("a client with the matching daprApiToken works end to end", async () => {
    const client = await setup({ apiToken: "tok" });
    await client.workflow.start("hello", "Rome", "tok-ok");
    const state = await waitForState(client, "tok-ok", hasStatus("COMPLETED"));
    expect(JSON.parse(state.properties!["dapr.workflow.output"]!)).toContain("Hello, Rome!");
  });

  it("a client without the token gets 401 on workflow calls", async () => {
    const port = await serve({ apiToken: "tok" });
    const client = connect(port);
    // The SDK's start-up probe (GET /v1.0/metadata) is also token-protected, so a token-less
    // client would retry it for ~30 s and then give up. Mark it started to reach the routes.
    (client.daprClient as unknown as { setIsInitialized(v: boolean): void }).setIsInitialized(true);
    const error = await sdkError(client.workflow.start("hello", "Rome", "tok-missing"));
    expect(error.status).toBe(401);
    expect(error.error_msg).toBe("invalid api token\n");
    expect((await sdkError(client.workflow.get("tok-missing"))).status).toBe(401);

    // Nothing was started: the client with the token does not find it.
    const authorized = connect(port, "tok");
    expect((await sdkError(authorized.workflow.get("tok-missing"))).status).toBe(404);
  });

  it("a client with a wrong token gets 401", async () => {
    const port = await serve({ apiToken: "tok" });
    const client = connect(port, "wrong");
    (client.daprClient as unknown as { setIsInitialized(v: boolean): void }).setIsInitialized(true);
    expect((await sdkError(client.workflow.get("anything"))).status).toBe(401);
  });

  it("the token-less client's start-up probe is refused, so the SDK gives up starting", async () => {
    const port = await serve({ apiToken: "tok" });
    // The SDK polls 60 times; shorten its delay so giving up takes well under a second.
    const settings = Settings as unknown as { daprSidecarPollingDelayMs: number };
    const delay = settings.daprSidecarPollingDelayMs;
    settings.daprSidecarPollingDelayMs = 5;
    try {
      await expect(connect(port).workflow.get("anything")).rejects.toThrow("DAPR_SIDECAR_COULD_NOT_BE_STARTED");
    } finally {
      settings.daprSidecarPollingDelayMs = delay;
    }
    // The same probe with the token succeeds at once.
    await expect(connect(port, "tok").start()).resolves.toBeUndefined();
    const response = await fetch(`http://127.0.0.1:${port}/v1.0/metadata`);
    expect(response.status).toBe(401);
    const withToken = await fetch(`http://127.0.0.1:${port}/v1.0/metadata`, { headers: { "dapr-api-token": "tok" } });
    expect(withToken.status).toBe(200);
  });
});
