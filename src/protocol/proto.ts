/**
 * The durabletask protocol definition, loaded at start-up from the vendored files in
 * `proto/` (dapr/durabletask-protobuf, see `proto/SOURCE.md`): the protocol of the current
 * Dapr SDKs. Field numbers are those of every earlier edition, so SDKs built from older files
 * (`@dapr/dapr` 3.18) decode the same bytes. The file has no `package` statement, so method
 * paths are `/TaskHubSidecarService/<Method>`, as the SDKs call them.
 */
import { loadPackageDefinition, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";
import protobuf from "protobufjs";
import { fileURLToPath } from "node:url";

/** `proto/` at the package root: two levels above both `src/grpc` and `dist/src/grpc`. */
export const protoDir = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../../proto/" : "../../proto/", import.meta.url));
export const protoFile = "orchestrator_service.proto";
export const protoPath = `${protoDir}${protoFile}`;

/**
 * Decoding options: field names as written in the proto (already camelCase), 64-bit
 * integers as numbers (timestamps' seconds fit), enums as numbers, bytes as base64 strings
 * (JSON-safe, so history that carries them is stored as it came), absent fields left out,
 * and a virtual field naming the member set in each oneof.
 */
export const loaderOptions: Options = {
  keepCase: true,
  longs: Number,
  enums: Number,
  bytes: String,
  defaults: false,
  oneofs: true,
  includeDirs: [protoDir],
};

/**
 * The `HistoryEvent` message type (protobufjs), for what the protocol carries as raw bytes:
 * the events of propagated history chunks. Loaded from the same vendored files; Google's
 * well-known types come bundled with protobufjs.
 */
export function loadHistoryEventType(): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("google/protobuf/") ? target : `${protoDir}${target.replace(/^.*\//, "")}`);
  root.loadSync("history_events.proto", { keepCase: true });
  return root.lookupType("HistoryEvent");
}

/**
 * The methods of the earlier protocol file that the current one dropped and workflowd still
 * serves (see `proto/legacy/SOURCE.md`): same paths, their own message types.
 */
export const legacyMethods = ["QueryInstances", "RewindInstance"] as const;
export const legacyProtoFile = "legacy/orchestrator_service.proto";

/** TaskHubSidecarService as served: the current file's methods plus `legacyMethods`. */
export function loadTaskHubService(): ServiceDefinition {
  const service = serviceOf(protoFile);
  const legacy = serviceOf(legacyProtoFile);
  const added = Object.fromEntries(legacyMethods.filter((m) => !service[m]).map((method) => {
    if (!legacy[method]) throw new Error(`${protoDir}${legacyProtoFile} does not define ${method}`);
    return [method, legacy[method]!];
  }));
  return { ...service, ...added };
}

function serviceOf(file: string): ServiceDefinition {
  const definition = loadPackageDefinition(loadSync(file, loaderOptions));
  const service = (definition.TaskHubSidecarService as { service?: ServiceDefinition } | undefined)?.service;
  if (!service) throw new Error(`${protoDir}${file} does not define TaskHubSidecarService`);
  return service;
}

/**
 * Dapr's runtime API, `dapr.proto.runtime.v1.Dapr` (method paths
 * `/dapr.proto.runtime.v1.Dapr/<Method>`), from the vendored files in `proto/dapr/` (as
 * `@dapr/dapr` 3.18 ships them: dapr/dapr v1.17.0, see `proto/dapr/SOURCE.md`). Imports
 * name files by their path from the proto root (`dapr/proto/common/v1/common.proto`), so
 * `proto/` is the include directory; Google's well-known types come bundled with protobufjs.
 */
export const daprProtoFile = "dapr/proto/runtime/v1/dapr.proto";

/**
 * As `loaderOptions`, except that `bytes` fields decode to Buffers (the workflow API carries
 * inputs and event payloads as raw bytes, stored as the text they hold) and enums to names.
 */
export const daprLoaderOptions: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [protoDir],
};

export function loadDaprService(): ServiceDefinition {
  const definition = loadPackageDefinition(loadSync(daprProtoFile, daprLoaderOptions));
  let node: unknown = definition;
  for (const key of ["dapr", "proto", "runtime", "v1", "Dapr"]) node = (node as Record<string, unknown> | undefined)?.[key];
  const service = (node as { service?: ServiceDefinition } | undefined)?.service;
  if (!service) throw new Error(`${protoDir}${daprProtoFile} does not define dapr.proto.runtime.v1.Dapr`);
  return service;
}
