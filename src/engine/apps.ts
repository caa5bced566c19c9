/**
 * Multi-app workflows (Dapr 1.16): which app ID runs an instance, an activity or a child
 * workflow, read from the TaskRouter the protocol carries on history events and actions.
 *
 * - An instance runs in the app its ExecutionStarted names: the router's target app, else the
 *   app that started it (`sourceAppID`), as daprd's orchestrator reads it.
 * - An activity runs in its TaskScheduled router's target app, else in its instance's app.
 * - A child workflow runs in its action's target app, else in its parent's.
 * Absent everywhere (history written before app IDs were recorded): any app may run it.
 */
import type { ExecutionStarted, WireValue } from "./history.js";

/** The router's target app, when it names one. */
export function targetAppOf(router: WireValue | undefined): string | undefined {
  return nonEmpty(router?.targetAppID);
}

/** The app an instance runs in, from its ExecutionStarted's router. */
export function appOfStart(start: Pick<ExecutionStarted, "router">): string | undefined {
  return targetAppOf(start.router) ?? nonEmpty(start.router?.sourceAppID);
}

/**
 * The router of a start made by `sourceApp` (the app ID the SDK worker learns from the start
 * event), naming `targetApp` when the instance runs in another app.
 */
export function startRouter(sourceApp: string | undefined, targetApp?: string): WireValue | undefined {
  if (sourceApp === undefined && targetApp === undefined) return undefined;
  return targetApp === undefined ? { sourceAppID: sourceApp ?? "" } : { sourceAppID: sourceApp ?? "", targetAppID: targetApp };
}

/** Whether work of `app` runs in `appId` (no app: recorded before app IDs were, any app runs it). */
export function runsIn(app: string | undefined, appId: string): boolean {
  return app === undefined || app === appId;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
