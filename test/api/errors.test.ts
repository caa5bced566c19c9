/**
 * Every client-side error row of the contract (§10 of dapr-http-api.md): status, errorCode,
 * the exact `{errorCode, message}` shape with daprd's message templates, and that nothing
 * was half-done by a rejected request.
 */
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Api, expectError, injected, newId, prefixes, startServer, type TestServer } from "./helpers.js";

const tooLongMessage = "workflow instance ID exceeds the max length of 64 characters";
const invalidMessage = (id: string) =>
  `workflow instance ID '${id}' is invalid: only letters, digits, '_' and '-' are allowed`;
const notFoundMessage = (id: string) => `unable to find workflow with the provided instance ID: ${id}`;
const existsMessage = (name: string, id: string) =>
  `error starting workflow '${name}': workflow instance ID '${id}' already exists; purge it before reusing the ID`;

describe.each(prefixes)("error answers under %s", (prefix) => {
  let server: TestServer;
  const api = (component = "dapr") => new Api(server, prefix, component);

  beforeAll(async () => {
    server = await startServer();
  });

  afterAll(async () => {
    await server.close();
  });

  describe("instance ID validation on start", () => {
    it.each([
      ["65 ASCII characters", "a".repeat(65)],
      ["33 × 'é' (33 characters, 66 UTF-8 bytes)", "é".repeat(33)],
      ["22 × '日' (22 characters, 66 UTF-8 bytes)", "日".repeat(22)],
      ["65 invalid characters (length is checked first)", "$".repeat(65)],
    ])("%s → 400 ERR_INSTANCE_ID_TOO_LONG", async (_label, id) => {
      const res = await api().startRequest("hello", id);
      expectError(res, 400, "ERR_INSTANCE_ID_TOO_LONG", tooLongMessage);
      expect((await api().get(id)).status).toBe(404);
    });

    it.each([
      ["64 ASCII characters", newId("max").padEnd(64, "b")],
      ["32 × 'é' (64 UTF-8 bytes)", "é".repeat(32)],
    ])("%s is accepted (the limit is inclusive)", async (_label, id) => {
      expect(Buffer.byteLength(id, "utf8")).toBe(64);
      const res = await api().startRequest("hello", id);
      expect(res.status, res.text).toBe(202);
      expect(JSON.parse(res.text)).toEqual({ instanceID: id });
      await api().waitForStatus(id, "COMPLETED");
      await api().commandOk(id, "purge");
    });

    it.each(["invalid$ID", "a:b", "a b", "a.b", "a/b", "a+b", "emoji😀", "tab\tid", "a%b", "ä́"])(
      "%j → 400 ERR_INSTANCE_ID_INVALID",
      async (id) => {
        const res = await api().startRequest("hello", id);
        expectError(res, 400, "ERR_INSTANCE_ID_INVALID", invalidMessage(id));
        expect((await api().get(id)).status).toBe(404);
      },
    );

    it.each(["日本語", "Ünïcødé_ID-1", "١٢٣٤", "___", "---", "ÅngströmΩμ"])(
      "Unicode letters, decimal digits, '_' and '-' are accepted: %j",
      async (raw) => {
        const id = `${raw}${prefix.replace(/[^a-z0-9]/g, "")}`;
        const res = await api().startRequest("hello", id);
        expect(res.status, res.text).toBe(202);
        expect(JSON.parse(res.text)).toEqual({ instanceID: id });
        const state = await api().waitForStatus(id, "COMPLETED");
        expect(state.instanceID).toBe(id);
      },
    );
  });

  describe("duplicate instance IDs on start", () => {
    it("409 ERR_START_WORKFLOW while the instance is PENDING, and nothing is replaced", async () => {
      const id = newId("dup-pending");
      await api().start("nobodyServesThis", id, '"first"');
      const res = await api().startRequest("hello", id, '"second"');
      expectError(res, 409, "ERR_START_WORKFLOW", existsMessage("hello", id));
      const state = await api().state(id);
      expect(state.workflowName).toBe("nobodyServesThis");
      expect(state.properties?.["dapr.workflow.input"]).toBe('"first"');
    });

    it("409 while RUNNING and while SUSPENDED", async () => {
      const id = newId("dup-running");
      await api().start("approval", id);
      await api().waitForStatus(id, "RUNNING");
      expectError(await api().startRequest("approval", id), 409, "ERR_START_WORKFLOW", existsMessage("approval", id));
      await api().commandOk(id, "pause");
      await api().waitForStatus(id, "SUSPENDED");
      expectError(await api().startRequest("hello", id), 409, "ERR_START_WORKFLOW", existsMessage("hello", id));
      expect((await api().state(id)).runtimeStatus).toBe("SUSPENDED");
    });

    it("409 when COMPLETED, and the old result is kept", async () => {
      const id = newId("dup-completed");
      await api().start("hello", id);
      const before = await api().waitForStatus(id, "COMPLETED");
      expectError(await api().startRequest("fanOutFanIn", id, "[1]"), 409, "ERR_START_WORKFLOW", existsMessage("fanOutFanIn", id));
      expect(await api().state(id)).toEqual(before);
    });

    it("409 when FAILED", async () => {
      const id = newId("dup-failed");
      await api().start("failing", id);
      await api().waitForStatus(id, "FAILED");
      expectError(await api().startRequest("failing", id), 409, "ERR_START_WORKFLOW", existsMessage("failing", id));
    });

    it("409 when TERMINATED", async () => {
      const id = newId("dup-terminated");
      await api().start("approval", id);
      await api().commandOk(id, "terminate");
      await api().waitForStatus(id, "TERMINATED");
      expectError(await api().startRequest("approval", id), 409, "ERR_START_WORKFLOW", existsMessage("approval", id));
    });

    it("after purge the ID can be reused (202) and the new instance runs", async () => {
      const id = newId("dup-reuse");
      await api().start("approval", id);
      await api().commandOk(id, "terminate");
      await api().waitForStatus(id, "TERMINATED");
      await api().commandOk(id, "purge");
      expect((await api().get(id)).status).toBe(404);
      const res = await api().startRequest("hello", id);
      expect(res.status, res.text).toBe(202);
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.workflowName).toBe("hello");
    });

    it("a client cannot start an instance under a child's ID (<parent>:0001): ':' is invalid on start", async () => {
      // IDs with ':' are only derived by the engine for children; a client start is validated.
      const parent = newId("dup-child");
      await api().start("parent", parent);
      await api().waitForStatus(parent, "COMPLETED");
      const res = await api().startRequest("hello", `${parent}:0001`);
      expectError(res, 400, "ERR_INSTANCE_ID_INVALID", invalidMessage(`${parent}:0001`));
    });

    it.each([2, 6])("%i concurrent starts with the same ID: exactly one 202, the others 409", async (n) => {
      const id = newId("dup-race");
      const url = api().url(`hello/start?instanceID=${id}`);
      // Separate requests in flight at once on the real listening port.
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          request(server.app.server).post(url).set("content-type", "application/json").send(`"racer ${i}"`),
        ),
      );
      const winners = answers.filter((r) => r.status === 202);
      const losers = answers.filter((r) => r.status !== 202);
      expect(winners.length, answers.map((r) => `${r.status} ${r.text}`).join("\n")).toBe(1);
      expect(losers.length).toBe(n - 1);
      for (const res of losers) expectError(res, 409, "ERR_START_WORKFLOW", existsMessage("hello", id));
      const winner = winners[0]!;
      expect(JSON.parse(winner.text)).toEqual({ instanceID: id });
      // The stored instance is the winner's: its input, not a loser's.
      const state = await api().waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.input"]).toBe(`"racer ${answers.indexOf(winner)}"`);
    });
  });

  describe("unknown instances → 404 ERR_INSTANCE_ID_NOT_FOUND on every route", () => {
    it.each([
      ["get", "GET", ""],
      ["terminate", "POST", "/terminate"],
      ["raiseEvent", "POST", "/raiseEvent/approval"],
      ["pause", "POST", "/pause"],
      ["resume", "POST", "/resume"],
      ["purge", "POST", "/purge"],
    ])("%s", async (_route, method, suffix) => {
      for (const id of [newId("missing"), "missing:0001", "日本語のID"]) {
        const url = api("anything").url(`${encodeURIComponent(id).replaceAll("%3A", ":")}${suffix}`);
        const res = method === "GET" ? await server.http.get(url) : await server.http.post(url);
        expectError(res, 404, "ERR_INSTANCE_ID_NOT_FOUND", notFoundMessage(id));
      }
      // Nothing was created by the attempt.
      expect((await api().get("missing:0001")).status).toBe(404);
    });
  });

  describe("purge of an instance that has not finished → 409 ERR_PURGE_WORKFLOW", () => {
    const purgeMessage = (id: string, status: string) =>
      `error purging workflow ${id}: workflow is ${status}; only COMPLETED, FAILED or TERMINATED workflows can be purged`;

    it("RUNNING, SUSPENDED and PENDING instances are refused and kept", async () => {
      const running = newId("purge-running");
      await api().start("approval", running);
      await api().waitForStatus(running, "RUNNING");
      expectError(await api().command(running, "purge"), 409, "ERR_PURGE_WORKFLOW", purgeMessage(running, "RUNNING"));
      expect((await api().state(running)).runtimeStatus).toBe("RUNNING");

      await api().commandOk(running, "pause");
      await api().waitForStatus(running, "SUSPENDED");
      expectError(await api().command(running, "purge"), 409, "ERR_PURGE_WORKFLOW", purgeMessage(running, "SUSPENDED"));
      expect((await api().state(running)).runtimeStatus).toBe("SUSPENDED");

      const pending = newId("purge-pending");
      await api().start("nobodyServesThis", pending);
      expectError(await api().command(pending, "purge"), 409, "ERR_PURGE_WORKFLOW", purgeMessage(pending, "PENDING"));
      expect((await api().state(pending)).runtimeStatus).toBe("PENDING");
    });

    it("a finished parent whose child is still running is refused, naming the child", async () => {
      const parent = newId("purge-orphan");
      await api().start("fireAndForget", parent);
      const done = await api().waitForStatus(parent, "COMPLETED");
      expect(done.properties?.["dapr.workflow.output"]).toBe('"done"');
      const child = `${parent}:0001`;
      await api().waitForStatus(child, "RUNNING");

      const res = await api().command(parent, "purge");
      expectError(
        res,
        409,
        "ERR_PURGE_WORKFLOW",
        `error purging workflow ${parent}: child workflow ${child} is RUNNING; only COMPLETED, FAILED or TERMINATED workflows can be purged`,
      );
      // Nothing was deleted: not the parent, not the child.
      expect((await api().state(parent)).runtimeStatus).toBe("COMPLETED");
      expect((await api().state(child)).runtimeStatus).toBe("RUNNING");

      // Once the child has finished, the purge goes through and takes both.
      await api().commandOk(child, "terminate");
      await api().waitForStatus(child, "TERMINATED");
      await api().commandOk(parent, "purge");
      expect((await api().get(parent)).status).toBe(404);
      expect((await api().get(child)).status).toBe(404);
    });
  });

  describe("bodies that are not a JSON object on terminate, pause, resume, purge → 400 ERR_MALFORMED_REQUEST", () => {
    const bad: [string, string][] = [
      ["hello", "text/plain"],
      ["hello", "application/json"],
      ['"bye"', "application/json"],
      ["[1]", "application/json"],
      ["null", "application/json"],
      ["{bad", "application/json"],
      ["42", "application/json"],
      ["true", "application/json"],
    ];

    it.each(["terminate", "pause", "resume"])("%s keeps a running instance untouched", async (action) => {
      const id = newId(`malformed-${action}`);
      await api().start("approval", id);
      await api().waitForState(id, (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
      for (const [body, contentType] of bad) {
        const res = await api().command(id, action, body, contentType);
        const err = expectError(res, 400, "ERR_MALFORMED_REQUEST");
        expect(err.message.startsWith("failed deserializing HTTP body: "), err.message).toBe(true);
      }
      // None of them took effect: a barrier workflow completing shows turns ran meanwhile.
      await api().waitForStatus(await api().start("hello", newId("barrier")), "COMPLETED");
      expect((await api().state(id)).runtimeStatus).toBe("RUNNING");
    });

    it("purge keeps a finished instance", async () => {
      const id = newId("malformed-purge");
      await api().start("hello", id);
      await api().waitForStatus(id, "COMPLETED");
      for (const [body, contentType] of bad) {
        const res = await api().command(id, "purge", body, contentType);
        const err = expectError(res, 400, "ERR_MALFORMED_REQUEST");
        expect(err.message.startsWith("failed deserializing HTTP body: "), err.message).toBe(true);
      }
      expect((await api().state(id)).runtimeStatus).toBe("COMPLETED");
    });

    it.each(["terminate", "pause", "resume", "purge"])(
      "%s accepts {}, {\"x\":1}, and an empty body with Content-Type: application/json",
      async (action) => {
        for (const body of ["{}", '{"x":1}', ""]) {
          const id = newId(`ok-body-${action}`);
          await api().start(action === "purge" ? "hello" : "approval", id);
          await api().waitForStatus(id, action === "purge" ? "COMPLETED" : "RUNNING");
          const res = await api().command(id, action, body, "application/json");
          expect(res.status, `${action} ${JSON.stringify(body)}: ${res.text}`).toBe(202);
          expect(res.text).toBe("");
        }
      },
    );

    it("terminate with a JSON object body takes effect", async () => {
      const id = newId("terminate-object");
      await api().start("approval", id);
      await api().commandOk(id, "terminate", '{"output":"ignored","recursive":false}');
      await api().waitForStatus(id, "TERMINATED");
    });
  });

  describe("unknown routes and wrong methods", () => {
    it.each([
      ["GET", "/nothing"],
      ["GET", "/workflow/dapr/x"],
      ["POST", "/workflows/dapr/x/raiseevent/e"],
      ["POST", "/workflows/dapr/x/stop"],
      ["POST", "/workflows/dapr/x/raiseEvent"],
      ["GET", "/workflows"],
      ["GET", "/workflows/dapr/x/history/extra"],
      ["POST", "/workflows/dapr/hello/start/extra"],
    ])("%s <prefix>%s → 404 ERR_NOT_FOUND", async (method, path) => {
      const res = await server.app.inject({ method: method as "GET" | "POST", url: `${prefix}${path}` });
      expectError(injected(res), 404, "ERR_NOT_FOUND");
    });

    it.each([
      ["GET", "/workflows/dapr/x/terminate", "POST"],
      ["GET", "/workflows/dapr/x/pause", "POST"],
      ["GET", "/workflows/dapr/x/resume", "POST"],
      ["GET", "/workflows/dapr/x/purge", "POST"],
      ["GET", "/workflows/dapr/x/raiseEvent/e", "POST"],
      ["POST", "/workflows/dapr/x", "GET, HEAD"],
      ["PUT", "/workflows/dapr/x", "GET, HEAD"],
      ["DELETE", "/workflows/dapr/x", "GET, HEAD"],
      ["PUT", "/workflows/dapr/hello/start", "POST"],
      ["GET", "/workflows/dapr/hello/start", "POST"],
      ["PATCH", "/workflows/anything/x/purge", "POST"],
      ["POST", "/workflows/dapr", "GET, DELETE, HEAD"],
      ["PUT", "/workflows/dapr", "GET, DELETE, HEAD"],
      ["POST", "/workflows/dapr/x/history", "GET, HEAD"],
      ["GET", "/workflows/dapr/x/rerun", "POST"],
      ["DELETE", "/workflows/dapr/x/rewind", "POST"],
    ])("%s <prefix>%s → 405 ERR_METHOD_NOT_ALLOWED with Allow: %s", async (method, path, allow) => {
      const res = await server.app.inject({ method: method as "GET", url: `${prefix}${path}` });
      expectError(injected(res), 405, "ERR_METHOD_NOT_ALLOWED");
      expect(res.headers.allow).toBe(allow);
    });

    it("the 405 message names the method and the allowed ones", async () => {
      const res = await server.http.delete(api().url("x"));
      expectError(res, 405, "ERR_METHOD_NOT_ALLOWED", "method DELETE is not allowed here; use GET");
    });

    it("an unknown top-level path and an unknown version → 404 ERR_NOT_FOUND", async () => {
      for (const url of ["/", "/v2.0/workflows/dapr/x", "/v1.0-gamma/workflows/dapr/x", "/metadata"]) {
        const res = await server.http.get(url);
        expectError(res, 404, "ERR_NOT_FOUND");
      }
    });

    it("a malformed percent escape in the URL → 400 ERR_MALFORMED_REQUEST", async () => {
      const res = await server.app.inject({ method: "GET", url: `${prefix}/workflows/dapr/%E0%A4%A` });
      expectError(injected(res), 400, "ERR_MALFORMED_REQUEST");
    });

    it("duplicate and trailing slashes reach the route", async () => {
      const id = newId("slashes");
      await api().start("hello", id);
      await api().waitForStatus(id, "COMPLETED");
      expect((await server.http.get(`${prefix}/workflows/dapr/${id}/`)).status).toBe(200);
      expect((await server.http.get(`${prefix}//workflows//dapr/${id}`)).status).toBe(200);
    });
  });
});

