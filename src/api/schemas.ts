/**
 * TypeBox schemas of the HTTP API: request params and every response shape. The response
 * schemas pin Dapr's exact bodies (key order included: fast-json-stringify writes keys in
 * schema order, which gives daprd's protojson order for GET).
 */
import { Type, type Static, type TSchema, type TUnsafe } from "@sinclair/typebox";
import { runtimeStatuses } from "../engine/state.js";
import { errorCatalogue, type ErrorCode } from "./errors.js";

export const ErrorBody = Type.Object(
  {
    errorCode: Type.String({ description: "one of the codes in docs/errors.md, e.g. ERR_INSTANCE_ID_NOT_FOUND" }),
    message: Type.String(),
  },
  { $id: "ErrorBody", additionalProperties: false, description: "Dapr's error shape" },
);
export type ErrorBody = Static<typeof ErrorBody>;

const component = Type.String({ minLength: 1, description: "the workflow component: any non-empty segment (`dapr` by convention)" });
const instanceId = Type.String({ minLength: 1, description: "the instance's ID" });

export const StartParams = Type.Object({
  component,
  name: Type.String({ minLength: 1, description: "the registered workflow's name" }),
});

export const StartQuery = Type.Object({
  instanceID: Type.Optional(Type.String({ description: "the new instance's ID (at most 64 bytes of letters, digits, `_` and `-`); a random UUID when absent" })),
  /** Accepted and ignored, as daprd master's cross-app routing is not supported. */
  appID: Type.Optional(Type.String({ description: "accepted and ignored (daprd's cross-app routing is not supported)" })),
});

export const StartResponse = Type.Object({ instanceID: Type.String() }, { $id: "StartResponse" });

export const InstanceParams = Type.Object({ component, instanceId });
export type InstanceParams = Static<typeof InstanceParams>;

export const RaiseEventParams = Type.Object({
  component,
  instanceId,
  eventName: Type.String({ minLength: 1, description: "the event's name (case-insensitive)" }),
});

/**
 * One string enum rather than a union of literals: the same values and output, but a client
 * generator reading the OpenAPI document makes one enum type of it.
 */
export const RuntimeStatus = Type.Unsafe<(typeof runtimeStatuses)[number]>({
  type: "string",
  enum: [...runtimeStatuses],
  description: "CONTINUED_AS_NEW and CANCELED exist in the model but are never reported",
});

export const WorkflowStateResponse = Type.Object({
  instanceID: Type.String(),
  workflowName: Type.String(),
  createdAt: Type.String({ description: "RFC 3339, UTC" }),
  lastUpdatedAt: Type.String({ description: "RFC 3339, UTC" }),
  runtimeStatus: RuntimeStatus,
  properties: Type.Optional(Type.Record(Type.String(), Type.String())),
}, { $id: "WorkflowState" });
export type WorkflowStateResponse = Static<typeof WorkflowStateResponse>;

/** Terminate, raiseEvent, pause, resume and purge answer 202 with an empty body. */
export const Accepted = Type.Null({ description: "accepted; empty body" });

export const MetadataResponse = Type.Object({
  id: Type.String(),
  runtimeVersion: Type.String(),
  enabledFeatures: Type.Array(Type.String()),
  components: Type.Array(Type.Object({
    name: Type.String(),
    type: Type.String(),
    version: Type.String(),
    capabilities: Type.Array(Type.String()),
  })),
  extended: Type.Record(Type.String(), Type.String()),
  actorRuntime: Type.Object({
    runtimeStatus: Type.String(),
    activeActors: Type.Array(Type.Object({ type: Type.String(), count: Type.Integer() })),
    hostReady: Type.Boolean(),
    placement: Type.String(),
  }),
  workflows: Type.Object({
    connectedWorkers: Type.Integer({ description: "Dapr SDK apps connected over gRPC (worker streams); the in-process runtime is not counted" }),
    inProcessRuntime: Type.Boolean({ description: "whether workflows also run in workflowd itself (a workflows module is loaded)" }),
  }),
}, { $id: "Metadata" });
export type MetadataResponse = Static<typeof MetadataResponse>;

// -- shared schemas and response definitions --------------------------------------------

/**
 * The schemas with an `$id`: http-server.ts registers them once (`addSchema`) and routes
 * point at them with `ref`, so the OpenAPI document names them under `components.schemas`
 * (one `ErrorBody` for a client generator, not one copy per status code). Serialization is
 * unchanged: fast-json-stringify follows the reference to the same schema, key order included.
 */
export const sharedSchemas: readonly TSchema[] = [ErrorBody, StartResponse, WorkflowStateResponse, MetadataResponse];

/**
 * A response that is one of the shared schemas, with the description the OpenAPI document
 * shows for this status code. Typed as the referenced schema's static type.
 */
export function ref<T extends TSchema>(schema: T, description: string): TUnsafe<Static<T>> {
  if (!schema.$id || !sharedSchemas.includes(schema)) throw new Error("ref() needs one of sharedSchemas");
  return Type.Unsafe<Static<T>>({ $ref: `${schema.$id}#`, description });
}

/**
 * An error response in Dapr's shape, described by the codes it can carry: each with the error
 * catalogue's summary (so the document and docs/errors.md say the same), or with a text of
 * its own where one code means different things under different statuses.
 */
export function errorResponse(codes: readonly (ErrorCode | readonly [ErrorCode, string])[]): TUnsafe<ErrorBody> {
  const described = codes.map((entry) => {
    const [code, text] = typeof entry === "string" ? [entry, errorCatalogue[entry].summary] : entry;
    return `\`${code}\`: ${text}`;
  });
  return ref(ErrorBody, described.join("; "));
}

/**
 * The 401 of the API token check (auth.ts): plain text like daprd's, not the JSON error
 * shape. Only sent when workflowd runs with DAPR_API_TOKEN.
 */
export const Unauthorized = {
  description: "DAPR_API_TOKEN is set and the `dapr-api-token` header is missing or wrong (plain text, as daprd answers)",
  content: { "text/plain": { schema: Type.String() } },
};

/** Errors every route of the API can answer besides its own. */
export const commonErrors = {
  405: errorResponse(["ERR_METHOD_NOT_ALLOWED"]),
  413: errorResponse(["ERR_BODY_TOO_LARGE"]),
  503: errorResponse(["ERR_SHUTTING_DOWN"]),
};
