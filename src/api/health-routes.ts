/**
 * Health and metadata under `/v1.0`: what Dapr SDKs poll to decide the sidecar is up.
 * The Node SDK waits for `GET /v1.0/metadata` to answer 2xx with a non-empty body; the
 * .NET, Java and Python SDKs poll `/v1.0/healthz/outbound`.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { apiErrors, routeFailures } from "./errors.js";
import { allowOnly } from "./method-guard.js";
import { commonErrors, errorResponse, MetadataResponse, ref, Unauthorized } from "./schemas.js";
import { Type } from "@sinclair/typebox";

export interface HealthRoutesOptions {
  appId: string;
  version: string;
  /** Names of the parts that are not ready; empty when ready. */
  notReady: () => Promise<string[]>;
  /** Connected Dapr SDK worker streams (gRPC); the in-process runtime is not one. */
  connectedWorkers: () => number;
  /** Whether workflows run in-process (a workflows module was loaded). */
  inProcessRuntime: () => boolean;
}

const NoContent = Type.Null({ description: "ready; empty body" });
const tags = ["health"];
/** Orchestrators probe health without credentials, so these routes never need the token (auth.ts). */
const noToken: { [scheme: string]: string[] }[] = [];

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, options) => {
  app.get("/healthz", {
    schema: {
      operationId: "healthz",
      summary: "Liveness and readiness: the store answers and the engine runs",
      tags,
      security: noToken,
      response: { 204: NoContent, 500: errorResponse(["ERR_HEALTH_NOT_READY"]), ...commonErrors },
    },
  }, async (_request, reply) => {
    const down = await options.notReady();
    if (down.length > 0) throw apiErrors.notReady(down.join(", "));
    return reply.code(204).send(undefined as unknown as null);
  });
  allowOnly(app, "/healthz", ["GET"]);

  // Outbound health: workflowd has no outbound components, so it is ready once it serves.
  app.get("/healthz/outbound", {
    schema: {
      operationId: "healthzOutbound",
      summary: "Outbound health, polled by the .NET, Java and Python SDKs: ready once workflowd serves",
      tags,
      security: noToken,
      response: { 204: NoContent, ...commonErrors },
    },
  }, async (_request, reply) =>
    reply.code(204).send(undefined as unknown as null));
  allowOnly(app, "/healthz/outbound", ["GET"]);

  app.get("/metadata", {
    schema: {
      operationId: "getMetadata",
      summary: "Sidecar metadata; the Node SDK waits for it at start-up",
      tags,
      response: {
        200: ref(MetadataResponse, "the sidecar's metadata"),
        401: Unauthorized,
        500: errorResponse(["ERR_METADATA"]),
        ...commonErrors,
      },
    },
    config: { failure: routeFailures.metadata },
  }, async () => ({
    id: options.appId,
    runtimeVersion: options.version,
    enabledFeatures: [],
    components: [{ name: "dapr", type: "workflow.dapr", version: "v1", capabilities: [] }],
    extended: { daprRuntimeVersion: options.version, runtime: "workflowd" },
    // Workflows run without actors here; the field is present because SDKs expect it.
    actorRuntime: { runtimeStatus: "DISABLED", activeActors: [], hostReady: false, placement: "" },
    workflows: { connectedWorkers: options.connectedWorkers(), inProcessRuntime: options.inProcessRuntime() },
  }));
  allowOnly(app, "/metadata", ["GET"]);
};
