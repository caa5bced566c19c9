/**
 * Behaviour behind the routes: unserved workflow names stay PENDING, commands on instances
 * in the "wrong" state are accepted no-ops, and GET's timestamps follow protojson.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Api, newId, rfc3339Ms, startServer, stateKeys, type TestServer } from "./helpers.js";

describe("instances nobody serves and no-op commands", () => {
  let server: TestServer;
  let api: Api;

  beforeAll(async () => {
    server = await startServer();
    api = new Api(server);
  });

  afterAll(async () => {
    await server.close();
  });

  /** Starts and completes a hello instance: once it is COMPLETED, the engine has run turns since. */
  async function barrier(): Promise<void> {
    await api.waitForStatus(await api.start("hello", newId("barrier")), "COMPLETED");
  }

  it("a workflow name with no registration stays PENDING and shows its name and creation time", async () => {
    const before = Date.now();
    const id = await api.start("nobodyServesThis", newId("pending"), '{"x":1}');
    for (let i = 0; i < 3; i++) {
      await barrier();
      const state = await api.state(id);
      expect(state.runtimeStatus).toBe("PENDING");
    }
    const res = await api.get(id);
    const state = JSON.parse(res.text) as Record<string, any>;
    expect(Object.keys(state)).toEqual(stateKeys);
    expect(state.workflowName).toBe("nobodyServesThis");
    expect(state.createdAt).toMatch(rfc3339Ms);
    expect(Date.parse(state.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(state.createdAt)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(state.properties).toEqual({ "dapr.workflow.input": '{"x":1}' });
  });

  it("a PENDING instance can be terminated and then purged", async () => {
    const id = await api.start("nobodyServesThis", newId("pending-term"));
    await api.commandOk(id, "terminate");
    await api.waitForStatus(id, "TERMINATED");
    await api.commandOk(id, "purge");
    expect((await api.get(id)).status).toBe(404);
  });

  it("also without any worker registered at all", async () => {
    const bare = await startServer({ workflows: () => undefined });
    try {
      const bareApi = new Api(bare);
      const id = await bareApi.start("hello", newId("no-worker"));
      const other = await bareApi.start("hello", newId("no-worker-2"));
      for (const each of [id, other]) {
        const state = await bareApi.state(each);
        expect(state.runtimeStatus).toBe("PENDING");
        expect(state.workflowName).toBe("hello");
        expect(state.createdAt).toMatch(rfc3339Ms);
      }
    } finally {
      await bare.close();
    }
  });

  it("raiseEvent on a finished instance → 202, and nothing changes", async () => {
    const id = await api.start("approval", newId("raise-done"));
    await api.commandOk(id, "raiseEvent/approval", '{"approved":true}');
    const before = await api.waitForStatus(id, "COMPLETED");
    await api.commandOk(id, "raiseEvent/approval", '{"approved":false}');
    await api.commandOk(id, "raiseEvent/other", "plain text");
    await barrier();
    expect(await api.state(id)).toEqual(before);
  });

  it("terminate of a finished instance → 202, and it stays COMPLETED with its output", async () => {
    const id = await api.start("hello", newId("term-done"));
    const before = await api.waitForStatus(id, "COMPLETED");
    await api.commandOk(id, "terminate");
    await barrier();
    expect(await api.state(id)).toEqual(before);
  });

  it("pause of a finished instance → 202, no effect", async () => {
    for (const [name, status] of [["hello", "COMPLETED"], ["failing", "FAILED"]] as const) {
      const id = await api.start(name, newId("pause-done"));
      const before = await api.waitForStatus(id, status);
      await api.commandOk(id, "pause");
      await api.commandOk(id, "resume");
      await barrier();
      expect(await api.state(id)).toEqual(before);
    }
  });

  it("resume of a running instance → 202, no effect; it still reacts to events", async () => {
    const id = await api.start("approval", newId("resume-running"));
    const before = await api.waitForState(id, (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
    expect(before.runtimeStatus).toBe("RUNNING");
    await api.commandOk(id, "resume");
    await barrier();
    const after = await api.state(id);
    expect(after.runtimeStatus).toBe("RUNNING");
    expect(after.properties).toEqual(before.properties);
    await api.commandOk(id, "raiseEvent/approval", '{"approved":true}');
    const done = await api.waitForStatus(id, "COMPLETED");
    expect(done.properties?.["dapr.workflow.output"]).toBe('"approved"');
  });

  it("pausing twice and resuming twice is harmless", async () => {
    const id = await api.start("approval", newId("pause-twice"));
    await api.waitForStatus(id, "RUNNING");
    await api.commandOk(id, "pause");
    await api.commandOk(id, "pause");
    await api.waitForStatus(id, "SUSPENDED");
    await api.commandOk(id, "resume");
    await api.commandOk(id, "resume");
    await api.waitForStatus(id, "RUNNING");
    await api.commandOk(id, "raiseEvent/approval", '{"approved":true}');
    await api.waitForStatus(id, "COMPLETED");
  });

  it("terminate of a SUSPENDED instance makes it TERMINATED", async () => {
    const id = await api.start("approval", newId("term-suspended"));
    await api.waitForStatus(id, "RUNNING");
    await api.commandOk(id, "pause");
    await api.waitForStatus(id, "SUSPENDED");
    await api.commandOk(id, "terminate");
    await api.waitForStatus(id, "TERMINATED");
  });

  it("an event raised before the workflow waits for it is kept until it does", async () => {
    const id = await api.start("approval", newId("early-event"), '{"item":"early"}');
    // Raised straight after start: the instance may still be PENDING.
    await api.commandOk(id, "raiseEvent/approval", '{"approved":true}');
    const state = await api.waitForStatus(id, "COMPLETED");
    expect(state.properties?.["dapr.workflow.output"]).toBe('"approved"');
  });

  it("event names are case-insensitive", async () => {
    const id = await api.start("approval", newId("event-case"));
    await api.commandOk(id, "raiseEvent/APPROVAL", '{"approved":true}');
    const state = await api.waitForStatus(id, "COMPLETED");
    expect(state.properties?.["dapr.workflow.output"]).toBe('"approved"');
  });
});

describe("GET timestamps with a controlled clock", () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("a whole second drops the .000 fraction", async () => {
    const t0 = Date.UTC(2025, 0, 2, 3, 4, 5, 0);
    server = await startServer({ clock: () => t0 });
    const api = new Api(server);
    const id = await api.start("hello", newId("clock0"));
    const state = await api.waitForStatus(id, "COMPLETED");
    expect(state.createdAt).toBe("2025-01-02T03:04:05Z");
    expect(state.lastUpdatedAt).toBe("2025-01-02T03:04:05Z");
  });

  it("milliseconds are kept with three digits, in UTC", async () => {
    let now = Date.UTC(2025, 11, 31, 23, 59, 58, 7);
    server = await startServer({ clock: () => now });
    const api = new Api(server);
    const id = await api.start("approval", newId("clockms"));
    const pending = await api.state(id);
    expect(pending.createdAt).toBe("2025-12-31T23:59:58.007Z");
    await api.waitForStatus(id, "RUNNING");
    now = Date.UTC(2026, 0, 1, 0, 0, 1, 250);
    await api.commandOk(id, "raiseEvent/approval", '{"approved":true}');
    const done = await api.waitForStatus(id, "COMPLETED");
    expect(done.createdAt).toBe("2025-12-31T23:59:58.007Z");
    expect(done.lastUpdatedAt).toBe("2026-01-01T00:00:01.250Z");
  });
});
