/**
 * Shared helpers for the HTTP API tests: building a real workflowd (real SQLite, real
 * engine, real in-process worker), driving it over HTTP with supertest, waiting on
 * conditions, and asserting Dapr's error shape.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import type { Response } from "supertest";
import { expect, vi } from "vitest";
import type { FastifyInstance } from "fastify";
import { createWorkflowd, type BuildAppOptions, type Workflowd } from "../../src/app.js";
import { sharedTestPostgres } from "../store/test-postgres.js";
import type { WorkflowContext, WorkflowRegistry } from "../../src/index.js";
import registerExamples from "../../examples/index.js";
import type { WorkflowStateResponse } from "../../src/api/schemas.js";

export const prefixes = ["/v1.0", "/v1.0-beta1", "/v1.0-alpha1"] as const;
export type Prefix = (typeof prefixes)[number];

export const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** RFC 3339 UTC, millisecond precision, with a `.000` fraction dropped. */
export const rfc3339Ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

export const stateKeys = ["instanceID", "workflowName", "createdAt", "lastUpdatedAt", "runtimeStatus", "properties"];

export interface TestServer extends Workflowd {
  http: ReturnType<typeof request>;
  close: () => Promise<void>;
}

// -- Extra workflows used by the tests (registered next to the examples) ---------------

/** Starts an `approval` child and finishes without waiting for it: a finished parent with a running child. */
export async function* fireAndForget(ctx: WorkflowContext): AsyncGenerator<unknown, string, any> {
  ctx.callChildWorkflow("approval", { item: "orphan" });
  return "done";
}

/** Two `approval` children that wait for an event: a parent whose children stay RUNNING. */
export async function* waitingParent(ctx: WorkflowContext): AsyncGenerator<unknown, unknown, any> {
  const children = [ctx.callChildWorkflow("approval", { item: "a" }), ctx.callChildWorkflow("approval", { item: "b" })];
  return yield ctx.whenAll(children);
}

/** Returns its input unchanged: shows the input the workflow received. */
export async function* echo(_ctx: WorkflowContext, input: unknown): AsyncGenerator<unknown, unknown, any> {
  return input;
}

/** The examples plus the test workflows above. */
export function registerAll(registry: WorkflowRegistry): void {
  registerExamples(registry);
  registry.registerWorkflow(fireAndForget).registerWorkflow(waitingParent).registerWorkflow(echo);
}

/**
 * A workflowd listening on an ephemeral port on 127.0.0.1, with supertest bound to it.
 * Defaults to an in-memory database (a fresh PostgreSQL one in the "postgres" vitest project) and
 * every example and test workflow registered.
 */
export async function startServer(options: BuildAppOptions = {}): Promise<TestServer> {
  // The suites the "postgres" vitest projects run again on PostgreSQL (vitest.config.ts), with
  // WORKFLOWD_TEST_REPLICAS=2 on two replicas of one database, requests spread over both.
  const onPostgres = process.env.WORKFLOWD_TEST_STORE === "postgres" && options.dbPath === undefined;
  const dbPath = onPostgres ? await sharedTestPostgres().freshDatabase() : options.dbPath;
  const replicas = onPostgres ? Number(process.env.WORKFLOWD_TEST_REPLICAS ?? 1) : 1;
  const servers = await Promise.all(Array.from({ length: replicas }, async (_, i) => {
    const replica = replicas > 1 ? { replicaId: `replica-${i + 1}` } : {};
    const wd = await createWorkflowd({ workflows: registerAll, ...options, ...replica, ...(dbPath ? { dbPath } : {}) });
    await wd.app.listen({ port: 0, host: "127.0.0.1" });
    return wd;
  }));
  const spreader = replicas > 1 ? await spreadRequests(servers.map((wd) => wd.app.server.address() as AddressInfo)) : undefined;
  let closed = false;
  return {
    ...servers[0]!,
    http: request(spreader ?? servers[0]!.app.server),
    close: async () => {
      if (closed) return;
      closed = true;
      spreader?.closeAllConnections();
      await Promise.all([...servers.map((wd) => wd.app.close()), spreader && new Promise((resolve) => spreader.close(resolve))]);
    },
  };
}

/**
 * A proxy that sends each request to the next of `targets` in turn, as a load balancer in front
 * of an app's replicas would: a test's consecutive calls for one instance reach different replicas.
 */
