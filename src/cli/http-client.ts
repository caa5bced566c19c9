/**
 * The one place the CLI talks HTTP: which server (flag, then environment, then the default),
 * the API token header, and turning a failed exchange into a ServerError (the server said
 * no) or an UnreachableError (nobody answered).
 */
import { ServerError, UnreachableError, UsageError } from "./errors.js";

export interface Target {
  /** e.g. `http://127.0.0.1:3500`, without a trailing slash. */
  baseUrl: string;
  /** Where the address came from, for the "cannot reach" message. */
  source: string;
}

export const defaultHttpPort = "3500";

/**
 * `--address` wins, then `DAPR_HTTP_ENDPOINT` (what the Dapr SDKs read), then
 * `http://127.0.0.1:$DAPR_HTTP_PORT`, then port 3500. An address may be a URL, `host:port`
 * or a bare port.
 */
export function resolveTarget(address: string | undefined, env: NodeJS.ProcessEnv): Target {
  if (address !== undefined) return { baseUrl: normalizeAddress(address, "--address"), source: "--address" };
  const endpoint = env.DAPR_HTTP_ENDPOINT;
  if (endpoint) return { baseUrl: normalizeAddress(endpoint, "DAPR_HTTP_ENDPOINT"), source: "DAPR_HTTP_ENDPOINT" };
  const port = env.DAPR_HTTP_PORT;
  if (port) {
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new UsageError(`DAPR_HTTP_PORT: '${port}' is not a port number`);
    return { baseUrl: `http://127.0.0.1:${port}`, source: "DAPR_HTTP_PORT" };
  }
  return { baseUrl: `http://127.0.0.1:${defaultHttpPort}`, source: "the default port" };
}

function normalizeAddress(text: string, name: string): string {
  const withScheme = /^\d{1,5}$/.test(text) ? `http://127.0.0.1:${text}` : /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`${name}: '${text}' is not an address (examples: http://localhost:3500, localhost:3500, 3500)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${name}: '${text}' must be an http:// or https:// address`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export interface HttpResponse {
  status: number;
  /** The body exactly as received. */
  text: string;
}

export interface RequestOptions {
  query?: URLSearchParams;
  /** Sent as given; `application/json`, since the CLI only sends JSON. */
  body?: string;
}

/** Requests end after this long: a hung server is reported like an absent one. */
const requestTimeoutMs = 60_000;

export class HttpClient {
  constructor(
    readonly target: Target,
    private readonly apiToken: string | undefined,
  ) {}

  /** Any status below 400 is returned; 4xx and 5xx throw ServerError. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const query = options.query?.toString();
    const url = `${this.target.baseUrl}${path}${query ? `?${query}` : ""}`;
    const headers: Record<string, string> = {};
    if (this.apiToken) headers["dapr-api-token"] = this.apiToken;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: options.body } : {}),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new UnreachableError(this.unreachableMessage(error));
    }
    if (response.status >= 400) throw toServerError(response.status, text);
    return { status: response.status, text };
  }

  private unreachableMessage(error: unknown): string {
    const { baseUrl, source } = this.target;
    const reason = error instanceof Error && error.name === "TimeoutError"
      ? `no answer within ${requestTimeoutMs / 1000} s`
      : describeFetchFailure(error);
    const how = source === "--address"
      ? "check --address"
      : `the address came from ${source}; set another with --address, DAPR_HTTP_ENDPOINT or DAPR_HTTP_PORT`;
    return `cannot reach workflowd at ${baseUrl}: ${reason} (${how})`;
  }
}

/** fetch hides the socket error in `cause` ("fetch failed" alone says nothing). */
function describeFetchFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code) return cause.code === "ECONNREFUSED" ? "connection refused" : cause.message ?? cause.code;
  return error instanceof Error ? error.message : String(error);
}

/** Dapr's `{"errorCode","message"}`, or the start of whatever else came (daprd's 401 is plain text). */
function toServerError(status: number, text: string): ServerError {
  try {
    const body = JSON.parse(text) as { errorCode?: unknown; message?: unknown };
    if (typeof body.errorCode === "string" && typeof body.message === "string") {
      return new ServerError(status, body.errorCode, body.message);
    }
  } catch {
    // not JSON: fall through
  }
  const snippet = text.trim().replace(/\s+/g, " ").slice(0, 200);
  return new ServerError(status, undefined, snippet || "(empty body)");
}
