/**
 * Security with DAPR_API_TOKEN set:
 * - HTTP: every route Fastify has (read from the live route table, so a route added later is
 *   covered without touching this test), under every prefix and for every method it serves,
 *   refuses a missing or wrong token with daprd's 401 plain-text answer; with the token it
 *   is served. The two GET health checks are the documented exceptions. Paths no route serves
 *   are refused as well (the check runs before routing).
 * - gRPC: every method of TaskHubSidecarService (read from the proto the SDKs are built
 *   from) refuses a missing or wrong token with UNAUTHENTICATED (16).
 * - The token never appears in the server's output at LOG_LEVEL=debug (nor do wrong tokens).
 * - Payload limits hold: WORKFLOWD_MAX_BODY on HTTP (413, also for a chunked body without a
 *   Content-Length) and WORKFLOWD_GRPC_MAX_MESSAGE on gRPC (RESOURCE_EXHAUSTED).
 */
import { credentials, makeGenericClientConstructor, Metadata, type Client, type ServiceDefinition, type ServiceError } from "@grpc/grpc-js";
import { loadDaprService, loadTaskHubService } from "../../src/protocol/proto.js";
import { request as httpRequestRaw } from "node:http";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createWorkflowd } from "../../src/app.js";
// @ts-expect-error -- a plain .mjs module (no declarations)
import registerTorture from "../fixtures/torture-workflows.mjs";
import { freePort, tortureWorkflows, useServers, type ServerProcess } from "./helpers.js";

const servers = useServers();
const token = `tok-${Math.random().toString(36).slice(2)}-S3CRET`;
const wrongTokens = ["", "wrong", token.toUpperCase(), `${token} `, ` ${token}`, token.slice(0, -1), `${token}x`, `Bearer ${token}`];
const exempt = new Set(["GET /v1.0/healthz", "GET /v1.0/healthz/outbound"]);

interface RouteEntry { path: string; methods: string[] }

/**
 * The routes of a Fastify instance, from `printRoutes({ commonPrefix: false })`: a tree whose
 * lines are `<indent><├──|└──> <segment> (<METHODS>)`, four characters per level.
 */
function routeTable(printed: string): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of printed.split("\n")) {
    if (!line.trim()) continue;
    const match = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) throw new Error(`cannot read the route table line '${line}'`);
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    if (match[3]) routes.push({ path: stack.join(""), methods: match[3].split(",").map((m) => m.trim()) });
  }
  return routes;
}

/** A concrete URL for a route pattern: every parameter gets a plausible value. */
function concrete(pattern: string): string {
  return pattern.replace(/:[A-Za-z]+(?:\|:[A-Za-z]+)*/g, (param) => (param === ":component" ? "dapr" : param.includes("eventName") ? "ev" : "sec-1"));
}

