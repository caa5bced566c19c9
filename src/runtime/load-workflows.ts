/**
 * Loads the user's workflows module: its default export is called with a registry whose
 * methods are those of `@dapr/dapr`'s WorkflowRuntime. A plain `.js`/`.mjs` module works
 * without a build step; TypeScript must be compiled first (or run under a loader).
 */
import { spawnSync } from "node:child_process";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { WorkflowRegistry } from "./registry.js";

export type RegisterWorkflows = (registry: WorkflowRegistry) => unknown;

export async function loadWorkflowsModule(path: string, cwd = process.cwd()): Promise<WorkflowRegistry> {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    throw new Error(`workflows module ${file} failed to load: ${describeLoadError(error, file)}; fix it, or point --workflows (WORKFLOWD_WORKFLOWS) elsewhere`, { cause: error });
  }
  const register = module.default;
  if (typeof register !== "function") {
    throw new TypeError(`workflows module ${file} must export a default function (registry) => void`);
  }
  const registry = new WorkflowRegistry();
  await (register as RegisterWorkflows)(registry);
  return registry;
}

/**
 * The original message with where it happened in the module: a throw during its evaluation
 * names the module in a stack frame; a syntax error carries no location in its stack, so
 * `node --check` (run only on this failure path) says where.
 */
function describeLoadError(error: unknown, file: string): string {
  if (!(error instanceof Error)) return String(error);
  if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND") return error.message.split("\n")[0]!;
  const href = pathToFileURL(file).href;
  const frame = new RegExp(`${href.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):(\\d+)`).exec(error.stack ?? "");
  let where = frame ? `${file}:${frame[1]}:${frame[2]}` : undefined;
  if (!where && error instanceof SyntaxError) {
    const check = spawnSync(process.execPath, ["--check", file], { encoding: "utf8", timeout: 10_000 });
    where = /^(\/[^\n]*?:\d+)\n/m.exec(check.stderr ?? "")?.[1];
  }
  return `${error.name}: ${error.message}${where ? ` at ${where}` : ""}`;
}
