/**
 * What both gRPC services (TaskHubSidecarService and Dapr's runtime service) share: the error
 * a handler throws to answer with a status, the unary wrapper (the API token first, then the
 * handler; an unexpected fault is logged and answered INTERNAL), and the wait for an
 * instance's state bounded by the call's deadline and cancellation.
 */
import { type Metadata, type sendUnaryData, type ServerUnaryCall, status as Status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { WireValue } from "../engine/history.js";
import { traceContextFrom } from "../protocol/trace-context.js";
import type { InstanceWatch, WaitResult } from "../orchestration/instance-watch.js";
import type { InstanceView } from "../orchestration/workflow-service.js";

/** A failure with its gRPC status, for the handler wrapper to send. */
export class GrpcError extends Error {
  constructor(readonly code: Status, message: string) {
    super(message);
  }
}

export type Unary = (request: any, call: ServerUnaryCall<any, any>) => Promise<object> | object;

export function unaryHandler(method: string, handler: Unary, authorize: (metadata: Metadata) => boolean, logger: Logger) {
  return async (call: ServerUnaryCall<any, any>, callback: sendUnaryData<object>) => {
    if (!authorize(call.metadata)) return callback({ code: Status.UNAUTHENTICATED, details: "invalid api token" });
    try {
      callback(null, await handler(call.request, call));
    } catch (error) {
      if (error instanceof GrpcError) return callback({ code: error.code, details: error.message });
      logger.error({ err: error, method }, "gRPC call failed");
      callback({ code: Status.INTERNAL, details: `${method} failed: ${error instanceof Error ? error.message : String(error)}` });
    }
  };
}

/** Waits for the instance until it holds, the call's deadline passes or the caller cancels; at most `limitMs`. */
export function waitForInstance(
  watch: InstanceWatch,
  call: ServerUnaryCall<any, any>,
  instanceId: string,
  until: (instance: InstanceView) => boolean,
  limitMs = Infinity,
): Promise<WaitResult> {
  const abort = new AbortController();
  call.on("cancelled", () => abort.abort());
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() - Date.now() : Number.isFinite(deadline) ? Number(deadline) - Date.now() : Infinity;
  return watch.waitFor(instanceId, until, Math.max(0, Math.min(deadlineMs, limitMs)), abort.signal);
}

/** The caller's W3C trace context from the call's `traceparent`/`tracestate` metadata, if valid. */
export function callTraceContext(call: ServerUnaryCall<any, any>): WireValue | undefined {
  return traceContextFrom(call.metadata.get("traceparent"), call.metadata.get("tracestate"));
}
