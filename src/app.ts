/**
 * Assembles a workflowd instance: store, engine, in-process worker and HTTP server.
 * `buildApp` is the public entry for tests (drive it with supertest or `inject`); main.ts
 * uses `createWorkflowd` and adds listening and signals.
 */
import { hostname } from "node:os";
import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { createHttpServer } from "./api/http-server.js";
import { GrpcServer } from "./grpc/grpc-server.js";
import { Metrics } from "./metrics/metrics.js";
import { MetricsServer } from "./metrics/metrics-server.js";
import { limits } from "./limits.js";
import type { TracingSettings } from "./dapr-configuration.js";
import type { RetentionPolicy } from "./orchestration/retention-sweeper.js";
import { WorkflowEngine } from "./orchestration/workflow-engine.js";
import { InProcessWorker } from "./runtime/in-process-worker.js";
import { WorkflowRegistry } from "./runtime/registry.js";
import { openStore } from "./store/open-store.js";

export { isPostgresUrl } from "./store/open-store.js";
import type { WorkflowStore } from "./store/store.js";
import { tracerFor } from "./tracing/otel-tracer.js";
import { version } from "./version.js";

export interface BuildAppOptions {
  /** A SQLite database file, ":memory:" (the default), or a PostgreSQL URL. */
  dbPath?: string;
  /** Registers the in-process workflows and activities, like a Dapr app's registration code. */
  workflows?: (registry: WorkflowRegistry) => unknown;
  /** An already-filled registry (instead of `workflows`). */
  registry?: WorkflowRegistry;
  /** When set, requests need a matching `dapr-api-token` header (health checks excepted). */
  apiToken?: string | undefined;
  bodyBytesMax?: number;
  /**
   * Active instances kept hot between steps: their committed history in the store and, for
   * in-process workflows, the live replay (default 10,000; 0 reads and replays every step).
   */
  hotInstancesMax?: number;
  /** gRPC message size limit (default 128 MiB, as the Dapr SDK clients). */
  grpcMessageBytesMax?: number;
  /** End each SDK connection's first worker stream so the Node SDK reconnects after a crash (default true). */
  grpcPrimeReconnect?: boolean;
  activityLeaseMs?: number;
  /** Client starts are refused with 429 while this many instances wait for a turn (default 250,000). */
  backlogMax?: number;
  busyTimeoutMs?: number;
  /** Where a SQLite file's writes run (default "thread"; "inline" for tests that inject faults into them). */
  sqliteWriter?: "thread" | "inline";
  appId?: string;
  /**
   * Names this process among the replicas sharing a PostgreSQL database; stable across its
   * restarts, distinct between replicas (default: the host name, a pod's name in Kubernetes).
   */
  replicaId?: string;
  /** On close, how long running activities may take to finish before the store closes. */
  shutdownGraceMs?: number;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** Serve the web console at /ui/ (default true). */
  ui?: boolean;
  /** Add workflowd's tables to a database that has other tables and none of ours. */
  dbAdopt?: boolean;
  /** Purge finished instances after these times (daprd's spec.workflow.stateRetentionPolicy). */
  retention?: RetentionPolicy | undefined;
  /** daprd's spec.tracing: spans over OTLP when it names an endpoint and a rate above 0. */
  tracing?: TracingSettings | undefined;
  /** Milliseconds since the epoch; for tests that need a controlled clock. */
  clock?: () => number;
}

export interface Workflowd {
  app: FastifyInstance;
  /** The durabletask gRPC server for Dapr SDK apps; not listening until `grpc.listen()`. */
  grpc: GrpcServer;
  metrics: Metrics;
  /** Serves `/metrics`; not listening until `metricsServer.listen()`. */
  metricsServer: MetricsServer;
  engine: WorkflowEngine;
  store: WorkflowStore;
  registry: WorkflowRegistry;
}

