/**
 * `@dapr/durabletask-js` 1.0.0, the other npm SDK of the protocol (its worker sleeps 5 s after
 * a work-item stream ends): unchanged, against workflowd. Its first workflow must not pay
 * for the reconnect priming meant for `@dapr/dapr` (measured before: 5,067 ms with the old
 * primer, 62 ms without).
 */
import { afterEach, describe, expect, it } from "vitest";
import { TaskHubGrpcClient, TaskHubGrpcWorker, type ActivityContext, type OrchestrationContext } from "@dapr/durabletask-js";
import { useGrpcTest } from "./helpers.js";

const t = useGrpcTest();
let stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(stops.map((stop) => stop().catch(() => {})));
  stops = [];
});

const double = async (_ctx: ActivityContext, n: number) => n * 2;

// eslint-disable-next-line require-yield -- the SDK's orchestrators are generators
async function* twice(ctx: OrchestrationContext, n: number): any {
  const once: number = yield ctx.callActivity(double, n);
  const again: number = yield ctx.callActivity(double, once);
  return again;
}

describe("@dapr/durabletask-js 1.0.0 against workflowd", () => {
  it("runs a workflow at once after connecting (no stream is ended under it), and again later", async () => {
    const wd = await t.workflowd();
    const address = `127.0.0.1:${wd.grpcPort}`;
    const worker = new TaskHubGrpcWorker(address);
    worker.addOrchestrator(twice);
    worker.addActivity(double);
    await worker.start();
    stops.push(() => worker.stop());
    const client = new TaskHubGrpcClient(address);
    stops.push(() => client.stop());

    const began = Date.now();
    const id = await client.scheduleNewOrchestration(twice, 5);
    const state = await client.waitForOrchestrationCompletion(id, true, 30);
    const firstMs = Date.now() - began;
    expect(state?.serializedOutput).toBe("20");
    // A 5 s sleep would show here; a workflow of two activities takes milliseconds.
    expect(firstMs).toBeLessThan(2_000);

    // Still connected a while later (nothing ended its stream once idle).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const laterBegan = Date.now();
    const second = await client.scheduleNewOrchestration(twice, 1);
    expect((await client.waitForOrchestrationCompletion(second, true, 30))?.serializedOutput).toBe("4");
    expect(Date.now() - laterBegan).toBeLessThan(2_000);
  }, 30_000);
});
