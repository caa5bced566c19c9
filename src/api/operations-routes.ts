/**
 * The operations daprd has no HTTP route for: list and count instances, read one's history,
 * rerun from an event, rewind a failed instance, and purge many at once. Registered under
 * each version prefix beside the Dapr routes; handlers parse, make one call into the
 * orchestration layer, and map the outcome.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { limits } from "../limits.js";
import type { InstanceQueries } from "../orchestration/instance-queries.js";
import type { InstanceView, WorkflowService } from "../orchestration/workflow-service.js";
import { historyEventJson } from "../protocol/history-json.js";
import { apiErrors, routeFailures } from "./errors.js";
import { flag, HistoryQuery, ListQuery, pageSize, parseFilter, PurgeQuery, single } from "./list-query.js";
import { allowOnly } from "./method-guard.js";
import { Accepted, commonErrors, errorResponse, InstanceParams, RuntimeStatus, Unauthorized } from "./schemas.js";
import { accepted, rawBody, requireEmptyOrObject, rfc3339, toStateResponse } from "./workflow-routes.js";

export interface OperationsRoutesOptions {
  service: WorkflowService;
  queries: InstanceQueries;
}

const tags = ["operations"];
const component = Type.Object({ component: Type.String({ minLength: 1, description: "the workflow component (`dapr` by convention)" }) });
const badRequest = errorResponse([["ERR_MALFORMED_REQUEST", "a query parameter with a bad value (the message names it), or a malformed URL"]]);
const notFound = errorResponse(["ERR_INSTANCE_ID_NOT_FOUND"]);

const ListedInstance = Type.Object({
  instanceID: Type.String(),
  workflowName: Type.String(),
  createdAt: Type.String({ description: "RFC 3339, UTC" }),
  lastUpdatedAt: Type.String({ description: "RFC 3339, UTC" }),
  runtimeStatus: RuntimeStatus,
  parentInstanceID: Type.Optional(Type.String({ description: "only on child workflows" })),
  properties: Type.Optional(Type.Record(Type.String(), Type.String(), { description: "only with fetchInputsAndOutputs=true: as GET returns them" })),
}, { additionalProperties: false });

const ListResponse = Type.Object({
  instances: Type.Array(ListedInstance),
  continuationToken: Type.Optional(Type.String({ description: "absent on the last page" })),
}, { additionalProperties: false });

const CountsResponse = Type.Object({
  counts: Type.Record(Type.String(), Type.Integer(), { description: "instances by runtime status; statuses with none are left out" }),
}, { additionalProperties: false });

const HistoryResponse = Type.Object({
  instanceID: Type.String(),
  events: Type.Array(Type.Object({}, {
    additionalProperties: true,
    description: "a durabletask HistoryEvent in the protobuf JSON mapping: eventId, timestamp and one of executionStarted, taskScheduled, taskCompleted, ...",
  })),
  continuationToken: Type.Optional(Type.String({ description: "absent on the last page" })),
}, { additionalProperties: false, description: "a page of the instance's history, oldest first" });

export const operationsRoutes: FastifyPluginAsyncTypebox<OperationsRoutesOptions> = async (app, { service, queries }) => {
  const listUrl = "/workflows/:component";
  app.get(listUrl, {
    schema: {
      operationId: "listWorkflows",
      summary: "List instances (newest first), or count them by status",
      description: "All filters are optional and combine. Pages are keyset pages: while instances are created or " +
        "finish meanwhile, no instance that existed when the listing began is listed twice or skipped. With " +
        "`countOnly=true` the answer is `{\"counts\":{...}}` instead, for the same filters (no paging).",
      tags,
      params: component,
      querystring: ListQuery,
      response: {
        200: Type.Union([ListResponse, CountsResponse], { description: "a page of instances, or the counts (countOnly=true)" }),
        400: badRequest,
        401: Unauthorized,
        500: errorResponse(["ERR_LIST_WORKFLOWS"]),
        ...commonErrors,
      },
    },
    config: { failure: routeFailures.list },
  }, async (request) => {
    requireEmptyOrObject(request);
    const { query } = request;
    const filter = parseFilter(query);
    if (flag(query, "countOnly")) return { counts: await queries.counts(filter) };
    const withPayloads = flag(query, "fetchInputsAndOutputs");
    const page = await queries.list(filter, pageSize(query, limits.listPageSizeDefault, limits.listPageSizeMax), single(query, "continuationToken"));
    if ("kind" in page) throw apiErrors.badParameter("continuationToken", page.message);
    return {
      instances: page.instances.map((instance) => listed(instance, withPayloads)),
      ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
    };
  });

  app.delete(listUrl, {
    schema: {
      operationId: "purgeWorkflows",
      summary: "Purge the finished top-level instances that match, with their children",
      description: "Takes the list's filters; at least one of `status`, `createdTo` and `lastUpdatedTo` is required. " +
        "Only COMPLETED, FAILED and TERMINATED instances without a parent match; each is purged with its children " +
        `as the single purge does (a tree with an unfinished member is skipped). At most ${limits.bulkPurgeInstancesMax.toLocaleString("en")} ` +
        "per call: `isComplete` false means call again. `deletedInstanceCount` counts children too.",
      tags,
      params: component,
      querystring: PurgeQuery,
      response: {
        200: Type.Object({ deletedInstanceCount: Type.Integer(), isComplete: Type.Boolean() }, {
          additionalProperties: false,
          description: "how many instances were purged (children included), and whether no match is left for another call",
        }),
        400: badRequest,
        401: Unauthorized,
        500: errorResponse([["ERR_PURGE_WORKFLOW", "a storage failure"]]),
        ...commonErrors,
      },
    },
    config: { failure: routeFailures.bulkPurge },
  }, async (request) => {
    requireEmptyOrObject(request);
    const filter = parseFilter(request.query);
    if (!filter.statuses && filter.createdTo === undefined && filter.lastUpdatedTo === undefined) {
      throw apiErrors.badParameter("status", "a bulk purge needs at least one of status, createdTo and lastUpdatedTo");
    }
    const result = await service.purgeMatching(filter, { recursive: true, force: false }, limits.bulkPurgeInstancesMax);
    return { deletedInstanceCount: result.deleted, isComplete: result.isComplete };
  });
  allowOnly(app, listUrl, ["GET", "DELETE"]);

  const historyUrl = "/workflows/:component/:instanceId/history";
  app.get(historyUrl, {
    schema: {
      operationId: "getWorkflowHistory",
      summary: "Read an instance's history, a page at a time",
      tags,
      params: InstanceParams,
      querystring: HistoryQuery,
      response: { 200: HistoryResponse, 400: badRequest, 401: Unauthorized, 404: notFound, 500: errorResponse(["ERR_GET_WORKFLOW_HISTORY"]), ...commonErrors },
    },
    config: { failure: routeFailures.history },
  }, async (request) => {
    requireEmptyOrObject(request);
    const { instanceId } = request.params;
    const size = pageSize(request.query, limits.historyPageSizeDefault, limits.historyPageSizeMax);
    const page = await queries.history(instanceId, size, single(request.query, "continuationToken"));
    if (!page) throw apiErrors.instanceNotFound(instanceId);
    if ("kind" in page) throw apiErrors.badParameter("continuationToken", page.message);
    return {
      instanceID: instanceId,
      events: page.events.map(historyEventJson),
      ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
    };
  });
  allowOnly(app, historyUrl, ["GET"]);

  const rerunUrl = "/workflows/:component/:instanceId/rerun";
  app.post(rerunUrl, {
    schema: {
      operationId: "rerunWorkflow",
      summary: "Rerun a finished instance from one of its activities or child workflows, as a new instance",
      description: "The new instance's history is the source's up to event `fromEventID` (a taskScheduled or " +
        "childWorkflowInstanceCreated event, see the history route), which runs again; the source is left as it is. " +
        "A body, if sent, replaces that activity's or child's input (raw, as sent).",
      tags,
      params: InstanceParams,
      querystring: Type.Object({
        fromEventID: Type.String({ description: "the eventId of the taskScheduled or childWorkflowInstanceCreated event to run again" }),
        newInstanceID: Type.Optional(Type.String({ description: "the new instance's ID (a random UUID when absent)" })),
      }),
      response: {
        202: Type.Object({ instanceID: Type.String() }, { description: "the new instance" }),
        400: errorResponse([
          ["ERR_MALFORMED_REQUEST", "fromEventID is missing or is not a taskScheduled or childWorkflowInstanceCreated event of the history"],
          "ERR_INSTANCE_ID_INVALID",
          "ERR_INSTANCE_ID_TOO_LONG",
        ]),
        401: Unauthorized,
        404: notFound,
        409: errorResponse([["ERR_RERUN_WORKFLOW", "the source is not COMPLETED, FAILED or TERMINATED, is a child workflow, or the new ID exists"]]),
        500: errorResponse([["ERR_RERUN_WORKFLOW", "a storage failure"]]),
        ...commonErrors,
      },
    },
    config: { failure: routeFailures.rerun, rawBody: "the new input of the activity or child workflow run again" },
  }, async (request, reply) => {
    const { instanceId } = request.params;
    const eventText = single(request.query, "fromEventID");
    if (eventText === undefined || !/^-?[0-9]{1,9}$/.test(eventText)) {
      throw apiErrors.badParameter("fromEventID", `must be the integer eventId of a taskScheduled or childWorkflowInstanceCreated event, got '${eventText ?? ""}'`);
    }
    const body = rawBody(request);
    const result = await service.rerun({
      sourceInstanceId: instanceId,
      newInstanceId: single(request.query, "newInstanceID"),
      eventId: Number(eventText),
      overwriteInput: body.length > 0,
      input: body.length > 0 ? body : undefined,
      timers: false,
    });
    switch (result.kind) {
      case "rerun":
        return reply.code(202).send({ instanceID: result.instanceId });
      case "not-found":
        throw apiErrors.instanceNotFound(instanceId);
      case "same-id":
        throw apiErrors.rerunRefused(instanceId, "the new instance ID is the source's own");
      case "exists":
        throw apiErrors.rerunRefused(instanceId, `an instance with ID '${result.instanceId}' exists; choose another newInstanceID or purge it`);
      case "invalid-id":
        throw result.problem === "too-long" ? apiErrors.instanceIdTooLong() : apiErrors.instanceIdInvalid(result.instanceId);
      case "not-terminal":
        throw apiErrors.rerunRefused(instanceId, `the workflow is ${result.status}; only COMPLETED, FAILED or TERMINATED workflows can be rerun`);
      case "is-child":
        throw apiErrors.rerunRefused(instanceId, "it is a child workflow; rerun its top-level workflow");
      case "no-event":
        throw apiErrors.badParameter("fromEventID", `the history has no event ${eventText}`);
      case "not-rerunnable":
        throw apiErrors.badParameter("fromEventID", `event ${eventText} is a ${result.eventKind} event; a rerun starts from a taskScheduled or childWorkflowInstanceCreated event`);
      case "bad-option":
        throw apiErrors.badParameter("fromEventID", result.message);
    }
  });
  allowOnly(app, rerunUrl, ["POST"]);

  const rewindUrl = "/workflows/:component/:instanceId/rewind";
  app.post(rewindUrl, {
    schema: {
      operationId: "rewindWorkflow",
      summary: "Continue a FAILED instance from its failure point, under the same ID",
      description: "Its failed activities and child workflows run again (failed children are rewound too) and the " +
        "rest of its history stands; the instance is RUNNING again. A body, if sent, must be empty or a JSON object; " +
        "its `reason` (a string) is recorded in the history.",
      tags,
      params: InstanceParams,
      response: {
        202: Accepted,
        400: errorResponse([["ERR_MALFORMED_REQUEST", "a body that is not empty and not a JSON object, or a reason that is not a string"]]),
        401: Unauthorized,
        404: notFound,
        409: errorResponse([["ERR_REWIND_WORKFLOW", "the instance is not FAILED, or a child it created after the failure is still running"]]),
        500: errorResponse([["ERR_REWIND_WORKFLOW", "a storage failure"]]),
        ...commonErrors,
      },
    },
    config: { failure: routeFailures.rewind },
  }, async (request, reply) => {
    const body = requireEmptyOrObject(request);
    const reason = body?.reason;
    if (reason !== undefined && typeof reason !== "string") throw apiErrors.malformedBody("reason must be a string");
    const { instanceId } = request.params;
    const result = await service.rewind(instanceId, reason);
    switch (result.kind) {
      case "rewound":
        return accepted(reply);
      case "not-found":
        throw apiErrors.instanceNotFound(instanceId);
      case "not-failed":
        throw apiErrors.rewindRefused(instanceId, `the workflow is ${result.status}; only a FAILED workflow can be rewound`);
      case "child-running":
        throw apiErrors.rewindRefused(instanceId, `child workflow '${result.instanceId}', created after the failure, is ${result.status}; terminate it first`);
    }
  });
  allowOnly(app, rewindUrl, ["POST"]);
};

/** A list item: exactly the listed keys; `parentInstanceID` only on children. */
function listed(instance: InstanceView, withPayloads: boolean) {
  const state = withPayloads ? toStateResponse(instance) : undefined;
  return {
    instanceID: instance.instanceId,
    workflowName: instance.name,
    createdAt: rfc3339(instance.createdAt),
    lastUpdatedAt: rfc3339(instance.lastUpdatedAt),
    runtimeStatus: instance.status,
    ...(instance.parentInstanceId ? { parentInstanceID: instance.parentInstanceId } : {}),
    ...(state?.properties ? { properties: state.properties } : {}),
  };
}