export async function createWorkflowd(options: BuildAppOptions = {}): Promise<Workflowd> {
  const logger = options.logger ?? pino({ level: "silent" });
  const registry = options.registry ?? new WorkflowRegistry();
  if (options.workflows) await options.workflows(registry);
  const { store, release } = await openStore({
    db: options.dbPath ?? ":memory:",
    version,
    busyTimeoutMs: options.busyTimeoutMs ?? limits.busyTimeoutMsDefault,
    hotHistoriesMax: options.hotInstancesMax ?? limits.hotInstancesDefault,
    adoptForeign: options.dbAdopt === true,
    sqliteWriter: options.sqliteWriter,
  });
  const metrics: Metrics = new Metrics({
    queueDepths: () => store.queueDepths(Date.now()),
    connectedWorkers: (): number => sdkWorkers(engine),
  });
  const metricsServer = new MetricsServer(metrics.registry);
  const appId = options.appId ?? "workflowd";
  const tracer = tracerFor(options.tracing, appId, version);
  const engine: WorkflowEngine = new WorkflowEngine({
    store,
    logger,
    observer: metrics,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.activityLeaseMs ? { activityLeaseMs: options.activityLeaseMs } : {}),
    backlogMax: options.backlogMax,
    retention: options.retention,
    tracer,
    replicaId: options.replicaId ?? hostname(),
    appId,
  });
  try {
    if (registry.workflowNames().length + registry.activityNames().length > 0) {
      engine.workers.add(new InProcessWorker(registry, options.hotInstancesMax ?? limits.hotInstancesDefault));
    }
    const grpc = new GrpcServer({
      engine,
      logger,
      apiToken: options.apiToken || undefined,
      activityLeaseMs: options.activityLeaseMs ?? limits.activityLeaseMsDefault,
      turnTimeoutMs: limits.turnTimeoutMs,
      messageBytesMax: options.grpcMessageBytesMax ?? limits.grpcMessageBytesMax,
      primeReconnect: options.grpcPrimeReconnect ?? true,
      appId,
      version,
      connectedWorkers: () => sdkWorkers(engine),
    });
    const app = await createHttpServer({
      service: engine.service,
      queries: engine.queries,
      ui: options.ui,
      logger,
      bodyBytesMax: options.bodyBytesMax ?? limits.bodyBytesDefault,
      apiToken: options.apiToken || undefined,
      appId,
      version,
      connectedWorkers: () => sdkWorkers(engine),
      inProcessRuntime: () => engine.workers.describe().some((w) => !w.servesAnyName),
      notReady: () => notReady(store, engine),
    });
    // Every answered request, by route pattern (unmatched paths share one label).
    app.addHook("onResponse", async (request, reply) => {
      metrics.httpRequest(request.method, request.routeOptions.url ?? "(no route)", reply.statusCode);
    });
    // Closing the app stops the engine (in-flight turns commit; SDK apps can still answer
    // the work they hold), then the gRPC server, then closes the database.
    app.addHook("onClose", async () => {
      const graceMs = options.shutdownGraceMs ?? limits.shutdownGraceMsDefault;
      await engine.stop(graceMs);
      logger.info("shutdown: engine stopped (in-flight turns committed, activities finished or given back)");
      await grpc.close(graceMs);
      logger.info("shutdown: gRPC closed (SDK worker streams ended)");
      await metricsServer.close();
      if (tracer) {
        await tracer.shutdown().catch((error: unknown) => logger.warn({ err: error }, "shutdown: could not export the last spans"));
        logger.info("shutdown: spans exported");
      }
      await store.close();
      release();
      logger.info("shutdown: database closed");
    });
    await engine.start();
    return { app, grpc, metrics, metricsServer, engine, store, registry };
  } catch (error) {
    void tracer?.shutdown();
    await store.close();
    release();
    throw error;
  }
}

/** A Fastify instance serving the Dapr Workflow API on a fresh engine. */
export async function buildApp(options: BuildAppOptions = {}): Promise<FastifyInstance> {
  return (await createWorkflowd(options)).app;
}

/** Remote workers are the ones that take any name: one per connected SDK stream. */
function sdkWorkers(engine: WorkflowEngine): number {
  return engine.workers.describe().filter((w) => w.servesAnyName).length;
}

async function notReady(store: WorkflowStore, engine: WorkflowEngine): Promise<string[]> {
  const down: string[] = [];
  try {
    await store.ping();
  } catch (error) {
    down.push(`store (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!engine.isRunning) down.push("engine");
  return down;
}
