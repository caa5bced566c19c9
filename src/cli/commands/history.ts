/**
 * `history <id>`: every event of an instance's history, one row each, following the API's
 * pages to the end.
 */
import type { CommandSpec } from "../command.js";
import { UsageError } from "../errors.js";
import { table, withNewline } from "../format.js";
import { historyRow } from "../history-rows.js";
import { parseCount } from "../values.js";
import type { HistoryEventJson, WorkflowsApi } from "../workflows-api.js";

/** The API's largest history page. */
const pageSizeMax = 10_000;

/** Table cells for payloads are cut here; -o wide shows them whole. */
const detailsMax = 80;

export const historyCommand: CommandSpec = {
  name: "history",
  summary: "Show an instance's history events (EVENT ID is what rerun --event takes)",
  usage: ["history <instance-id> [-o table|wide|json]"],
  description: [
    "TYPE is the event's type as the API names it (TaskScheduled, TimerCreated, EventRaised, ...); " +
      "NAME the activity, timer, event or child workflow; DETAILS the fields worth reading " +
      `(cut at ${detailsMax} characters; -o wide shows them whole).`,
    "-o json prints the API's body as received when the history fit one page, else one object " +
      "{\"instanceID\",\"events\":[...every page's...]}.",
  ],
  positionals: { min: 1, max: 1 },
  options: {
    "page-size": { type: "string", value: "<n>", help: `events per request, 1 to ${pageSizeMax} (default: the server's, 1000)` },
  },
  outputs: ["table", "wide", "json"],
  run: async (context) => {
    const instanceId = context.positionals[0]!;
    const pageSizeText = context.string("page-size");
    const pageSize = pageSizeText === undefined ? undefined : parseCount(pageSizeText, "--page-size", 1);
    if (pageSize !== undefined && pageSize > pageSizeMax) throw new UsageError(`--page-size: at most ${pageSizeMax}`, "history");
    const { events, bodies } = await fullHistory(context.api, instanceId, pageSize);
    if (context.output === "json") {
      context.print(bodies.length === 1 ? withNewline(bodies[0]!) : JSON.stringify({ instanceID: instanceId, events }) + "\n");
      return;
    }
    const rows = events.map((event) => historyRow(event, context.output === "wide" ? undefined : detailsMax));
    context.print(table(["EVENT ID", "TIME", "TYPE", "NAME", "DETAILS"], rows.map((r) => [r.eventId, r.time, r.type, r.name, r.details])));
  },
};

/** Every page of an instance's history: the events, and each page's body as received. */
export async function fullHistory(api: WorkflowsApi, instanceId: string, pageSize?: number): Promise<{ events: HistoryEventJson[]; bodies: string[] }> {
  const events: HistoryEventJson[] = [];
  const bodies: string[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await api.history(instanceId, { pageSize, continuationToken });
    bodies.push(page.text);
    events.push(...page.value.events);
    continuationToken = page.value.continuationToken || undefined;
  } while (continuationToken);
  return { events, bodies };
}