describe("the API token on every HTTP route", () => {
  it("every route under every prefix, every method: 401 without or with a wrong token, served with it", async () => {
    const wd = await createWorkflowd({ apiToken: token, workflows: registerTorture });
    try {
      await wd.app.ready();
      const routes = routeTable(wd.app.printRoutes({ commonPrefix: false }));
      const endpoints = routes.flatMap((route) => route.methods.map((method) => ({ method, pattern: route.path, url: concrete(route.path) })));
      // The table was read: the seven workflow routes under each of the three prefixes, and more.
      for (const prefix of ["/v1.0", "/v1.0-beta1", "/v1.0-alpha1"]) {
        for (const suffix of ["/start", "/terminate", "/pause", "/resume", "/purge", "/raiseEvent/:eventName"]) {
          expect(endpoints.some((e) => e.method === "POST" && e.pattern.startsWith(`${prefix}/workflows/`) && e.pattern.endsWith(suffix)), `${prefix} ...${suffix}`).toBe(true);
        }
        expect(endpoints.some((e) => e.method === "GET" && /^\/v1\.0[^/]*\/workflows\/:component\/:[A-Za-z|:]+$/.test(e.pattern) && e.pattern.startsWith(prefix))).toBe(true);
      }
      expect(endpoints.length).toBeGreaterThan(100);

      const refusedWithout: string[] = [];
      const notRefused: string[] = [];
      const refusedWith: string[] = [];
      const consoleShell: string[] = [];
      for (const endpoint of endpoints) {
        const key = `${endpoint.method} ${endpoint.url}`;
        const inject = (headers: Record<string, string>) => wd.app.inject({ method: endpoint.method as "GET", url: endpoint.url, headers });
        if (exempt.has(key)) {
          expect((await inject({})).statusCode, key).toBe(204);
          continue;
        }
        // The web console's static shell holds no data: served without the token (its API
        // calls carry the token the user gives it).
        if ((endpoint.method === "GET" || endpoint.method === "HEAD") && /^\/ui(\/|$)/.test(endpoint.pattern)) {
          const res = await inject({});
          expect([200, 404], `${key} answered ${res.statusCode}`).toContain(res.statusCode);
          // Static files only: the shell, its script and its style sheet, or the 404 of a missing asset.
          expect(String(res.headers["content-type"]), key).toMatch(/^(text\/html|text\/css|text\/javascript|application\/javascript|application\/json)/);
          if (res.statusCode === 404) expect(JSON.parse(res.body).errorCode, key).toBe("ERR_NOT_FOUND");
          consoleShell.push(key);
          continue;
        }
        for (const headers of [{}, ...wrongTokens.map((t) => ({ "dapr-api-token": t }))]) {
          const res = await inject(headers);
          const ok = res.statusCode === 401 && (endpoint.method === "HEAD" || res.body === "invalid api token\n") &&
            String(res.headers["content-type"]).startsWith("text/plain");
          if (!ok) notRefused.push(`${key} with ${JSON.stringify(headers)} answered ${res.statusCode} ${res.body.slice(0, 100)}`);
        }
        refusedWithout.push(key);
        // With the token the route is served (whatever it answers, it is not the token check).
        const served = await inject({ "dapr-api-token": token });
        if (served.statusCode === 401) refusedWith.push(key);
      }
      expect(notRefused).toEqual([]);
      expect(refusedWith).toEqual([]);

      // Paths no route serves, and tricks around the health exemption, are refused too.
      const unrouted = ["/", "/v1.0", "/v1.0/healthz/../metadata", "/v1.0/healthz%2F..%2Fmetadata", "/v1.0//metadata", "/V1.0/healthz",
        "/v1.0/healthz?/../metadata", "/v1.0/workflows/dapr/x/../../metadata", "/v1.0/%68ealthz", "/nope", "/metrics", "/openapi.json",
        "/ui/", "/ui/instances/x"];
      for (const url of unrouted) {
        const res = await wd.app.inject({ method: "POST", url });
        expect(res.statusCode, `POST ${url}`).toBe(401);
      }
      // Tricks around the console's exemption reach only the shell, never the API.
      for (const url of ["/ui/../v1.0/workflows/dapr", "/ui/..%2F..%2Fv1.0%2Fworkflows%2Fdapr", "/ui%2F..%2Fv1.0%2Fmetadata", "/ui/assets/../../v1.0/metadata"]) {
        const res = await wd.app.inject({ method: "GET", url });
        expect(res.body, `GET ${url}`).not.toMatch(/"instances"|"runtimeVersion"/);
        expect([200, 401, 404], `GET ${url} answered ${res.statusCode}`).toContain(res.statusCode);
      }
      for (const url of ["/v1.0/healthz?/../metadata", "//v1.0/healthz", "/v1.0/healthz/"]) {
        // Exempt paths spelled differently still only reach the health check.
        const res = await wd.app.inject({ method: "GET", url });
        expect([204, 401], `GET ${url} answered ${res.statusCode} ${res.body}`).toContain(res.statusCode);
      }
      expect(consoleShell.length, "the console's routes were read").toBeGreaterThan(0);
      console.info(`HTTP token check: ${endpoints.length} route/method pairs from the route table, ${refusedWithout.length} refused without a token and with ${wrongTokens.length} wrong ones, served with the token; ${exempt.size} health checks and ${consoleShell.length} console shell routes exempt`);
    } finally {
      await wd.app.close();
    }
  });
});

// -- gRPC ------------------------------------------------------------------------------------

// The service workflowd serves (the vendored current proto, plus the two calls it keeps from
// the earlier one): every method it has is checked.
const TaskHub = makeGenericClientConstructor(loadTaskHubService(), "TaskHubSidecarService") as unknown as
  (new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: object) => Client & Record<string, any>) & { service: ServiceDefinition };

/** Dapr's runtime service (its workflow methods), served on the same port. */
const DaprRuntime = makeGenericClientConstructor(loadDaprService(), "Dapr") as unknown as typeof TaskHub;

/** Calls any method of any shape with an empty request; resolves with the status code (0 = OK). */
function callAny(client: Client & Record<string, any>, name: string, metadata: Metadata, request: object = {}, service: ServiceDefinition = TaskHub.service): Promise<number> {
  const method = service[name]!;
  const deadline = Date.now() + 5_000;
  return new Promise((resolve) => {
    const done = (error: ServiceError | null) => resolve(error ? error.code : 0);
    if (!method.requestStream && !method.responseStream) {
      client[name](request, metadata, { deadline }, done);
    } else if (!method.requestStream) {
      const stream = client[name](request, metadata, { deadline });
      stream.on("error", (error: ServiceError) => resolve(error.code));
      stream.on("data", () => {
        resolve(0);
        stream.cancel();
      });
      stream.on("end", () => resolve(0));
    } else if (!method.responseStream) {
      const call = client[name](metadata, { deadline }, done);
      call.end();
    } else {
      const stream = client[name](metadata, { deadline });
      stream.on("error", (error: ServiceError) => resolve(error.code));
      stream.on("data", () => resolve(0));
      stream.end();
    }
  });
}

