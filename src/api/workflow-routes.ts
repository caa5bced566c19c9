/**
 * The seven Dapr Workflow routes, registered once per version prefix (`/v1.0`,
 * `/v1.0-beta1`, `/v1.0-alpha1`). Handlers parse, make one call into the WorkflowService,
 * and map the outcome to Dapr's status codes and bodies.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import { daprProperties } from "../orchestration/dapr-properties.js";
import type { InstanceView, WorkflowService } from "../orchestration/workflow-service.js";
import { limits } from "../limits.js";
import { traceContextFrom } from "../protocol/trace-context.js";
import { apiErrors, routeFailures } from "./errors.js";
import { allowOnly } from "./method-guard.js";
import {
  Accepted,
  commonErrors,
  errorResponse,
  InstanceParams,
  RaiseEventParams,
  ref,
  StartParams,
  StartQuery,
  StartResponse,
  Unauthorized,
  WorkflowStateResponse,
} from "./schemas.js";

export interface WorkflowRoutesOptions {
  service: WorkflowService;
}

/**
 * The responses every instance route shares. Each route lists exactly the statuses it can
 * answer: these schemas serialize the bodies and are what the OpenAPI document shows.
 */
const instanceErrors = {
  400: errorResponse(["ERR_MALFORMED_REQUEST"]),
  401: Unauthorized,
  404: errorResponse(["ERR_INSTANCE_ID_NOT_FOUND"]),
  ...commonErrors,
};

const tags = ["workflows"];

