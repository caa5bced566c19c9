/**
 * The OpenAPI document (openapi/workflowd.yaml): generated from the route schemas, committed,
 * and served at GET /openapi.json. This file fails when the committed document drifts from
 * what the routes generate, when it stops being valid OpenAPI 3.1 (checked by a real
 * validator), when a route, alias or status code is missing from it, or when the server
 * answers something the document does not list.
 */
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import type { FastifyInstance, HTTPMethods } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { documentPath, renderOpenApiYaml } from "../../scripts/generate-openapi.mjs";
import { buildApp } from "../../src/app.js";
import { errorCatalogue } from "../../src/api/errors.js";
import { versionPrefixes } from "../../src/api/http-server.js";

interface Operation {
  operationId?: string;
  summary?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { required?: boolean; content: Record<string, unknown> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { description: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown> }> };
}

const committedText = readFileSync(documentPath, "utf8");
const committed = parse(committedText) as OpenApiDocument;
const httpMethods = ["get", "post", "put", "delete", "patch"] as const;

/** Every (path, method, operation) of a document. */
function operations(document: OpenApiDocument): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path, method, operation })));
}

/** A concrete URL for a documented path: `{component}` → `dapr`, and so on. */
function concrete(path: string): string {
  const values: Record<string, string> = { component: "dapr", name: "someWorkflow", instanceId: "no-such-instance", eventName: "someEvent" };
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`no sample value for path parameter {${name}}`);
    return values[name]!;
  });
}

