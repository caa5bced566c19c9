/**
 * Child workflows end to end: outputs, failures, default and explicit IDs.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ActivityContext, WorkflowContext } from "../../src/runtime/context.js";
import type { WorkflowRegistry } from "../../src/runtime/registry.js";
import { harnesses, outputOf } from "./helpers.js";

const open = harnesses();
afterEach(() => open.closeAll());

function greet(_ctx: ActivityContext, name: string): string {
  return `hi ${name}`;
}

async function* greeter(ctx: WorkflowContext, name: string): AsyncGenerator<unknown, unknown, any> {
  const greeting: string = yield ctx.callActivity(greet, name);
  return { greeting, me: ctx.getWorkflowInstanceId() };
}

class ChildBroke extends Error {
  override name = "ChildBroke";
}

async function* brokenChild(_ctx: WorkflowContext, reason: string): AsyncGenerator<unknown, void, any> {
  throw new ChildBroke(`child says: ${reason}`);
}

function register(registry: WorkflowRegistry, ...more: ((ctx: WorkflowContext, input: any) => unknown)[]): void {
  registry.registerWorkflow(greeter).registerWorkflow(brokenChild).registerActivity(greet);
  for (const workflow of more) registry.registerWorkflow(workflow);
}

describe("callChildWorkflow", () => {
  it("returns the child's output to the parent; child IDs default to <parent>:0001, :0002, ...", async () => {
    async function* family(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      const first: unknown = yield ctx.callChildWorkflow(greeter, "Ann");
      const second: unknown = yield ctx.callChildWorkflow("greeter", "Bob");
      return [first, second];
    }
    const app = await open.create({ workflows: (r) => register(r, family) });
    const id = await app.start("family", undefined, "fam");
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toEqual([
      { greeting: "hi Ann", me: "fam:0001" },
      { greeting: "hi Bob", me: "fam:0002" },
    ]);
    const child = await app.get("fam:0001");
    expect(child).toMatchObject({ workflowName: "greeter", runtimeStatus: "COMPLETED" });
    expect(child?.properties?.["dapr.workflow.input"]).toBe('"Ann"');
  });

  it("the action ID in the default child ID counts every earlier action (hex, 4 digits)", async () => {
    async function* busy(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      const timers = Array.from({ length: 10 }, () => ctx.createTimer(0));
      yield ctx.whenAll(timers);
      return yield ctx.callChildWorkflow(greeter, "Cy");
    }
    const app = await open.create({ workflows: (r) => register(r, busy) });
    const state = await app.waitForTerminal(await app.start("busy", undefined, "busy"));
    expect(outputOf(state)).toEqual({ greeting: "hi Cy", me: "busy:000b" });
  });

  it("an explicit child instance ID is used as given", async () => {
    async function* named(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callChildWorkflow(greeter, "Dee", "my-child");
    }
    const app = await open.create({ workflows: (r) => register(r, named) });
    const state = await app.waitForTerminal(await app.start("named"));
    expect(outputOf(state)).toEqual({ greeting: "hi Dee", me: "my-child" });
    expect((await app.get("my-child"))?.runtimeStatus).toBe("COMPLETED");
  });

  it("a failing child fails the parent's task with TaskFailedError, which the parent can catch", async () => {
    async function* resilient(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      try {
        yield ctx.callChildWorkflow(brokenChild, "disk full");
        return "unexpected";
      } catch (error) {
        const e = error as Error & { details?: { errorType: string; errorMessage: string } };
        const fallback: unknown = yield ctx.callChildWorkflow(greeter, "fallback");
        return { name: e.name, message: e.message, details: e.details, fallback };
      }
    }
    const app = await open.create({ workflows: (r) => register(r, resilient) });
    const id = await app.start("resilient", undefined, "res");
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    const output = outputOf(state) as { name: string; message: string; details: { errorType: string; errorMessage: string }; fallback: unknown };
    expect(output.name).toBe("TaskFailedError");
    expect(output.message).toContain("child says: disk full");
    expect(output.details).toMatchObject({ errorType: "ChildBroke", errorMessage: "child says: disk full" });
    expect(output.fallback).toEqual({ greeting: "hi fallback", me: "res:0002" });
    expect((await app.get("res:0001"))?.runtimeStatus).toBe("FAILED");
  });

  it("an uncaught child failure fails the parent", async () => {
    async function* careless(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.callChildWorkflow(brokenChild, "oops");
    }
    const app = await open.create({ workflows: (r) => register(r, careless) });
    const state = await app.waitForTerminal(await app.start("careless"));
    expect(state.runtimeStatus).toBe("FAILED");
    expect(state.properties?.["dapr.workflow.failure.error_type"]).toBe("TaskFailedError");
    expect(state.properties?.["dapr.workflow.failure.error_message"]).toContain("child says: oops");
  });

  it("whenAll over children returns their outputs in order (callSubWorkflow alias too)", async () => {
    async function* fan(ctx: WorkflowContext, names: string[]): AsyncGenerator<unknown, unknown, any> {
      return yield ctx.whenAll(names.map((n, i) => (i % 2 ? ctx.callSubWorkflow(greeter, n) : ctx.callChildWorkflow(greeter, n))));
    }
    const app = await open.create({ workflows: (r) => register(r, fan) });
    const state = await app.waitForTerminal(await app.startJson("fan", ["a", "b", "c"], "fan"));
    expect(outputOf(state)).toEqual([
      { greeting: "hi a", me: "fan:0001" },
      { greeting: "hi b", me: "fan:0002" },
      { greeting: "hi c", me: "fan:0003" },
    ]);
  });
});
