/**
 * The handlers of `TaskHubSidecarService`: the worker side (Hello, GetWorkItems and the two
 * Complete* calls) feeds connected SDK apps into the engine's WorkerSet; the client side
 * (StartInstance, GetInstance, the waits, RaiseEvent, Terminate, Suspend, Resume, Purge)
 * calls the same WorkflowService as the HTTP API. Methods the Dapr SDKs never call answer
 * UNIMPLEMENTED.
 *
 * Thin like the HTTP routes: parse, call the engine, map the result to a status.
 */
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
import { isTerminal } from "../engine/state.js";
import type { InstanceWatch, WaitResult } from "../orchestration/instance-watch.js";
import type { WorkerSet } from "../orchestration/worker.js";
import type { InstanceView, WorkflowService } from "../orchestration/workflow-service.js";
import {
  millis,
  orchestrationStateToPb,
  type PbActivityResponse,
  type PbOrchestratorResponse,
  type PbString,
  type PbTimestamp,
  valueOf,
} from "./convert.js";
import type { ReconnectPrimer } from "./reconnect-primer.js";
import { activityKey, PendingReplies, RemoteWorker, turnKey } from "./remote-worker.js";

export interface TaskHubServiceDeps {
  service: WorkflowService;
  workers: WorkerSet;
  watch: InstanceWatch;
  logger: Logger;
  /** Accepts or refuses a call by its metadata (the API token). */
  authorize: (metadata: Metadata) => boolean;
  itemsPerStreamMax: number;
  turnTimeoutMs: number;
  activityTimeoutMs: number;
  waitMsMax: number;
  commandWaitMs: number;
  /** Ends each connection's first worker stream at once (see reconnect-primer.ts); undefined to never. */
  primer: ReconnectPrimer | undefined;
}

/** A failure with its gRPC status, for the handler wrappers to send. */
export class GrpcError extends Error {
  constructor(readonly code: Status, message: string) {
    super(message);
  }
}

type Unary = (request: any, call: ServerUnaryCall<any, any>) => Promise<object> | object;

/** The live GetWorkItems streams, so shutdown can end them. */
export interface WorkerStreams {
  endAll(): void;
}

