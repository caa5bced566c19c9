/**
 * `purge`: delete finished instances, by ID or in bulk by age and status. A bulk purge is
 * repeated until the server says it is complete, because each call deletes at most a batch.
 */
import type { CommandContext, CommandSpec } from "../command.js";
import { ServerError, UsageError } from "../errors.js";
import { withNewline } from "../format.js";
import { parseAgeOrTime, parseStatuses, purgeableStatuses } from "../values.js";
import type { InstanceFilter } from "../workflows-api.js";

export const purgeCommand: CommandSpec = {
  name: "purge",
  summary: "Delete finished instances and their children, by ID or by age",
  usage: [
    "purge <instance-id>...",
    "purge --all-older-than <age|time> [--status S] [--prefix P]",
    "purge --all [--status S] [--prefix P]",
  ],
  description: [
    "Only COMPLETED, FAILED and TERMINATED instances can be purged; purging an ID that is still running " +
      "fails with ERR_PURGE_WORKFLOW. IDs are purged in order and the first error stops the command.",
    "--all-older-than selects instances created before that age or time, as `dapr workflow purge` does " +
      "(24h, 168h, 7d, 2023-01-02T15:04:05Z); --all selects every finished instance; --status narrows " +
      `either to some of ${purgeableStatuses.join(", ")} (default: all three). -o json prints the API's body ` +
      "({\"deletedInstanceCount\",\"isComplete\"}), summed into one object when it took several calls.",
  ],
  positionals: { min: 0, max: Number.POSITIVE_INFINITY },
  options: {
    "all-older-than": {
      type: "string",
      value: "<age|time>",
      aliases: ["older-than"],
      help: "purge every finished instance created before this (createdTo)",
    },
    all: { type: "boolean", help: "purge every finished instance; use with care" },
    status: {
      type: "string",
      short: "s",
      value: "<status>",
      multiple: true,
      aliases: ["all-filter-status"],
      help: `with --all or --all-older-than: only these statuses (${purgeableStatuses.join(", ")}); repeatable or comma-separated`,
    },
    prefix: { type: "string", value: "<text>", help: "with --all or --all-older-than: only instance IDs starting with this" },
  },
  outputs: ["table", "json"],
  compat: {
    force: {
      type: "boolean",
      ignored: false,
      reason: "workflowd never purges a running instance; terminate it first",
    },
    "connection-string": { type: "string", short: "c", ignored: true, reason: "workflowd keeps its own database; it purges through its API" },
    "table-name": { type: "string", short: "t", ignored: true, reason: "as --connection-string" },
    "scheduler-namespace": { type: "string", ignored: true, reason: "there is no scheduler service" },
  },
  run: async (context) => {
    const olderThan = context.string("all-older-than");
    const all = context.flag("all");
    const statuses = context.strings("status");
    const prefix = context.string("prefix");
    const ids = context.positionals;
    const narrowed = statuses.length > 0 || prefix !== undefined;
    if (ids.length > 0 && (olderThan !== undefined || all || narrowed)) {
      throw new UsageError("give instance IDs or --all/--all-older-than [--status] [--prefix], not both", "purge");
    }
    if (ids.length === 0 && olderThan === undefined && !all) {
      throw new UsageError(narrowed
        ? `${statuses.length > 0 ? "--status" : "--prefix"} narrows a bulk purge: add --all-older-than <age> or --all`
        : "give the instance IDs to purge, or --all-older-than <age>, or --all", "purge");
    }
    if (olderThan !== undefined && all) throw new UsageError("--all and --all-older-than exclude each other", "purge");
    if (ids.length > 0) return purgeByIds(context, ids);
    return purgeMatching(context, {
      statuses: statuses.length > 0 ? parseStatuses(statuses, "--status", purgeableStatuses) : [...purgeableStatuses],
      ...(olderThan !== undefined ? { createdTo: parseAgeOrTime(olderThan, "--all-older-than", context.now) } : {}),
      ...(prefix !== undefined ? { instanceIdPrefix: prefix } : {}),
    });
  },
};

async function purgeByIds(context: CommandContext, ids: readonly string[]): Promise<void> {
  if (context.output === "json") {
    throw new UsageError("-o json applies to bulk purges; purging by ID answers with an empty body", "purge");
  }
  for (const id of ids) {
    await context.api.command(id, "purge");
    context.print(`Purged workflow instance '${id}'.\n`);
  }
}

async function purgeMatching(context: CommandContext, filter: InstanceFilter): Promise<void> {
  let deleted = 0;
  const bodies: string[] = [];
  for (;;) {
    let result;
    try {
      result = await context.api.purgeMatching(filter);
    } catch (error) {
      if (deleted > 0) context.note(`${deleted} instances were purged before this error.`);
      throw error;
    }
    bodies.push(result.text);
    deleted += result.value.deletedInstanceCount;
    if (result.value.isComplete) break;
    // A server that keeps saying "not complete" without deleting anything would loop forever.
    if (result.value.deletedInstanceCount === 0) {
      throw new ServerError(200, undefined, `the server reported an incomplete purge that deleted nothing; stopped after ${deleted} instances`);
    }
  }
  if (context.output === "json") {
    context.print(bodies.length === 1 ? withNewline(bodies[0]!) : JSON.stringify({ deletedInstanceCount: deleted, isComplete: true }) + "\n");
  } else {
    context.print(`Purged ${deleted} workflow instance${deleted === 1 ? "" : "s"}.\n`);
  }
}