describe("bodies the contract says are ignored or rejected (outside the prefix matrix)", () => {
  let server: TestServer;
  let api: Api;

  beforeAll(async () => {
    server = await startServer();
    api = new Api(server);
  });

  afterAll(async () => {
    await server.close();
  });

  it("get with an empty body or a JSON object body answers 200", async () => {
    const id = newId("object-get");
    await api.start("hello", id);
    await api.waitForStatus(id, "COMPLETED");
    for (const payload of ["", "{}", '{"instanceID":"other"}']) {
      const res = await server.app.inject({
        method: "GET",
        url: api.url(id),
        headers: { "content-type": "application/json" },
        payload,
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ instanceID: id, runtimeStatus: "COMPLETED" });
    }
  });

  // §10.4: "Get, terminate, pause, resume and purge: a non-empty body that is not a JSON
  // object → 400 ERR_MALFORMED_REQUEST" (daprd decodes the GET body with protojson too).
  it("get with a body that is not a JSON object → 400 ERR_MALFORMED_REQUEST", async () => {
    const id = newId("malformed-get");
    await api.start("hello", id);
    await api.waitForStatus(id, "COMPLETED");
    const res = await server.app.inject({
      method: "GET",
      url: api.url(id),
      headers: { "content-type": "application/json" },
      payload: "hello",
    });
    expectError(injected(res), 400, "ERR_MALFORMED_REQUEST");
  });

  describe("Content-Type is ignored by start and raiseEvent", () => {
    it("an unparseable Content-Type on start still stores the raw body", async () => {
      const id = newId("odd-ct");
      const res = await server.app.inject({
        method: "POST",
        url: api.url(`nobodyServesThis/start?instanceID=${id}`),
        headers: { "content-type": "not a media type" },
        payload: "raw input",
      });
      expect(res.statusCode, res.body).toBe(202);
      expect((await api.state(id)).properties?.["dapr.workflow.input"]).toBe("raw input");
    });

    it("an unparseable Content-Type on raiseEvent still delivers the event", async () => {
      const id = newId("odd-ct-raise");
      await api.start("approval", id);
      const res = await server.app.inject({
        method: "POST",
        url: api.url(`${id}/raiseEvent/approval`),
        headers: { "content-type": "garbage" },
        payload: '{"approved":true}',
      });
      expect(res.statusCode, res.body).toBe(202);
      const state = await api.waitForStatus(id, "COMPLETED");
      expect(state.properties?.["dapr.workflow.output"]).toBe('"approved"');
    });
  });
});

