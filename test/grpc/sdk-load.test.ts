/**
 * 500 workflows at once through one SDK worker (the Node SDK runs 10 work items and queues
 * 100, dropping the rest silently, so workflowd's per-stream flow control is what keeps every
 * work item from being lost). Each workflow is two turns and one activity: 1,500 work items.
 */
import { describe, expect, it } from "vitest";
import { SdkStatus, useGrpcTest } from "./helpers.js";
// @ts-expect-error -- a plain .mjs module shared with the fixture app (no declarations)
import { sdkOne } from "../fixtures/sdk-workflows.mjs";

const t = useGrpcTest();
const count = 500;

describe("load", () => {
  it(`${count} concurrent workflows through one SDK worker all complete with correct outputs`, async () => {
    const wd = await t.workflowd();
    await t.runtime(wd);
    const client = t.client(wd);
    const ns = Array.from({ length: count }, (_, i) => i + 1);

    const startedAt = Date.now();
    const ids = await Promise.all(ns.map((n) => client.scheduleNewWorkflow(sdkOne, n, `load-${n}`)));
    const scheduledMs = Date.now() - startedAt;
    // A lost work item shows as a workflow that never completes: give each 25 s, then count.
    const states = await Promise.all(ids.map((id) => client.waitForWorkflowCompletion(id, true, 25).catch(() => undefined)));
    const elapsedMs = Date.now() - startedAt;
    console.log(
      `${count} workflows (${count * 3} work items) through one SDK worker: scheduled in ${scheduledMs} ms, ` +
        `all completed in ${elapsedMs} ms (${Math.round((count * 1000) / elapsedMs)} workflows/s)`,
    );

    const wrong = states
      .map((state, i) => ({ n: ns[i]!, status: state?.runtimeStatus, output: state?.serializedOutput }))
      .filter(({ n, status, output }) => status !== SdkStatus.COMPLETED || output !== JSON.stringify({ n, tripled: n * 3 }));
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(wrong).toHaveLength(0);

    // The HTTP side agrees.
    const viaHttp = await Promise.all(ns.map((n) => wd.server.get(`load-${n}`)));
    expect(viaHttp.filter((s) => s?.runtimeStatus !== "COMPLETED")).toHaveLength(0);
  }, 45_000);
});