function metadataWith(value?: string): Metadata {
  const metadata = new Metadata();
  if (value !== undefined) metadata.set("dapr-api-token", value);
  return metadata;
}

async function guardedServer(extra: Record<string, string> = {}): Promise<{ server: ServerProcess; grpcPort: number; dir: string }> {
  const dir = servers.tempDir();
  const grpcPort = await freePort();
  const server = await servers.spawn({
    env: {
      DAPR_API_TOKEN: token,
      DAPR_GRPC_PORT: String(grpcPort),
      WORKFLOWD_DB: join(dir, "sec.db"),
      WORKFLOWD_WORKFLOWS: tortureWorkflows,
      LOG_LEVEL: "debug",
      ...extra,
    },
    label: "guarded server",
  });
  await server.waitHealthy();
  return { server, grpcPort, dir };
}

describe("the API token on gRPC, and the logs", () => {
  it("every TaskHubSidecarService method answers UNAUTHENTICATED without or with a wrong token; no token in the logs", async () => {
    const { server, grpcPort } = await guardedServer();
    const client = new TaskHub(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
    try {
      const methods = Object.keys(TaskHub.service);
      expect(methods.length).toBeGreaterThanOrEqual(19);
      expect(methods).toEqual(expect.arrayContaining(["QueryInstances", "RewindInstance", "ListInstanceIDs", "GetInstanceHistory"]));
      const problems: string[] = [];
      for (const name of methods) {
        for (const value of [undefined, ...wrongTokens]) {
          const code = await callAny(client, name, metadataWith(value));
          if (code !== 16) problems.push(`${name} with ${value === undefined ? "no token" : JSON.stringify(value)} answered ${code}`);
        }
      }
      const dapr = new DaprRuntime(`127.0.0.1:${grpcPort}`, credentials.createInsecure());
      for (const name of Object.keys(DaprRuntime.service)) {
        for (const value of [undefined, ...wrongTokens]) {
          const code = await callAny(dapr, name, metadataWith(value), {}, DaprRuntime.service);
          if (code !== 16) problems.push(`Dapr/${name} with ${value === undefined ? "no token" : JSON.stringify(value)} answered ${code}`);
        }
      }
      expect(await callAny(dapr, "GetMetadata", metadataWith(token), {}, DaprRuntime.service)).toBe(0);
      dapr.close();
      expect(problems).toEqual([]);
      // With the token the calls are served (not UNAUTHENTICATED).
      expect(await callAny(client, "Hello", metadataWith(token))).toBe(0);
      expect(await callAny(client, "StartInstance", metadataWith(token), { instanceId: "grpc-sec-1", name: "eventGate" })).toBe(0);
      expect(await callAny(client, "GetInstance", metadataWith(token), { instanceId: "grpc-sec-1" })).toBe(0);
      expect(await callAny(client, "RaiseEvent", metadataWith(token), { instanceId: "grpc-sec-1", name: "done", input: { value: "1" } })).toBe(0);

      // HTTP traffic with the right and wrong tokens too, then read everything the server wrote.
      const headers = { "dapr-api-token": token, "content-type": "application/json" };
      expect((await server.request("POST", "/v1.0/workflows/dapr/eventGate/start?instanceID=http-sec-1", "1", headers)).status).toBe(202);
      expect((await server.request("GET", "/v1.0/workflows/dapr/http-sec-1", undefined, headers)).status).toBe(200);
      expect((await server.request("GET", "/v1.0/workflows/dapr/http-sec-1", undefined, { "dapr-api-token": "wrong" })).status).toBe(401);
      expect((await server.request("GET", "/v1.0/metadata", undefined, { "dapr-api-token": `${token}x` })).status).toBe(401);
      expect((await server.request("GET", "/v1.0/workflows/dapr/nope", undefined, headers)).status).toBe(404);
      expect((await server.request("POST", "/v1.0/workflows/dapr/http-sec-1/raiseEvent/done", '"x"', headers)).status).toBe(202);

      expect(await server.stop()).toEqual({ code: 0, signal: null });
      const output = server.stdout + server.stderr;
      expect(output.split("\n").length, "LOG_LEVEL=debug produced output").toBeGreaterThan(10);
      expect(output.includes(token), "the API token appears in the server's output").toBe(false);
      const leakedWrong = wrongTokens.filter((t) => t.length > 6 && output.includes(t));
      expect(leakedWrong, "wrong tokens sent by clients appear in the server's output").toEqual([]);
      console.info(`gRPC token check: ${methods.length} TaskHubSidecarService and ${Object.keys(DaprRuntime.service).length} Dapr methods x ${wrongTokens.length + 1} (no token and wrong tokens) all UNAUTHENTICATED; ${output.split("\n").length} debug log lines without the token`);
    } finally {
      client.close();
    }
  }, 60_000);
});

describe("payload limits", () => {
  it("HTTP: WORKFLOWD_MAX_BODY holds (413, chunked too); gRPC: WORKFLOWD_GRPC_MAX_MESSAGE holds (RESOURCE_EXHAUSTED)", async () => {
    const { server, grpcPort } = await guardedServer({ WORKFLOWD_MAX_BODY: "2Ki", WORKFLOWD_GRPC_MAX_MESSAGE: "64Ki", LOG_LEVEL: "warn" });
    const headers = { "dapr-api-token": token, "content-type": "application/json" };
    const atLimit = JSON.stringify("a".repeat(2048 - 2));
    expect(Buffer.byteLength(atLimit)).toBe(2048);
    expect((await server.request("POST", "/v1.0/workflows/dapr/eventGate/start?instanceID=limit-at", atLimit, headers)).status).toBe(202);
    const over = await server.request("POST", "/v1.0/workflows/dapr/eventGate/start?instanceID=limit-over", JSON.stringify("a".repeat(2048 - 1)), headers);
    expect(over.status).toBe(413);
    expect(over.json).toEqual({ errorCode: "ERR_BODY_TOO_LARGE", message: "request body is larger than the limit of 2048 bytes" });
    const overRaise = await server.request("POST", "/v1.0/workflows/dapr/limit-at/raiseEvent/x", "b".repeat(10_000), headers);
    expect(overRaise.status).toBe(413);

    // A chunked body (no Content-Length) is counted as it streams in.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequestRaw({
        host: "127.0.0.1", port: server.port, method: "POST", path: "/v1.0/workflows/dapr/limit-at/raiseEvent/x",
        headers: { ...headers, "transfer-encoding": "chunked" },
      }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      for (let i = 0; i < 10; i++) req.write("c".repeat(512));
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).errorCode).toBe("ERR_BODY_TOO_LARGE");
    expect((await server.request("GET", "/v1.0/workflows/dapr/limit-over", undefined, headers)).status).toBe(404);

    const client = new TaskHub(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), { "grpc.max_send_message_length": 16 * 1024 * 1024 });
    try {
      const big = { instanceId: "grpc-big", name: "eventGate", input: { value: JSON.stringify("g".repeat(100 * 1024)) } };
      expect(await callAny(client, "StartInstance", metadataWith(token), big)).toBe(8);
      const small = { instanceId: "grpc-small", name: "eventGate", input: { value: JSON.stringify("g".repeat(30 * 1024)) } };
      expect(await callAny(client, "StartInstance", metadataWith(token), small)).toBe(0);
      expect(await callAny(client, "GetInstance", metadataWith(token), { instanceId: "grpc-big" })).toBe(0);
      expect((await server.request("GET", "/v1.0/workflows/dapr/grpc-big", undefined, headers)).status).toBe(404);
      expect((await server.request("GET", "/v1.0/workflows/dapr/grpc-small", undefined, headers)).status).toBe(200);
    } finally {
      client.close();
    }
  }, 30_000);
});

