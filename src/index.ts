/** The public API of the workflowd package. */
export { buildApp, createWorkflowd, type BuildAppOptions, type Workflowd } from "./app.js";
export { WorkflowRegistry, type Workflow, type Activity } from "./runtime/registry.js";
export { WorkflowContext, ActivityContext, type ActivityOptions, type ChildWorkflowOptions } from "./runtime/context.js";
export { RetryPolicy, type RetryPolicyOptions } from "./runtime/retry-policy.js";
export { Task, TaskFailedError, NonDeterminismError } from "./runtime/task.js";
export type { RuntimeStatus } from "./engine/state.js";
