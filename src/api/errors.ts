/**
 * The error catalogue: every errorCode the HTTP API answers with, its status and message.
 * Bodies are always Dapr's `{"errorCode","message"}`; message templates follow daprd's
 * (pkg/messages/predefined.go) where daprd has the code. docs/errors.md mirrors this table
 * and a test keeps the two in step.
 */
import { messages } from "../orchestration/messages.js";

export const errorCatalogue = {
  ERR_INSTANCE_ID_TOO_LONG: { status: 400, summary: "start: the instance ID is longer than 64 UTF-8 bytes" },
  ERR_INSTANCE_ID_INVALID: { status: 400, summary: "start: the instance ID has characters other than letters, digits, `_` and `-`" },
  ERR_INSTANCE_ID_NOT_FOUND: { status: 404, summary: "any route naming an instance that does not exist" },
  ERR_MALFORMED_REQUEST: { status: 400, summary: "a body that is not empty and not a JSON object (get, terminate, pause, resume, purge, rewind), a query parameter with a bad value (the message names it), or a malformed URL" },
  ERR_BODY_TOO_LARGE: { status: 413, summary: "the request body is over the configured limit (default 4 MiB)" },
  ERR_NOT_FOUND: { status: 404, summary: "no route has this path" },
  ERR_METHOD_NOT_ALLOWED: { status: 405, summary: "the path exists but not for this HTTP method (see the Allow header)" },
  ERR_START_WORKFLOW: { status: 409, summary: "start: an instance with this ID exists (409); too many instances wait to run (429, with Retry-After; --max-backlog); or a storage failure (500)" },
  ERR_GET_WORKFLOW: { status: 500, summary: "get: a storage failure" },
  ERR_TERMINATE_WORKFLOW: { status: 500, summary: "terminate: a storage failure" },
  ERR_RAISE_EVENT_WORKFLOW: { status: 500, summary: "raiseEvent: a storage failure" },
  ERR_PAUSE_WORKFLOW: { status: 500, summary: "pause: a storage failure" },
  ERR_RESUME_WORKFLOW: { status: 500, summary: "resume: a storage failure" },
  ERR_PURGE_WORKFLOW: { status: 409, summary: "purge: the instance or a child is not COMPLETED, FAILED or TERMINATED (409); or a storage failure (500)" },
  ERR_LIST_WORKFLOWS: { status: 500, summary: "list, counts: a storage failure" },
  ERR_GET_WORKFLOW_HISTORY: { status: 500, summary: "history: a storage failure" },
  ERR_RERUN_WORKFLOW: { status: 409, summary: "rerun: the source is not COMPLETED, FAILED or TERMINATED, is a child workflow, or the new ID exists (409); or a storage failure (500)" },
  ERR_REWIND_WORKFLOW: { status: 409, summary: "rewind: the instance is not FAILED, or a child it created after the failure is still running (409); or a storage failure (500)" },
  ERR_HEALTH_NOT_READY: { status: 500, summary: "healthz: the store or the engine is not up" },
  ERR_METADATA: { status: 500, summary: "metadata: a storage failure" },
  ERR_SHUTTING_DOWN: { status: 503, summary: "the server is shutting down and takes no new requests" },
  ERROR: { status: 500, summary: "an unexpected fault on a route without a code of its own (daprd's generic code)" },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error the API answers with as-is. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly errorCode: ErrorCode,
    message: string,
    /** Response headers the answer carries (Retry-After on a 429). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export const apiErrors = {
  instanceIdTooLong: () => new ApiError(400, "ERR_INSTANCE_ID_TOO_LONG", messages.instanceIdTooLong()),
  instanceIdInvalid: (id: string) => new ApiError(400, "ERR_INSTANCE_ID_INVALID", messages.instanceIdInvalid(id)),
  instanceNotFound: (id: string) =>
    new ApiError(404, "ERR_INSTANCE_ID_NOT_FOUND", `unable to find workflow with the provided instance ID: ${id}`),
  instanceExists: (name: string, id: string) => new ApiError(409, "ERR_START_WORKFLOW", messages.instanceExists(name, id)),
  backlogFull: (queued: number, limit: number, retryAfterSeconds: number) =>
    new ApiError(429, "ERR_START_WORKFLOW", messages.backlogFull(queued, limit), { "retry-after": String(retryAfterSeconds) }),
  purgeNotTerminal: (id: string, blockingId: string, status: string) =>
    new ApiError(409, "ERR_PURGE_WORKFLOW", messages.purgeNotTerminal(id, blockingId, status)),
  malformedBody: (detail: string) => new ApiError(400, "ERR_MALFORMED_REQUEST", `failed deserializing HTTP body: ${detail}`),
  badParameter: (name: string, detail: string) => new ApiError(400, "ERR_MALFORMED_REQUEST", `invalid query parameter '${name}': ${detail}`),
  rerunRefused: (id: string, detail: string) => new ApiError(409, "ERR_RERUN_WORKFLOW", `error rerunning workflow '${id}': ${detail}`),
  rewindRefused: (id: string, detail: string) => new ApiError(409, "ERR_REWIND_WORKFLOW", `error rewinding workflow '${id}': ${detail}`),
  malformedUrl: () => new ApiError(400, "ERR_MALFORMED_REQUEST", "failed to parse the request URL"),
  bodyTooLarge: (limit: number) =>
    new ApiError(413, "ERR_BODY_TOO_LARGE", `request body is larger than the limit of ${limit} bytes`),
  routeNotFound: (method: string, path: string) => new ApiError(404, "ERR_NOT_FOUND", `no route for ${method} ${path}`),
  consoleNotBuilt: (dir: string) =>
    new ApiError(404, "ERR_NOT_FOUND", `the web console is not built (no ${dir}index.html): run \`npm run build\``),
  methodNotAllowed: (method: string, allowed: readonly string[]) =>
    new ApiError(405, "ERR_METHOD_NOT_ALLOWED", `method ${method} is not allowed here; use ${allowed.join(", ")}`),
  shuttingDown: () => new ApiError(503, "ERR_SHUTTING_DOWN", "workflowd is shutting down; retry against a running instance"),
  notReady: (targets: string) => new ApiError(500, "ERR_HEALTH_NOT_READY", `dapr is not ready: ${targets}`),
};

/**
 * What a route answers when something unexpected fails (storage faults: disk full, I/O
 * errors, a locked database). The message names the operation and the fault, never a stack.
 */
export interface RouteFailure {
  errorCode: ErrorCode;
  message: (params: Record<string, string>, cause: string) => string;
}

export const routeFailures = {
  start: { errorCode: "ERR_START_WORKFLOW", message: (p, c) => `error starting workflow '${p.name}': ${c}` },
  get: { errorCode: "ERR_GET_WORKFLOW", message: (p, c) => `error while getting workflow info on instance '${p.instanceId}': ${c}` },
  terminate: { errorCode: "ERR_TERMINATE_WORKFLOW", message: (p, c) => `error terminating workflow '${p.instanceId}': ${c}` },
  raiseEvent: { errorCode: "ERR_RAISE_EVENT_WORKFLOW", message: (p, c) => `error raising event on workflow '${p.instanceId}': ${c}` },
  pause: { errorCode: "ERR_PAUSE_WORKFLOW", message: (p, c) => `error pausing workflow ${p.instanceId}: ${c}` },
  resume: { errorCode: "ERR_RESUME_WORKFLOW", message: (p, c) => `error resuming workflow ${p.instanceId}: ${c}` },
  purge: { errorCode: "ERR_PURGE_WORKFLOW", message: (p, c) => `error purging workflow ${p.instanceId}: ${c}` },
  list: { errorCode: "ERR_LIST_WORKFLOWS", message: (_p, c) => `error listing workflows: ${c}` },
  history: { errorCode: "ERR_GET_WORKFLOW_HISTORY", message: (p, c) => `error reading the history of workflow '${p.instanceId}': ${c}` },
  rerun: { errorCode: "ERR_RERUN_WORKFLOW", message: (p, c) => `error rerunning workflow '${p.instanceId}': ${c}` },
  rewind: { errorCode: "ERR_REWIND_WORKFLOW", message: (p, c) => `error rewinding workflow '${p.instanceId}': ${c}` },
  bulkPurge: { errorCode: "ERR_PURGE_WORKFLOW", message: (_p, c) => `error purging workflows: ${c}` },
  metadata: { errorCode: "ERR_METADATA", message: (_p, c) => `error reading metadata: ${c}` },
} satisfies Record<string, RouteFailure>;
