/**
 * The API token check. When a token is configured, every request must carry it in the
 * `dapr-api-token` header, except the two health routes, and it is checked before routing
 * (so an unknown path without a token is also 401), exactly as daprd does. The web console's
 * static shell (/ui/) is served without it too: it holds no data, and asks the user for the
 * token that its own API calls then carry.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { tokenMatcher } from "../token.js";

const exempt = new Set(["v1.0/healthz", "v1.0/healthz/outbound"]);

export function apiTokenHook(token: string) {
  const matches = tokenMatcher(token);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const path = (request.url.split("?")[0] ?? "").replace(/^\/+|\/+$/g, "");
    if (request.method === "GET" && exempt.has(path)) return;
    if ((request.method === "GET" || request.method === "HEAD") && (path === "ui" || path.startsWith("ui/"))) return;
    if (matches(request.headers["dapr-api-token"])) return;
    // daprd answers with Go's http.Error: plain text, not the JSON error shape.
    await reply
      .code(401)
      .header("content-type", "text/plain; charset=utf-8")
      .header("x-content-type-options", "nosniff")
      .send("invalid api token\n");
  };
}