async function spreadRequests(targets: readonly AddressInfo[]): Promise<http.Server> {
  let next = 0;
  const proxy = http.createServer((req, res) => {
    const target = targets[next++ % targets.length]!;
    const upstream = http.request({ host: target.address, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (error) => res.destroy(error));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  return proxy;
}

/** A fresh temp dir and a database path inside it; `remove` deletes the dir. */
export function tempDb(): { dir: string; dbPath: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflowd-api-"));
  return { dir, dbPath: path.join(dir, "workflowd.db"), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

let counter = 0;
/** A unique valid instance ID. */
export function newId(tag = "wf"): string {
  counter += 1;
  return `${tag}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** Path segment encoding for IDs (`:` stays readable, which is how SDKs send child IDs). */
export function seg(id: string): string {
  return encodeURIComponent(id).replaceAll("%3A", ":");
}

/** GET's body, typed from the server's own response schema so the two cannot drift. */
export type WorkflowState = WorkflowStateResponse;

/** The workflow routes of one server under one prefix and component segment. */
export class Api {
  constructor(
    readonly server: TestServer,
    readonly prefix: string = "/v1.0",
    readonly component: string = "dapr",
  ) {}

  url(rest: string): string {
    return `${this.prefix}/workflows/${this.component}/${rest}`;
  }

  /** POST …/{name}/start[?instanceID=id], with an optional raw body. */
  startRequest(name: string, id?: string, body?: string, contentType = "application/json") {
    const query = id === undefined ? "" : `?instanceID=${encodeURIComponent(id)}`;
    const req = this.server.http.post(this.url(`${encodeURIComponent(name)}/start${query}`));
    return body === undefined ? req : req.set("content-type", contentType).send(body);
  }

  /** Starts and expects 202; returns the instance ID. */
  async start(name: string, id?: string, body?: string, contentType = "application/json"): Promise<string> {
    const res = await this.startRequest(name, id, body, contentType);
    expect(res.status, res.text).toBe(202);
    return (JSON.parse(res.text) as { instanceID: string }).instanceID;
  }

  get(id: string) {
    return this.server.http.get(this.url(seg(id)));
  }

  async state(id: string): Promise<WorkflowState> {
    const res = await this.get(id);
    expect(res.status, res.text).toBe(200);
    return JSON.parse(res.text) as WorkflowState;
  }

  /** POST …/{id}/{action} (terminate, pause, resume, purge, raiseEvent/{name}), optional body. */
  command(id: string, action: string, body?: string, contentType = "application/json") {
    const req = this.server.http.post(this.url(`${seg(id)}/${action}`));
    return body === undefined ? req : req.set("content-type", contentType).send(body);
  }

  /** Expects 202 with an empty body. */
  async commandOk(id: string, action: string, body?: string, contentType = "application/json"): Promise<void> {
    const res = await this.command(id, action, body, contentType);
    expect(res.status, res.text).toBe(202);
    expect(res.text).toBe("");
  }

  /** Polls GET until the instance has `status`. */
  async waitForStatus(id: string, status: string, timeout = 10_000): Promise<WorkflowState> {
    return vi.waitFor(
      async () => {
        const state = await this.state(id);
        if (state.runtimeStatus !== status) {
          throw new Error(`instance ${id} is ${state.runtimeStatus}, waiting for ${status}: ${JSON.stringify(state)}`);
        }
        return state;
      },
      { timeout, interval: 10 },
    );
  }

  /** Polls GET until `check` passes. */
  async waitForState(id: string, check: (state: WorkflowState) => boolean, timeout = 10_000): Promise<WorkflowState> {
    return vi.waitFor(
      async () => {
        const state = await this.state(id);
        if (!check(state)) throw new Error(`instance ${id} not there yet: ${JSON.stringify(state)}`);
        return state;
      },
      { timeout, interval: 10 },
    );
  }

  /** Polls GET until the instance is gone (404). */
  async waitForGone(id: string, timeout = 10_000): Promise<void> {
    await vi.waitFor(
      async () => {
        const res = await this.get(id);
        if (res.status !== 404) throw new Error(`instance ${id} still answers ${res.status}: ${res.text}`);
      },
      { timeout, interval: 10 },
    );
  }
}

/** Asserts Dapr's error shape: the status, exactly {errorCode, message}, JSON, no stack frames. */
export function expectError(
  res: { status: number; text: string; headers: Record<string, string | string[] | undefined> },
  status: number,
  errorCode: string,
  message?: string | RegExp,
): { errorCode: string; message: string } {
  expect(res.status, res.text).toBe(status);
  expect(String(res.headers["content-type"])).toMatch(/^application\/json/);
  const body = JSON.parse(res.text) as { errorCode: string; message: string };
  expect(Object.keys(body)).toEqual(["errorCode", "message"]);
  expect(body.errorCode).toBe(errorCode);
  expect(typeof body.message).toBe("string");
  expect(body.message.length).toBeGreaterThan(0);
  expect(body.message).not.toContain("    at ");
  expect(res.text).not.toMatch(/\n\s+at /);
  if (typeof message === "string") expect(body.message).toBe(message);
  else if (message) expect(body.message).toMatch(message);
  return body;
}

/** Same as `expectError` for `app.inject` answers. */
export function injected(res: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  return { status: res.statusCode, text: res.body, headers: res.headers as Record<string, string | string[] | undefined> };
}

export type { FastifyInstance };
