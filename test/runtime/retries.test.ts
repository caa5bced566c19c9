/**
 * Retry policies (callActivity / callChildWorkflow options) and ctx.newGuid(): the policy
 * arithmetic on plain numbers, the history a retried task leaves, and retries end to end
 * over the HTTP API with real durable timers between attempts.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ActivityContext, WorkflowContext } from "../../src/runtime/context.js";
import { WorkflowRegistry } from "../../src/runtime/registry.js";
import { RetryPolicy } from "../../src/runtime/retry-policy.js";
import { completionOf, h, harnesses, nonCompletion, outputOf, runReplay, T0 } from "./helpers.js";

const open = harnesses();
afterEach(async () => open.closeAll());

describe("RetryPolicy", () => {
  it("waits first, then first × coefficient^(n-1), capped by the max interval", async () => {
    const policy = new RetryPolicy({
      maxNumberOfAttempts: 6,
      firstRetryIntervalInMilliseconds: 100,
      backoffCoefficient: 2,
      maxRetryIntervalInMilliseconds: 500,
    });
    expect([1, 2, 3, 4, 5].map((n) => policy.nextDelayMs(n, 0, 0))).toEqual([100, 200, 400, 500, 500]);
  });

  it("allows no attempt beyond maxNumberOfAttempts", async () => {
    const policy = new RetryPolicy({ maxNumberOfAttempts: 3, firstRetryIntervalInMilliseconds: 10 });
    expect(policy.nextDelayMs(2, 0, 0)).toBe(10);
    expect(policy.nextDelayMs(3, 0, 0)).toBeUndefined();
  });

  it("allows no attempt that would start after the retry time-out", async () => {
    const policy = new RetryPolicy({ maxNumberOfAttempts: 10, firstRetryIntervalInMilliseconds: 100, retryTimeoutInMilliseconds: 1_000 });
    expect(policy.nextDelayMs(1, 5_000, 5_900)).toBe(100);
    expect(policy.nextDelayMs(1, 5_000, 5_901)).toBeUndefined();
  });

  it.each([
    [{ maxNumberOfAttempts: 0, firstRetryIntervalInMilliseconds: 1 }, /maxNumberOfAttempts/],
    [{ maxNumberOfAttempts: 1.5, firstRetryIntervalInMilliseconds: 1 }, /maxNumberOfAttempts/],
    [{ maxNumberOfAttempts: 2, firstRetryIntervalInMilliseconds: -1 }, /firstRetryIntervalInMilliseconds/],
    [{ maxNumberOfAttempts: 2, firstRetryIntervalInMilliseconds: 1, backoffCoefficient: 0.5 }, /backoffCoefficient/],
    [{ maxNumberOfAttempts: 2, firstRetryIntervalInMilliseconds: Number.NaN }, /firstRetryIntervalInMilliseconds/],
  ])("rejects invalid options %j with a TypeError naming the field", (options, field) => {
    expect(() => new RetryPolicy(options)).toThrow(TypeError);
    expect(() => new RetryPolicy(options)).toThrow(field);
  });
});

describe("a retried activity in history", () => {
  const failure = { errorType: "Flaky", errorMessage: "try again" };
  async function* retrier(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
    return yield ctx.callActivity("flaky", 7, { retryPolicy: { maxNumberOfAttempts: 3, firstRetryIntervalInMilliseconds: 1_000, backoffCoefficient: 3 } });
  }
  const registry = new WorkflowRegistry().registerWorkflow(retrier);

  it("a failed attempt schedules a durable timer at now + the first interval", async () => {
    const T1 = T0 + 50;
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("retrier"), h.taskScheduled(1, "flaky", "7")],
      [h.orchStarted(T1), h.taskFailed(1, failure, T1)],
    );
    expect(result.actions).toEqual([{ kind: "createTimer", id: 2, fireAt: T1 + 1_000 }]);
  });

  it("when the timer fires, the activity is scheduled again with a new action ID and the same input", async () => {
    const T1 = T0 + 50;
    const T2 = T1 + 1_000;
    const result = await runReplay(
      registry,
      [h.orchStarted(), h.started("retrier"), h.taskScheduled(1, "flaky", "7"), h.orchStarted(T1), h.taskFailed(1, failure), h.timerCreated(2, T2)],
      [h.orchStarted(T2), h.timerFired(2, T2)],
    );
    expect(result.actions).toEqual([{ kind: "scheduleTask", id: 3, name: "flaky", input: "7", retryAttempt: 2 }]);
  });

  it("the second wait is first × coefficient; after the last attempt fails the workflow fails with that failure", async () => {
    const T1 = T0 + 50;
    const T2 = T1 + 1_000;
    const T3 = T2 + 10;
    const past = [
      h.orchStarted(), h.started("retrier"), h.taskScheduled(1, "flaky", "7"),
      h.orchStarted(T1), h.taskFailed(1, failure), h.timerCreated(2, T2),
      h.orchStarted(T2), h.timerFired(2, T2), h.taskScheduled(3, "flaky", "7"),
    ];
    const second = await runReplay(registry, past, [h.orchStarted(T3), h.taskFailed(3, failure)]);
    expect(second.actions).toEqual([{ kind: "createTimer", id: 4, fireAt: T3 + 3_000 }]);

    const T4 = T3 + 3_000;
    const last = await runReplay(
      registry,
      [...past, h.orchStarted(T3), h.taskFailed(3, failure), h.timerCreated(4, T4), h.orchStarted(T4), h.timerFired(4, T4), h.taskScheduled(5, "flaky", "7")],
      [h.orchStarted(T4 + 5), h.taskFailed(5, { errorType: "Flaky", errorMessage: "third time" })],
    );
    expect(nonCompletion(last)).toEqual([]);
    const completion = completionOf(last)!;
    expect(completion.status).toBe("FAILED");
    expect(completion.failureDetails?.innerFailure).toMatchObject({ errorType: "Flaky", errorMessage: "third time" });
  });
});

describe("retries end to end", () => {
  it("an activity that fails twice then succeeds completes the workflow; waits grow by the coefficient", async () => {
    const runs: number[] = [];
    const attempts: [number, number][] = [];
    function flaky(ctx: ActivityContext, input: string): string {
      runs.push(Date.now());
      attempts.push([ctx.getAttempt(), ctx.getDeliveryCount()]);
      if (runs.length < 3) throw new Error(`attempt ${runs.length} failed`);
      return `ok ${input}`;
    }
    async function* retried(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callActivity(flaky, "x", {
        retryPolicy: new RetryPolicy({ maxNumberOfAttempts: 5, firstRetryIntervalInMilliseconds: 100, backoffCoefficient: 2 }),
      });
    }
    const app = await open.create({ workflows: (r) => r.registerWorkflow(retried).registerActivity(flaky) });
    const id = await app.start("retried");
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toBe("ok x");
    expect(runs).toHaveLength(3);
    // getAttempt counts the retry policy's attempts; each was delivered once.
    expect(attempts).toEqual([[1, 1], [2, 1], [3, 1]]);
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(95);
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(195);
    const kinds = (await app.history(id)).map((e) => e.kind).filter((k) => k === "taskScheduled" || k === "timerCreated");
    expect(kinds).toEqual(["taskScheduled", "timerCreated", "taskScheduled", "timerCreated", "taskScheduled"]);
  });

  it("an activity that always fails runs exactly maxNumberOfAttempts times, then the workflow is FAILED with its error", async () => {
    let runs = 0;
    class GatewayDown extends Error {
      override name = "GatewayDown";
    }
    function hopeless(): never {
      runs += 1;
      throw new GatewayDown(`gateway down (run ${runs})`);
    }
    async function* doomed(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callActivity(hopeless, undefined, { retryPolicy: { maxNumberOfAttempts: 3, firstRetryIntervalInMilliseconds: 20 } });
    }
    const app = await open.create({ workflows: (r) => r.registerWorkflow(doomed).registerActivity(hopeless) });
    const state = await app.waitForTerminal(await app.start("doomed"));
    expect(state.runtimeStatus).toBe("FAILED");
    expect(runs).toBe(3);
    const p = state.properties ?? {};
    expect(p["dapr.workflow.failure.error_type"]).toBe("TaskFailedError");
    expect(p["dapr.workflow.failure.error_message"]).toContain("gateway down (run 3)");
    expect(p["dapr.workflow.failure.stack_trace"]).toContain("Caused by: GatewayDown: gateway down (run 3)");
    // No attempt after the last: the count stays put.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(runs).toBe(3);
  });

  it("the retry time-out stops further attempts even when attempts remain", async () => {
    let runs = 0;
    function slowFail(): never {
      runs += 1;
      throw new Error("nope");
    }
    async function* bounded(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callActivity(slowFail, undefined, {
        retryPolicy: { maxNumberOfAttempts: 100, firstRetryIntervalInMilliseconds: 60, retryTimeoutInMilliseconds: 150 },
      });
    }
    const app = await open.create({ workflows: (r) => r.registerWorkflow(bounded).registerActivity(slowFail) });
    const state = await app.waitForTerminal(await app.start("bounded"));
    expect(state.runtimeStatus).toBe("FAILED");
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(3);
  });

  it("a child workflow with a retry policy is started again until it succeeds; an explicit child ID is reused", async () => {
    let childRuns = 0;
    async function* unreliableChild(): AsyncGenerator<unknown, string, any> {
      childRuns += 1;
      if (childRuns < 3) throw new Error(`child run ${childRuns} failed`);
      return "child ok";
    }
    async function* patientParent(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      const fixed = yield ctx.callChildWorkflow(unreliableChild, undefined, {
        instanceId: `${ctx.getWorkflowInstanceId()}-child`,
        retryPolicy: { maxNumberOfAttempts: 4, firstRetryIntervalInMilliseconds: 20 },
      });
      return fixed;
    }
    const app = await open.create({ workflows: (r) => r.registerWorkflow(unreliableChild).registerWorkflow(patientParent) });
    const id = await app.start("patientParent", undefined, "pp");
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toBe("child ok");
    expect(childRuns).toBe(3);
    const child = await app.get("pp-child");
    expect(child?.runtimeStatus).toBe("COMPLETED");
    const created = (await app.history(id)).filter((e) => e.kind === "subOrchestrationInstanceCreated");
    expect(created).toHaveLength(3);
  });

  it("a child workflow that keeps failing fails the parent after maxNumberOfAttempts children (default IDs differ)", async () => {
    async function* brokenChild(): AsyncGenerator<unknown, string, any> {
      throw new Error("always broken");
    }
    async function* giveUp(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callChildWorkflow(brokenChild, undefined, { retryPolicy: { maxNumberOfAttempts: 2, firstRetryIntervalInMilliseconds: 10 } });
    }
    const app = await open.create({ workflows: (r) => r.registerWorkflow(brokenChild).registerWorkflow(giveUp) });
    const state = await app.waitForTerminal(await app.start("giveUp", undefined, "gu"));
    expect(state.runtimeStatus).toBe("FAILED");
    expect(state.properties?.["dapr.workflow.failure.error_message"]).toContain("always broken");
    // Attempt 1 is action 1, the wait is action 2, attempt 2 is action 3.
    expect((await app.get("gu:0001"))?.runtimeStatus).toBe("FAILED");
    expect((await app.get("gu:0003"))?.runtimeStatus).toBe("FAILED");
  });

  it("an invalid retry policy fails the workflow with a TypeError", async () => {
    async function* misconfigured(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callActivity("anything", undefined, { retryPolicy: { maxNumberOfAttempts: 0, firstRetryIntervalInMilliseconds: 10 } });
    }
    const app = await open.create({ workflows: (r) => r.registerWorkflow(misconfigured) });
    const state = await app.waitForTerminal(await app.start("misconfigured"));
    expect(state.runtimeStatus).toBe("FAILED");
    expect(state.properties?.["dapr.workflow.failure.error_type"]).toBe("TypeError");
    expect(state.properties?.["dapr.workflow.failure.error_message"]).toContain("maxNumberOfAttempts");
  });
});

describe("ctx.newGuid()", () => {
  async function* guids(ctx: WorkflowContext): AsyncGenerator<unknown, string[], any> {
    const first = ctx.newGuid();
    const second = ctx.newGuid();
    yield ctx.callActivity("noop");
    return [first, second, ctx.newGuid()];
  }
  const registry = new WorkflowRegistry().registerWorkflow(guids);
  const uuidV5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it("gives distinct version-5 UUIDs that are the same on every replay", async () => {
    const past = [h.orchStarted(), h.started("guids"), h.taskScheduled(1, "noop")];
    const turn = [h.orchStarted(T0 + 10), h.taskCompleted(1)];
    const once = JSON.parse(completionOf(await runReplay(registry, past, turn))!.result!) as string[];
    const again = JSON.parse(completionOf(await runReplay(registry, past, turn))!.result!) as string[];
    expect(again).toEqual(once);
    expect(new Set(once).size).toBe(3);
    for (const guid of once) expect(guid).toMatch(uuidV5);
  });

  it("differs between instances", async () => {
    const past = [h.orchStarted(), h.started("guids"), h.taskScheduled(1, "noop")];
    const turn = [h.orchStarted(T0 + 10), h.taskCompleted(1)];
    const a = completionOf(await runReplay(registry, past, turn, "a"))!.result;
    const b = completionOf(await runReplay(registry, past, turn, "b"))!.result;
    expect(a).not.toEqual(b);
  });
});
