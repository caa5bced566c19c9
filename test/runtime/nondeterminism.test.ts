/**
 * Code changed under a running instance, end to end: the instance runs to a waiting point
 * with one version of the workflow, the process "restarts" on the same database file with a
 * different function under the same name, and the next event makes it replay. It must fail
 * with NonDeterminismError (naming both sides) and never hang. Also: a restart with the
 * same code resumes the instance normally (the control case).
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ActivityContext, WorkflowContext } from "../../src/runtime/context.js";
import type { WorkflowRegistry } from "../../src/runtime/registry.js";
import { harnesses, outputOf, tempDir } from "./helpers.js";

const open = harnesses();
let dir: ReturnType<typeof tempDir>;
let dbPath: string;

beforeEach(() => {
  dir = tempDir();
  dbPath = join(dir.path, "workflowd.db");
});
afterEach(async () => {
  await open.closeAll();
  dir.cleanup();
});

function a(_ctx: ActivityContext): string {
  return "from a";
}
function b(_ctx: ActivityContext): string {
  return "from b";
}

function v1(registry: WorkflowRegistry): void {
  registry
    .registerWorkflowWithName("order", async function* (ctx: WorkflowContext) {
      const first: string = yield ctx.callActivity(a);
      ctx.setCustomStatus("waiting");
      const answer: unknown = yield ctx.waitForExternalEvent("go");
      return { first, answer };
    })
    .registerActivity(a)
    .registerActivity(b);
}

/** The first action is now a different activity. */
function v2Renamed(registry: WorkflowRegistry): void {
  registry
    .registerWorkflowWithName("order", async function* (ctx: WorkflowContext) {
      const first: string = yield ctx.callActivity(b);
      ctx.setCustomStatus("waiting");
      const answer: unknown = yield ctx.waitForExternalEvent("go");
      return { first, answer };
    })
    .registerActivity(a)
    .registerActivity(b);
}

/** The first action is now a timer. */
function v2Timer(registry: WorkflowRegistry): void {
  registry
    .registerWorkflowWithName("order", async function* (ctx: WorkflowContext) {
      yield ctx.createTimer(0);
      ctx.setCustomStatus("waiting");
      return (yield ctx.waitForExternalEvent("go")) as unknown;
    })
    .registerActivity(a)
    .registerActivity(b);
}

async function runToWaitingPointThenRestart(next: (registry: WorkflowRegistry) => void) {
  const first = await open.create({ workflows: v1, dbPath });
  const id = await first.start("order", undefined, "order-1");
  await first.waitForCustomStatus(id, "waiting");
  await first.close();
  const second = await open.create({ workflows: next, dbPath });
  expect((await second.get(id))?.runtimeStatus).toBe("RUNNING");
  await second.raise(id, "go", "ok");
  return { app: second, id };
}

describe("non-determinism after a code change", () => {
  it("control: restarting with the same code resumes and completes", async () => {
    const { app, id } = await runToWaitingPointThenRestart(v1);
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toEqual({ first: "from a", answer: "ok" });
  });

  it("a renamed activity: FAILED with NonDeterminismError naming 'a' and 'b'", async () => {
    const { app, id } = await runToWaitingPointThenRestart(v2Renamed);
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("FAILED");
    const p = state.properties ?? {};
    expect(p["dapr.workflow.failure.error_type"], p["dapr.workflow.failure.error_message"]).toBe("NonDeterminismError");
    expect(p["dapr.workflow.failure.error_message"]).toContain("'a'");
    expect(p["dapr.workflow.failure.error_message"]).toContain("'b'");
  });

  it("an activity replaced by a timer: FAILED with NonDeterminismError naming both", async () => {
    const { app, id } = await runToWaitingPointThenRestart(v2Timer);
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("FAILED");
    const p = state.properties ?? {};
    expect(p["dapr.workflow.failure.error_type"], p["dapr.workflow.failure.error_message"]).toBe("NonDeterminismError");
    expect(p["dapr.workflow.failure.error_message"]).toContain("callActivity('a')");
    expect(p["dapr.workflow.failure.error_message"]).toContain("createTimer");
  });

  it("whatever the error type, the instance never hangs: it reaches a terminal status", async () => {
    const { app, id } = await runToWaitingPointThenRestart(v2Renamed);
    const state = await app.waitForTerminal(id);
    expect(state.runtimeStatus).toBe("FAILED");
  });
});
