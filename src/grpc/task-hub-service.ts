/**
 * The handlers of `TaskHubSidecarService` (the current proto, `proto/`): the worker side
 * (Hello, GetWorkItems and the Complete* calls, under both turn names) feeds connected SDK
 * apps into the engine's WorkerSet; the client side (StartInstance, GetInstance, the waits,
 * RaiseEvent, Terminate, Suspend, Resume, Purge, GetInstanceHistory, ListInstanceIDs,
 * RerunWorkflowFromEvent) calls
 * the same WorkflowService as the HTTP API. A method not served answers UNIMPLEMENTED.
 *
 * Thin like the HTTP routes: parse, call the engine, map the result to a status.
 */
import {
  type Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  status as Status,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { isTerminal } from "../engine/state.js";
import { limits } from "../limits.js";
import type { InstanceWatch } from "../orchestration/instance-watch.js";
import { messages } from "../orchestration/messages.js";
import type { WorkerSet } from "../orchestration/worker.js";
import type { InstanceQueries } from "../orchestration/instance-queries.js";
import type { InstanceView, WorkflowService } from "../orchestration/workflow-service.js";
import {
  eventToPb,
  exactNanos,
  millis,
  orchestrationStateToPb,
  type PbActivityResponse,
  type PbString,
  type PbTimestamp,
  type PbWorkflowResponse,
  statusFromNumber,
  valueOf,
  workflowStateToPb,
} from "../protocol/convert.js";
import type { ReconnectPrimer } from "./reconnect-primer.js";
import { activityKey, PendingReplies, RemoteWorker, turnKey, WarmHistories } from "./remote-worker.js";
import { callTraceContext, GrpcError, type Unary, unaryHandler, waitForInstance } from "./unary.js";

export interface TaskHubServiceDeps {
  service: WorkflowService;
  queries: InstanceQueries;
  workers: WorkerSet;
  watch: InstanceWatch;
  logger: Logger;
  /** Accepts or refuses a call by its metadata (the API token). */
  authorize: (metadata: Metadata) => boolean;
  itemsPerStreamMax: number;
  turnTimeoutMs: number;
  activityTimeoutMs: number;
  commandWaitMs: number;
  /** Ends the Node SDK's first worker stream once idle (see reconnect-primer.ts); undefined to never. */
  primer: ReconnectPrimer | undefined;
}

/** GetWorkItemsRequest.capabilities: WORKER_CAPABILITY_STATEFUL_HISTORY. */
const statefulHistoryCapability = 2;


/** The live GetWorkItems streams, so shutdown can end them. */
export interface WorkerStreams {
  endAll(): void;
}

export function taskHubService(
  definition: ServiceDefinition,
  deps: TaskHubServiceDeps,
): { implementation: UntypedServiceImplementation; streams: WorkerStreams } {
  const replies = new PendingReplies();
  const warm = new WarmHistories();
  const streams = new Map<RemoteWorker, ServerWritableStream<any, unknown>>();
  let connections = 0;

  const unary = (method: string, handler: Unary) => unaryHandler(method, handler, deps.authorize, deps.logger);

  const getWorkItems = (call: ServerWritableStream<{ capabilities?: number[] }, unknown>) => {
    if (!deps.authorize(call.metadata)) {
      call.emit("error", { code: Status.UNAUTHENTICATED, details: "invalid api token" });
      return;
    }
    const peer = call.getPeer();
    const id = `grpc-${++connections}@${peer}`;
    const statefulHistory = (call.request?.capabilities ?? []).includes(statefulHistoryCapability);
    const worker = new RemoteWorker(id, (item) => call.write(item), replies, {
      itemsMax: deps.itemsPerStreamMax,
      turnTimeoutMs: deps.turnTimeoutMs,
      activityTimeoutMs: deps.activityTimeoutMs,
      statefulHistory,
    }, warm);
    let gone = false;
    let primeTimer: NodeJS.Timeout | undefined;
    const disconnect = (reason: string) => {
      if (gone) return;
      gone = true;
      clearTimeout(primeTimer);
      streams.delete(worker);
      worker.close(reason);
      warm.forgetWorker(worker);
      deps.workers.remove(worker);
      deps.logger.info({ worker: id, reason, connected: streams.size }, "SDK worker disconnected");
    };
    call.on("cancelled", () => disconnect("cancelled by the client"));
    call.on("close", () => disconnect("stream closed"));
    call.on("error", (error: Error) => disconnect(`stream error: ${error.message}`));
    streams.set(worker, call);
    deps.workers.add(worker);
    deps.logger.info({ worker: id, connected: streams.size, statefulHistory }, "SDK worker connected");

    const primer = deps.primer;
    const userAgent = call.metadata.get("user-agent")[0];
    if (primer?.shouldPrime(peer, typeof userAgent === "string" ? userAgent : undefined)) {
      const openedAt = Date.now();
      const check = () => {
        if (gone) return;
        if (!primer.dueNow(openedAt, worker.idleSinceMs())) {
          primeTimer = setTimeout(check, primer.options.idleMs / 4);
          return;
        }
        deps.logger.info({ worker: id }, "ended the Node SDK's first worker stream once idle, so it reconnects after any later failure");
        worker.retire();
        deps.workers.remove(worker);
        call.end();
      };
      primeTimer = setTimeout(check, primer.options.idleMs / 4);
    }
  };

  const waitFor = (call: ServerUnaryCall<any, any>, instanceId: string, until: (i: InstanceView) => boolean, limitMs = Infinity) =>
    waitForInstance(deps.watch, call, instanceId, until, limitMs);

  const waitReply = async (call: ServerUnaryCall<any, any>, request: { instanceId?: string; getInputsAndOutputs?: boolean }, until: (i: InstanceView) => boolean) => {
    const instanceId = required(request.instanceId, "instanceId");
    const result = await waitFor(call, instanceId, until);
    switch (result.kind) {
      case "reached":
        return { exists: true, workflowState: workflowStateToPb(result.instance, request.getInputsAndOutputs === true) };
      case "not-found":
        throw new GrpcError(Status.NOT_FOUND, `no workflow instance with ID '${instanceId}'`);
      case "timeout":
        throw new GrpcError(Status.DEADLINE_EXCEEDED, `instance '${instanceId}' is still ${result.instance.status}`);
      case "cancelled":
        throw new GrpcError(Status.CANCELLED, "the wait was cancelled");
    }
  };

  /** Terminate, suspend and resume return once the change shows, or after a bounded wait (as daprd blocks). */
  const settle = async (call: ServerUnaryCall<any, any>, instanceId: string, until: (i: InstanceView) => boolean) => {
    await waitFor(call, instanceId, until, deps.commandWaitMs);
    return {};
  };

  const command = (result: "ok" | "not-found", instanceId: string) => {
    if (result === "not-found") throw new GrpcError(Status.NOT_FOUND, `no workflow instance with ID '${instanceId}'`);
  };

  /** A reply for a dispatch: delivered, refused (nothing awaits it), or dropped (an older dispatch's token). */
  const deliver = (key: string, reply: { completionToken?: string }, what: string) => {
    const outcome = replies.resolve(key, reply, reply.completionToken);
    if (outcome === "unknown") throw new GrpcError(Status.NOT_FOUND, `${what}: nothing awaits this reply (late or duplicate; ignored)`);
    if (outcome === "stale") {
      // As daprd: a stale turn's reply is discarded and the current dispatch still awaited.
      deps.logger.warn({ key, completionToken: reply.completionToken }, "discarded a reply whose completion token is not the outstanding dispatch's");
    }
    return {};
  };

  const completeTurn = (response: PbWorkflowResponse) => {
    const instanceId = required(response.instanceId, "instanceId");
    return deliver(turnKey(instanceId), response, `unknown instance ID: no turn of '${instanceId}' awaits a reply`);
  };

  const handlers: Record<string, Unary> = {
    Hello: () => ({}),

    // The 2023 name (Python, .NET, Java, `@dapr/dapr`) and the current one (Go, Dapr 1.18+).
    CompleteOrchestratorTask: completeTurn,
    CompleteWorkflowTask: completeTurn,

    CompleteActivityTask: (response: PbActivityResponse) => {
      const instanceId = required(response.instanceId, "instanceId");
      const taskId = response.taskId ?? 0;
      return deliver(activityKey(instanceId, taskId), response, `unknown instance ID/task ID combo: ${instanceId}/${taskId}`);
    },

    StartInstance: async (request: {
      instanceId?: string;
      name?: string;
      version?: PbString;
      input?: PbString;
      scheduledStartTimestamp?: PbTimestamp;
      executionId?: PbString;
      tags?: Record<string, string>;
      parentTraceContext?: Record<string, unknown>;
    }, call) => {
      const name = required(request.name, "name");
      const result = await deps.service.start(name, request.instanceId || undefined, valueOf(request.input), {
        scheduledStartAt: millis(request.scheduledStartTimestamp),
        scheduledStartNanos: exactNanos(request.scheduledStartTimestamp),
        version: valueOf(request.version),
        tags: request.tags,
        // The request's field (newer SDKs), else the call's traceparent metadata.
        parentTraceContext: request.parentTraceContext?.traceParent ? request.parentTraceContext : callTraceContext(call),
        executionId: valueOf(request.executionId),
      });
      switch (result.kind) {
        case "started":
          return { instanceId: result.instanceId };
        case "exists":
          throw new GrpcError(Status.ALREADY_EXISTS, `workflow instance ID '${result.instanceId}' already exists; purge it before reusing the ID`);
        case "invalid-id":
          throw new GrpcError(Status.INVALID_ARGUMENT, `invalid instance ID '${result.instanceId}': ${result.problem}`);
        case "backlog-full":
          throw new GrpcError(Status.RESOURCE_EXHAUSTED, messages.backlogFull(result.queued, result.limit));
      }
    },

    GetInstance: async (request: { instanceId?: string; getInputsAndOutputs?: boolean }) => {
      const instance = await deps.service.get(required(request.instanceId, "instanceId"));
      if (!instance) return { exists: false };
      return { exists: true, workflowState: workflowStateToPb(instance, request.getInputsAndOutputs === true) };
    },

    WaitForInstanceStart: (request, call) => waitReply(call, request, (i) => i.status !== "PENDING"),

    WaitForInstanceCompletion: (request, call) => waitReply(call, request, (i) => isTerminal(i.status)),

    RaiseEvent: async (request: { instanceId?: string; name?: string; input?: PbString }) => {
      const instanceId = required(request.instanceId, "instanceId");
      command(await deps.service.raiseEvent(instanceId, required(request.name, "name"), valueOf(request.input)), instanceId);
      return {};
    },

    TerminateInstance: async (request: { instanceId?: string; output?: PbString; recursive?: boolean }, call) => {
      const instanceId = required(request.instanceId, "instanceId");
      command(await deps.service.terminate(instanceId, valueOf(request.output), request.recursive === true), instanceId);
      return settle(call, instanceId, (i) => isTerminal(i.status));
    },

    SuspendInstance: async (request: { instanceId?: string; reason?: PbString }, call) => {
      const instanceId = required(request.instanceId, "instanceId");
      command(await deps.service.pause(instanceId, valueOf(request.reason)), instanceId);
      return settle(call, instanceId, (i) => i.status === "SUSPENDED" || isTerminal(i.status));
    },

    ResumeInstance: async (request: { instanceId?: string; reason?: PbString }, call) => {
      const instanceId = required(request.instanceId, "instanceId");
      command(await deps.service.resume(instanceId, valueOf(request.reason)), instanceId);
      return settle(call, instanceId, (i) => i.status !== "SUSPENDED");
    },

    PurgeInstances: async (request: {
      request?: string;
      instanceId?: string;
      purgeInstanceFilter?: { createdTimeFrom?: PbTimestamp; createdTimeTo?: PbTimestamp; runtimeStatus?: number[] };
      recursive?: boolean;
      force?: boolean;
    }) => {
      const options = { recursive: request.recursive === true, force: request.force === true };
      if (request.request === "purgeInstanceFilter") {
        const filter = request.purgeInstanceFilter ?? {};
        const statuses = (filter.runtimeStatus ?? []).map((n) => {
          const status = statusFromNumber(n);
          if (!status) throw new GrpcError(Status.INVALID_ARGUMENT, `purgeInstanceFilter.runtimeStatus: unknown status ${n}`);
          return status;
        });
        const result = await deps.service.purgeMatching({
          createdFrom: millis(filter.createdTimeFrom),
          createdTo: millis(filter.createdTimeTo),
          statuses: statuses.length > 0 ? statuses : undefined,
        }, options, limits.bulkPurgeInstancesMax);
        return { deletedInstanceCount: result.deleted, isComplete: { value: result.isComplete } };
      }
      const instanceId = required(request.instanceId, "instanceId");
      const result = await deps.service.purge(instanceId, options);
      switch (result.kind) {
        case "purged":
          return { deletedInstanceCount: result.instanceIds.length, isComplete: { value: true } };
        case "not-found":
          return { deletedInstanceCount: 0, isComplete: { value: true } };
        case "not-terminal":
          throw new GrpcError(
            Status.FAILED_PRECONDITION,
            `orchestration has not yet completed: instance '${result.instanceId}' is ${result.status}; only COMPLETED, FAILED or TERMINATED instances can be purged (or set force)`,
          );
      }
    },

    GetInstanceHistory: async (request: { instanceId?: string }) => {
      const instanceId = required(request.instanceId, "instanceId");
      const events = await deps.service.history(instanceId);
      if (!events) throw new GrpcError(Status.NOT_FOUND, `workflow instance '${instanceId}' not found`);
      return { events: events.map(eventToPb) };
    },

    RerunWorkflowFromEvent: async (request: {
      sourceInstanceID?: string;
      eventID?: number;
      newInstanceID?: string;
      input?: PbString;
      overwriteInput?: boolean;
      newChildWorkflowInstanceID?: string;
    }) => {
      const source = required(request.sourceInstanceID, "sourceInstanceID");
      const result = await deps.service.rerun({
        sourceInstanceId: source,
        eventId: request.eventID ?? 0,
        newInstanceId: request.newInstanceID,
        input: valueOf(request.input),
        overwriteInput: request.overwriteInput === true,
        newChildInstanceId: request.newChildWorkflowInstanceID || undefined,
      });
      // daprd's codes and wording.
      switch (result.kind) {
        case "rerun":
          return { newInstanceID: result.instanceId };
        case "not-found":
          throw new GrpcError(Status.NOT_FOUND, `workflow instance does not exist with ID '${source}'`);
        case "same-id":
          throw new GrpcError(Status.INVALID_ARGUMENT, "rerun workflow instance ID must be different from the original instance ID");
        case "invalid-id":
          throw new GrpcError(Status.INVALID_ARGUMENT, `invalid instance ID '${result.instanceId}': ${result.problem}`);
        case "exists":
          throw new GrpcError(Status.ALREADY_EXISTS, `workflow '${result.instanceId}' has already been created`);
        case "not-terminal":
          throw new GrpcError(Status.INVALID_ARGUMENT, `'${source}' is not in a terminal state (it is ${result.status})`);
        case "is-child":
          throw new GrpcError(Status.INVALID_ARGUMENT, `'${source}': cannot rerun from child-workflows`);
        case "no-event":
          throw new GrpcError(Status.NOT_FOUND, `'${source}' does not have history event with ID '${request.eventID ?? 0}'`);
        case "not-rerunnable":
          throw new GrpcError(Status.NOT_FOUND, `target event '${result.eventKind}' with ID '${request.eventID ?? 0}' is not an event that can be rerun`);
        case "bad-option":
          throw new GrpcError(Status.INVALID_ARGUMENT, result.message);
      }
    },

    // The earlier protocol's query (proto/legacy): the HTTP list's filters that it has, and its paging.
    QueryInstances: async (request: {
      query?: {
        runtimeStatus?: number[];
        createdTimeFrom?: PbTimestamp;
        createdTimeTo?: PbTimestamp;
        maxInstanceCount?: number;
        continuationToken?: PbString;
        instanceIdPrefix?: PbString;
        fetchInputsAndOutputs?: boolean;
      };
    }) => {
      const query = request.query ?? {};
      const statuses = (query.runtimeStatus ?? []).map((n) => {
        const status = statusFromNumber(n);
        if (!status) throw new GrpcError(Status.INVALID_ARGUMENT, `query.runtimeStatus: unknown status ${n}`);
        return status;
      });
      const size = query.maxInstanceCount ?? 0;
      if (size < 0 || size > limits.listPageSizeMax) {
        throw new GrpcError(Status.INVALID_ARGUMENT, `query.maxInstanceCount must be from 1 to ${limits.listPageSizeMax} (0 for ${limits.listPageSizeDefault})`);
      }
      const page = await deps.queries.list({
        statuses: statuses.length > 0 ? statuses : undefined,
        createdFrom: millis(query.createdTimeFrom),
        createdTo: millis(query.createdTimeTo),
        instanceIdPrefix: valueOf(query.instanceIdPrefix),
      }, size || limits.listPageSizeDefault, valueOf(query.continuationToken));
      if ("kind" in page) throw new GrpcError(Status.INVALID_ARGUMENT, page.message);
      return {
        orchestrationState: page.instances.map((i) => orchestrationStateToPb(i, query.fetchInputsAndOutputs === true)),
        ...(page.continuationToken ? { continuationToken: { value: page.continuationToken } } : {}),
      };
    },

    RewindInstance: async (request: { instanceId?: string; reason?: PbString }) => {
      const instanceId = required(request.instanceId, "instanceId");
      const result = await deps.service.rewind(instanceId, valueOf(request.reason));
      switch (result.kind) {
        case "rewound":
          return {};
        case "not-found":
          throw new GrpcError(Status.NOT_FOUND, `workflow instance '${instanceId}' not found`);
        case "not-failed":
          throw new GrpcError(Status.FAILED_PRECONDITION, `workflow instance '${instanceId}' is ${result.status}; only a FAILED instance can be rewound`);
        case "child-running":
          throw new GrpcError(Status.FAILED_PRECONDITION, `child workflow '${result.instanceId}', created after the failure, is ${result.status}; terminate it first`);
      }
    },

    ListInstanceIDs: async (request: { continuationToken?: string; pageSize?: number }) => {
      const page = await deps.service.listInstanceIds(request.continuationToken, request.pageSize || undefined);
      if (page === "bad-token") throw new GrpcError(Status.INVALID_ARGUMENT, `continuationToken '${request.continuationToken}' was not issued by this server`);
      return { instanceIds: page.instanceIds, ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}) };
    },
  };

  const implementation: UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    if (method === "GetWorkItems") implementation[method] = getWorkItems;
    else if (handlers[method]) implementation[method] = unary(method, handlers[method]);
    else {
      implementation[method] = unary(method, () => {
        throw new GrpcError(Status.UNIMPLEMENTED, `workflowd does not implement TaskHubSidecarService/${method} yet`);
      });
    }
  }

  return {
    implementation,
    streams: {
      endAll() {
        for (const [worker, call] of streams) {
          worker.close("server shutting down");
          call.end();
        }
      },
    },
  };
}

function required(value: string | undefined, field: string): string {
  if (!value) throw new GrpcError(Status.INVALID_ARGUMENT, `${field} is required`);
  return value;
}
