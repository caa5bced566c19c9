/**
 * The seven workflow routes under each version prefix and with any component segment:
 * status codes, exact bodies, GET's shape, and the example workflows end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Api, prefixes, rfc3339Ms, startServer, stateKeys, uuidV4, newId, type TestServer } from "./helpers.js";

const helloOutput = '["Hello, Tokyo!","Hello, London!","Hello, Seattle!"]';

describe.each(prefixes)("workflow routes under %s", (prefix) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server.close();
  });

  describe.each(["dapr", "anything"])("with component segment '%s'", (component) => {
    const api = () => new Api(server, prefix, component);

    it("start with ?instanceID answers 202 with exactly {instanceID} as JSON", async () => {
      const id = newId("start");
      const res = await api().startRequest("hello", id);
      expect(res.status).toBe(202);
      expect(String(res.headers["content-type"])).toMatch(/^application\/json/);
      expect(JSON.parse(res.text)).toEqual({ instanceID: id });
      expect(Object.keys(JSON.parse(res.text))).toEqual(["instanceID"]);
      await api().waitForStatus(id, "COMPLETED");
    });

    it("start without an instanceID generates a lowercase v4 UUID that GET can find", async () => {
      const res = await api().startRequest("hello");
      expect(res.status).toBe(202);
      const body = JSON.parse(res.text) as { instanceID: string };
      expect(Object.keys(body)).toEqual(["instanceID"]);
      expect(body.instanceID).toMatch(uuidV4);
      const state = await api().waitForStatus(body.instanceID, "COMPLETED");
      expect(state.instanceID).toBe(body.instanceID);
    });

    it("start reads only the case-sensitive `instanceID` query key (`instanceId` is ignored)", async () => {
      const wanted = newId("casing");
      const res = await server.http.post(api().url(`hello/start?instanceId=${wanted}`));
      expect(res.status, res.text).toBe(202);
      const id = (JSON.parse(res.text) as { instanceID: string }).instanceID;
      expect(id).toMatch(uuidV4);
      expect((await api().get(wanted)).status).toBe(404);
    });

    it.each([
      ["application/json", '{"a":1}'],
      ["text/plain", "hello"],
      ["application/xml", '<?xml version="1.0"?><order id="7"><item>pen &amp; ink</item></order>'],
      ["application/octet-stream", "raw\tbytes with spaces  and unicode: 日本語 é"],
      ["application/x-www-form-urlencoded", "a=1&b=two"],
      ["text/plain; charset=utf-8", '  "not trimmed"\n'],
    ])("start stores a %s body byte for byte as dapr.workflow.input", async (contentType, body) => {
      const id = newId("input");
      // No workflow of this name is registered: the instance stays PENDING and the input is
      // exactly what the start request stored.
      await api().start("nobodyServesThis", id, body, contentType);
      const state = await api().state(id);
      expect(state.runtimeStatus).toBe("PENDING");
      expect(state.properties?.["dapr.workflow.input"]).toBe(body);
    });

    it("start with a body and no Content-Type header stores the body as the input", async () => {
      const id = newId("nocontenttype");
      const res = await server.app.inject({
        method: "POST",
        url: api().url(`nobodyServesThis/start?instanceID=${id}`),
        payload: "no content type here",
      });
      expect(res.headers["content-type"]).toMatch(/^application\/json/);
      expect(res.statusCode, res.body).toBe(202);
      expect(JSON.parse(res.body)).toEqual({ instanceID: id });
      expect((await api().state(id)).properties?.["dapr.workflow.input"]).toBe("no content type here");
    });

    it("start with an empty body (with or without Content-Type: application/json) is accepted", async () => {
      const withType = newId("emptyjson");
      const res = await api().startRequest("hello", withType, "", "application/json");
      expect(res.status, res.text).toBe(202);
      const without = newId("emptynone");
      const res2 = await server.app.inject({ method: "POST", url: api().url(`hello/start?instanceID=${without}`) });
      expect(res2.statusCode, res2.body).toBe(202);
      for (const id of [withType, without]) {
        const state = await api().waitForStatus(id, "COMPLETED");
        // An empty input is an empty property, and empty properties are left out.
        expect(state.properties?.["dapr.workflow.input"]).toBeUndefined();
        expect(state.properties?.["dapr.workflow.output"]).toBe(helloOutput);
      }
    });

    it("the input reaches the workflow unchanged (echo returns it)", async () => {
      const body = '{"nested":{"list":[1,2,3]},"s":"x"}';
      const id = await api().start("echo", newId("echo"), body);
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.input"]).toBe(body);
      expect(JSON.parse(state.properties?.["dapr.workflow.output"] ?? "null")).toEqual(JSON.parse(body));
    });

    it("GET answers 200 with the keys in protojson order and sorted, non-empty properties", async () => {
      const id = await api().start("hello", newId("get"), '"Kyoto"');
      const state = await api().waitForStatus(id, "COMPLETED");
      const res = await api().get(id);
      expect(res.status).toBe(200);
      expect(String(res.headers["content-type"])).toMatch(/^application\/json/);
      expect(Object.keys(JSON.parse(res.text))).toEqual(stateKeys);
      expect(state.instanceID).toBe(id);
      expect(state.workflowName).toBe("hello");
      expect(state.createdAt).toMatch(rfc3339Ms);
      expect(state.lastUpdatedAt).toMatch(rfc3339Ms);
      expect(Date.parse(state.createdAt!)).toBeLessThanOrEqual(Date.parse(state.lastUpdatedAt!));
      expect(state.properties).toEqual({
        "dapr.workflow.custom_status": "greeted 3 of 3",
        "dapr.workflow.input": '"Kyoto"',
        "dapr.workflow.output": '["Hello, Tokyo!","Hello, London!","Hello, Kyoto!"]',
      });
      const keys = Object.keys(state.properties!);
      expect(keys).toEqual([...keys].sort());
    });

    it("GET of a completed hello shows its output and custom status", async () => {
      const id = await api().start("hello", newId("hello"));
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.output"]).toBe(helloOutput);
      expect(state.properties?.["dapr.workflow.custom_status"]).toBe("greeted 3 of 3");
    });

    it("GET of a FAILED workflow shows the failure details and no output", async () => {
      const id = await api().start("failing", newId("failing"), '{"amount":7}');
      const state = await api().waitForStatus(id, "FAILED");
      const res = await api().get(id);
      expect(Object.keys(JSON.parse(res.text))).toEqual(stateKeys);
      const properties = state.properties ?? {};
      expect(Object.keys(properties)).toEqual([
        "dapr.workflow.failure.error_message",
        "dapr.workflow.failure.error_type",
        "dapr.workflow.failure.stack_trace",
        "dapr.workflow.input",
      ]);
      // The workflow did not catch the activity's failure: durabletask reports it as the
      // task's failure, carrying the activity's message.
      expect(properties["dapr.workflow.failure.error_type"]).toBe("TaskFailedError");
      expect(properties["dapr.workflow.failure.error_message"]).toContain("card declined for amount 7");
      expect(properties["dapr.workflow.failure.stack_trace"]).toBeTruthy();
      expect(properties["dapr.workflow.output"]).toBeUndefined();
      expect(properties["dapr.workflow.input"]).toBe('{"amount":7}');
    });

    it.each(["terminate", "pause", "resume", "purge", "raiseEvent/approval"])(
      "%s answers 202 with an empty body",
      async (action) => {
        // Purge needs a finished instance; the others get a running one.
        const id =
          action === "purge"
            ? await api().start("hello", newId("cmd"))
            : await api().start("approval", newId("cmd"));
        if (action === "purge") await api().waitForStatus(id, "COMPLETED");
        else await api().waitForStatus(id, "RUNNING");
        const res = await api().command(id, action);
        expect(res.status, res.text).toBe(202);
        expect(res.text).toBe("");
        expect(res.headers["content-length"] ?? "0").toBe("0");
        if (action === "purge") expect((await api().get(id)).status).toBe(404);
      },
    );
  });

  describe("end to end with the example workflows", () => {
    const api = () => new Api(server, prefix, "dapr");

    it("hello completes with three greetings", async () => {
      const id = await api().start("hello", newId("e2e-hello"));
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.output"]).toBe(helloOutput);
    });

    it("fanOutFanIn completes with the count and the sum of squares", async () => {
      const id = await api().start("fanOutFanIn", newId("e2e-fan"), "[1,2,3,4]");
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(JSON.parse(state.properties?.["dapr.workflow.output"] ?? "null")).toEqual({ count: 4, sumOfSquares: 30 });
      const defaults = await api().start("fanOutFanIn", newId("e2e-fan10"));
      const state10 = await api().waitForStatus(defaults, "COMPLETED");
      expect(JSON.parse(state10.properties?.["dapr.workflow.output"] ?? "null")).toEqual({ count: 10, sumOfSquares: 385 });
    });

    it("approval completes with \"approved\" once the approval event is raised", async () => {
      const id = await api().start("approval", newId("e2e-approve"), '{"item":"laptop"}');
      await api().waitForState(id, (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
      expect((await api().state(id)).runtimeStatus).toBe("RUNNING");
      await api().commandOk(id, "raiseEvent/approval", '{"approved":true}');
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.output"]).toBe('"approved"');
    });

    it("approval completes with \"rejected\" when the event says so", async () => {
      const id = await api().start("approval", newId("e2e-reject"));
      await api().commandOk(id, "raiseEvent/approval", '{"approved":false}');
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.output"]).toBe('"rejected"');
    });

    it("pause makes a running instance SUSPENDED and resume makes it RUNNING again", async () => {
      const id = await api().start("approval", newId("e2e-pause"));
      await api().waitForState(id, (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
      await api().commandOk(id, "pause");
      await api().waitForStatus(id, "SUSPENDED");
      await api().commandOk(id, "resume");
      await api().waitForStatus(id, "RUNNING");
      await api().commandOk(id, "raiseEvent/approval", '{"approved":true}');
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.output"]).toBe('"approved"');
    });

    it("an event raised while SUSPENDED is kept and applied after resume", async () => {
      const id = await api().start("approval", newId("e2e-suspended-event"));
      await api().waitForState(id, (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
      await api().commandOk(id, "pause");
      await api().waitForStatus(id, "SUSPENDED");
      await api().commandOk(id, "raiseEvent/approval", '{"approved":true}');
      // A second, unrelated instance completing shows the engine is processing turns.
      await api().waitForStatus(await api().start("hello", newId("barrier")), "COMPLETED");
      expect((await api().state(id)).runtimeStatus).toBe("SUSPENDED");
      await api().commandOk(id, "resume");
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.output"]).toBe('"approved"');
    });

    it("terminate makes a running approval instance TERMINATED", async () => {
      const id = await api().start("approval", newId("e2e-term"));
      await api().waitForStatus(id, "RUNNING");
      await api().commandOk(id, "terminate");
      const state = await api().waitForStatus(id, "TERMINATED");
      expect(state.properties?.["dapr.workflow.output"]).toBeUndefined();
    });

    it("terminate of a parent terminates its running children (<id>:0001, <id>:0002)", async () => {
      const id = await api().start("waitingParent", newId("e2e-parent-term"));
      const children = [`${id}:0001`, `${id}:0002`];
      for (const child of children) {
        const state = await api().waitForStatus(child, "RUNNING");
        expect(state.workflowName).toBe("approval");
      }
      await api().commandOk(id, "terminate");
      await api().waitForStatus(id, "TERMINATED");
      for (const child of children) await api().waitForStatus(child, "TERMINATED");
    });

    it("the example parent completes with its children's output, and purge removes the children too", async () => {
      const id = await api().start("parent", newId("e2e-parent"));
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(JSON.parse(state.properties?.["dapr.workflow.output"] ?? "null")).toEqual([
        ["Hello, Tokyo!", "Hello, London!", "Hello, Paris!"],
        ["Hello, Tokyo!", "Hello, London!", "Hello, Oslo!"],
      ]);
      const paris = await api().state(`${id}:0001`);
      expect(paris).toMatchObject({ instanceID: `${id}:0001`, workflowName: "hello", runtimeStatus: "COMPLETED" });
      expect(paris.properties?.["dapr.workflow.input"]).toBe('"Paris"');
      const oslo = await api().state(`${id}:0002`);
      expect(oslo).toMatchObject({ instanceID: `${id}:0002`, workflowName: "hello", runtimeStatus: "COMPLETED" });
      expect(oslo.properties?.["dapr.workflow.input"]).toBe('"Oslo"');

      await api().commandOk(id, "purge");
      for (const gone of [id, `${id}:0001`, `${id}:0002`]) {
        const res = await api().get(gone);
        expect(res.status, res.text).toBe(404);
        expect(JSON.parse(res.text)).toMatchObject({ errorCode: "ERR_INSTANCE_ID_NOT_FOUND" });
      }
    });

    it("child IDs with ':' are reachable on every route", async () => {
      const id = await api().start("waitingParent", newId("e2e-colon"));
      const first = `${id}:0001`;
      const second = `${id}:0002`;
      await api().waitForState(first, (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
      await api().waitForStatus(second, "RUNNING");

      await api().commandOk(first, "pause");
      await api().waitForStatus(first, "SUSPENDED");
      await api().commandOk(first, "resume");
      await api().waitForStatus(first, "RUNNING");
      await api().commandOk(first, "raiseEvent/approval", '{"approved":true}');
      const done = await api().waitForStatus(first, "COMPLETED");
      expect(done.properties?.["dapr.workflow.output"]).toBe('"approved"');

      await api().commandOk(second, "terminate");
      await api().waitForStatus(second, "TERMINATED");

      // The parent ends once both children have (a terminated child fails its task).
      await api().waitForState(id, (s) => ["COMPLETED", "FAILED", "TERMINATED"].includes(s.runtimeStatus));
      await api().commandOk(first, "purge");
      expect((await api().get(first)).status).toBe(404);
      await api().commandOk(id, "purge");
      for (const gone of [id, second]) expect((await api().get(gone)).status).toBe(404);
    });
  });
});
