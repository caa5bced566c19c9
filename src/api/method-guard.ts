/**
 * 405 for a known path with the wrong method. Fastify answers every unmatched method with
 * 404; workflowd has no service-invocation fallback (daprd's), so a wrong verb on a real
 * route says so, with an Allow header.
 */
import type { FastifyInstance, HTTPMethods } from "fastify";
import { apiErrors } from "./errors.js";

const methods: HTTPMethods[] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

export function allowOnly(app: FastifyInstance<any, any, any, any, any>, url: string, allowed: readonly HTTPMethods[]): void {
  const others = methods.filter((m) => !allowed.includes(m));
  const allow = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : [])].join(", ");
  app.route({
    method: others,
    url,
    // Left out of the OpenAPI document: the real route lists the 405 among its responses.
    schema: { hide: true },
    handler: async (request, reply) => {
      void reply.header("allow", allow);
      throw apiErrors.methodNotAllowed(request.method, allowed);
    },
  });
}
