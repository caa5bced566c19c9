/**
 * The gRPC server on the Dapr gRPC port (DAPR_GRPC_PORT, 50001 by default): serves
 * `TaskHubSidecarService` so apps written with the Dapr SDKs connect to workflowd exactly as
 * they connect to daprd, and beside it Dapr's runtime API `dapr.proto.runtime.v1.Dapr` (its
 * workflow methods and GetMetadata; see dapr-runtime-service.ts). Message limits match the
 * SDK clients' (128 MiB); with an API token configured every call of both services must
 * carry it as `dapr-api-token` metadata (UNAUTHENTICATED otherwise), as daprd's interceptors
 * require.
 */
import { Server, ServerCredentials, type Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { limits } from "../limits.js";
import type { WorkflowEngine } from "../orchestration/workflow-engine.js";
import { tokenMatcher } from "../token.js";
import { loadDaprService, loadTaskHubService } from "../protocol/proto.js";
import { daprRuntimeService } from "./dapr-runtime-service.js";
import { ReconnectPrimer } from "./reconnect-primer.js";
import { taskHubService, type WorkerStreams } from "./task-hub-service.js";

export interface GrpcServerOptions {
  engine: WorkflowEngine;
  logger: Logger;
  apiToken: string | undefined;
  activityLeaseMs: number;
  turnTimeoutMs: number;
  messageBytesMax?: number;
  /** End each connection's first worker stream so the Node SDK retries after failures (default true). */
  primeReconnect?: boolean;
  /** The app ID the Dapr service's GetMetadata reports (default "workflowd"). */
  appId?: string;
  /** The runtime version GetMetadata reports (default "unknown"). */
  version?: string;
  /**
   * GetMetadata's `workflows.connected_workers` (default: the connected SDK worker streams,
   * the workers that take any name; the in-process runtime is not one).
   */
  connectedWorkers?: () => number;
}

export class GrpcServer {
  private readonly server: Server;
  private readonly streams: WorkerStreams;

  constructor(options: GrpcServerOptions) {
    const messageBytesMax = options.messageBytesMax ?? limits.grpcMessageBytesMax;
    this.server = new Server({
      "grpc.max_receive_message_length": messageBytesMax,
      "grpc.max_send_message_length": messageBytesMax,
    });
    const definition = loadTaskHubService();
    const { implementation, streams } = taskHubService(definition, {
      service: options.engine.service,
      queries: options.engine.queries,
      workers: options.engine.workers,
      watch: options.engine.watch,
      logger: options.logger,
      authorize: tokenCheck(options.apiToken),
      itemsPerStreamMax: limits.grpcStreamItemsMax,
      turnTimeoutMs: options.turnTimeoutMs,
      activityTimeoutMs: options.activityLeaseMs,
      commandWaitMs: limits.grpcCommandWaitMs,
      primer: options.primeReconnect === false ? undefined : new ReconnectPrimer(Date.now),
    });
    this.server.addService(definition, implementation);
    this.streams = streams;
    const dapr = loadDaprService();
    this.server.addService(dapr, daprRuntimeService(dapr, {
      service: options.engine.service,
      watch: options.engine.watch,
      logger: options.logger,
      authorize: tokenCheck(options.apiToken),
      commandWaitMs: limits.grpcCommandWaitMs,
      appId: options.appId ?? "workflowd",
      version: options.version ?? "unknown",
      connectedWorkers: options.connectedWorkers ?? (() => options.engine.workers.describe().filter((w) => w.servesAnyName).length),
    }));
  }

  /** Listens; resolves with the port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (error, bound) => {
        if (error) return reject(new Error(`gRPC port ${port}: ${error.message}`));
        resolve(bound);
      });
    });
  }

  /**
   * Ends the worker streams (the SDKs reconnect to whatever serves next) and stops; calls
   * still open after `graceMs` are cut.
   */
  async close(graceMs: number): Promise<void> {
    this.streams.endAll();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}

/** With a token configured, every call must carry it as `dapr-api-token` metadata. */
function tokenCheck(token: string | undefined): (metadata: Metadata) => boolean {
  if (!token) return () => true;
  const matches = tokenMatcher(token);
  return (metadata) => matches(metadata.get("dapr-api-token")[0]);
}
