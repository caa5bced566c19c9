/**
 * Loads the user's workflows module: its default export is called with a registry whose
 * methods are those of `@dapr/dapr`'s WorkflowRuntime. A plain `.js`/`.mjs` module works
 * without a build step; TypeScript must be compiled first (or run under a loader).
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { WorkflowRegistry } from "./registry.js";

export type RegisterWorkflows = (registry: WorkflowRegistry) => unknown;

export async function loadWorkflowsModule(path: string, cwd = process.cwd()): Promise<WorkflowRegistry> {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const register = module.default;
  if (typeof register !== "function") {
    throw new TypeError(`workflows module ${file} must export a default function (registry) => void`);
  }
  const registry = new WorkflowRegistry();
  await (register as RegisterWorkflows)(registry);
  return registry;
}