export function taskHubService(
  definition: ServiceDefinition,
  deps: TaskHubServiceDeps,
): { implementation: UntypedServiceImplementation; streams: WorkerStreams } {
  const replies = new PendingReplies();
  const streams = new Map<RemoteWorker, ServerWritableStream<unknown, unknown>>();
  let connections = 0;

  const unary = (method: string, handler: Unary) => async (call: ServerUnaryCall<any, any>, callback: sendUnaryData<object>) => {
    if (!deps.authorize(call.metadata)) return callback({ code: Status.UNAUTHENTICATED, details: "invalid api token" });
    try {
      callback(null, await handler(call.request, call));
    } catch (error) {
      if (error instanceof GrpcError) return callback({ code: error.code, details: error.message });
      deps.logger.error({ err: error, method }, "gRPC call failed");
      callback({ code: Status.INTERNAL, details: `${method} failed: ${error instanceof Error ? error.message : String(error)}` });
    }
  };

  const getWorkItems = (call: ServerWritableStream<unknown, unknown>) => {
    if (!deps.authorize(call.metadata)) {
      call.emit("error", { code: Status.UNAUTHENTICATED, details: "invalid api token" });
      return;
    }
    if (deps.primer?.shouldEnd(call.getPeer())) {
      deps.logger.info({ peer: call.getPeer() }, "ended the first worker stream of a new connection, so the SDK retries after any later failure");
      call.end();
      return;
    }
    const id = `grpc-${++connections}@${call.getPeer()}`;
    const worker = new RemoteWorker(id, (item) => call.write(item), replies, {
      itemsMax: deps.itemsPerStreamMax,
      turnTimeoutMs: deps.turnTimeoutMs,
      activityTimeoutMs: deps.activityTimeoutMs,
    });
    let gone = false;
    const disconnect = (reason: string) => {
      if (gone) return;
      gone = true;
      streams.delete(worker);
      worker.close(reason);
      deps.workers.remove(worker);
      deps.logger.info({ worker: id, reason, connected: streams.size }, "SDK worker disconnected");
    };
    call.on("cancelled", () => disconnect("cancelled by the client"));
    call.on("close", () => disconnect("stream closed"));
    call.on("error", (error: Error) => disconnect(`stream error: ${error.message}`));
    streams.set(worker, call);
    deps.workers.add(worker);
    deps.logger.info({ worker: id, connected: streams.size }, "SDK worker connected");
  };

  /** Waits for the instance, at most `limitMs` and never past the call's deadline; ends when the caller cancels. */
  const waitFor = async (call: ServerUnaryCall<any, any>, instanceId: string, until: (i: InstanceView) => boolean, limitMs: number): Promise<WaitResult> => {
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort());
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() - Date.now() : Number.isFinite(deadline) ? Number(deadline) - Date.now() : Infinity;
    return deps.watch.waitFor(instanceId, until, Math.max(0, Math.min(deadlineMs, limitMs)), abort.signal);
  };

  const waitReply = async (call: ServerUnaryCall<any, any>, request: { instanceId?: string; getInputsAndOutputs?: boolean }, until: (i: InstanceView) => boolean) => {
    const instanceId = required(request.instanceId, "instanceId");
    const result = await waitFor(call, instanceId, until, deps.waitMsMax);
    switch (result.kind) {
      case "reached":
        return { exists: true, orchestrationState: orchestrationStateToPb(result.instance, request.getInputsAndOutputs === true) };
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

  const handlers: Record<string, Unary> = {
    Hello: () => ({}),

    CompleteOrchestratorTask: (response: PbOrchestratorResponse) => {
      const instanceId = required(response.instanceId, "instanceId");
      if (!replies.resolve(turnKey(instanceId), response)) {
        throw new GrpcError(Status.NOT_FOUND, `unknown instance ID: no turn of '${instanceId}' awaits a reply (late or duplicate; ignored)`);
      }
      return {};
    },

    CompleteActivityTask: (response: PbActivityResponse) => {
      const instanceId = required(response.instanceId, "instanceId");
      const taskId = response.taskId ?? 0;
      if (!replies.resolve(activityKey(instanceId, taskId), response)) {
        throw new GrpcError(Status.NOT_FOUND, `unknown instance ID/task ID combo: ${instanceId}/${taskId} (late or duplicate; ignored)`);
      }
      return {};
    },

    StartInstance: async (request: { instanceId?: string; name?: string; input?: PbString; scheduledStartTimestamp?: PbTimestamp }) => {
      const name = required(request.name, "name");
      const result = await deps.service.start(name, request.instanceId || undefined, valueOf(request.input), millis(request.scheduledStartTimestamp));
      switch (result.kind) {
        case "started":
          return { instanceId: result.instanceId };
        case "exists":
          throw new GrpcError(Status.ALREADY_EXISTS, `workflow instance ID '${result.instanceId}' already exists; purge it before reusing the ID`);
        case "invalid-id":
          throw new GrpcError(Status.INVALID_ARGUMENT, `invalid instance ID '${result.instanceId}': ${result.problem}`);
      }
    },

    GetInstance: (request: { instanceId?: string; getInputsAndOutputs?: boolean }) => {
      const instance = deps.service.get(required(request.instanceId, "instanceId"));
      if (!instance) return { exists: false };
      return { exists: true, orchestrationState: orchestrationStateToPb(instance, request.getInputsAndOutputs === true) };
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

    PurgeInstances: async (request: { request?: string; instanceId?: string }) => {
      if (request.request !== "instanceId") {
        throw new GrpcError(Status.UNIMPLEMENTED, "multi-instance purge (by filter) is not implemented; purge by instance ID");
      }
      const instanceId = required(request.instanceId, "instanceId");
      const result = await deps.service.purge(instanceId);
      switch (result.kind) {
        case "purged":
          return { deletedInstanceCount: result.instanceIds.length };
        case "not-found":
          return { deletedInstanceCount: 0 };
        case "not-terminal":
          throw new GrpcError(
            Status.FAILED_PRECONDITION,
            `orchestration has not yet completed: instance '${result.instanceId}' is ${result.status}; only COMPLETED, FAILED or TERMINATED instances can be purged`,
          );
      }
    },
  };

  const implementation: UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    if (method === "GetWorkItems") implementation[method] = getWorkItems;
    else if (handlers[method]) implementation[method] = unary(method, handlers[method]);
    else {
      implementation[method] = unary(method, () => {
        throw new GrpcError(Status.UNIMPLEMENTED, `workflowd does not implement TaskHubSidecarService/${method} (the Dapr SDKs do not call it)`);
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
