/**
 * The workflow features, run by the unchanged @dapr/dapr 3.18 WorkflowRuntime connected to
 * workflowd (a separate process) over the durabletask gRPC protocol, and read both through
 * DaprWorkflowClient (gRPC) and through GET /v1.0/workflows/dapr/{id} (HTTP).
 */
import { describe, expect, it } from "vitest";
import { outputOf } from "../process/harness.js";
import { SdkStatus, useGrpcTest } from "./helpers.js";
import {
  chainResult,
  sdkApproval,
  sdkChain,
  sdkCounter,
  sdkFanOut,
  sdkParent,
  sdkPayment,
  sdkPhases,
  sdkTimer,
  // @ts-expect-error -- a plain .mjs module shared with the fixture app (no declarations)
} from "../fixtures/sdk-workflows.mjs";

const t = useGrpcTest();

/** workflowd, a connected WorkflowRuntime and a DaprWorkflowClient. */
async function setup() {
  const wd = await t.workflowd();
  await t.runtime(wd);
  return { wd, server: wd.server, client: t.client(wd) };
}

const json = (text: string | undefined) => (text === undefined ? undefined : JSON.parse(text));
const prop = (state: { properties?: Record<string, string> } | undefined, name: string) => state?.properties?.[`dapr.workflow.${name}`];