export const workflowRoutes: FastifyPluginAsyncTypebox<WorkflowRoutesOptions> = async (app, { service }) => {
  const startUrl = "/workflows/:component/:name/start";
  app.post(startUrl, {
    schema: {
      operationId: "startWorkflow",
      summary: "Start a workflow instance",
      description: "The request body, raw and of any content type, is the workflow's input, stored as sent. " +
        "IDs are never reused until the instance is purged.",
      tags,
      params: StartParams,
      querystring: StartQuery,
      response: {
        202: ref(StartResponse, "started; the body names the instance"),
        400: errorResponse(["ERR_INSTANCE_ID_TOO_LONG", "ERR_INSTANCE_ID_INVALID", ["ERR_MALFORMED_REQUEST", "a malformed URL"]]),
        401: Unauthorized,
        409: errorResponse([["ERR_START_WORKFLOW", "an instance with this ID exists (in any status); purge it before reusing the ID"]]),
        429: errorResponse([["ERR_START_WORKFLOW", "too many instances wait to run (--max-backlog); retry after the Retry-After header's seconds"]]),
        500: errorResponse([["ERR_START_WORKFLOW", "a storage failure"]]),
        ...commonErrors,
      },
    },
    config: { failure: routeFailures.start, rawBody: "the workflow's input" },
  }, async (request, reply) => {
    const { name } = request.params;
    const result = await service.start(name, request.query.instanceID, rawBody(request), {
      parentTraceContext: traceContextFrom(request.headers.traceparent, request.headers.tracestate),
    });
    if (result.kind === "invalid-id") {
      throw result.problem === "too-long" ? apiErrors.instanceIdTooLong() : apiErrors.instanceIdInvalid(result.instanceId);
    }
    if (result.kind === "exists") throw apiErrors.instanceExists(name, result.instanceId);
    if (result.kind === "backlog-full") throw apiErrors.backlogFull(result.queued, result.limit, limits.backlogRetryAfterSeconds);
    return reply.code(202).send({ instanceID: result.instanceId });
  });
  allowOnly(app, startUrl, ["POST"]);

  const instanceUrl = "/workflows/:component/:instanceId";
  app.get(instanceUrl, {
    schema: {
      operationId: "getWorkflow",
      summary: "Get an instance's state",
      description: "A body, if sent, must be empty or a JSON object, and is ignored (as daprd does).",
      tags,
      params: InstanceParams,
      response: {
        200: ref(WorkflowStateResponse, "the instance's state; `properties` holds input, output, custom status and failure details"),
        ...instanceErrors,
        500: errorResponse(["ERR_GET_WORKFLOW"]),
      },
    },
    config: { failure: routeFailures.get },
  }, async (request) => {
    requireEmptyOrObject(request);
    const { instanceId } = request.params;
    const instance = await service.get(instanceId);
    if (!instance) throw apiErrors.instanceNotFound(instanceId);
    return toStateResponse(instance);
  });
  allowOnly(app, instanceUrl, ["GET"]);

  const commands = {
    terminate: {
      run: (id: string) => service.terminate(id, undefined, true),
      operationId: "terminateWorkflow",
      summary: "Terminate an instance and its unfinished children (a no-op once it has finished)",
      serverError: "ERR_TERMINATE_WORKFLOW",
    },
    pause: {
      run: (id: string) => service.pause(id, undefined),
      operationId: "pauseWorkflow",
      summary: "Suspend an instance (status SUSPENDED) until it is resumed",
      serverError: "ERR_PAUSE_WORKFLOW",
    },
    resume: {
      run: (id: string) => service.resume(id, undefined),
      operationId: "resumeWorkflow",
      summary: "Resume a suspended instance",
      serverError: "ERR_RESUME_WORKFLOW",
    },
  } as const;
  for (const [action, { run, operationId, summary, serverError }] of Object.entries(commands)) {
    const url = `${instanceUrl}/${action}`;
    app.post(url, {
      schema: {
        operationId,
        summary,
        description: "A body, if sent, must be empty or a JSON object, and is ignored (as daprd does).",
        tags,
        params: InstanceParams,
        response: { 202: Accepted, ...instanceErrors, 500: errorResponse([serverError]) },
      },
      config: { failure: routeFailures[action as keyof typeof commands] },
    }, async (request, reply) => {
      requireEmptyOrObject(request);
      const { instanceId } = request.params;
      if ((await run(instanceId)) === "not-found") throw apiErrors.instanceNotFound(instanceId);
      return accepted(reply);
    });
    allowOnly(app, url, ["POST"]);
  }

  const purgeUrl = `${instanceUrl}/purge`;
  app.post(purgeUrl, {
    schema: {
      operationId: "purgeWorkflow",
      summary: "Delete a finished instance and all its children",
      description: "Only when the instance and every descendant are COMPLETED, FAILED or TERMINATED. " +
        "A body, if sent, must be empty or a JSON object, and is ignored.",
      tags,
      params: InstanceParams,
      response: {
        202: Accepted,
        ...instanceErrors,
        409: errorResponse([["ERR_PURGE_WORKFLOW", "the instance or one of its children is not COMPLETED, FAILED or TERMINATED"]]),
        500: errorResponse([["ERR_PURGE_WORKFLOW", "a storage failure"]]),
      },
    },
    config: { failure: routeFailures.purge },
  }, async (request, reply) => {
    requireEmptyOrObject(request);
    const { instanceId } = request.params;
    const result = await service.purge(instanceId);
    if (result.kind === "not-found") throw apiErrors.instanceNotFound(instanceId);
    if (result.kind === "not-terminal") throw apiErrors.purgeNotTerminal(instanceId, result.instanceId, result.status);
    return accepted(reply);
  });
  allowOnly(app, purgeUrl, ["POST"]);

  const raiseUrl = `${instanceUrl}/raiseEvent/:eventName`;
  app.post(raiseUrl, {
    schema: {
      operationId: "raiseEventWorkflow",
      summary: "Raise an event for an instance",
      description: "The request body, raw and of any content type, is the event's payload. Event names are " +
        "case-insensitive. An event for a finished instance is accepted and dropped.",
      tags,
      params: RaiseEventParams,
      response: {
        202: Accepted,
        ...instanceErrors,
        // The body is never parsed, so a 400 can only be a malformed URL.
        400: errorResponse([["ERR_MALFORMED_REQUEST", "a malformed URL"]]),
        500: errorResponse(["ERR_RAISE_EVENT_WORKFLOW"]),
      },
    },
    config: { failure: routeFailures.raiseEvent, rawBody: "the event's payload" },
  }, async (request, reply) => {
    const { instanceId, eventName } = request.params;
    if ((await service.raiseEvent(instanceId, eventName, rawBody(request))) === "not-found") {
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
export function accepted(reply: FastifyReply): FastifyReply {
  return reply.code(202).send(undefined as unknown as null);
}

/** The body exactly as sent (the server parses every content type as text); "" when empty. */
export function rawBody(request: FastifyRequest): string {
  return typeof request.body === "string" ? request.body : "";
}

/**
 * daprd decodes these routes' bodies into its request message: empty or any JSON object is
 * accepted and ignored; anything else is a malformed request. Returns the object, if any.
 */
export function requireEmptyOrObject(request: FastifyRequest): Record<string, unknown> | undefined {
  const body = rawBody(request);
  if (body.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw apiErrors.malformedBody(error instanceof Error ? error.message : "invalid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw apiErrors.malformedBody("the body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/**
 * daprd's GetWorkflowResponse as protojson writes it: empty strings and an empty map are
 * left out, map keys sorted, timestamps RFC 3339 UTC. No output for a failed workflow
 * (daprd master).
 */
export function toStateResponse(instance: InstanceView): WorkflowStateResponse {
  const properties = daprProperties(instance);
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
