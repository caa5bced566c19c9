/**
 * The API token (DAPR_API_TOKEN): every route needs `dapr-api-token` except the two health
 * checks, and the check comes before routing. Failures are Go's http.Error, not JSON.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Api, newId, prefixes, startServer, type TestServer } from "./helpers.js";

const token = "s3cret";
let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startServer({ apiToken: token });
  api = new Api(server);
});

afterAll(async () => {
  await server.close();
});

type Method = "GET" | "POST" | "PUT" | "DELETE";

function send(method: Method, url: string, headers: Record<string, string> = {}) {
  const lower = method.toLowerCase() as "get" | "post" | "put" | "delete";
  let req = server.http[lower](url);
  for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
  return req;
}

function expect401(res: { status: number; text: string; headers: Record<string, string> }) {
  expect(res.status).toBe(401);
  expect(res.text).toBe("invalid api token\n");
  expect(String(res.headers["content-type"])).toMatch(/^text\/plain/);
  expect(String(res.headers["content-type"])).toContain("charset=utf-8");
  expect(res.headers["x-content-type-options"]).toBe("nosniff");
}

function workflowRoutes(prefix: string, component: string): [Method, string][] {
  const base = `${prefix}/workflows/${component}`;
  return [
    ["POST", `${base}/hello/start`],
    ["POST", `${base}/hello/start?instanceID=auth-${newId()}`],
    ["GET", `${base}/some-id`],
    ["POST", `${base}/some-id/terminate`],
    ["POST", `${base}/some-id/raiseEvent/approval`],
    ["POST", `${base}/some-id/pause`],
    ["POST", `${base}/some-id/resume`],
    ["POST", `${base}/some-id/purge`],
  ];
}

describe.each(prefixes)("API token under %s", (prefix) => {
  describe.each(["dapr", "anything"])("component '%s'", (component) => {
    it("every workflow route without the header → 401 invalid api token", async () => {
      for (const [method, url] of workflowRoutes(prefix, component)) expect401(await send(method, url));
    });

    it("every workflow route with a wrong token → 401", async () => {
      for (const wrong of ["wrong", "S3CRET", "", "s3cre", "s3cret2", "Bearer s3cret"]) {
        for (const [method, url] of workflowRoutes(prefix, component)) {
          expect401(await send(method, url, { "dapr-api-token": wrong }));
        }
      }
    });

    it("nothing happens on a refused request", async () => {
      const id = newId("refused");
      expect401(await send("POST", `${prefix}/workflows/${component}/hello/start?instanceID=${id}`));
      const res = await send("GET", `${prefix}/workflows/${component}/${id}`, { "dapr-api-token": token });
      expect(res.status).toBe(404);
    });

    it("with the right token every route answers normally", async () => {
      const authed = (method: Method, url: string, body?: string) => {
        let req = send(method, url, { "dapr-api-token": token });
        if (body !== undefined) req = req.set("content-type", "application/json").send(body);
        return req;
      };
      const base = `${prefix}/workflows/${component}`;
      const id = newId("authed");
      const started = await authed("POST", `${base}/approval/start?instanceID=${id}`);
      expect(started.status, started.text).toBe(202);
      expect(JSON.parse(started.text)).toEqual({ instanceID: id });

      const wait = async (status: string) => {
        return vi.waitFor(
          async () => {
            const res = await authed("GET", `${base}/${id}`);
            expect(res.status).toBe(200);
            const state = JSON.parse(res.text) as { runtimeStatus: string; properties?: Record<string, string> };
            if (state.runtimeStatus !== status) throw new Error(`${id} is ${state.runtimeStatus}`);
            return state;
          },
          { timeout: 10_000, interval: 10 },
        );
      };
      await wait("RUNNING");
      for (const action of ["pause", "resume"]) {
        const res = await authed("POST", `${base}/${id}/${action}`);
        expect(res.status, res.text).toBe(202);
        expect(res.text).toBe("");
      }
      const raised = await authed("POST", `${base}/${id}/raiseEvent/approval`, '{"approved":true}');
      expect(raised.status, raised.text).toBe(202);
      const state = await wait("COMPLETED");
      expect(state.properties?.["dapr.workflow.output"]).toBe('"approved"');
      expect((await authed("POST", `${base}/${id}/terminate`)).status).toBe(202);
      expect((await authed("POST", `${base}/${id}/purge`)).status).toBe(202);
      const gone = await authed("GET", `${base}/${id}`);
      expect(gone.status).toBe(404);
      expect(JSON.parse(gone.text)).toMatchObject({ errorCode: "ERR_INSTANCE_ID_NOT_FOUND" });
    });
  });
});

describe("API token outside the workflow routes", () => {
  it("/v1.0/metadata needs the token", async () => {
    expect401(await send("GET", "/v1.0/metadata"));
    expect401(await send("GET", "/v1.0/metadata", { "dapr-api-token": "nope" }));
    const res = await send("GET", "/v1.0/metadata", { "dapr-api-token": token });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toHaveProperty("workflows");
  });

  it("GET /v1.0/healthz and /v1.0/healthz/outbound need no token", async () => {
    for (const url of ["/v1.0/healthz", "/v1.0/healthz/outbound", "/v1.0/healthz/", "//v1.0/healthz"]) {
      const res = await send("GET", url);
      expect(res.status, url).toBe(204);
      expect(res.text).toBe("");
    }
    // A wrong token on an exempt route is ignored, not refused.
    expect((await send("GET", "/v1.0/healthz", { "dapr-api-token": "nope" })).status).toBe(204);
  });

  it("only GET is exempt on the health paths", async () => {
    expect401(await send("POST", "/v1.0/healthz"));
  });

  it("an unknown path without a token → 401 (the token is checked before routing)", async () => {
    for (const url of ["/nothing", "/v1.0/nothing", "/v2.0/workflows/dapr/x", "/v1.0-beta1/healthz"]) {
      expect401(await send("GET", url));
    }
    // With the token, routing happens: an unknown path is then a JSON 404.
    const res = await send("GET", "/v1.0/nothing", { "dapr-api-token": token });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ errorCode: "ERR_NOT_FOUND" });
  });

  it("a wrong method without a token → 401, not 405", async () => {
    expect401(await send("DELETE", "/v1.0/workflows/dapr/x"));
    expect401(await send("PUT", "/v1.0/workflows/dapr/hello/start"));
  });

  it("an empty token option means no token is required", async () => {
    const open = await startServer({ apiToken: "" });
    try {
      expect((await open.http.get("/v1.0/metadata")).status).toBe(200);
      expect((await open.http.get("/v1.0/workflows/dapr/missing")).status).toBe(404);
    } finally {
      await open.close();
    }
  });

  it("a request through the shared Api helper (which sends no token) is refused too", async () => {
    const res = await api.get("whatever");
    expect401(res);
  });
});
