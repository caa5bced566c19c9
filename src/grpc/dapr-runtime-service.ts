/**
 * The handlers of Dapr's runtime API, `dapr.proto.runtime.v1.Dapr` (the vendored
 * `proto/dapr/`), on the same gRPC port as TaskHubSidecarService: the workflow methods
 * (`StartWorkflowBeta1`, `GetWorkflowBeta1`, `TerminateWorkflowBeta1`,
 * `RaiseEventWorkflowBeta1`, `PauseWorkflowBeta1`, `ResumeWorkflowBeta1`,
 * `PurgeWorkflowBeta1` and their `Alpha1` twins, which daprd answers identically) and
 * `GetMetadata`, which the SDKs' `DaprClient` polls to see that the sidecar is up. Every
 * other method of the service (state, pub/sub, actors, ...) answers UNIMPLEMENTED.
 *
 * Semantics and texts are daprd's (dapr/dapr `pkg/api/universal/workflow.go` and
 * `metadata.go`, errors from `pkg/messages/predefined.go`), with the HTTP API's deliberate
 * differences (docs/errors.md): where daprd answers INTERNAL for a client's mistake, the
 * precise code is used instead: ALREADY_EXISTS for a taken instance ID, NOT_FOUND for any
 * unknown instance, FAILED_PRECONDITION for a purge of an unfinished one, INVALID_ARGUMENT
 * for a malformed `dapr.workflow.start_time`. A start's input and an event's payload are
 * bytes, stored as the UTF-8 text they hold, exactly as the HTTP API stores the same body;
 * GetWorkflow answers what HTTP GET answers. Thin like the HTTP routes.
 */
