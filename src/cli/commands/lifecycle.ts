/**
 * The commands that act on one instance: start, raise, suspend, resume, terminate, rewind.
 */
import type { CommandContext, CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { withNewline } from "../format.js";
import { readJsonBody } from "../values.js";

const jsonBodyHelp = "JSON text, sent as the request body exactly as written (as curl -d); @file or @- reads it";

export const startCommand: CommandSpec = {
  name: "start",
  aliases: ["run"],
  summary: "Start a workflow instance and print its ID",
  usage: ["start <workflow-name> [--id <instance-id>] [--input <json>]"],
  description: [
    "Without --id the server picks a UUID. IDs are never reused until the instance is purged " +
      "(starting an existing ID fails with ERR_START_WORKFLOW). The input must be JSON: a string " +
      "keeps its quotes, e.g. --input '\"Berlin\"'. -o json prints the API's body ({\"instanceID\"}).",
  ],
  positionals: { min: 1, max: 1 },
  options: {
    id: { type: "string", short: "i", value: "<instance-id>", aliases: ["instance-id"], help: "the new instance's ID" },
    input: { type: "string", short: "x", value: "<json>", help: `the workflow's input: ${jsonBodyHelp}` },
  },
  outputs: ["table", "json"],
  compat: {
    "start-time": {
      type: "string",
      short: "s",
      ignored: false,
      reason: "the HTTP API starts a workflow at once; wait with a durable timer inside the workflow instead",
    },
  },
  run: async (context) => {
    const input = optionalJson(context, "input");
    const { text, value } = await context.api.start(context.positionals[0]!, context.string("id"), input);
    context.print(context.output === "json" ? withNewline(text) : `${value.instanceID}\n`);
  },
};

export const raiseCommand: CommandSpec = {
  name: "raise",
  aliases: ["raise-event"],
  summary: "Raise an event for an instance (waitForExternalEvent)",
  usage: ["raise <instance-id> <event-name> [--data <json>]", "raise <instance-id>/<event-name> [--data <json>]"],
  description: [
    "Event names are case-insensitive. An event for a finished instance is accepted and dropped. " +
      "The payload must be JSON; without --data the event carries no payload.",
  ],
  positionals: { min: 1, max: 2 },
  options: {
    data: {
      type: "string",
      short: "d",
      value: "<json>",
      aliases: ["input"],
      aliasShorts: { input: "x" },
      help: `the event's payload: ${jsonBodyHelp}`,
    },
  },
  run: async (context) => {
    const [instanceId, eventName] = eventTarget(context);
    await context.api.raiseEvent(instanceId, eventName, optionalJson(context, "data"));
    context.print(`Raised event '${eventName}' on workflow instance '${instanceId}'.\n`);
  },
};

/** `<id> <event>`, or `dapr workflow raise-event`'s single `<id>/<event>`. */
function eventTarget(context: CommandContext): [string, string] {
  const [first, second] = context.positionals;
  if (second !== undefined) return [first!, second];
  const slash = first!.indexOf("/");
  if (slash > 0 && slash < first!.length - 1) return [first!.slice(0, slash), first!.slice(slash + 1)];
  throw new UsageError(`'${context.invokedAs}' needs an instance ID and an event name: workflowd raise <instance-id> <event-name>`, "raise");
}

const reason = {
  type: "string",
  short: "r",
  value: "<text>",
  help: "why; sent as {\"reason\": ...} in the request body (workflowd's API accepts and ignores it, as daprd's does)",
} as const;

function instanceCommand(
  name: string,
  summary: string,
  route: "pause" | "resume" | "terminate",
  done: string,
  extra: Partial<CommandSpec> = {},
): CommandSpec {
  return {
    name,
    summary,
    usage: [`${name} <instance-id>${extra.options?.reason ? " [--reason <text>]" : ""}`],
    positionals: { min: 1, max: 1 },
    options: {},
    ...extra,
    run: async (context) => {
      const instanceId = context.positionals[0]!;
      await context.api.command(instanceId, route, context.string("reason"));
      context.print(`${done} workflow instance '${instanceId}'.\n`);
    },
  };
}

export const suspendCommand = instanceCommand("suspend", "Suspend a running instance (status SUSPENDED) until resumed", "pause", "Suspended", {
  options: { reason },
});

export const resumeCommand = instanceCommand("resume", "Resume a suspended instance", "resume", "Resumed", { options: { reason } });

export const terminateCommand = instanceCommand(
  "terminate",
  "Terminate an instance and its unfinished child workflows",
  "terminate",
  "Terminated",
  {
    compat: {
      output: {
        type: "string",
        short: "o",
        ignored: false,
        reason: "dapr's terminate --output sets the terminated workflow's output; workflowd's HTTP API cannot",
      },
    },
  },
);

export const rewindCommand: CommandSpec = {
  name: "rewind",
  summary: "Rewind a FAILED instance so that its failed work runs again",
  usage: ["rewind <instance-id> [--reason <text>]"],
  description: [
    "The server answers ERR_REWIND_WORKFLOW (409) when the instance is not FAILED. " +
      "`dapr workflow` has no rewind; this is workflowd's own command.",
  ],
  positionals: { min: 1, max: 1 },
  options: { reason: { ...reason, help: "why; sent as {\"reason\": ...} in the request body" } },
  run: async (context) => {
    const instanceId = context.positionals[0]!;
    await context.api.command(instanceId, "rewind", context.string("reason"));
    context.print(`Rewinding workflow instance '${instanceId}'.\n`);
  },
};

/** A JSON body option, checked; undefined when not given. */
export function optionalJson(context: CommandContext, option: string): string | undefined {
  const text = context.string(option);
  return text === undefined ? undefined : readJsonBody(text, `--${option}`);
}
