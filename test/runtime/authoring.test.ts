/**
 * The authoring API end to end: workflows registered in buildApp's registry, driven over
 * the HTTP API (inject) and observed with GET until they finish.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ActivityContext, WorkflowContext } from "../../src/runtime/context.js";
import type { WorkflowRegistry } from "../../src/runtime/registry.js";
import type { Task } from "../../src/runtime/task.js";
import { gate, harnesses, outputOf } from "./helpers.js";

const open = harnesses();
afterEach(async () => open.closeAll());

function appWith(workflows: (registry: WorkflowRegistry) => void, clock?: () => number, hotInstancesMax?: number) {
  return open.create({ workflows, ...(clock ? { clock } : {}), ...(hotInstancesMax !== undefined ? { hotInstancesMax } : {}) });
}

const UNDEFINED = "<undefined>";

describe("workflow function shapes", () => {
  it("a plain function* generator works like an async one", async () => {
    function double(_ctx: ActivityContext, n: number): number {
      return n * 2;
    }
    function* syncGen(ctx: WorkflowContext, n: number): Generator<unknown, number, any> {
      const a: number = yield ctx.callActivity(double, n);
      const b: number = yield ctx.callActivity(double, a);
      return b;
    }
    const app = await appWith((r) => r.registerWorkflow(syncGen).registerActivity(double));
    const id = await app.startJson("syncGen", 5);
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toBe(20);
  });

  it("an async function* generator works", async () => {
    async function inc(_ctx: ActivityContext, n: number): Promise<number> {
      return n + 1;
    }
    async function* asyncGen(ctx: WorkflowContext, n: number): AsyncGenerator<unknown, number, any> {
      return (yield ctx.callActivity(inc, n)) as number;
    }
    const app = await appWith((r) => r.registerWorkflow(asyncGen).registerActivity(inc));
    const state = await app.waitForTerminal(await app.startJson("asyncGen", 41));
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toBe(42);
  });

  it("a non-generator function completes with its return value (sync and async)", async () => {
    const app = await appWith((r) =>
      r
        .registerWorkflowWithName("plain", (_ctx: WorkflowContext, input: { n: number }) => ({ doubled: input.n * 2 }))
        .registerWorkflowWithName("plainAsync", async (_ctx: WorkflowContext, input: string) => `${input}!`)
        .registerWorkflowWithName("plainVoid", () => undefined),
    );
    const plain = await app.waitForTerminal(await app.startJson("plain", { n: 21 }));
    expect(plain.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(plain)).toEqual({ doubled: 42 });

    const plainAsync = await app.waitForTerminal(await app.startJson("plainAsync", "hi"));
    expect(plainAsync.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(plainAsync)).toBe("hi!");

    const plainVoid = await app.waitForTerminal(await app.startJson("plainVoid", undefined));
    expect(plainVoid.runtimeStatus).toBe("COMPLETED");
    expect(plainVoid.properties?.["dapr.workflow.output"]).toBeUndefined();
  });

  it("a non-generator function that throws fails the workflow", async () => {
    const app = await appWith((r) =>
      r.registerWorkflowWithName("plainThrow", () => {
        throw new SyntaxError("nope");
      }),
    );
    const state = await app.waitForTerminal(await app.start("plainThrow"));
    expect(state.runtimeStatus).toBe("FAILED");
    expect(state.properties?.["dapr.workflow.failure.error_type"]).toBe("SyntaxError");
    expect(state.properties?.["dapr.workflow.failure.error_message"]).toBe("nope");
  });
});

describe("payloads", () => {
  it("callActivity input and output round-trip as JSON (objects, numbers, strings, null, falsy, undefined)", async () => {
    const received: unknown[] = [];
    function echo(_ctx: ActivityContext, input: unknown): unknown {
      received.push(input === undefined ? UNDEFINED : input);
      return input;
    }
    async function* roundTrip(ctx: WorkflowContext): AsyncGenerator<unknown, unknown[], any> {
      const inputs: unknown[] = [{ a: 1, nested: { b: [true, "x"] } }, 3.5, -7, "text", "", 0, false, null, undefined];
      const out: unknown[] = [];
      for (const input of inputs) {
        const value: unknown = yield ctx.callActivity(echo, input);
        out.push(value === undefined ? UNDEFINED : value);
      }
      return out;
    }
    const app = await appWith((r) => r.registerWorkflow(roundTrip).registerActivity(echo));
    const state = await app.waitForTerminal(await app.start("roundTrip"));
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(received).toEqual([{ a: 1, nested: { b: [true, "x"] } }, 3.5, -7, "text", "", 0, false, null, UNDEFINED]);
    // An activity result of null travels as "no value" (as in the Dapr SDK), so the
    // workflow sees undefined for both null and undefined.
    expect(outputOf(state)).toEqual([{ a: 1, nested: { b: [true, "x"] } }, 3.5, -7, "text", "", 0, false, UNDEFINED, UNDEFINED]);
  });

  it("a start body that is not valid JSON reaches the workflow as a plain string; JSON is parsed; no body is undefined", async () => {
    const seen: unknown[] = [];
    const app = await appWith((r) =>
      r.registerWorkflowWithName("inputProbe", (_ctx: WorkflowContext, input: unknown) => {
        seen.push(input === undefined ? UNDEFINED : input);
        return { type: typeof input, input };
      }),
    );
    const plain = await app.waitForTerminal(await app.start("inputProbe", "hello world"));
    expect(outputOf(plain)).toEqual({ type: "string", input: "hello world" });
    expect(plain.properties?.["dapr.workflow.input"]).toBe("hello world");

    const json = await app.waitForTerminal(await app.start("inputProbe", '{"n":[1,2]}'));
    expect(outputOf(json)).toEqual({ type: "object", input: { n: [1, 2] } });

    const quoted = await app.waitForTerminal(await app.start("inputProbe", '"quoted"'));
    expect(outputOf(quoted)).toEqual({ type: "string", input: "quoted" });

    const none = await app.waitForTerminal(await app.start("inputProbe"));
    expect(outputOf(none)).toEqual({ type: "undefined" });
    expect(seen).toEqual(["hello world", { n: [1, 2] }, "quoted", UNDEFINED]);
  });

  it("the activity context carries the instance ID, the task ID, attempt 1 and delivery 1", async () => {
    function whoAmI(ctx: ActivityContext): unknown {
      return { instanceId: ctx.getWorkflowInstanceId(), taskId: ctx.getWorkflowActivityId(), attempt: ctx.getAttempt(), delivery: ctx.getDeliveryCount() };
    }
    async function* ids(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      yield ctx.createTimer(0);
      return yield ctx.callActivity(whoAmI);
    }
    const app = await appWith((r) => r.registerWorkflow(ids).registerActivity(whoAmI));
    const state = await app.waitForTerminal(await app.start("ids", undefined, "ctx-probe"));
    expect(outputOf(state)).toEqual({ instanceId: "ctx-probe", taskId: 2, attempt: 1, delivery: 1 });
  });
});

describe("activity failures", () => {
  class InsufficientFunds extends Error {
    override name = "InsufficientFunds";
  }
  function withdraw(_ctx: ActivityContext, amount: number): number {
    if (amount > 100) throw new InsufficientFunds(`cannot withdraw ${amount}`);
    return 100 - amount;
  }

  it("the workflow can catch a failed activity (TaskFailedError) and continue", async () => {
    async function* careful(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      let caught: { name: string; message: string; details: { errorType: string; errorMessage: string } } | undefined;
      try {
        yield ctx.callActivity(withdraw, 500);
      } catch (error) {
        const e = error as Error & { details: { errorType: string; errorMessage: string } };
        caught = { name: e.name, message: e.message, details: e.details };
      }
      const left: number = yield ctx.callActivity(withdraw, 30);
      return { caught, left };
    }
    const app = await appWith((r) => r.registerWorkflow(careful).registerActivity(withdraw));
    const state = await app.waitForTerminal(await app.start("careful"));
    expect(state.runtimeStatus).toBe("COMPLETED");
    const output = outputOf(state) as { caught: { name: string; message: string; details: { errorType: string; errorMessage: string } }; left: number };
    expect(output.left).toBe(70);
    expect(output.caught.name).toBe("TaskFailedError");
    expect(output.caught.message).toContain("cannot withdraw 500");
    expect(output.caught.details.errorType).toBe("InsufficientFunds");
    expect(output.caught.details.errorMessage).toBe("cannot withdraw 500");
  });

  it("an uncaught activity failure fails the workflow with error_type, error_message and stack_trace", async () => {
    async function* reckless(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callActivity(withdraw, 1000);
    }
    const app = await appWith((r) => r.registerWorkflow(reckless).registerActivity(withdraw));
    const state = await app.waitForTerminal(await app.start("reckless"));
    expect(state.runtimeStatus).toBe("FAILED");
    const p = state.properties ?? {};
    expect(p["dapr.workflow.failure.error_type"]).toBe("TaskFailedError");
    expect(p["dapr.workflow.failure.error_message"]).toContain("cannot withdraw 1000");
    expect(p["dapr.workflow.failure.stack_trace"]).toMatch(/\n\s+at /);
    // The activity's own error and where it was thrown follow the workflow's stack.
    expect(p["dapr.workflow.failure.stack_trace"]).toMatch(/\nCaused by: InsufficientFunds: cannot withdraw 1000\n\s+at withdraw /);
    expect(p).not.toHaveProperty("dapr.workflow.output");
  });

  it("a workflow that throws its own error fails with that error's type and message", async () => {
    async function* validating(_ctx: WorkflowContext, input: { qty?: number }): AsyncGenerator<unknown, void, any> {
      if (!input?.qty) throw new RangeError("qty must be positive");
    }
    const app = await appWith((r) => r.registerWorkflow(validating));
    const state = await app.waitForTerminal(await app.startJson("validating", { qty: 0 }));
    expect(state.runtimeStatus).toBe("FAILED");
    expect(state.properties?.["dapr.workflow.failure.error_type"]).toBe("RangeError");
    expect(state.properties?.["dapr.workflow.failure.error_message"]).toBe("qty must be positive");
    expect(state.properties?.["dapr.workflow.failure.stack_trace"]).toContain("qty must be positive");
  });
});

describe("whenAll / whenAny", () => {
  it("whenAll returns results in order, even when later tasks finish first", async () => {
    const gates = [gate(), gate(), gate()];
    async function slowIdentity(_ctx: ActivityContext, i: number): Promise<string> {
      await gates[i]!.promise;
      return `r${i}`;
    }
    async function* all(ctx: WorkflowContext): AsyncGenerator<unknown, string[], any> {
      return yield ctx.whenAll([0, 1, 2].map((i) => ctx.callActivity(slowIdentity, i)));
    }
    const app = await appWith((r) => r.registerWorkflow(all).registerActivity(slowIdentity));
    const id = await app.start("all");
    // Release them last to first, each only after the previous result is in history.
    const completedIds = async () =>
      (await app.history(id)).flatMap((e) => (e.kind === "taskCompleted" ? [e.taskScheduledId] : []));
    gates[2]!.open();
    await vi.waitFor(async () => expect(await completedIds()).toEqual([3]));
    gates[1]!.open();
    await vi.waitFor(async () => expect(await completedIds()).toEqual([3, 2]));
    gates[0]!.open();
    const state = await app.waitForTerminal(id);
    expect(await completedIds()).toEqual([3, 2, 1]);
    expect(outputOf(state)).toEqual(["r0", "r1", "r2"]);
  });

  it("whenAll fails on the first failure without waiting for the rest", async () => {
    function boom(): never {
      throw new Error("boom");
    }
    async function* allFail(ctx: WorkflowContext): AsyncGenerator<unknown, string, any> {
      try {
        // The event is never raised: whenAll must fail as soon as boom fails.
        yield ctx.whenAll([ctx.waitForExternalEvent("never"), ctx.callActivity(boom)]);
        return "all done";
      } catch (error) {
        return `caught: ${(error as Error).message}`;
      }
    }
    const app = await appWith((r) => r.registerWorkflow(allFail).registerActivity(boom));
    const state = await app.waitForTerminal(await app.start("allFail"));
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toMatch(/^caught: .*boom/);
  });

  it("whenAny returns the first completed task; getResult() gives its value", async () => {
    const held = gate();
    async function slow(): Promise<string> {
      await held.promise;
      return "slow";
    }
    function fast(): string {
      return "fast";
    }
    async function* any(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      const s = ctx.callActivity(slow);
      const f = ctx.callActivity(fast);
      const winner: Task<string> = yield ctx.whenAny([s, f]);
      return { winnerIsFast: winner === f, value: winner.getResult() };
    }
    const app = await appWith((r) => r.registerWorkflow(any).registerActivity(slow).registerActivity(fast));
    const id = await app.start("any");
    const state = await app.waitForTerminal(id);
    held.open();
    expect(outputOf(state)).toEqual({ winnerIsFast: true, value: "fast" });
  });

  it("whenAny with a timer and an event: the event wins when raised", async () => {
    async function* race(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      const event = ctx.waitForExternalEvent("answer");
      const timeout = ctx.createTimer(3600);
      ctx.setCustomStatus("racing");
      const winner: Task<unknown> = yield ctx.whenAny([event, timeout]);
      return winner === event ? event.getResult() : "timeout";
    }
    const app = await appWith((r) => r.registerWorkflow(race));
    const id = await app.start("race");
    await app.waitForCustomStatus(id, "racing");
    await app.raise(id, "answer", { ok: 1 });
    expect(outputOf(await app.waitForTerminal(id))).toEqual({ ok: 1 });
  });
});

describe("context information", () => {
  it("setCustomStatus shows up as dapr.workflow.custom_status; getWorkflowInstanceId is the instance ID", async () => {
    async function* status(ctx: WorkflowContext): AsyncGenerator<unknown, string, any> {
      ctx.setCustomStatus(`phase 1 of ${ctx.getWorkflowInstanceId()}`);
      yield ctx.waitForExternalEvent("next");
      ctx.setCustomStatus("phase 2");
      return ctx.getWorkflowInstanceId();
    }
    const app = await appWith((r) => r.registerWorkflow(status));
    const id = await app.start("status", undefined, "status-1");
    const running = await app.waitForCustomStatus(id, "phase 1 of status-1");
    expect(running.runtimeStatus).toBe("RUNNING");
    await app.raise(id, "next");
    const done = await app.waitForTerminal(id);
    expect(done.properties?.["dapr.workflow.custom_status"]).toBe("phase 2");
    expect(outputOf(done)).toBe("status-1");
  });

  it("getCurrentUtcDateTime is the OrchestratorStarted time of each turn, the same on replay; isReplaying flips to false for new events", async () => {
    // Without hot instances every step replays the code from the start, which is what this
    // test observes; the next test runs the same workflow with the cache.
    const T_START = Date.UTC(2030, 5, 1, 8, 0, 0);
    let now = T_START;
    const clock = () => now;
    const seen: { step: number; time: number; replaying: boolean }[] = [];
    async function advance(_ctx: ActivityContext, to: number): Promise<void> {
      now = to; // the activity's result (and so the next turn) happens at this time
    }
    async function* timed(ctx: WorkflowContext): AsyncGenerator<unknown, number[], any> {
      const times: number[] = [];
      const record = (step: number) => {
        const time = ctx.getCurrentUtcDateTime().getTime();
        times.push(time);
        seen.push({ step, time, replaying: ctx.isReplaying() });
      };
      record(1);
      yield ctx.callActivity(advance, T_START + 60_000);
      record(2);
      ctx.setCustomStatus("waiting");
      yield ctx.waitForExternalEvent("go");
      record(3);
      return times;
    }
    const app = await appWith((r) => r.registerWorkflow(timed).registerActivity(advance), clock, 0);
    const id = await app.start("timed");
    await app.waitForCustomStatus(id, "waiting");
    now = T_START + 120_000;
    await app.raise(id, "go");
    const state = await app.waitForTerminal(id);

    const turnTimes = (await app.history(id)).filter((e) => e.kind === "orchestratorStarted").map((e) => e.timestamp);
    expect(turnTimes).toEqual([T_START, T_START + 60_000, T_START + 120_000]);
    expect(outputOf(state)).toEqual(turnTimes);
    expect(seen).toEqual([
      // turn 1: everything is new
      { step: 1, time: T_START, replaying: false },
      // turn 2: step 1 replays with the same time; step 2 runs on the new result
      { step: 1, time: T_START, replaying: true },
      { step: 2, time: T_START + 60_000, replaying: false },
      // turn 3: steps 1 and 2 replay with their original times
      { step: 1, time: T_START, replaying: true },
      { step: 2, time: T_START + 60_000, replaying: true },
      { step: 3, time: T_START + 120_000, replaying: false },
    ]);
  });
});

describe("yielding a non-task", () => {
  it("fails the workflow with a clear TypeError", async () => {
    async function* wrong(_ctx: WorkflowContext): AsyncGenerator<unknown, void, any> {
      yield new Promise((resolve) => setTimeout(resolve, 1));
    }
    function* wrongLater(ctx: WorkflowContext): Generator<unknown, void, any> {
      yield ctx.createTimer(0);
      yield "a string";
    }
    const app = await appWith((r) => r.registerWorkflow(wrong).registerWorkflow(wrongLater));
    for (const name of ["wrong", "wrongLater"]) {
      const state = await app.waitForTerminal(await app.start(name));
      expect(state.runtimeStatus).toBe("FAILED");
      expect(state.properties?.["dapr.workflow.failure.error_type"]).toBe("TypeError");
      expect(state.properties?.["dapr.workflow.failure.error_message"]).toMatch(/only yield tasks/);
    }
  });
});