import { randomUUID } from "node:crypto";
import {
  type Metadata,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  status as Status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { checkInstanceId } from "../engine/instance-id.js";
import { isTerminal } from "../engine/state.js";
import { daprProperties } from "../orchestration/dapr-properties.js";
import { messages } from "../orchestration/messages.js";
import type { InstanceWatch } from "../orchestration/instance-watch.js";
import type { InstanceView, WorkflowService } from "../orchestration/workflow-service.js";
import { exactNanos, millis, type PbTimestamp, timestamp } from "../protocol/convert.js";
import { callTraceContext, GrpcError, type Unary, unaryHandler, waitForInstance } from "./unary.js";

export interface DaprRuntimeServiceDeps {
  service: WorkflowService;
  watch: InstanceWatch;
  logger: Logger;
  /** Accepts or refuses a call by its metadata (the API token). */
  authorize: (metadata: Metadata) => boolean;
  /** Terminate, pause and resume wait at most this long for the change to show. */
  commandWaitMs: number;
  /** GetMetadata's `id`: the app ID. */
  appId: string;
  /** GetMetadata's `runtime_version`. */
  version: string;
  /** GetMetadata's `workflows.connected_workers`. */
  connectedWorkers: () => number;
}

/** The workflow methods, each served under its `Beta1` and `Alpha1` name. */
export const daprWorkflowMethods = [
  "StartWorkflow",
  "GetWorkflow",
  "TerminateWorkflow",
  "RaiseEventWorkflow",
  "PauseWorkflow",
  "ResumeWorkflow",
  "PurgeWorkflow",
] as const;

/** Every method of the Dapr service that workflowd answers (the rest answer UNIMPLEMENTED). */
export const daprServedMethods: readonly string[] = [
  ...daprWorkflowMethods.flatMap((m) => [`${m}Beta1`, `${m}Alpha1`]),
  "GetMetadata",
];

/** The UNIMPLEMENTED text of every Dapr method workflowd does not serve. */
export function notServedMessage(method: string): string {
  return `workflowd serves only the workflow API; Dapr's ${method} is not available`;
}


interface InstanceRequest {
  instance_id?: string;
  /** Ignored, as daprd ignores it since workflows stopped being a component (1.15). */
  workflow_component?: string;
}

export function daprRuntimeService(definition: ServiceDefinition, deps: DaprRuntimeServiceDeps): UntypedServiceImplementation {
  /** daprd's instance ID check for every call but a start: present, nothing more. */
  const instanceIdOf = (request: InstanceRequest): string => {
    if (!request.instance_id) throw new GrpcError(Status.INVALID_ARGUMENT, "no instance ID was provided");
    return request.instance_id;
  };

  const notFound = (instanceId: string) => new GrpcError(Status.NOT_FOUND, `unable to find workflow with the provided instance ID: ${instanceId}`);

  /** As the TaskHub commands: return once the change shows, or after a bounded wait (daprd blocks). */
  const settle = async (call: ServerUnaryCall<any, any>, instanceId: string, until: (i: InstanceView) => boolean) => {
    await waitForInstance(deps.watch, call, instanceId, until, deps.commandWaitMs);
    return {};
  };

  const workflow: Record<(typeof daprWorkflowMethods)[number], Unary> = {
    StartWorkflow: async (request: InstanceRequest & { workflow_name?: string; options?: Record<string, string>; input?: Buffer }, call) => {
      // daprd's order: a missing ID becomes a random UUID, the ID is checked, then the name.
      const instanceId = request.instance_id || randomUUID();
      const problem = checkInstanceId(instanceId);
      if (problem) throw invalidId(instanceId, problem);
      const name = request.workflow_name;
      if (!name) throw new GrpcError(Status.INVALID_ARGUMENT, "workflow name is not configured");
      let scheduledStart: PbTimestamp | undefined;
      const startTime = request.options?.["dapr.workflow.start_time"];
      if (startTime !== undefined) {
        scheduledStart = parseRfc3339(startTime);
        if (!scheduledStart) {
          throw new GrpcError(Status.INVALID_ARGUMENT, `error starting workflow '${name}': start times must be in RFC3339 format (e.g. "2009-11-10T23:00:00Z")`);
        }
      }
      // daprd stores `string(input)`: the bytes as text, "" when there are none (as HTTP stores an empty body).
      const input = request.input ? Buffer.from(request.input).toString("utf8") : "";
      const result = await deps.service.start(name, instanceId, input, {
        scheduledStartAt: millis(scheduledStart),
        scheduledStartNanos: exactNanos(scheduledStart),
        parentTraceContext: callTraceContext(call),
      });
      switch (result.kind) {
        case "started":
          return { instance_id: result.instanceId };
        case "exists":
          throw new GrpcError(Status.ALREADY_EXISTS, messages.instanceExists(name, result.instanceId));
        case "invalid-id":
          throw invalidId(result.instanceId, result.problem);
        case "backlog-full":
          throw new GrpcError(Status.RESOURCE_EXHAUSTED, messages.backlogFull(result.queued, result.limit));
      }
    },

    GetWorkflow: async (request: InstanceRequest) => {
      const instanceId = instanceIdOf(request);
      const instance = await deps.service.get(instanceId);
      // daprd (since 1.16, dapr/dapr#8841): an unknown instance is an empty success naming the ID.
      if (!instance) return { instance_id: instanceId };
      return workflowResponse(instance);
    },

    TerminateWorkflow: async (request: InstanceRequest, call) => {
      const instanceId = instanceIdOf(request);
      // Recursive, as daprd's API always is.
      if ((await deps.service.terminate(instanceId, undefined, true)) === "not-found") throw notFound(instanceId);
      return settle(call, instanceId, (i) => isTerminal(i.status));
    },

    RaiseEventWorkflow: async (request: InstanceRequest & { event_name?: string; event_data?: Buffer }) => {
      const instanceId = instanceIdOf(request);
      if (!request.event_name) throw new GrpcError(Status.INVALID_ARGUMENT, "missing workflow event name");
      // daprd: no payload when the bytes are empty (proto3 cannot tell them from unset).
      const payload = request.event_data && request.event_data.length > 0 ? Buffer.from(request.event_data).toString("utf8") : undefined;
      if ((await deps.service.raiseEvent(instanceId, request.event_name, payload)) === "not-found") throw notFound(instanceId);
      return {};
    },

    PauseWorkflow: async (request: InstanceRequest, call) => {
      const instanceId = instanceIdOf(request);
      if ((await deps.service.pause(instanceId, undefined)) === "not-found") throw notFound(instanceId);
      return settle(call, instanceId, (i) => i.status === "SUSPENDED" || isTerminal(i.status));
    },

    ResumeWorkflow: async (request: InstanceRequest, call) => {
      const instanceId = instanceIdOf(request);
      if ((await deps.service.resume(instanceId, undefined)) === "not-found") throw notFound(instanceId);
      return settle(call, instanceId, (i) => i.status !== "SUSPENDED");
    },

    PurgeWorkflow: async (request: InstanceRequest) => {
      const instanceId = instanceIdOf(request);
      // Recursive, as daprd's API always is; only finished trees (the HTTP API's rule).
      const result = await deps.service.purge(instanceId, { recursive: true, force: false });
      switch (result.kind) {
        case "purged":
          return {};
        case "not-found":
          throw notFound(instanceId);
        case "not-terminal":
          throw new GrpcError(Status.FAILED_PRECONDITION, messages.purgeNotTerminal(instanceId, result.instanceId, result.status));
      }
    },
  };

  const handlers: Record<string, Unary> = {
    // What the HTTP metadata route reports, in the proto's shape.
    GetMetadata: () => ({
      id: deps.appId,
      active_actors_count: [],
      registered_components: [{ name: "dapr", type: "workflow.dapr", version: "v1", capabilities: [] }],
      extended_metadata: { daprRuntimeVersion: deps.version, runtime: "workflowd" },
      runtime_version: deps.version,
      enabled_features: [],
      actor_runtime: { runtime_status: "DISABLED", active_actors: [], host_ready: false, placement: "" },
      workflows: { connected_workers: deps.connectedWorkers() },
    }),
  };
  for (const method of daprWorkflowMethods) {
    handlers[`${method}Beta1`] = workflow[method];
    handlers[`${method}Alpha1`] = workflow[method];
  }

  const implementation: UntypedServiceImplementation = {};
  for (const [method, definitionOf] of Object.entries(definition)) {
    const handler = handlers[method];
    implementation[method] = handler
      ? unaryHandler(method, handler, deps.authorize, deps.logger)
      : notServed(method, definitionOf.responseStream, deps.authorize);
  }
  return implementation;
}

/** UNIMPLEMENTED (after the token check, as daprd's interceptor runs first), for every call shape. */
function notServed(method: string, responseStream: boolean, authorize: (metadata: Metadata) => boolean) {
  const statusOf = (metadata: Metadata) =>
    authorize(metadata)
      ? { code: Status.UNIMPLEMENTED, details: notServedMessage(method) }
      : { code: Status.UNAUTHENTICATED, details: "invalid api token" };
  if (!responseStream) {
    // Unary and client streaming: answer through the callback (a client stream's messages are not read).
    return (call: { metadata: Metadata }, callback: sendUnaryData<object>) => callback(statusOf(call.metadata));
  }
  // Server streaming and bidirectional: end the stream with the status.
  return (call: ServerWritableStream<unknown, unknown>) => {
    call.emit("error", statusOf(call.metadata));
  };
}

function invalidId(instanceId: string, problem: "too-long" | "invalid"): GrpcError {
  return problem === "too-long"
    ? new GrpcError(Status.INVALID_ARGUMENT, messages.instanceIdTooLong())
    : new GrpcError(Status.INVALID_ARGUMENT, messages.instanceIdInvalid(instanceId));
}

/**
 * daprd's GetWorkflowResponse for an instance, with the same properties as the HTTP GET
 * (orchestration/dapr-properties.ts), so both APIs read back the same values.
 */
export function workflowResponse(instance: InstanceView) {
  const properties = daprProperties(instance);
  return {
    instance_id: instance.instanceId,
    workflow_name: instance.name,
    created_at: timestamp(instance.createdAt),
    last_updated_at: timestamp(instance.lastUpdatedAt),
    runtime_status: instance.status,
    properties,
  };
}

const rfc3339Pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Go's `time.Parse(time.RFC3339, text)`, which daprd applies to `dapr.workflow.start_time`:
 * `2009-11-10T23:00:00Z`, with an optional fraction of up to nine digits and a `Z` or
 * `±hh:mm` offset; fields out of range (February 30th, hour 24) are refused.
 */
export function parseRfc3339(text: string): PbTimestamp | undefined {
  const match = rfc3339Pattern.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, years 0 to 99 stay themselves
  check.setUTCHours(hour, minute, second, 0);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  const local = check.getTime();
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (match[8]) {
    const hours = Number(match[9]);
    const minutes = Number(match[10]);
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = (match[8] === "-" ? -1 : 1) * (hours * 60 + minutes);
  }
  return { seconds: local / 1000 - offsetMinutes * 60, nanos: match[7] ? Number(match[7].padEnd(9, "0")) : 0 };
}
