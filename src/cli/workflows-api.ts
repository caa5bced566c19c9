/**
 * The Dapr Workflow HTTP API as the CLI uses it: one method per route, returning the body
 * text as received (so `-o json` can print it untouched) and the parsed value. URL shapes
 * live here only.
 */
import { ServerError } from "./errors.js";
import type { HttpClient } from "./http-client.js";

/** The component segment of every URL; workflowd accepts any, `dapr` is the convention. */
const base = "/v1.0/workflows/dapr";

export interface Body<T> {
  text: string;
  value: T;
}

export interface InstanceState {
  instanceID: string;
  workflowName?: string;
  createdAt?: string;
  lastUpdatedAt?: string;
  runtimeStatus?: string;
  parentInstanceID?: string;
  properties?: Record<string, string>;
}

export interface ListPage {
  instances: InstanceState[];
  continuationToken?: string;
}

export interface HistoryEventJson {
  eventId?: number;
  timestamp?: string;
  router?: unknown;
  [eventType: string]: unknown;
}

export interface HistoryPage {
  instanceID?: string;
  events: HistoryEventJson[];
  continuationToken?: string;
}

export interface PurgeResult {
  deletedInstanceCount: number;
  isComplete: boolean;
}

/** The filters list, count and bulk purge share (query parameter names as the API has them). */
export interface InstanceFilter {
  statuses?: string[];
  name?: string;
  createdFrom?: Date;
  createdTo?: Date;
  instanceIdPrefix?: string;
  parentInstanceId?: string;
}

const id = encodeURIComponent;

export class WorkflowsApi {
  constructor(private readonly http: HttpClient) {}

  async start(name: string, instanceId: string | undefined, input: string | undefined): Promise<Body<{ instanceID: string }>> {
    const query = new URLSearchParams(instanceId === undefined ? {} : { instanceID: instanceId });
    return this.json("POST", `${base}/${id(name)}/start`, { query, ...(input === undefined ? {} : { body: input }) });
  }

  async get(instanceId: string): Promise<Body<InstanceState>> {
    return this.json("GET", `${base}/${id(instanceId)}`);
  }

  async list(filter: InstanceFilter, page: { pageSize: number; continuationToken?: string; fetchInputsAndOutputs: boolean }): Promise<Body<ListPage>> {
    const query = filterQuery(filter);
    query.set("pageSize", String(page.pageSize));
    if (page.continuationToken) query.set("continuationToken", page.continuationToken);
    if (page.fetchInputsAndOutputs) query.set("fetchInputsAndOutputs", "true");
    return this.json("GET", base, { query });
  }

  async count(filter: InstanceFilter): Promise<Body<{ counts: Record<string, number> }>> {
    const query = filterQuery(filter);
    query.set("countOnly", "true");
    return this.json("GET", base, { query });
  }

  async history(instanceId: string, page: { pageSize?: number | undefined; continuationToken?: string | undefined }): Promise<Body<HistoryPage>> {
    const query = new URLSearchParams();
    if (page.pageSize !== undefined) query.set("pageSize", String(page.pageSize));
    if (page.continuationToken) query.set("continuationToken", page.continuationToken);
    return this.json("GET", `${base}/${id(instanceId)}/history`, { query });
  }

  async raiseEvent(instanceId: string, eventName: string, data: string | undefined): Promise<void> {
    await this.http.request("POST", `${base}/${id(instanceId)}/raiseEvent/${id(eventName)}`, data === undefined ? {} : { body: data });
  }

  /** terminate, pause (suspend), resume, purge (one instance) and rewind: 202 with no body. */
  async command(instanceId: string, command: "terminate" | "pause" | "resume" | "purge" | "rewind", reason?: string): Promise<void> {
    const body = reason === undefined ? {} : { body: JSON.stringify({ reason }) };
    await this.http.request("POST", `${base}/${id(instanceId)}/${command}`, body);
  }

  async rerun(instanceId: string, fromEventId: number, newInstanceId: string | undefined, input: string | undefined): Promise<Body<{ instanceID: string }>> {
    const query = new URLSearchParams({ fromEventID: String(fromEventId) });
    if (newInstanceId !== undefined) query.set("newInstanceID", newInstanceId);
    return this.json("POST", `${base}/${id(instanceId)}/rerun`, { query, ...(input === undefined ? {} : { body: input }) });
  }

  /** One bulk purge call: the server deletes at most a batch and says whether it is done. */
  async purgeMatching(filter: InstanceFilter): Promise<Body<PurgeResult>> {
    return this.json("DELETE", base, { query: filterQuery(filter) });
  }

  private async json<T>(method: string, path: string, options: { query?: URLSearchParams; body?: string } = {}): Promise<Body<T>> {
    const { status, text } = await this.http.request(method, path, options);
    let value: T;
    try {
      value = JSON.parse(text) as T;
    } catch {
      // Something other than workflowd (or daprd) answered: a proxy page, a different server.
      throw new ServerError(status, undefined, `expected a JSON body from ${method} ${path}, got: ${text.trim().slice(0, 200) || "(empty body)"}`);
    }
    return { text, value };
  }
}

function filterQuery(filter: InstanceFilter): URLSearchParams {
  const query = new URLSearchParams();
  for (const status of filter.statuses ?? []) query.append("status", status);
  if (filter.name !== undefined) query.set("name", filter.name);
  if (filter.createdFrom) query.set("createdFrom", filter.createdFrom.toISOString());
  if (filter.createdTo) query.set("createdTo", filter.createdTo.toISOString());
  if (filter.instanceIdPrefix !== undefined) query.set("instanceIDPrefix", filter.instanceIdPrefix);
  if (filter.parentInstanceId !== undefined) query.set("parentInstanceID", filter.parentInstanceId);
  return query;
}
