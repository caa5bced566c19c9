/**
 * The console's only way to the server: workflowd's public HTTP API, with the API token (when
 * the server asks for one) from this tab's session storage. An error answer is thrown as an
 * ApiError carrying the API's own errorCode and message, so the page shows them as they came.
 */

const tokenKey = "workflowd.apiToken";
const base = "/v1.0/workflows/dapr";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** The server wants a token and has none, or a wrong one: the console asks for it. */
export class TokenNeeded extends Error {}

const tokenListeners = new Set<() => void>();
/** Set by a 401 until a token is saved: a listener that subscribes late still hears it. */
let tokenWanted = false;

/** Called whenever the server answers 401 (at once if it already has); returns the unsubscribe function. */
export function onTokenNeeded(listener: () => void): () => void {
  tokenListeners.add(listener);
  if (tokenWanted) listener();
  return () => tokenListeners.delete(listener);
}

export function savedToken(): string | undefined {
  return sessionStorage.getItem(tokenKey) ?? undefined;
}

export function saveToken(token: string): void {
  sessionStorage.setItem(tokenKey, token);
  tokenWanted = false;
}

export function forgetToken(): void {
  sessionStorage.removeItem(tokenKey);
}

export interface Listed {
  instanceID: string;
  workflowName: string;
  createdAt: string;
  lastUpdatedAt: string;
  runtimeStatus: string;
  parentInstanceID?: string;
}

export interface InstanceState extends Omit<Listed, "parentInstanceID"> {
  properties?: Record<string, string>;
}

export type HistoryEvent = { eventId: number; timestamp: string } & Record<string, any>;

export interface ListFilter {
  statuses: string[];
  name?: string | undefined;
  createdFrom?: string | undefined;
  createdTo?: string | undefined;
  instanceIDPrefix?: string | undefined;
  parentInstanceID?: string | undefined;
}

export const statuses = ["RUNNING", "PENDING", "SUSPENDED", "COMPLETED", "FAILED", "TERMINATED", "STALLED"] as const;
export const finishedStatuses = ["COMPLETED", "FAILED", "TERMINATED"];

async function call<T>(method: string, path: string, body?: string): Promise<T> {
  const headers: Record<string, string> = {};
  const token = savedToken();
  if (token) headers["dapr-api-token"] = token;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  if (response.status === 401) {
    tokenWanted = true;
    for (const listener of tokenListeners) listener();
    throw new TokenNeeded("the server needs its API token");
  }
  const text = await response.text();
  if (!response.ok) {
    let parsed: { errorCode?: string; message?: string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // Not the API's error shape (a proxy in between): show the status and the text.
    }
    throw new ApiError(response.status, parsed.errorCode ?? `HTTP ${response.status}`, parsed.message ?? text);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

function filterQuery(filter: ListFilter): URLSearchParams {
  const query = new URLSearchParams();
  for (const status of filter.statuses) query.append("status", status);
  for (const key of ["name", "createdFrom", "createdTo", "instanceIDPrefix", "parentInstanceID"] as const) {
    const value = filter[key];
    if (value) query.set(key, value);
  }
  return query;
}

const seg = (id: string) => encodeURIComponent(id);

export const api = {
  list(filter: ListFilter, pageSize: number, token?: string): Promise<{ instances: Listed[]; continuationToken?: string }> {
    const query = filterQuery(filter);
    query.set("pageSize", String(pageSize));
    if (token) query.set("continuationToken", token);
    return call("GET", `${base}?${query}`);
  },
  counts(filter: ListFilter): Promise<{ counts: Record<string, number> }> {
    const query = filterQuery({ ...filter, statuses: [] });
    query.set("countOnly", "true");
    return call("GET", `${base}?${query}`);
  },
  purgeMatching(filter: ListFilter): Promise<{ deletedInstanceCount: number; isComplete: boolean }> {
    const finished = filter.statuses.filter((s) => finishedStatuses.includes(s));
    return call("DELETE", `${base}?${filterQuery({ ...filter, statuses: finished.length > 0 ? finished : finishedStatuses })}`);
  },
  get(id: string): Promise<InstanceState> {
    return call("GET", `${base}/${seg(id)}`);
  },
  /** The whole history, page by page. */
  async history(id: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ pageSize: "10000" });
      if (token) query.set("continuationToken", token);
      const page = await call<{ events: HistoryEvent[]; continuationToken?: string }>("GET", `${base}/${seg(id)}/history?${query}`);
      events.push(...page.events);
      token = page.continuationToken;
    } while (token);
    return events;
  },
  children(id: string): Promise<{ instances: Listed[] }> {
    return call("GET", `${base}?${new URLSearchParams({ parentInstanceID: id, pageSize: "1000" })}`);
  },
  terminate: (id: string) => call<void>("POST", `${base}/${seg(id)}/terminate`),
  suspend: (id: string) => call<void>("POST", `${base}/${seg(id)}/pause`),
  resume: (id: string) => call<void>("POST", `${base}/${seg(id)}/resume`),
  purge: (id: string) => call<void>("POST", `${base}/${seg(id)}/purge`),
  raise: (id: string, name: string, payload: string) =>
    call<void>("POST", `${base}/${seg(id)}/raiseEvent/${encodeURIComponent(name)}`, payload),
  rerun(id: string, eventId: number, input: string | undefined): Promise<{ instanceID: string }> {
    return call("POST", `${base}/${seg(id)}/rerun?fromEventID=${eventId}`, input || undefined);
  },
  rewind: (id: string, reason: string) => call<void>("POST", `${base}/${seg(id)}/rewind`, JSON.stringify({ reason })),
};