describe("body size limit → 413 ERR_BODY_TOO_LARGE", () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("bodyBytesMax: 1024 — one byte over is refused on start, raiseEvent and the other routes; the limit itself is fine", async () => {
    server = await startServer({ bodyBytesMax: 1024 });
    const api = new Api(server);
    const message = "request body is larger than the limit of 1024 bytes";

    const tooBigId = newId("big");
    const over = `"${"x".repeat(1023)}"`; // 1025 bytes
    expect(Buffer.byteLength(over)).toBe(1025);
    expectError(await api.startRequest("hello", tooBigId, over), 413, "ERR_BODY_TOO_LARGE", message);
    expectError(await api.startRequest("hello", tooBigId, "é".repeat(513), "text/plain"), 413, "ERR_BODY_TOO_LARGE", message);
    // No Content-Type at all.
    const noType = await server.app.inject({
      method: "POST",
      url: api.url(`hello/start?instanceID=${tooBigId}`),
      payload: "y".repeat(1025),
    });
    expectError(injected(noType), 413, "ERR_BODY_TOO_LARGE", message);
    expect((await api.get(tooBigId)).status).toBe(404);

    const exact = `"${"x".repeat(1022)}"`;
    expect(Buffer.byteLength(exact)).toBe(1024);
    const okId = await api.start("echo", newId("limit"), exact);
    const done = await api.waitForStatus(okId, "COMPLETED");
    expect(done.properties?.["dapr.workflow.input"]).toBe(exact);

    const running = newId("big-raise");
    await api.start("approval", running);
    expectError(await api.command(running, "raiseEvent/approval", over), 413, "ERR_BODY_TOO_LARGE", message);
    const bigObject = JSON.stringify({ pad: "z".repeat(1100) });
    for (const action of ["terminate", "pause", "resume", "purge"]) {
      expectError(await api.command(running, action, bigObject), 413, "ERR_BODY_TOO_LARGE", message);
    }
    expect((await api.state(running)).runtimeStatus).not.toBe("TERMINATED");
  });

  it("the default limit is 4 MiB: 4 MiB + 1 byte on start → 413, exactly 4 MiB → 202", async () => {
    server = await startServer();
    const api = new Api(server);
    const limit = 4 * 1024 * 1024;
    const tooBigId = newId("big4");
    const res = await api.startRequest("nobodyServesThis", tooBigId, "a".repeat(limit + 1), "text/plain");
    expectError(res, 413, "ERR_BODY_TOO_LARGE", `request body is larger than the limit of ${limit} bytes`);
    expect((await api.get(tooBigId)).status).toBe(404);

    const okId = await api.start("nobodyServesThis", newId("exact4"), "b".repeat(limit), "text/plain");
    const state = await api.state(okId);
    expect(state.properties?.["dapr.workflow.input"]?.length).toBe(limit);
  });
});

