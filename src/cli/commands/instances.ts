/**
 * `list` (instances by filter, paged; or counts by status) and `get` (one instance's state).
 */
import type { CommandContext, CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { age, isoTime, keyValues, oneLine, table, truncate, withNewline } from "../format.js";
import { parseAgeOrTime, parseCount, parseStatuses, runtimeStatuses } from "../values.js";
import type { InstanceFilter, InstanceState } from "../workflows-api.js";

/** The API's largest page. */
const pageSizeMax = 1000;
const defaultLimit = 100;

export const listCommand: CommandSpec = {
  name: "list",
  aliases: ["ls"],
  summary: "List workflow instances, newest first, or count them by status",
  usage: ["list [--status S] [--name N] [--older-than AGE] [--limit N] [-o table|wide|json|ids]", "list --count [filters]"],
  description: [
    `Shows the ${defaultLimit} newest matching instances unless --limit says otherwise (--limit 0: all of them); ` +
      "a note on stderr says when more match. The API is paged; list follows its continuation tokens.",
    "AGE and TIME filters take a duration before now (90s, 30m, 1h30m, 24h, 7d) or a time " +
      "(2023-01-02, 2023-01-02T15:04:05Z; no zone means UTC).",
    "-o json prints the API's body as received when one page held the result, else one object " +
      "{\"instances\":[...every page's...]} (with \"continuationToken\" when --limit stopped it early). " +
      "-o wide adds PARENT, CUSTOM STATUS and FAILURE columns; -o ids prints one instance ID a line.",
  ],
  positionals: { min: 0, max: 0 },
  options: {
    status: {
      type: "string",
      short: "s",
      value: "<status>",
      multiple: true,
      aliases: ["filter-status"],
      help: `only these statuses; repeatable or comma-separated, any case: ${runtimeStatuses.join(", ")}`,
    },
    name: { type: "string", short: "w", value: "<name>", aliases: ["filter-name"], help: "only instances of this workflow" },
    "older-than": { type: "string", value: "<age|time>", help: "only instances created before this (createdTo)" },
    "newer-than": {
      type: "string",
      short: "m",
      value: "<age|time>",
      aliases: ["filter-max-age"],
      help: "only instances created after this (createdFrom): started within that age",
    },
    prefix: { type: "string", value: "<text>", help: "only instance IDs starting with this" },
    parent: { type: "string", value: "<id>", help: "only child workflows of this instance" },
    limit: { type: "string", value: "<n>", help: `show at most n instances (default ${defaultLimit}; 0: no limit)` },
    "page-size": { type: "string", value: "<n>", help: `instances per request, 1 to ${pageSizeMax} (default: up to the limit)` },
    count: { type: "boolean", help: "print the number of matching instances per status instead" },
    inputs: {
      type: "boolean",
      help: "ask for inputs, outputs, custom status and failure details (fetchInputsAndOutputs; -o wide implies it)",
    },
  },
  outputs: ["table", "wide", "json", "ids"],
  compat: {
    "connection-string": { type: "string", short: "c", ignored: true, reason: "workflowd keeps its own database; it lists through its API" },
    "table-name": { type: "string", short: "t", ignored: true, reason: "as --connection-string" },
  },
  run: async (context) => {
    const filter = instanceFilter(context);
    if (context.flag("count")) return count(context, filter);
    const limit = parseCount(context.string("limit") ?? String(defaultLimit), "--limit");
    const fetchInputsAndOutputs = context.flag("inputs") || context.output === "wide";
    const pageSizeText = context.string("page-size");
    const pageSizeCap = pageSizeText === undefined ? pageSizeMax : parseCount(pageSizeText, "--page-size", 1);
    if (pageSizeCap > pageSizeMax) throw new UsageError(`--page-size: at most ${pageSizeMax}`, "list");

    const instances: InstanceState[] = [];
    const bodies: string[] = [];
    let continuationToken: string | undefined;
    do {
      const pageSize = limit === 0 ? pageSizeCap : Math.min(pageSizeCap, limit - instances.length);
      const page = await context.api.list(filter, { pageSize, fetchInputsAndOutputs, ...(continuationToken ? { continuationToken } : {}) });
      bodies.push(page.text);
      instances.push(...page.value.instances);
      continuationToken = page.value.continuationToken || undefined;
    } while (continuationToken && (limit === 0 || instances.length < limit));

    if (context.output === "json") {
      context.print(bodies.length === 1 ? withNewline(bodies[0]!) : JSON.stringify({ instances, ...(continuationToken ? { continuationToken } : {}) }) + "\n");
      return;
    }
    if (context.output === "ids") {
      context.print(instances.map((instance) => `${instance.instanceID}\n`).join(""));
    } else if (instances.length === 0) {
      context.note("No workflow instances found.");
    } else {
      context.print(instanceTable(instances, context.output === "wide", context.now));
    }
    if (continuationToken) {
      context.note(`Showing the first ${instances.length}; more instances match (raise --limit, or --limit 0 for all).`);
    }
  },
};

async function count(context: CommandContext, filter: InstanceFilter): Promise<void> {
  if (context.string("limit") !== undefined || context.string("page-size") !== undefined) {
    throw new UsageError("--count counts every match; it takes no --limit or --page-size", "list");
  }
  if (context.output === "wide" || context.output === "ids") throw new UsageError(`--count prints a table or json, not ${context.output}`, "list");
  const { text, value } = await context.api.count(filter);
  if (context.output === "json") return context.print(withNewline(text));
  const counts = Object.entries(value.counts ?? {});
  const order = (status: string) => (runtimeStatuses as readonly string[]).indexOf(status) >>> 0;
  counts.sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b));
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  context.print(table(["STATUS", "COUNT"], [...counts.map(([status, n]) => [status, String(n)]), ["TOTAL", String(total)]]));
}

