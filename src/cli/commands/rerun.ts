/**
 * `rerun <id>`: a new instance from a finished one's history, re-running from one event.
 */
import type { CommandSpec } from "../command.js";
import { withNewline } from "../format.js";
import { parseCount } from "../values.js";
import type { WorkflowsApi } from "../workflows-api.js";
import { fullHistory } from "./history.js";
import { optionalJson } from "./lifecycle.js";

/** The event types a rerun can start from (the current and the older durabletask name of a child's). */
const rerunnable = new Set(["taskScheduled", "childWorkflowInstanceCreated", "subOrchestrationInstanceCreated"]);

export const rerunCommand: CommandSpec = {
  name: "rerun",
  summary: "Re-run a finished instance from one of its events, as a new instance",
  usage: ["rerun <instance-id> [--event <event-id>] [--new-id <instance-id>] [--input <json>]"],
  description: [
    "The new instance replays the history up to the event (a TaskScheduled or ChildWorkflowInstanceCreated " +
      "event; `workflowd history <id>` shows their EVENT IDs) and runs from there; --input replaces that " +
      "activity's or child's input (JSON, sent as written). Only finished top-level instances can be re-run. Without --new-id the server picks a UUID. Prints the new " +
      "instance's ID; -o json prints the API's body ({\"instanceID\"}).",
    "Without --event it re-runs from the beginning, as `dapr workflow rerun` does: from the first such event " +
      "in the history (SDKs number events from 0 or from 1, so the CLI looks it up rather than assuming 0).",
  ],
  positionals: { min: 1, max: 1 },
  options: {
    event: {
      type: "string",
      short: "e",
      value: "<event-id>",
      aliases: ["event-id"],
      help: "the event to re-run from (default: the first activity or child workflow)",
    },
    "new-id": { type: "string", value: "<instance-id>", aliases: ["new-instance-id"], help: "the new instance's ID" },
    input: { type: "string", short: "x", value: "<json>", help: "a new input for the re-run activity or child: JSON text, sent as written; @file or @- reads it" },
  },
  outputs: ["table", "json"],
  run: async (context) => {
    const instanceId = context.positionals[0]!;
    const event = context.string("event");
    const input = optionalJson(context, "input");
    const fromEventId = event === undefined ? await firstRerunnableEvent(context.api, instanceId) : parseCount(event, "--event");
    const { text, value } = await context.api.rerun(instanceId, fromEventId, context.string("new-id"), input);
    context.print(context.output === "json" ? withNewline(text) : `${value.instanceID}\n`);
  },
};

async function firstRerunnableEvent(api: WorkflowsApi, instanceId: string): Promise<number> {
  const { events } = await fullHistory(api, instanceId);
  const ids = events
    .filter((event) => Object.keys(event).some((key) => rerunnable.has(key)))
    .map((event) => (typeof event.eventId === "number" ? event.eventId : 0));
  if (ids.length === 0) {
    throw new Error(`instance '${instanceId}' has no activity or child workflow to re-run from`);
  }
  return Math.min(...ids);
}
