/**
 * The durabletask protocol definition, loaded at start-up from the `.proto` file that
 * `@dapr/durabletask-js` (pinned in package.json) ships, rather than from a copy: the file
 * is the one the Dapr SDKs are built from. It has no `package` statement, so the service's
 * method paths are `/TaskHubSidecarService/<Method>`, as the SDKs call them.
 */
import { loadPackageDefinition, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { createRequire } from "node:module";

export const protoPath = createRequire(import.meta.url).resolve("@dapr/durabletask-js/proto/orchestrator_service.proto");

/**
 * Decoding options: field names as written in the proto (already camelCase), 64-bit
 * integers as numbers (timestamps' seconds fit), enums as numbers, absent fields left out,
 * and a virtual field naming the member set in each oneof.
 */
const loaderOptions = { keepCase: true, longs: Number, enums: Number, defaults: false, oneofs: true } as const;

export function loadTaskHubService(): ServiceDefinition {
  const definition = loadPackageDefinition(loadSync(protoPath, loaderOptions));
  const service = (definition.TaskHubSidecarService as { service?: ServiceDefinition } | undefined)?.service;
  if (!service) throw new Error(`${protoPath} does not define TaskHubSidecarService`);
  return service;
}