function instanceFilter(context: CommandContext): InstanceFilter {
  const statuses = context.strings("status");
  const name = context.string("name");
  const olderThan = context.string("older-than");
  const newerThan = context.string("newer-than");
  const prefix = context.string("prefix");
  const parent = context.string("parent");
  return {
    ...(statuses.length ? { statuses: parseStatuses(statuses, "--status") } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(olderThan !== undefined ? { createdTo: parseAgeOrTime(olderThan, "--older-than", context.now) } : {}),
    ...(newerThan !== undefined ? { createdFrom: parseAgeOrTime(newerThan, "--newer-than", context.now) } : {}),
    ...(prefix !== undefined ? { instanceIdPrefix: prefix } : {}),
    ...(parent !== undefined ? { parentInstanceId: parent } : {}),
  };
}

function instanceTable(instances: readonly InstanceState[], wide: boolean, now: Date): string {
  const headers = ["INSTANCE ID", "NAME", "STATUS", "CREATED", "LAST UPDATED", "AGE"];
  const rows = instances.map((instance) => {
    const row = [
      instance.instanceID,
      instance.workflowName ?? "",
      instance.runtimeStatus ?? "",
      isoTime(instance.createdAt, "s"),
      isoTime(instance.lastUpdatedAt, "s"),
      age(instance.createdAt, now),
    ];
    if (!wide) return row;
    const properties = instance.properties ?? {};
    const failure = [properties["dapr.workflow.failure.error_type"], properties["dapr.workflow.failure.error_message"]].filter(Boolean).join(": ");
    return [...row, instance.parentInstanceID ?? "", truncate(properties["dapr.workflow.custom_status"] ?? "", 40), truncate(failure, 80)];
  });
  return table(wide ? [...headers, "PARENT", "CUSTOM STATUS", "FAILURE"] : headers, rows);
}

export const getCommand: CommandSpec = {
  name: "get",
  summary: "Show one workflow instance's state: status, times, input, output, failure",
  usage: ["get <instance-id> [-o table|json]"],
  description: ["-o json prints the API's body as received (GET /v1.0/workflows/dapr/<id>)."],
  positionals: { min: 1, max: 1 },
  options: {},
  outputs: ["table", "json"],
  run: async (context) => {
    const { text, value } = await context.api.get(context.positionals[0]!);
    if (context.output === "json") return context.print(withNewline(text));
    const properties = value.properties ?? {};
    const stackTrace = properties["dapr.workflow.failure.stack_trace"];
    context.print(keyValues([
      ["INSTANCE ID", value.instanceID],
      ["NAME", value.workflowName],
      ["STATUS", value.runtimeStatus],
      ["CREATED", isoTime(value.createdAt)],
      ["LAST UPDATED", isoTime(value.lastUpdatedAt)],
      ["PARENT", value.parentInstanceID],
      ["CUSTOM STATUS", properties["dapr.workflow.custom_status"]],
      ["INPUT", properties["dapr.workflow.input"]],
      ["OUTPUT", properties["dapr.workflow.output"]],
      ["FAILURE TYPE", properties["dapr.workflow.failure.error_type"]],
      ["FAILURE", properties["dapr.workflow.failure.error_message"]],
    ]));
    if (stackTrace) context.print(`STACK TRACE\n${stackTrace.split(/\r?\n/).map((line) => `  ${oneLine(line)}`).join("\n")}\n`);
  },
};
