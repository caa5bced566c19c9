#!/usr/bin/env node
/**
 * The workflowd process: read the config, open the store, load the workflows, serve gRPC
 * (for Dapr SDK apps) and HTTP, and shut down gracefully on SIGTERM/SIGINT (stop accepting,
 * let in-flight turns commit, close the database, exit 0).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { isCliCommand, runCli } from "./cli/main.js";

async function main(): Promise<void> {
  // The server's modules are loaded here rather than at the top: the CLI commands (below)
  // never use them, and loading Fastify, gRPC, SQLite and the YAML parser would add ~0.5 s
  // to every command.
  const [{ pino }, { createWorkflowd, isPostgresUrl }, { loadConfig }, { tracingOff }, { loadWorkflowsModule }, { version }] = await Promise.all([
    import("pino"),
    import("./app.js"),
    import("./config.js"),
    import("./dapr-configuration.js"),
    import("./runtime/load-workflows.js"),
    import("./version.js"),
  ]);
  const config = loadConfig(process.argv.slice(2), process.env);
  const logger = pino({ level: config.logLevel });
  // grpc-js writes its own errors to stderr (e.g. a failed listen, which workflowd reports in
  // its own words): into the log instead, at debug.
  const { setLogger } = await import("@grpc/grpc-js");
  const grpcLog = (...parts: unknown[]) => logger.debug({ grpc: parts.map(String).join(" ") }, "grpc-js");
  setLogger({ error: grpcLog, info: grpcLog, debug: grpcLog } as unknown as Console);
  process.on("unhandledRejection", (reason) => {
    logger.fatal({ err: reason }, "unhandled rejection");
    process.exit(1);
  });
  if (config.dbPath !== ":memory:" && !isPostgresUrl(config.dbPath)) {
    try {
      mkdirSync(dirname(config.dbPath), { recursive: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const cause = code === "EEXIST" || code === "ENOTDIR" ? "a file is in the way" : code === "EACCES" || code === "EPERM" ? "permission denied" : (error as Error).message;
      throw new Error(`--db (WORKFLOWD_DB) '${config.dbPath}': cannot create its directory '${dirname(config.dbPath)}' (${cause}); give a path in a directory workflowd can create or write`);
    }
  }
  const registry = config.workflowsPath ? await loadWorkflowsModule(config.workflowsPath) : undefined;
  const { app, grpc, metrics, metricsServer, store, registry: loaded } = await createWorkflowd({
    dbPath: config.dbPath,
    ...(registry ? { registry } : {}),
    apiToken: config.apiToken,
    bodyBytesMax: config.bodyBytesMax,
    grpcMessageBytesMax: config.grpcMessageBytesMax,
    grpcPrimeReconnect: config.grpcPrimeReconnect,
    activityLeaseMs: config.activityLeaseMs,
    backlogMax: config.backlogMax,
    appId: config.appId,
    ...(config.replicaId ? { replicaId: config.replicaId } : {}),
    shutdownGraceMs: config.shutdownGraceMs,
    retention: config.retention,
    tracing: config.tracing,
    ui: config.ui,
    dbAdopt: config.dbAdopt,
    logger,
  });
  logger.info({
    db: store.location,
    ...store.settings(),
    ...(config.retention ? { retention: config.retention } : {}),
    ...(config.tracing?.otel && !tracingOff(config.tracing)
      ? { tracing: { samplingRate: config.tracing.samplingRate, exportTo: `${config.tracing.otel.endpointAddress} (OTLP/${config.tracing.otel.protocol})` } }
      : {}),
    workflows: loaded.workflowNames(),
    activities: loaded.activityNames(),
  }, "store open, engine started");
  for (const note of config.notes) logger.info(note);

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownGraceMs + 5_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  // gRPC first: a Dapr SDK worker whose first connection fails never retries.
  const grpcPort = await listening("the gRPC port", "--grpc-port (DAPR_GRPC_PORT)", config.host, config.grpcPort, () => grpc.listen(config.host, config.grpcPort));
  logger.info({ port: grpcPort }, "gRPC (durabletask TaskHubSidecarService) listening");
  let metricsPort: number | "off" = "off";
  if (config.metricsEnabled) {
    metrics.collectProcessMetrics();
    metricsPort = await listening("the metrics port", "--metrics-port (DAPR_METRICS_PORT)", config.host, config.metricsPort, () => metricsServer.listen(config.host, config.metricsPort));
    logger.info({ port: metricsPort }, "metrics (Prometheus) listening on /metrics");
  } else {
    logger.info("metrics are off (--enable-metrics=false)");
  }
  await listening("the HTTP port", "--port (DAPR_HTTP_PORT)", config.host, config.port, () => app.listen({ host: config.host, port: config.port }));
  const address = app.server.address();
  const httpPort = typeof address === "object" && address ? address.port : config.port;
  // One line that says what runs where, and what the start-up found to carry on with.
  const queued = await store.queueDepths(Date.now());
  logger.info({
    version,
    httpPort,
    grpcPort,
    metricsPort,
    db: store.location,
    recovered: { instancesWithWork: queued.readyInstances, timersWaiting: queued.pendingTimers, activitiesQueued: queued.queuedActivities },
    inProcessWorkflows: loaded.workflowNames().length,
    console: config.ui ? "/ui/" : "off",
  }, `workflowd ${version} ready: HTTP on ${httpPort}, gRPC on ${grpcPort}, database ${store.location}`);
}

/** Listens, or fails with one line naming the port's role, its flag and variable, the cause and the fix. */
async function listening<T>(role: string, setting: string, host: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    const cause = /EADDRINUSE/.test(text) ? "another process listens on it" : /EACCES/.test(text) ? "permission denied (ports below 1024 need privileges)" : /EADDRNOTAVAIL|ENOTFOUND/.test(text) ? `the address '${host}' is not one of this machine's` : text;
    throw new Error(`${setting} ${port}: cannot listen on ${role} at ${host} (${cause}); choose another port (0 picks a free one) or stop the other process`);
  }
}

// `workflowd backup <file>` (backup.ts) is a command of its own: it never starts a server.
// `workflowd list|get|start|...`, `--help` and any other word are the HTTP client (src/cli),
// which never starts one either (the server takes flags only, no words).
const [command, ...commandArgs] = process.argv.slice(2);
if (command === "backup") {
  import("./backup.js").then(({ runBackupCommand }) => runBackupCommand(commandArgs, process.env)).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`workflowd backup failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
} else if (isCliCommand(command) || commandArgs.includes("--help") || commandArgs.includes("-h")) {
  // Server flags followed by --help (`workflowd --port 1 --help`) ask for the help too.
  const args = isCliCommand(command) ? process.argv.slice(2) : ["--help"];
  // exitCode rather than exit(): a large table piped to another program is written in full.
  void runCli(args, process.env).then((code) => {
    process.exitCode = code;
  });
} else {
  main().catch((error: unknown) => {
    // Start-up failures (bad config, unreadable database, broken workflows module) end here.
    console.error(`workflowd failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