describe("HTTP server timeouts", () => {
  it("request, headers, keep-alive and idle-socket timeouts are set and bounded (the slow-client behaviour itself: torture.test.ts)", async () => {
    const wd = await createWorkflowd({});
    try {
      await wd.app.listen({ port: 0, host: "127.0.0.1" });
      const { requestTimeout, headersTimeout, keepAliveTimeout, timeout } = wd.app.server;
      // Node's own default (30 s) when unset; @types/node 20 does not declare the property.
      const connectionsCheckingInterval = (wd.app.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval ?? 30_000;
      const bounded = (ms: number) => ms > 0 && ms <= 120_000;
      expect(bounded(requestTimeout), `requestTimeout ${requestTimeout}`).toBe(true);
      expect(headersTimeout > 0 && headersTimeout <= requestTimeout, `headersTimeout ${headersTimeout}`).toBe(true);
      expect(bounded(keepAliveTimeout), `keepAliveTimeout ${keepAliveTimeout}`).toBe(true);
      expect(bounded(timeout), `socket idle timeout ${timeout}`).toBe(true);
      expect(connectionsCheckingInterval > 0 && connectionsCheckingInterval <= 60_000).toBe(true);
      console.info(`HTTP timeouts: request ${requestTimeout} ms, headers ${headersTimeout} ms, keep-alive ${keepAliveTimeout} ms, idle socket ${timeout} ms, enforced every ${connectionsCheckingInterval} ms; maxConnections ${wd.app.server.maxConnections ?? "unlimited"}`);
    } finally {
      await wd.app.close();
    }
  });
});
