#!/usr/bin/env node
/**
 * The workflowd process: read the config, open the store, load the workflows, serve gRPC
 * (for Dapr SDK apps) and HTTP, and shut down gracefully on SIGTERM/SIGINT (stop accepting,
 * let in-flight turns commit, close the database, exit 0).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { pino } from "pino";
import { createWorkflowd } from "./app.js";
import { runBackupCommand } from "./backup.js";
import { loadConfig } from "./config.js";
import { loadWorkflowsModule } from "./runtime/load-workflows.js";

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const logger = pino({ level: config.logLevel });
  process.on("unhandledRejection", (reason) => {
    logger.fatal({ err: reason }, "unhandled rejection");
    process.exit(1);
  });
  if (config.dbPath !== ":memory:") mkdirSync(dirname(config.dbPath), { recursive: true });
  const registry = config.workflowsPath ? await loadWorkflowsModule(config.workflowsPath) : undefined;
  const { app, grpc, metrics, metricsServer, store, registry: loaded } = await createWorkflowd({
    dbPath: config.dbPath,
    ...(registry ? { registry } : {}),
    apiToken: config.apiToken,
    bodyBytesMax: config.bodyBytesMax,
    grpcMessageBytesMax: config.grpcMessageBytesMax,
    grpcPrimeReconnect: config.grpcPrimeReconnect,
    activityLeaseMs: config.activityLeaseMs,
    appId: config.appId,
    shutdownGraceMs: config.shutdownGraceMs,
    logger,
  });
  logger.info({
    db: config.dbPath,
    ...store.settings(),
    workflows: loaded.workflowNames(),
    activities: loaded.activityNames(),
  }, "store open, engine started");

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
  const grpcPort = await grpc.listen(config.host, config.grpcPort);
  logger.info({ port: grpcPort }, "gRPC (durabletask TaskHubSidecarService) listening");
  metrics.collectProcessMetrics();
  const metricsPort = await metricsServer.listen(config.host, config.metricsPort);
  logger.info({ port: metricsPort }, "metrics (Prometheus) listening on /metrics");
  await app.listen({ host: config.host, port: config.port });
}

// `workflowd backup <file>` (backup.ts) is a command of its own: it never starts a server.
const [command, ...commandArgs] = process.argv.slice(2);
if (command === "backup") {
  runBackupCommand(commandArgs, process.env).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`workflowd backup failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
} else {
  main().catch((error: unknown) => {
    // Start-up failures (bad config, unreadable database, broken workflows module) end here.
    console.error(`workflowd failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
