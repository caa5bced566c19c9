/**
 * Terminate, suspend/resume and purge, each issued from one side (DaprWorkflowClient over
 * gRPC, or the HTTP API) and checked from the other; and the error answers a Dapr SDK app
 * gets from the client calls (with their gRPC status codes).
 */
import { describe, expect, it } from "vitest";
import { eventually, outputOf } from "../process/harness.js";
import { Code, codeOf, SdkStatus, sleep, useGrpcTest } from "./helpers.js";
// @ts-expect-error -- a plain .mjs module shared with the fixture app (no declarations)
import { chainResult, sdkChain, sdkWaiter } from "../fixtures/sdk-workflows.mjs";

const t = useGrpcTest();

async function setup() {
  const wd = await t.workflowd();
  await t.runtime(wd);
  return { wd, server: wd.server, client: t.client(wd) };
}

const customStatus = (value: string) => (s: { properties?: Record<string, string> }) => s.properties?.["dapr.workflow.custom_status"] === value;
const json = (text: string | undefined) => (text === undefined ? undefined : JSON.parse(text));

describe("control from both sides", () => {
  it("terminate: from the SDK client, seen over HTTP; over HTTP, seen through the SDK client", async () => {
    const { server, client } = await setup();
    await client.scheduleNewWorkflow(sdkWaiter, "a", "term-sdk");
    await client.scheduleNewWorkflow(sdkWaiter, "b", "term-http");
    await server.waitFor("term-sdk", "to wait", customStatus("waiting for go"));
    await server.waitFor("term-http", "to wait", customStatus("waiting for go"));

    // SDK → HTTP (the SDK sends its output as JSON).
    await client.terminateWorkflow("term-sdk", "stopped by the sdk");
    const terminated = await server.waitTerminal("term-sdk");
    expect(terminated.runtimeStatus).toBe("TERMINATED");
    expect(outputOf(terminated)).toBe("stopped by the sdk");

    // HTTP → SDK.
    await server.command("term-http", "terminate");
    const viaSdk = await client.waitForWorkflowCompletion("term-http", true, 10);
    expect(viaSdk?.runtimeStatus).toBe(SdkStatus.TERMINATED);
    expect((await client.getWorkflowState("term-sdk", true))?.runtimeStatus).toBe(SdkStatus.TERMINATED);

    // A terminated workflow stays terminated: the event it waited for changes nothing.
    await server.raise("term-sdk", "go", "late");
    await sleep(300);
    expect((await server.get("term-sdk"))?.runtimeStatus).toBe("TERMINATED");
    expect((await server.get("term-http"))?.runtimeStatus).toBe("TERMINATED");
  });

  it("suspend/resume: suspended from the SDK client and resumed over HTTP, and the other way round", async () => {
    const { server, client } = await setup();
    await client.scheduleNewWorkflow(sdkWaiter, "one", "susp-sdk");
    await client.scheduleNewWorkflow(sdkWaiter, "two", "susp-http");
    await server.waitFor("susp-sdk", "to wait", customStatus("waiting for go"));
    await server.waitFor("susp-http", "to wait", customStatus("waiting for go"));

    // Suspend from the SDK; HTTP shows SUSPENDED; an event raised meanwhile is held back.
    await client.suspendWorkflow("susp-sdk");
    await server.waitFor("susp-sdk", "to be SUSPENDED", (s) => s.runtimeStatus === "SUSPENDED");
    await server.raise("susp-sdk", "go", "held");
    await sleep(400);
    expect((await server.get("susp-sdk"))?.runtimeStatus).toBe("SUSPENDED");
    expect((await client.getWorkflowState("susp-sdk", true))?.runtimeStatus).toBe(SdkStatus.SUSPENDED);
    // Resume over HTTP; the SDK sees it complete with the held event.
    await server.command("susp-sdk", "resume");
    const resumed = await client.waitForWorkflowCompletion("susp-sdk", true, 10);
    expect(resumed?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(json(resumed?.serializedOutput)).toEqual({ input: "one", go: "held" });

    // Suspend over HTTP; the SDK shows SUSPENDED; resume from the SDK; HTTP shows RUNNING.
    await server.command("susp-http", "pause");
    await eventually("susp-http to be SUSPENDED through the SDK", async () => {
      const state = await client.getWorkflowState("susp-http", false);
      return state?.runtimeStatus === SdkStatus.SUSPENDED ? state : `status ${state?.runtimeStatus}`;
    });
    await client.resumeWorkflow("susp-http");
    await server.waitFor("susp-http", "to be RUNNING again", (s) => s.runtimeStatus === "RUNNING");
    await client.raiseEvent("susp-http", "go", "after resume");
    const done = await server.waitTerminal("susp-http");
    expect(done.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(done)).toEqual({ input: "two", go: "after resume" });
  });

  it("purge: from the SDK client, gone over HTTP; over HTTP, gone through the SDK client; the ID is then reusable", async () => {
    const { server, client } = await setup();
    await client.scheduleNewWorkflow(sdkChain, { seed: 1, steps: 2 }, "purge-sdk");
    await client.scheduleNewWorkflow(sdkChain, { seed: 2, steps: 2 }, "purge-http");
    expect((await client.waitForWorkflowCompletion("purge-sdk", true, 10))?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect((await client.waitForWorkflowCompletion("purge-http", true, 10))?.runtimeStatus).toBe(SdkStatus.COMPLETED);

    // SDK → HTTP.
    expect(await client.purgeWorkflow("purge-sdk")).toBe(true);
    expect(await server.get("purge-sdk")).toBeUndefined();
    expect(await client.getWorkflowState("purge-sdk", true)).toBeUndefined();

    // HTTP → SDK.
    await server.command("purge-http", "purge");
    expect(await client.getWorkflowState("purge-http", true)).toBeUndefined();
    expect(await client.purgeWorkflow("purge-http")).toBe(false);

    // A purged ID can be used again, and runs afresh.
    await client.scheduleNewWorkflow(sdkChain, { seed: 3, steps: 2 }, "purge-sdk");
    const again = await client.waitForWorkflowCompletion("purge-sdk", true, 10);
    expect(again?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(json(again?.serializedOutput)).toBe(chainResult(3, 2));
  });
});

describe("client errors through the SDK", () => {
  it("scheduling an existing instance ID again rejects with ALREADY_EXISTS, whether it is running or finished, and changes nothing", async () => {
    const { server, client } = await setup();
    await client.scheduleNewWorkflow(sdkWaiter, "first", "dup");
    await server.waitFor("dup", "to wait", customStatus("waiting for go"));

    expect(await codeOf(client.scheduleNewWorkflow(sdkWaiter, "second", "dup"))).toBe(Code.ALREADY_EXISTS);
    const running = await client.getWorkflowState("dup", true);
    expect(running?.runtimeStatus).toBe(SdkStatus.RUNNING);
    expect(json(running?.serializedInput)).toBe("first");

    await client.raiseEvent("dup", "go", 1);
    expect((await client.waitForWorkflowCompletion("dup", true, 10))?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    // No reuse until purged (a different workflow name makes no difference).
    expect(await codeOf(client.scheduleNewWorkflow(sdkChain, { seed: 1 }, "dup"))).toBe(Code.ALREADY_EXISTS);
    const after = await server.get("dup");
    expect(after?.runtimeStatus).toBe("COMPLETED");
    expect(after?.workflowName).toBe("sdkWaiter");
    expect(outputOf(after)).toEqual({ input: "first", go: 1 });
  });

  it("getWorkflowState of an unknown ID is undefined (and GET is 404)", async () => {
    const { server, client } = await setup();
    expect(await client.getWorkflowState("no-such-instance", true)).toBeUndefined();
    expect(await client.getWorkflowState("no-such-instance", false)).toBeUndefined();
    expect(await server.get("no-such-instance")).toBeUndefined();
  });

  it("purgeWorkflow of a running instance rejects with FAILED_PRECONDITION and keeps it; of an unknown ID it returns false", async () => {
    const { server, client } = await setup();
    await client.scheduleNewWorkflow(sdkWaiter, "x", "busy");
    await server.waitFor("busy", "to wait", customStatus("waiting for go"));

    expect(await codeOf(client.purgeWorkflow("busy"))).toBe(Code.FAILED_PRECONDITION);
    expect((await server.get("busy"))?.runtimeStatus).toBe("RUNNING");
    // Still alive and well: it completes when its event comes.
    await client.raiseEvent("busy", "go", "ok");
    expect(outputOf(await server.waitTerminal("busy"))).toEqual({ input: "x", go: "ok" });

    expect(await client.purgeWorkflow("never-existed")).toBe(false);
  });
});
