/**
 * Helpers for the durabletask gRPC tests: workflowd runs as a separate process (the
 * test/process harness) with its gRPC port on a real free port; the app side is the
 * unchanged @dapr/dapr 3.18 SDK (`WorkflowRuntime` + `DaprWorkflowClient`), in this process
 * or as its own process (test/fixtures/sdk-app.mjs); a raw @grpc/grpc-js client speaks the
 * protocol directly for the checks the SDK cannot make.
 *
 * Call `useGrpcTest()` once per file: it registers the harness hooks first and its own
 * afterEach second, so (hooks run in stack order) SDK runtimes, clients, raw clients and app
 * processes are stopped while the server is still up, and the server is killed afterwards.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { DaprWorkflowClient, LogLevel, WorkflowRuntime } from "@dapr/dapr";
import { afterEach, beforeEach, expect } from "vitest";
import { eventually, fixturesDir, freePort, useProcesses, type ServerProcess } from "../process/harness.js";
import { sharedTestPostgres } from "../store/test-postgres.js";
// @ts-expect-error -- a plain .mjs module shared with the fixture app (no declarations)
import { registerAll } from "../fixtures/sdk-workflows.mjs";

export const sdkAppJs = join(fixturesDir, "sdk-app.mjs");

/** gRPC status codes the tests assert on. */
export const Code = {
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  UNAUTHENTICATED: 16,
} as const;

/** The SDK's WorkflowRuntimeStatus numbers (WorkflowState.runtimeStatus). */
export const SdkStatus = {
  RUNNING: 0,
  COMPLETED: 1,
  FAILED: 3,
  TERMINATED: 5,
  PENDING: 6,
  SUSPENDED: 7,
} as const;

export interface Workflowd {
  /** The workflowd HTTP reads and management calls go to (on two replicas, the second). */
  server: ServerProcess;
  /** Where SDK workers connect (on two replicas, the first). */
  grpcPort: number;
  /** Where clients connect: on two replicas the second (it has no worker), else `grpcPort`. */
  clientGrpcPort: number;
  dbPath: string;
}