describe("backpressure: a full backlog → 429 ERR_START_WORKFLOW with Retry-After", () => {
  let server: TestServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("refuses client starts while --max-backlog instances wait to run, writes nothing, and admits again once they drained", async () => {
    server = await startServer({ backlogMax: 2 });
    const api = new Api(server);
    // No worker serves 'unserved': its instances wait (parked) and fill the backlog.
    const first = await api.start("unserved", newId("bp"), "1");
    const second = await api.start("unserved", newId("bp"), "2");
    const refusedId = newId("bp");
    const refused = await api.startRequest("hello", refusedId, '"x"');
    expectError(refused, 429, "ERR_START_WORKFLOW", "workflowd has 2 workflow instances waiting to run, at or over its limit of 2 (--max-backlog, WORKFLOWD_MAX_BACKLOG); retry shortly");
    expect(refused.headers["retry-after"]).toBe("1");
    expect((await api.get(refusedId)).status).toBe(404);
    // Events and commands for waiting instances still go through: only new starts wait.
    await api.commandOk(first, "terminate");
    await api.commandOk(second, "terminate");
    await api.waitForStatus(first, "TERMINATED");
    await api.waitForStatus(second, "TERMINATED");
    await api.waitForStatus(await api.start("hello", refusedId, '"x"'), "COMPLETED");
  });
});
