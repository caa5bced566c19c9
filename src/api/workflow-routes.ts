/**
 * The seven Dapr Workflow routes, registered once per version prefix (`/v1.0`,
 * `/v1.0-beta1`, `/v1.0-alpha1`). Handlers parse, make one call into the WorkflowService,
 * and map the outcome to Dapr's status codes and bodies.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { InstanceView, WorkflowService } from "../orchestration/workflow-service.js";
import { apiErrors, routeFailures } from "./errors.js";
import { allowOnly } from "./method-guard.js";
import {
  Accepted,
  ErrorBody,
  InstanceParams,
  RaiseEventParams,
  StartParams,
  StartQuery,
  StartResponse,
  WorkflowStateResponse,
} from "./schemas.js";

export interface WorkflowRoutesOptions {
  service: WorkflowService;
}

const errors = { 400: ErrorBody, 404: ErrorBody, 405: ErrorBody, 409: ErrorBody, 413: ErrorBody, 500: ErrorBody };

export const workflowRoutes: FastifyPluginAsyncTypebox<WorkflowRoutesOptions> = async (app, { service }) => {
  const startUrl = "/workflows/:component/:name/start";
  app.post(startUrl, {
    schema: { params: StartParams, querystring: StartQuery, response: { 202: StartResponse, ...errors } },
    config: { failure: routeFailures.start },
  }, async (request, reply) => {
    const { name } = request.params;
    const result = service.start(name, request.query.instanceID, rawBody(request));
    if (result.kind === "invalid-id") {
      throw result.problem === "too-long" ? apiErrors.instanceIdTooLong() : apiErrors.instanceIdInvalid(result.instanceId);
    }
    if (result.kind === "exists") throw apiErrors.instanceExists(name, result.instanceId);
    return reply.code(202).send({ instanceID: result.instanceId });
  });
  allowOnly(app, startUrl, ["POST"]);

  const instanceUrl = "/workflows/:component/:instanceId";
  app.get(instanceUrl, {
    schema: { params: InstanceParams, response: { 200: WorkflowStateResponse, ...errors } },
    config: { failure: routeFailures.get },
  }, async (request) => {
    requireEmptyOrObject(request);
    const { instanceId } = request.params;
    const instance = service.get(instanceId);
    if (!instance) throw apiErrors.instanceNotFound(instanceId);
    return toStateResponse(instance);
  });
  allowOnly(app, instanceUrl, ["GET"]);

  const commands = {
    terminate: (id: string) => service.terminate(id, undefined, true),
    pause: (id: string) => service.pause(id, undefined),
    resume: (id: string) => service.resume(id, undefined),
  } as const;
  for (const [action, run] of Object.entries(commands)) {
    const url = `${instanceUrl}/${action}`;
    app.post(url, {
      schema: { params: InstanceParams, response: { 202: Accepted, ...errors } },
      config: { failure: routeFailures[action as keyof typeof commands] },
    }, async (request, reply) => {
      requireEmptyOrObject(request);
      const { instanceId } = request.params;
      if (run(instanceId) === "not-found") throw apiErrors.instanceNotFound(instanceId);
      return accepted(reply);
    });
    allowOnly(app, url, ["POST"]);
  }

  const purgeUrl = `${instanceUrl}/purge`;
  app.post(purgeUrl, {
    schema: { params: InstanceParams, response: { 202: Accepted, ...errors } },
    config: { failure: routeFailures.purge },
  }, async (request, reply) => {
    requireEmptyOrObject(request);
    const { instanceId } = request.params;
    const result = service.purge(instanceId);
    if (result.kind === "not-found") throw apiErrors.instanceNotFound(instanceId);
    if (result.kind === "not-terminal") throw apiErrors.purgeNotTerminal(instanceId, result.instanceId, result.status);
    return accepted(reply);
  });
  allowOnly(app, purgeUrl, ["POST"]);

  const raiseUrl = `${instanceUrl}/raiseEvent/:eventName`;
  app.post(raiseUrl, {
    schema: { params: RaiseEventParams, response: { 202: Accepted, ...errors } },
    config: { failure: routeFailures.raiseEvent },
  }, async (request, reply) => {
    const { instanceId, eventName } = request.params;
    if (service.raiseEvent(instanceId, eventName, rawBody(request)) === "not-found") {
      throw apiErrors.instanceNotFound(instanceId);
    }
    return accepted(reply);
  });
  allowOnly(app, raiseUrl, ["POST"]);
};

/**
 * 202 with an empty body. The route schema declares it as "no body" (Type.Null); Fastify
 * writes nothing for an undefined payload, which is what the contract asks for.
 */
function accepted(reply: FastifyReply): FastifyReply {
  return reply.code(202).send(undefined as unknown as null);
}

/** The body exactly as sent (the server parses every content type as text); "" when empty. */
function rawBody(request: FastifyRequest): string {
  return typeof request.body === "string" ? request.body : "";
}

/**
 * daprd decodes these routes' bodies into its request message: empty or any JSON object is
 * accepted and ignored; anything else is a malformed request.
 */
function requireEmptyOrObject(request: FastifyRequest): void {
  const body = rawBody(request);
  if (body.length === 0) return;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw apiErrors.malformedBody(error instanceof Error ? error.message : "invalid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw apiErrors.malformedBody("the body must be a JSON object");
  }
}

/**
 * daprd's GetWorkflowResponse as protojson writes it: empty strings and an empty map are
 * left out, map keys sorted, timestamps RFC 3339 UTC. No output for a failed workflow
 * (daprd master).
 */
export function toStateResponse(instance: InstanceView): WorkflowStateResponse {
  const failure = instance.failureDetails;
  const candidates: [string, string | undefined][] = [
    ["dapr.workflow.custom_status", instance.customStatus],
    ["dapr.workflow.failure.error_message", failure?.errorMessage],
    ["dapr.workflow.failure.error_type", failure?.errorType],
    ["dapr.workflow.failure.stack_trace", failure?.stackTrace],
    ["dapr.workflow.input", instance.input],
    ["dapr.workflow.output", instance.status === "FAILED" ? undefined : instance.output],
  ];
  const properties: Record<string, string> = {};
  for (const [key, value] of candidates.sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (value) properties[key] = value;
  }
  return {
    instanceID: instance.instanceId,
    workflowName: instance.name,
    createdAt: rfc3339(instance.createdAt),
    lastUpdatedAt: rfc3339(instance.lastUpdatedAt),
    runtimeStatus: instance.status,
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
  };
}

/** Millisecond precision; a `.000` fraction is dropped, as protojson drops zero groups. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
