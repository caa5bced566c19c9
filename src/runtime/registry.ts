/**
 * The registry workflows and activities are registered in. Its methods are those of
 * `@dapr/dapr`'s WorkflowRuntime (registerWorkflow, registerWorkflowWithName,
 * registerActivity, registerActivityWithName, each returning the registry), so a Dapr app's
 * registration code is reused verbatim.
 */
import type { Activity, Workflow } from "./context.js";

export type { Activity, Workflow };

export class WorkflowRegistry {
  private readonly workflows = new Map<string, Workflow>();
  private readonly activities = new Map<string, Activity>();

  registerWorkflow(workflow: Workflow): this {
    return this.registerWorkflowWithName(functionName(workflow, "workflow"), workflow);
  }

  registerWorkflowWithName(name: string, workflow: Workflow): this {
    register(this.workflows, "workflow", name, workflow);
    return this;
  }

  registerActivity(activity: Activity): this {
    return this.registerActivityWithName(functionName(activity, "activity"), activity);
  }

  registerActivityWithName(name: string, activity: Activity): this {
    register(this.activities, "activity", name, activity);
    return this;
  }

  workflow(name: string): Workflow | undefined {
    return this.workflows.get(name);
  }

  activity(name: string): Activity | undefined {
    return this.activities.get(name);
  }

  workflowNames(): string[] {
    return [...this.workflows.keys()];
  }

  activityNames(): string[] {
    return [...this.activities.keys()];
  }
}

function functionName(fn: unknown, what: string): string {
  if (typeof fn !== "function") throw new TypeError(`a ${what} must be a function`);
  if (!fn.name) throw new TypeError(`an anonymous ${what} needs a name: use register${what === "workflow" ? "Workflow" : "Activity"}WithName`);
  return fn.name;
}

function register<T>(map: Map<string, T>, what: string, name: string, fn: T): void {
  if (typeof fn !== "function") throw new TypeError(`${what} '${name}' must be a function`);
  if (!name) throw new TypeError(`a ${what} name must not be empty`);
  if (map.has(name)) throw new Error(`a ${what} named '${name}' is already registered`);
  map.set(name, fn);
}
