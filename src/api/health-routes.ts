/**
 * Health and metadata under `/v1.0`: what Dapr SDKs poll to decide the sidecar is up.
 * The Node SDK waits for `GET /v1.0/metadata` to answer 2xx with a non-empty body; the
 * .NET, Java and Python SDKs poll `/v1.0/healthz/outbound`.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { apiErrors, routeFailures } from "./errors.js";
import { allowOnly } from "./method-guard.js";
import { ErrorBody, MetadataResponse } from "./schemas.js";
import { Type } from "@sinclair/typebox";

export interface HealthRoutesOptions {
  appId: string;
  version: string;
  /** Names of the parts that are not ready; empty when ready. */
  notReady: () => string[];
  connectedWorkers: () => number;
}

const NoContent = Type.Null({ description: "empty body" });

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRoutesOptions> = async (app, options) => {
  app.get("/healthz", { schema: { response: { 204: NoContent, 500: ErrorBody } } }, async (_request, reply) => {
    const down = options.notReady();
    if (down.length > 0) throw apiErrors.notReady(down.join(", "));
    return reply.code(204).send(undefined as unknown as null);
  });
  allowOnly(app, "/healthz", ["GET"]);

  // Outbound health: workflowd has no outbound components, so it is ready once it serves.
  app.get("/healthz/outbound", { schema: { response: { 204: NoContent } } }, async (_request, reply) =>
    reply.code(204).send(undefined as unknown as null));
  allowOnly(app, "/healthz/outbound", ["GET"]);

  app.get("/metadata", {
    schema: { response: { 200: MetadataResponse, 500: ErrorBody } },
    config: { failure: routeFailures.metadata },
  }, async () => ({
    id: options.appId,
    runtimeVersion: options.version,
    enabledFeatures: [],
    components: [{ name: "dapr", type: "workflow.dapr", version: "v1", capabilities: [] }],
    extended: { daprRuntimeVersion: options.version, runtime: "workflowd" },
    // Workflows run without actors here; the field is present because SDKs expect it.
    actorRuntime: { runtimeStatus: "DISABLED", activeActors: [], hostReady: false, placement: "" },
    workflows: { connectedWorkers: options.connectedWorkers() },
  }));
  allowOnly(app, "/metadata", ["GET"]);
};
