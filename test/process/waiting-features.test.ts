/**
 * Events, suspension, child-workflow cascades and continue-as-new against the real server
 * process over real HTTP, with concurrent clients: the behaviours daprd has lost events or
 * left instances stuck on (dapr/dapr#6799, #8277, #10154).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureWorkflows, outputOf, useProcesses, type ServerProcess } from "./harness.js";

const processes = useProcesses();

async function server(env: Record<string, string> = {}): Promise<ServerProcess> {
  const db = join(processes.tempDir(), "wf.db");
  const started = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: db, LOG_LEVEL: "warn", ...env } });
  await started.waitHealthy();
  return started;
}

const customStatus = (value: string) => (s: { properties?: Record<string, string> }) => s.properties?.["dapr.workflow.custom_status"] === value;

describe("external events over HTTP", () => {
  it("200 same-named events raised concurrently by 20 clients at a waiting instance are each received exactly once", async () => {
    const wd = await server();
    await wd.start("collector", "many", 200);
    await wd.waitFor("many", "to be collecting", customStatus("collecting"));

    // Each client raises its ten events one after another (so its own order is defined);
    // the twenty clients race each other.
    await Promise.all(
      Array.from({ length: 20 }, async (_, client) => {
        for (let n = 0; n < 10; n++) await wd.raise("many", "item", { client, n });
      }),
    );
    const state = await wd.waitTerminal("many", 20_000);
    expect(state.runtimeStatus).toBe("COMPLETED");
    const items = outputOf(state) as { client: number; n: number }[];
    expect(items).toHaveLength(200);
    expect(new Set(items.map((i) => `${i.client}/${i.n}`)).size).toBe(200);
    // Arrival order is delivery order: every client's events arrive in the order it sent them.
    for (let client = 0; client < 20; client++) {
      expect(items.filter((i) => i.client === client).map((i) => i.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it("events raised before the workflow waits are buffered and delivered in order; names match case-insensitively", async () => {
    const wd = await server();
    await wd.start("gated", "early", 5);
    await wd.waitFor("early", "to wait for go", customStatus("waiting for go"));
    // "item" is raised while the workflow waits for "go"; it later waits for "ITEM".
    for (let i = 1; i <= 5; i++) await wd.raise("early", "item", i);
    await wd.raise("early", "Go");
    const state = await wd.waitTerminal("early");
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe("suspend and resume over HTTP", () => {
  it("an activity result, a timer and an event that arrive while SUSPENDED are all processed after resume", async () => {
    // FIXTURE_DELAY_MS keeps the activity running past the pause.
    const wd = await server({ FIXTURE_DELAY_MS: "400" });
    await wd.start("mixedWaits", "paused", { timerSeconds: 1 });
    await wd.waitFor("paused", "to be waiting", customStatus("waiting"));
    await wd.command("paused", "pause");
    await wd.waitFor("paused", "to be SUSPENDED", (s) => s.runtimeStatus === "SUSPENDED");
    await wd.raise("paused", "poke", "poked");

    // Long enough for the activity (≤ 1.2 s) and the 1 s timer to land while suspended.
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    expect((await wd.get("paused"))?.runtimeStatus).toBe("SUSPENDED");

    const resumedAt = Date.now();
    await wd.command("paused", "resume");
    const state = await wd.waitTerminal("paused");
    expect(state.runtimeStatus).toBe("COMPLETED");
    const output = outputOf(state) as { activity: number; event: string; at: number };
    expect(output.activity).toBe(4);
    expect(output.event).toBe("poked");
    // The completing turn ran after the resume, and promptly: everything was already there.
    expect(output.at).toBeGreaterThanOrEqual(resumedAt - 50);
    expect(Date.now() - resumedAt).toBeLessThan(1_500);
  });
});

describe("child workflow cascades over HTTP", () => {
  it("terminating a parent with a running child and grandchild leaves all three TERMINATED; purging the parent removes all three", async () => {
    const wd = await server();
    await wd.start("tree", "root", 2);
    await wd.waitFor("root:0001:0001", "(the grandchild) to wait", customStatus("depth 0"));
    await wd.command("root", "terminate");
    for (const id of ["root", "root:0001", "root:0001:0001"]) {
      const state = await wd.waitTerminal(id);
      expect(state.runtimeStatus, id).toBe("TERMINATED");
    }
    await wd.command("root", "purge");
    for (const id of ["root", "root:0001", "root:0001:0001"]) expect(await wd.get(id), id).toBeUndefined();
  });
});

describe("continue-as-new over HTTP", () => {
  it("a loop that continues as new on every event loses none of 100 events raised concurrently while it restarts", async () => {
    const wd = await server();
    await wd.start("adder", "loop", { total: 0, seen: 0, target: 100 });
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    await Promise.all(
      Array.from({ length: 10 }, async (_, client) => {
        for (const value of values.slice(client * 10, client * 10 + 10)) await wd.raise("loop", "add", value);
      }),
    );
    const state = await wd.waitTerminal("loop", 20_000);
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(outputOf(state)).toEqual({ total: 5050, seen: 100 });
  });
});
