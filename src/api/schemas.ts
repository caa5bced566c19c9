/**
 * TypeBox schemas of the HTTP API: request params and every response shape. The response
 * schemas pin Dapr's exact bodies (key order included: fast-json-stringify writes keys in
 * schema order, which gives daprd's protojson order for GET).
 */
import { Type, type Static } from "@sinclair/typebox";
import { runtimeStatuses } from "../engine/state.js";

export const ErrorBody = Type.Object(
  { errorCode: Type.String(), message: Type.String() },
  { additionalProperties: false, description: "Dapr's error shape" },
);

export const StartParams = Type.Object({
  component: Type.String({ minLength: 1 }),
  name: Type.String({ minLength: 1 }),
});

export const StartQuery = Type.Object({
  instanceID: Type.Optional(Type.String()),
  /** Accepted and ignored, as daprd master's cross-app routing is not supported. */
  appID: Type.Optional(Type.String()),
});

export const StartResponse = Type.Object({ instanceID: Type.String() });

export const InstanceParams = Type.Object({
  component: Type.String({ minLength: 1 }),
  instanceId: Type.String({ minLength: 1 }),
});
export type InstanceParams = Static<typeof InstanceParams>;

export const RaiseEventParams = Type.Object({
  component: Type.String({ minLength: 1 }),
  instanceId: Type.String({ minLength: 1 }),
  eventName: Type.String({ minLength: 1 }),
});

export const RuntimeStatus = Type.Union(runtimeStatuses.map((s) => Type.Literal(s)));

export const WorkflowStateResponse = Type.Object({
  instanceID: Type.String(),
  workflowName: Type.String(),
  createdAt: Type.String({ description: "RFC 3339, UTC" }),
  lastUpdatedAt: Type.String({ description: "RFC 3339, UTC" }),
  runtimeStatus: RuntimeStatus,
  properties: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type WorkflowStateResponse = Static<typeof WorkflowStateResponse>;

/** Terminate, raiseEvent, pause, resume and purge answer 202 with an empty body. */
export const Accepted = Type.Null({ description: "empty body" });

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
  workflows: Type.Object({ connectedWorkers: Type.Integer() }),
});
export type MetadataResponse = Static<typeof MetadataResponse>;