/** Every `$ref` string anywhere in a value. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, inner]) => (key === "$ref" && typeof inner === "string" ? [inner] : refsIn(inner)));
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe("openapi/workflowd.yaml", () => {
  it("is exactly what the route schemas generate (run `npm run openapi` after changing a route)", async () => {
    expect(await renderOpenApiYaml()).toBe(committedText);
  });

  it("is a valid OpenAPI 3.1 document whose references all resolve", async () => {
    const validator = new Validator();
    // A copy: resolveRefs() replaces the references of the document it was given in place.
    const result = await validator.validate(structuredClone(committed) as unknown as Record<string, unknown>);
    expect(result.errors, "validation errors").toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(() => validator.resolveRefs()).not.toThrow();
    for (const ref of refsIn(committed)) {
      expect(ref, "only local component references").toMatch(/^#\/components\/schemas\//);
      expect(Object.keys(committed.components.schemas), ref).toContain(ref.split("/").at(-1));
    }
  });

  it("is rejected by the same validator once broken, so the check above means something", async () => {
    const broken = structuredClone(committed) as unknown as Record<string, any>;
    broken.paths["/v1.0/healthz"].get.responses = "none";
    delete broken.info;
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });

  it("documents the workflow and operations routes under every version prefix, with the same responses and unique operation IDs", () => {
    const canonical = operations(committed).filter(({ path }) => path.startsWith("/v1.0/workflows/"));
    expect(canonical.map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort()).toEqual([
      "DELETE /v1.0/workflows/{component}",
      "GET /v1.0/workflows/{component}",
      "GET /v1.0/workflows/{component}/{instanceId}",
      "GET /v1.0/workflows/{component}/{instanceId}/history",
      "POST /v1.0/workflows/{component}/{instanceId}/pause",
      "POST /v1.0/workflows/{component}/{instanceId}/purge",
      "POST /v1.0/workflows/{component}/{instanceId}/raiseEvent/{eventName}",
      "POST /v1.0/workflows/{component}/{instanceId}/rerun",
      "POST /v1.0/workflows/{component}/{instanceId}/resume",
      "POST /v1.0/workflows/{component}/{instanceId}/rewind",
      "POST /v1.0/workflows/{component}/{instanceId}/terminate",
      "POST /v1.0/workflows/{component}/{name}/start",
    ]);
    for (const prefix of versionPrefixes) {
      for (const { path, method, operation } of canonical) {
        const alias = committed.paths[path.replace(/^\/v1\.0/, prefix)]?.[method];
        expect(alias, `${method} ${prefix}${path.slice(5)}`).toBeDefined();
        expect(Object.keys(alias!.responses)).toEqual(Object.keys(operation.responses));
      }
    }
    const ids = operations(committed).map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === "string")).toBe(true);
    expect(new Set(ids).size, "operation IDs are unique").toBe(ids.length);
    expect(Object.keys(committed.paths)).toEqual(expect.arrayContaining(["/v1.0/healthz", "/v1.0/healthz/outbound", "/v1.0/metadata", "/openapi.json"]));
  });

  it("describes every operation and every response itself, and every error in Dapr's shape", () => {
    for (const { path, method, operation } of operations(committed)) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(operation.summary, where).toBeTruthy();
      for (const [status, response] of Object.entries(operation.responses)) {
        // "Default Response" is what @fastify/swagger writes for a route without a schema.
        expect(response.description, `${where} ${status}`).not.toBe("Default Response");
        if (Number(status) >= 400 && status !== "401") {
          expect(response.content?.["application/json"]?.schema, `${where} ${status}`).toEqual({ $ref: "#/components/schemas/ErrorBody" });
        }
      }
    }
    const errorBody = committed.components.schemas.ErrorBody!;
    expect(errorBody.required).toEqual(["errorCode", "message"]);
    expect(Object.keys(errorBody.properties ?? {})).toEqual(["errorCode", "message"]);
  });

  it("names every error code of the catalogue and lists every status the API uses", () => {
    for (const code of Object.keys(errorCatalogue)) expect(committedText, code).toContain(`\`${code}\``);
    const statuses = new Set(operations(committed).flatMap(({ operation }) => Object.keys(operation.responses)));
    // 429: ERR_START_WORKFLOW's backpressure answer (its catalogue status is the 409).
    const used = new Set([...Object.values(errorCatalogue).map((e) => String(e.status)), "200", "202", "204", "401", "429"]);
    expect([...statuses].sort()).toEqual([...used].sort());
  });

  it("marks the raw request bodies of start, raiseEvent and rerun as optional, and only those", () => {
    const withBody = operations(committed).filter(({ operation }) => operation.requestBody);
    expect(withBody.map(({ operation }) => operation.operationId).sort()).toEqual(
      ["raiseEventWorkflow", "raiseEventWorkflow_alpha1", "raiseEventWorkflow_beta1", "rerunWorkflow", "rerunWorkflow_alpha1", "rerunWorkflow_beta1",
        "startWorkflow", "startWorkflow_alpha1", "startWorkflow_beta1"],
    );
    for (const { operation } of withBody) expect(operation.requestBody?.required).toBe(false);
  });
});

describe("the document against the running server", () => {
  it("serves GET /openapi.json: the committed document", async () => {
    app = await buildApp();
    const response = await app.inject({ method: "GET", url: "/openapi.json" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(response.body)).toEqual(committed);
  });

  it("answers every documented operation with a documented status, and every other method with 405", async () => {
    app = await buildApp();
    for (const [path, item] of Object.entries(committed.paths)) {
      for (const method of httpMethods) {
        const url = concrete(path);
        const response = await app.inject({ method: method.toUpperCase() as HTTPMethods, url });
        const operation = item[method];
        if (!operation) {
          expect(response.statusCode, `${method.toUpperCase()} ${url} is not documented`).toBe(405);
          continue;
        }
        expect(Object.keys(operation.responses), `${method.toUpperCase()} ${url} answered ${response.statusCode}: ${response.body}`)
          .toContain(String(response.statusCode));
        if (response.statusCode >= 400) {
          expect(Object.keys(JSON.parse(response.body) as object), `${url} error body`).toEqual(["errorCode", "message"]);
        }
      }
    }
  });

  it("with DAPR_API_TOKEN: 401 exactly where the document asks for the token (everywhere but the health checks)", async () => {
    app = await buildApp({ apiToken: "s3cret" });
    for (const { path, method, operation } of operations(committed)) {
      const open = Array.isArray(operation.security) && operation.security.length === 0;
      const url = concrete(path);
      const response = await app.inject({ method: method.toUpperCase() as HTTPMethods, url });
      const where = `${method.toUpperCase()} ${url}`;
      if (open) {
        expect(response.statusCode, where).not.toBe(401);
        expect(Object.keys(operation.responses), where).not.toContain("401");
      } else {
        expect(response.statusCode, where).toBe(401);
        expect(Object.keys(operation.responses), where).toContain("401");
        expect(response.headers["content-type"], where).toMatch(/^text\/plain/);
      }
    }
    const withToken = await app.inject({ method: "GET", url: "/openapi.json", headers: { "dapr-api-token": "s3cret" } });
    expect(withToken.statusCode).toBe(200);
    expect(JSON.parse(withToken.body)).toEqual(committed);
  });
});
