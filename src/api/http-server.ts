/**
 * Builds the Fastify server: options, body handling, the token hook, the routes under each
 * version prefix, and the one error handler that turns everything into Dapr's error shape.
 * Listening is main.ts's job; tests drive the returned instance directly.
 */
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { WorkflowService } from "../orchestration/workflow-service.js";
import { apiTokenHook } from "./auth.js";
import { registerConsole } from "./console-routes.js";
import { ApiError, apiErrors, type RouteFailure } from "./errors.js";
import { healthRoutes, type HealthRoutesOptions } from "./health-routes.js";
import { registerOpenApi } from "./openapi.js";
import type { InstanceQueries } from "../orchestration/instance-queries.js";
import { operationsRoutes } from "./operations-routes.js";
import { sharedSchemas } from "./schemas.js";
import { workflowRoutes } from "./workflow-routes.js";

export const versionPrefixes = ["/v1.0", "/v1.0-beta1", "/v1.0-alpha1"] as const;

export interface HttpServerOptions extends HealthRoutesOptions {
  service: WorkflowService;
  queries: InstanceQueries;
  logger: Logger;
  bodyBytesMax: number;
  /** When set, every route but the health checks and the console's shell needs a matching `dapr-api-token`. */
  apiToken: string | undefined;
  /** Serve the web console at /ui/ (default true). */
  ui?: boolean | undefined;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** What the route answers when something unexpected (a storage fault) fails. */
    failure?: RouteFailure;
  }
}

/** One log line per request, on completion, with what an operator greps for. */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTimeMs: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, "request errored");
    else reply.log.info(line, "request completed");
  }
}

export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new OneLinePerRequest(),
    bodyLimit: options.bodyBytesMax,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1024 },
    // Explicit server limits rather than Node's defaults.
    connectionTimeout: 60_000,
    keepAliveTimeout: 72_000,
    requestTimeout: 60_000,
    // Fastify's own 503 body is not Dapr's error shape; the closing hook below answers instead.
    return503OnClosing: false,
    frameworkErrors: (error, request, reply) => sendError(error, request, reply),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Start and raiseEvent take the raw body unchanged, whatever the content type; the other
  // routes check it themselves. So every body is read as text, and an empty body is fine
  // even with `Content-Type: application/json` (Fastify's JSON parser would reject it).
  // The Content-Type is never interpreted, so a malformed one (which Fastify would reject
  // with 415 before any parser runs) must not stop a start or raiseEvent either.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));
  app.addHook("onRequest", async (request) => {
    if (request.raw.headers["content-type"] !== undefined) request.raw.headers["content-type"] = "application/octet-stream";
  });
  // daprd decodes a GET body too (and rejects one that is not a JSON object); Fastify would
  // otherwise never read it.
  app.addHttpMethod("GET", { hasBody: true, overrideExisting: true });

  // Once shutdown starts, requests that still arrive (on kept-alive connections) are
  // refused in Dapr's error shape rather than racing the engine as it stops.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onRequest", async () => {
    if (closing) throw apiErrors.shuttingDown();
  });

  if (options.apiToken) app.addHook("onRequest", apiTokenHook(options.apiToken));

  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) => {
    sendError(apiErrors.routeNotFound(request.method, request.url.split("?")[0] ?? ""), request, reply);
  });

  // The response schemas the routes reference by $id, and the OpenAPI document generated
  // from every route registered after it.
  for (const schema of sharedSchemas) app.addSchema(schema);
  await registerOpenApi(app, { version: options.version, prefixes: versionPrefixes });

  for (const prefix of versionPrefixes) {
    await app.register(workflowRoutes, { prefix, service: options.service });
    await app.register(operationsRoutes, { prefix, service: options.service, queries: options.queries });
  }
  await app.register(healthRoutes, { prefix: "/v1.0", ...options });
  if (options.ui !== false) await registerConsole(app);
  return app;
}

/**
 * The single place an error becomes a response. Catalogued errors go out as they are;
 * Fastify's own (body too large, malformed URL, validation) are mapped; anything else is a
 * fault: logged in full, answered with the route's 500 code and the fault's message only.
 */
function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const apiError = toApiError(error, request);
  if (apiError.statusCode >= 500) request.log.error({ err: error }, "request failed");
  void reply.code(apiError.statusCode).headers(apiError.headers).type("application/json").send({
    errorCode: apiError.errorCode,
    message: apiError.message,
  });
}

function toApiError(error: unknown, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  const fastifyError = error as Partial<FastifyError>;
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return apiErrors.bodyTooLarge(request.routeOptions.bodyLimit ?? 0);
    case "FST_ERR_BAD_URL":
    case "FST_ERR_INVALID_URL":
      return apiErrors.malformedUrl();
    case "FST_ERR_MAX_PARAM_LENGTH":
      // Fastify answers 414 and echoes the whole URL; a path segment no route could match
      // is a malformed URL like any other (400, as docs/errors.md says).
      return apiErrors.malformedUrl();
    case "FST_ERR_VALIDATION": {
      // A query parameter of the wrong shape (e.g. given twice where one value is taken) is
      // named, as the routes' own checks name theirs.
      const first = fastifyError.validation?.[0];
      if (fastifyError.validationContext === "querystring" && first) {
        const name = first.instancePath.replace(/^\//, "") || String((first.params as { missingProperty?: string }).missingProperty ?? "");
        return apiErrors.badParameter(name, first.instancePath ? `${first.message ?? "invalid"} (given more than once?)` : "is required");
      }
      return apiErrors.malformedBody(fastifyError.message ?? "invalid request");
    }
    default:
      break;
  }
  // Any other client error Fastify raised keeps its status: it is not a server fault.
  const status = fastifyError.statusCode;
  if (fastifyError.code?.startsWith("FST_") && status !== undefined && status >= 400 && status < 500) {
    return new ApiError(status, "ERR_MALFORMED_REQUEST", fastifyError.message ?? "bad request");
  }
  const failure = request.routeOptions.config.failure;
  const cause = error instanceof Error ? error.message : String(error);
  if (!failure) return new ApiError(500, "ERROR", cause);
  const params = (request.params ?? {}) as Record<string, string>;
  return new ApiError(500, failure.errorCode, failure.message(params, cause));
}