/** An app process running test/fixtures/sdk-app.mjs. */
export class AppProcess {
  output = "";
  exited: Promise<void>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(readonly child: ChildProcess, readonly label: string) {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (this.output += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.output += chunk));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
    });
  }

  /** SIGKILL by pid, and wait until it is gone. */
  async kill(): Promise<void> {
    if (this.exitInfo) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

export function useGrpcTest() {
  const processes = useProcesses();
  let runtimes: WorkflowRuntime[] = [];
  let clients: DaprWorkflowClient[] = [];
  let raws: Client[] = [];
  let apps: AppProcess[] = [];
  let appCount = 0;

  beforeEach((context) => {
    appCount = 0;
    const mine = apps;
    context.onTestFailed(() => {
      for (const app of mine) console.error(`---- ${app.label} (pid ${app.child.pid}) ----\n${app.output || "(no output)"}`);
    });
  });

  afterEach(async () => {
    const stopping: Promise<unknown>[] = [];
    // runtime.stop() and client.stop() each sleep 1 s: stop them all at once. stop() throws
    // when the worker already stopped (e.g. its first connection failed): nothing to do then.
    for (const runtime of runtimes) stopping.push(runtime.stop().catch(() => {}));
    for (const client of clients) stopping.push(client.stop().catch(() => {}));
    for (const raw of raws) raw.close();
    for (const app of apps) stopping.push(app.kill());
    runtimes = [];
    clients = [];
    raws = [];
    apps = [];
    await Promise.all(stopping);
  });

  return {
    processes,

    /**
     * Spawns workflowd (no in-process workflows, a fresh DB file, or a fresh PostgreSQL database in
     * the "postgres" vitest project, a real gRPC port) and waits
     * until it is healthy. `reuse` restarts on an earlier instance's DB file and ports.
     */
    async workflowd(env: Record<string, string> = {}, reuse?: Workflowd): Promise<Workflowd> {
      // The suites the "postgres" vitest project runs again on PostgreSQL (vitest.config.ts).
      const onPostgres = process.env.WORKFLOWD_TEST_STORE === "postgres";
      const dbPath = reuse?.dbPath ?? (onPostgres ? await sharedTestPostgres().freshDatabase() : join(processes.tempDir(), "wf.db"));
      const grpcPort = reuse?.grpcPort ?? (await freePort());
      const spawnOn = async (port: number, extra: Record<string, string>, label?: string) => {
        const server = await processes.spawn({
          env: { WORKFLOWD_WORKFLOWS: "none", WORKFLOWD_DB: dbPath, DAPR_GRPC_PORT: String(port), LOG_LEVEL: "warn", ...extra, ...env },
          ...(label ? { label } : {}),
        });
        await server.waitHealthy();
        return server;
      };
      // On two replicas of one database (the "postgres-2" project): workers connect to the
      // first, clients and HTTP calls go to the second, which must leave the work to the first.
      if (onPostgres && !reuse && process.env.WORKFLOWD_TEST_REPLICAS === "2") {
        const clientGrpcPort = await freePort();
        const [, second] = await Promise.all([
          spawnOn(grpcPort, { WORKFLOWD_REPLICA_ID: "replica-1" }, "replica 1"),
          spawnOn(clientGrpcPort, { WORKFLOWD_REPLICA_ID: "replica-2" }, "replica 2"),
        ]);
        return { server: second, grpcPort, clientGrpcPort, dbPath };
      }
      // A restart listens on the same HTTP port too.
      const server = await spawnOn(grpcPort, reuse ? { DAPR_HTTP_PORT: String(reuse.server.port) } : {});
      return { server, grpcPort, clientGrpcPort: grpcPort, dbPath };
    },

    /**
     * A started WorkflowRuntime with every sdk-workflows.mjs registration. Start it only
     * once the server is healthy: the Node worker gives up for good if its first stream fails
     * (Hello refused, or the first GetWorkItems stream erroring later).
     */
    async runtime(wd: Workflowd, daprApiToken?: string): Promise<WorkflowRuntime> {
      const runtime = registerAll(new WorkflowRuntime(sdkOptions(wd.grpcPort, daprApiToken))) as WorkflowRuntime;
      runtimes.push(runtime);
      await runtime.start();
      return runtime;
    },

    client(wd: Workflowd, daprApiToken?: string): DaprWorkflowClient {
      const client = new DaprWorkflowClient(sdkOptions(wd.clientGrpcPort, daprApiToken));
      clients.push(client);
      return client;
    },

    /** Stops a runtime now (and no more in afterEach). */
    async stopRuntime(runtime: WorkflowRuntime): Promise<void> {
      runtimes = runtimes.filter((r) => r !== runtime);
      await runtime.stop();
    },

    /** A raw TaskHubSidecarService client of the 2023 proto (no interceptors, no metadata unless given per call). */
    raw(wd: Workflowd, channelOptions: Record<string, string | number> = {}): RawClient {
      const client = new TaskHubSidecarService(`127.0.0.1:${wd.grpcPort}`, credentials.createInsecure(), {
        "grpc.max_receive_message_length": 128 * 1024 * 1024,
        "grpc.max_send_message_length": 128 * 1024 * 1024,
        ...channelOptions,
      }) as RawClient;
      raws.push(client);
      return client;
    },

    /** Starts test/fixtures/sdk-app.mjs as its own process against the server's gRPC port. */
    app(wd: Workflowd, env: Record<string, string> = {}): AppProcess {
      const child = spawn(process.execPath, [sdkAppJs], {
        env: { ...process.env, DAPR_GRPC_PORT: String(wd.grpcPort), DAPR_API_TOKEN: "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const app = new AppProcess(child, `sdk app #${++appCount}`);
      apps.push(app);
      return app;
    },
  };
}

function sdkOptions(grpcPort: number, daprApiToken?: string) {
  return {
    daprHost: "127.0.0.1",
    daprPort: String(grpcPort),
    logger: { level: LogLevel.Error },
    ...(daprApiToken ? { daprApiToken } : {}),
  };
}

// -- raw gRPC ------------------------------------------------------------------------------

const protoPath = createRequire(import.meta.url).resolve("@dapr/durabletask-js/proto/orchestrator_service.proto");
const definition = loadPackageDefinition(
  loadSync(protoPath, { keepCase: true, longs: Number, enums: Number, defaults: false, oneofs: true }),
);
const TaskHubSidecarService = definition.TaskHubSidecarService as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
  options: object,
) => Client;

/** The generated client's methods are dynamic; `call` and `stream` below type them loosely. */
export type RawClient = Client & Record<string, any>;

/** A unary call; rejects with the ServiceError (its `code` is the gRPC status). */
export function call<T = any>(client: RawClient, method: string, request: object, metadata = new Metadata()): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, { deadline: Date.now() + 10_000 }, (error: ServiceError | null, response: T) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

export function withToken(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set("dapr-api-token", token);
  return metadata;
}

/** The gRPC status code a promise rejects with (fails the test if it resolves). */
export async function codeOf(promise: Promise<unknown>): Promise<number> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    const code = (error as ServiceError).code;
    if (typeof code !== "number") throw error;
    return code;
  }
  return expect.fail(`expected the call to fail with a gRPC status, but it returned ${JSON.stringify(value)}`);
}

/**
 * A GetWorkItems stream opened by a raw client acting as the worker: collects work items
 * and the stream's end or error.
 */
export class RawWorkItems {
  readonly items: any[] = [];
  error: ServiceError | undefined;
  ended = false;
  private readonly stream: any;

  constructor(client: RawClient, metadata = new Metadata()) {
    this.stream = client.GetWorkItems({}, metadata);
    this.stream.on("data", (item: any) => this.items.push(item));
    this.stream.on("error", (error: ServiceError) => (this.error = error));
    this.stream.on("end", () => (this.ended = true));
  }

  /** Waits for the n-th work item (1-based) and returns it. */
  async item(n: number, timeoutMs = 10_000): Promise<any> {
    return eventually(`work item #${n}`, () => {
      if (this.error) throw new Error(`stream failed: ${this.error.message}`);
      return this.items[n - 1] ?? `${this.items.length} item(s) so far`;
    }, timeoutMs);
  }

  async failure(timeoutMs = 10_000): Promise<ServiceError> {
    return eventually("the stream to fail", () => this.error ?? (this.ended ? "ended without an error" : "still open"), timeoutMs);
  }

  cancel(): void {
    this.stream.cancel();
  }
}

// -- HTTP ------------------------------------------------------------------------------------

interface MetadataBody {
  workflows?: { connectedWorkers?: number };
}

export async function connectedWorkers(server: ServerProcess, token?: string): Promise<number> {
  const response = await fetch(`${server.baseUrl}/v1.0/metadata`, { headers: token ? { "dapr-api-token": token } : {} });
  if (response.status !== 200) throw new Error(`GET /v1.0/metadata answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as MetadataBody;
  const count = body.workflows?.connectedWorkers;
  if (typeof count !== "number") throw new Error(`metadata has no workflows.connectedWorkers: ${JSON.stringify(body)}`);
  return count;
}

/** Waits until /v1.0/metadata reports a connected worker count satisfying `until`. */
export async function waitWorkers(server: ServerProcess, until: (n: number) => boolean, what: string, timeoutMs = 10_000): Promise<number> {
  return eventually(`connectedWorkers ${what}`, async () => {
    const n = await connectedWorkers(server);
    return until(n) ? n : `connectedWorkers is ${n}`;
  }, timeoutMs);
}

/** POST a command over HTTP and return the status (the harness's `command` insists on 202). */
export async function post(server: ServerProcess, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.baseUrl}${path}`, { method: "POST", ...init });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