describe("workflow features through the Dapr SDK over gRPC", () => {
  it("a chain of five activities completes with the chained output, custom status and input on both sides", async () => {
    const { server, client } = await setup();
    const id = await client.scheduleNewWorkflow(sdkChain, { seed: 2 }, "chain-1");
    expect(id).toBe("chain-1");

    const done = await client.waitForWorkflowCompletion(id, true, 20);
    expect(done?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(done?.name).toBe("sdkChain");
    expect(json(done?.serializedOutput)).toBe(chainResult(2));
    expect(json(done?.serializedInput)).toEqual({ seed: 2 });
    expect(done?.customStatus).toBe("step 5 of 5");
    expect(done?.workflowFailureDetails).toBeUndefined();

    const viaSdk = await client.getWorkflowState(id, true);
    expect(viaSdk?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(json(viaSdk?.serializedOutput)).toBe(chainResult(2));

    const viaHttp = await server.get(id);
    expect(viaHttp?.runtimeStatus).toBe("COMPLETED");
    expect(viaHttp?.workflowName).toBe("sdkChain");
    expect(outputOf(viaHttp)).toBe(chainResult(2));
    expect(json(prop(viaHttp, "input"))).toEqual({ seed: 2 });
    expect(prop(viaHttp, "custom_status")).toBe("step 5 of 5");
  });

  it("a fan-out of 100 activities fans in to the right sum", async () => {
    const { server, client } = await setup();
    const id = await client.scheduleNewWorkflow(sdkFanOut, 100, "fan-100");
    const expected = { count: 100, sum: (100 * 101 * 201) / 6, first: 1, last: 10_000 };

    const done = await client.waitForWorkflowCompletion(id, true, 30);
    expect(done?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(json(done?.serializedOutput)).toEqual(expected);

    const viaHttp = await server.get(id);
    expect(viaHttp?.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(viaHttp)).toEqual(expected);
  });

  it("a durable timer of 1 s makes the workflow wait at least 1 s", async () => {
    const { server, client } = await setup();
    const startedAt = Date.now();
    const id = await client.scheduleNewWorkflow(sdkTimer, 1, "timer-1s");

    // While the timer runs the workflow is RUNNING, on both sides.
    await server.waitFor(id, "to be RUNNING", (s) => s.runtimeStatus === "RUNNING");
    expect((await client.getWorkflowState(id, false))?.runtimeStatus).toBe(SdkStatus.RUNNING);

    const done = await client.waitForWorkflowCompletion(id, true, 20);
    const elapsed = Date.now() - startedAt;
    expect(done?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    const output = json(done?.serializedOutput) as { before: number; after: number };
    // Orchestration time: the turn after the timer runs no earlier than its fire time.
    expect(output.after - output.before).toBeGreaterThanOrEqual(1_000);
    // Wall time: it waited, and not much longer than asked.
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(elapsed).toBeLessThan(6_000);

    const viaHttp = await server.get(id);
    expect(viaHttp?.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(viaHttp)).toEqual(output);
  });

  it("an external event raised over the HTTP API completes the workflow with the event's payload", async () => {
    const { server, client } = await setup();
    const id = await client.scheduleNewWorkflow(sdkApproval, { order: 7 }, "approval-1");
    await server.waitFor(id, "to wait for approval", (s) => prop(s, "custom_status") === "waiting for approval");
    expect((await client.getWorkflowState(id, true))?.runtimeStatus).toBe(SdkStatus.RUNNING);

    // curl -X POST .../v1.0/workflows/dapr/approval-1/raiseEvent/approval -d '{"approved":true,"by":"alice"}'
    await server.raise(id, "approval", { approved: true, by: "alice" });

    const expected = { request: { order: 7 }, decision: { approved: true, by: "alice" } };
    const done = await client.waitForWorkflowCompletion(id, true, 20);
    expect(done?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(json(done?.serializedOutput)).toEqual(expected);
    expect(done?.customStatus).toBe("decided");

    const viaHttp = await server.get(id);
    expect(viaHttp?.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(viaHttp)).toEqual(expected);
    expect(prop(viaHttp, "custom_status")).toBe("decided");
  });

  it("a child workflow runs as <parent>:0001, visible on both sides, and its result reaches the parent", async () => {
    const { server, client } = await setup();
    const id = await client.scheduleNewWorkflow(sdkParent, 21, "family");
    const childId = "family:0001";

    const done = await client.waitForWorkflowCompletion(id, true, 20);
    expect(done?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    const expected = { child: { doubled: 42, childId }, plusOne: 43 };
    expect(json(done?.serializedOutput)).toEqual(expected);
    expect(outputOf(await server.get(id))).toEqual(expected);

    const childViaHttp = await server.get(childId);
    expect(childViaHttp?.runtimeStatus).toBe("COMPLETED");
    expect(childViaHttp?.workflowName).toBe("sdkChild");
    expect(outputOf(childViaHttp)).toEqual({ doubled: 42, childId });
    expect(json(prop(childViaHttp, "input"))).toBe(21);

    const childViaSdk = await client.getWorkflowState(childId, true);
    expect(childViaSdk?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(childViaSdk?.name).toBe("sdkChild");
    expect(json(childViaSdk?.serializedOutput)).toEqual({ doubled: 42, childId });
  });

  it("continue-as-new: a counter that continues as new five times ends with count 5 and its last input", async () => {
    const { server, client } = await setup();
    const id = await client.scheduleNewWorkflow(sdkCounter, { count: 0, target: 5 }, "counter");

    const done = await client.waitForWorkflowCompletion(id, true, 20);
    expect(done?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(json(done?.serializedOutput)).toEqual({ count: 5, generations: 5 });
    // The instance's input is the last generation's.
    expect(json(done?.serializedInput)).toEqual({ count: 5, target: 5, generations: 5 });

    const viaHttp = await server.get(id);
    expect(viaHttp?.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(viaHttp)).toEqual({ count: 5, generations: 5 });
    expect(json(prop(viaHttp, "input"))).toEqual({ count: 5, target: 5, generations: 5 });
  });

  it("custom status is visible on both sides while running and after completion", async () => {
    const { server, client } = await setup();
    const id = await client.scheduleNewWorkflow(sdkPhases, "in", "phases");

    const running = await server.waitFor(id, "to reach phase 1", (s) => prop(s, "custom_status") === "phase 1");
    expect(running.runtimeStatus).toBe("RUNNING");
    const runningViaSdk = await client.getWorkflowState(id, true);
    expect(runningViaSdk?.runtimeStatus).toBe(SdkStatus.RUNNING);
    expect(runningViaSdk?.customStatus).toBe("phase 1");

    // This time the event goes through the SDK client (RaiseEvent over gRPC).
    await client.raiseEvent(id, "next", { n: 2 });
    const done = await client.waitForWorkflowCompletion(id, true, 20);
    expect(done?.runtimeStatus).toBe(SdkStatus.COMPLETED);
    expect(done?.customStatus).toBe("phase 2");
    expect(json(done?.serializedOutput)).toEqual({ input: "in", next: { n: 2 } });

    const viaHttp = await server.get(id);
    expect(viaHttp?.runtimeStatus).toBe("COMPLETED");
    expect(prop(viaHttp, "custom_status")).toBe("phase 2");
    expect(outputOf(viaHttp)).toEqual({ input: "in", next: { n: 2 } });
  });

  it("an activity that throws fails the workflow: FAILED with failure details on both sides", async () => {
    const { server, client } = await setup();
    const id = await client.scheduleNewWorkflow(sdkPayment, { amount: 99 }, "payment");

    const done = await client.waitForWorkflowCompletion(id, true, 20);
    expect(done?.runtimeStatus).toBe(SdkStatus.FAILED);
    const details = done?.workflowFailureDetails;
    expect(details).toBeDefined();
    const errorType = details!.getErrorType();
    const errorMessage = details!.getErrorMessage();
    // The SDK fails the workflow with its TaskFailedError naming the activity's error.
    expect(errorType).toBe("TaskFailedError");
    expect(errorMessage).toContain("card declined for amount 99");
    expect(done?.serializedOutput ?? undefined).toBeUndefined();

    const viaHttp = await server.get(id);
    expect(viaHttp?.runtimeStatus).toBe("FAILED");
    expect(prop(viaHttp, "failure.error_type")).toBe(errorType);
    expect(prop(viaHttp, "failure.error_message")).toBe(errorMessage);
    expect(prop(viaHttp, "output")).toBeUndefined();
  });
});
