/**
 * Fuzzing the HTTP API with fast-check, in-process (createWorkflowd + inject: the real
 * routes, hooks, error handler and store):
 *
 * - Random requests: methods, paths under real and bogus prefixes, IDs and event names
 *   (Unicode, very long, traversal-like `..%2F`, malformed percent-encoding, SQL-looking),
 *   query strings, bodies and headers. Never a 5xx, never a crash (the server still answers
 *   healthz afterwards and the database is sound), every 4xx in Dapr's `{errorCode,
 *   message}` shape with a catalogued code and its status, except the documented 401
 *   plain-text answer for a missing or wrong API token.
 * - Model-based (fc.commands): random sequences of start / raiseEvent / pause / resume /
 *   terminate / purge / get on a few IDs, each checked against a small model of statuses,
 *   outputs and HTTP answers.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkflowd, type Workflowd } from "../../src/app.js";
import { errorCatalogue } from "../../src/api/errors.js";
// @ts-expect-error -- a plain .mjs module (no declarations)
import registerTorture from "../fixtures/torture-workflows.mjs";
import { eventually } from "./helpers.js";

const token = "fuzz-token-\u00e9-42";
let open: Workflowd;
let guarded: Workflowd;

beforeAll(async () => {
  open = await createWorkflowd({ workflows: registerTorture, bodyBytesMax: 64 * 1024 });
  guarded = await createWorkflowd({ workflows: registerTorture, bodyBytesMax: 64 * 1024, apiToken: token });
});
afterAll(async () => {
  await open?.app.close();
  await guarded?.app.close();
});

// -- arbitraries ---------------------------------------------------------------------------

const nasty = [
  "..", ".", "..%2F", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f", "%2F", "%00", "a%00b", "%ZZ", "%", "%E0%A4%A", "%C0%AF",
  "%252e%252e%252f", "..%5C..%5C", "%0d%0aSet-Cookie:%20x=1", "%3Cscript%3E", "~", "%20", "+", "%2B",
  encodeURIComponent("'; DROP TABLE instances; --"), encodeURIComponent("\" OR 1=1 --"),
  encodeURIComponent("x' UNION SELECT event FROM history --"), encodeURIComponent("Robert'); DELETE FROM inbox;--"),
  encodeURIComponent("$(rm -rf /)"), encodeURIComponent("{{7*7}}"), encodeURIComponent("\u202e\u0000\ufeff"),
];

/** A path segment, already as it goes on the wire. */
const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,24}$/) },
  { weight: 2, arbitrary: fc.constantFrom(...nasty) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 30 }).map((s) => encodeURI(s).replaceAll("?", "%3F").replaceAll("#", "%23")) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 4000 }).map((n) => "x".repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 10, max: 200 }).map((n) => encodeURIComponent("\u00e9\ud83d\ude00".repeat(n))) },
  { weight: 1, arbitrary: fc.constantFrom("dapr", "eventGate", "bag", "fz-1", "fz-2", "notAWorkflow") },
);

const prefix = fc.constantFrom("/v1.0", "/v1.0-beta1", "/v1.0-alpha1", "/v1.0-beta2", "/v2.0", "", "/V1.0", "//v1.0", "/v1.0/");
const action = fc.oneof(
  fc.constantFrom("", "/start", "/terminate", "/pause", "/resume", "/purge", "/raiseEvent", "/", "/start/", "/unknown"),
  segment.map((name) => `/raiseEvent/${name}`),
  fc.tuple(segment, segment).map(([a, b]) => `/${a}/${b}`),
);
const query = fc.oneof(
  fc.constant(""),
  segment.map((id) => `?instanceID=${id}`),
  fc.tuple(segment, segment).map(([k, v]) => `?${k}=${v}&instanceID=${v}`),
  fc.constantFrom("?", "?instanceID=", "?instanceID", "?instanceID=a&instanceID=b", "?appID=x", "?%ZZ=1"),
);
/** Mostly-valid requests, so the fuzzing also reaches the handlers and the engine. */
const plausible = fc.tuple(
  fc.constantFrom("/v1.0", "/v1.0-beta1", "/v1.0-alpha1"),
  fc.constantFrom("eventGate", "bag", "notAWorkflow"),
  fc.oneof(fc.constantFrom("fz-1", "fz-2", "fz-3"), segment),
  fc.constantFrom("/start?instanceID=", "/terminate", "/pause", "/resume", "/purge", "/raiseEvent/done", "/raiseEvent/item", "", "/start"),
).map(([p, name, id, a]) => (a.startsWith("/start") ? `${p}/workflows/dapr/${name}${a}${a.endsWith("=") ? id : ""}` : `${p}/workflows/dapr/${id}${a}`));

const path = fc.oneof(
  { weight: 5, arbitrary: plausible },
  { weight: 6, arbitrary: fc.tuple(prefix, segment, segment, action, query).map(([p, c, n, a, q]) => `${p}/workflows/${c}/${n}${a}${q}`) },
  { weight: 1, arbitrary: fc.tuple(prefix, fc.constantFrom("/healthz", "/healthz/outbound", "/metadata", "/healthz/", "/metadata/x", "/workflows", "/workflows/dapr")).map(([p, r]) => `${p}${r}`) },
  { weight: 1, arbitrary: fc.array(segment, { minLength: 0, maxLength: 6 }).map((parts) => `/${parts.join("/")}`) },
  { weight: 1, arbitrary: fc.constantFrom("/openapi.json", "/", "*", "/v1.0/workflows/dapr/fz-1/raiseEvent/a/b/c") },
);

const method = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("GET", "POST") },
  { weight: 1, arbitrary: fc.constantFrom("PUT", "DELETE", "PATCH", "HEAD", "OPTIONS") },
);

const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.json() },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom("{", "[", "null", "{}", '{"a":1}', "\u0000", '"\\ud800"', "[]", "1e999") },
  { weight: 1, arbitrary: fc.integer({ min: 60 * 1024, max: 80 * 1024 }).map((n) => "y".repeat(n)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
);

const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const headers = fc.record({
  "content-type": fc.option(fc.oneof(fc.constantFrom("application/json", "text/plain", "application/octet-stream", "application/json; charset=utf-16", "multipart/form-data; boundary=x", ";;;", "*/*"), headerValue), { nil: undefined }),
  "dapr-api-token": fc.option(fc.oneof(
    { weight: 6, arbitrary: fc.constant(token) },
    { weight: 1, arbitrary: fc.constantFrom("", token.toUpperCase(), `${token} `, token.slice(0, -1)) },
    { weight: 1, arbitrary: headerValue },
  ), { nil: undefined, freq: 3 }),
  accept: fc.option(fc.constantFrom("application/json", "text/html", "*/*", "application/xml"), { nil: undefined }),
  "x-fuzz": fc.option(headerValue, { nil: undefined }),
  "content-encoding": fc.option(fc.constantFrom("gzip", "br", "identity", "x-nonsense"), { nil: undefined }),
  "transfer-encoding": fc.option(fc.constantFrom("chunked"), { nil: undefined }),
});

const request = fc.record({ method, path, body, headers, guarded: fc.boolean() });

// -- checks --------------------------------------------------------------------------------

const codes = new Set(Object.keys(errorCatalogue));
/** Codes with a second status besides the catalogue's (409 / 500). */
const alsoFiveHundred = new Set(["ERR_START_WORKFLOW", "ERR_PURGE_WORKFLOW"]);

/**
 * What is wrong with an answer. A status that the catalogue does not give its errorCode goes
 * to `mismatches` instead (collected over the whole run, asserted at the end), so one such
 * finding does not stop the fuzzing from finding others.
 */
function problemsWith(
  res: { statusCode: number; body: string; headers: Record<string, unknown> },
  method: string,
  guardedApp: boolean,
  mismatches: Map<string, string>,
): string[] {
  const problems: string[] = [];
  const status = res.statusCode;
  if (status >= 500) problems.push(`answered ${status}: ${res.body.slice(0, 300)}`);
  if (status < 400 || method === "HEAD") return problems;
  const type = String(res.headers["content-type"] ?? "");
  if (status === 401) {
    if (!guardedApp) problems.push("401 without a configured token");
    if (res.body !== "invalid api token\n" || !type.startsWith("text/plain")) problems.push(`401 answered ${type} ${JSON.stringify(res.body)}`);
    return problems;
  }
  if (!type.startsWith("application/json")) problems.push(`${status} with content-type '${type}'`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.body);
  } catch {
    return [...problems, `${status} with a body that is not JSON: ${res.body.slice(0, 200)}`];
  }
  const error = parsed as { errorCode?: unknown; message?: unknown };
  if (typeof error !== "object" || error === null || Object.keys(error).join() !== "errorCode,message") {
    return [...problems, `${status} body is not {errorCode, message}: ${res.body.slice(0, 200)}`];
  }
  if (typeof error.errorCode !== "string" || !codes.has(error.errorCode)) problems.push(`unknown errorCode ${String(error.errorCode)}`);
  else {
    const expected = errorCatalogue[error.errorCode as keyof typeof errorCatalogue].status;
    if (status !== expected && !(alsoFiveHundred.has(error.errorCode) && status === 500)) {
      mismatches.set(`${error.errorCode} answered with ${status} (docs/errors.md: ${expected})`, `${String(error.message).slice(0, 120)}`);
    }
  }
  if (typeof error.message !== "string" || error.message.length === 0) problems.push("empty message");
  else if (/\n\s+at |\.ts:\d+|\.js:\d+/.test(error.message)) problems.push(`message with a stack trace: ${error.message.slice(0, 200)}`);
  return problems;
}

describe("fuzzing the HTTP API", () => {
  it("random methods, paths, IDs, bodies and headers: never a 5xx, always Dapr's error shape", async () => {
    let runs = 0;
    const statuses = new Map<number, number>();
    const mismatches = new Map<string, string>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        runs++;
        const app = (r.guarded ? guarded : open).app;
        const headersSent = Object.fromEntries(Object.entries(r.headers).filter(([, v]) => v !== undefined)) as Record<string, string>;
        const res = await app.inject({
          method: r.method as "GET",
          url: r.path,
          headers: headersSent,
          ...(r.body === undefined ? {} : { payload: r.body }),
        });
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        const problems = problemsWith(res, r.method, r.guarded, mismatches);
        if (problems.length > 0) throw new Error(`${r.method} ${r.path.slice(0, 300)} -> ${problems.join("; ")}`);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 2000), ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
    );
    // Still alive, and the store is sound.
    for (const wd of [open, guarded]) {
      expect((await wd.app.inject({ method: "GET", url: "/v1.0/healthz" })).statusCode).toBe(204);
    }
    const summary = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(", ");
    console.info(`HTTP fuzzing: ${runs} random requests (answers ${summary}); no 5xx, every error in Dapr's shape`);
    // Every errorCode comes with the status docs/errors.md gives it.
    expect([...mismatches].map(([what, example]) => `${what}, e.g. "${example}"`)).toEqual([]);
  }, 120_000);

  it("model-based: random start/raise/pause/resume/terminate/purge sequences agree with a model of statuses", async () => {
    type Status = "RUNNING" | "SUSPENDED" | "COMPLETED" | "TERMINATED";
    interface Entry { status: Status; output?: string; heldDone?: string }
    type Model = Map<string, Entry>;
    interface Real { app: Workflowd["app"]; run: number }
    const app = open.app;
    let run = 0;
    let commandsRun = 0;
    const ids = ["m-a", "m-b", "m-c"];
    const url = (real: Real, id: string, rest = "") => `/v1.0/workflows/dapr/${real.run}-${id}${rest}`;
    const send = (method: "GET" | "POST", target: string, payload?: string) =>
      app.inject({ method, url: target, ...(payload === undefined ? {} : { payload, headers: { "content-type": "application/json" } }) });
    const errorOf = (res: { body: string }) => (JSON.parse(res.body) as { errorCode: string }).errorCode;

    /** Waits until the instance shows what the model says (the engine applies commands asynchronously). */
    const settle = async (real: Real, model: Model, id: string) => {
      const expected = model.get(id);
      await eventually(`${real.run}-${id} to be ${expected?.status ?? "gone"}`, async () => {
        const res = await send("GET", url(real, id));
        if (!expected) return res.statusCode === 404 || `answered ${res.statusCode} ${res.body}`;
        if (res.statusCode !== 200) return `answered ${res.statusCode} ${res.body}`;
        const state = JSON.parse(res.body) as { runtimeStatus: string; properties?: Record<string, string> };
        if (state.runtimeStatus !== expected.status) return `status ${state.runtimeStatus}`;
        if (expected.status === "RUNNING" && state.properties?.["dapr.workflow.custom_status"] !== "waiting for done") return "not waiting yet";
        if (expected.status === "COMPLETED" && state.properties?.["dapr.workflow.output"] !== expected.output) {
          return `output ${state.properties?.["dapr.workflow.output"]}, expected ${expected.output}`;
        }
        return true;
      }, 5_000, 2);
    };

    class Start implements fc.AsyncCommand<Model, Real> {
      constructor(readonly id: string) {}
      check = () => true;
      async run(model: Model, real: Real) {
        const res = await send("POST", `/v1.0/workflows/dapr/eventGate/start?instanceID=${real.run}-${this.id}`);
        if (model.has(this.id)) {
          expect(res.statusCode).toBe(409);
          expect(errorOf(res)).toBe("ERR_START_WORKFLOW");
        } else {
          expect(res.statusCode, res.body).toBe(202);
          model.set(this.id, { status: "RUNNING" });
        }
        await settle(real, model, this.id);
      }
      toString = () => `start(${this.id})`;
    }
    class Raise implements fc.AsyncCommand<Model, Real> {
      constructor(readonly id: string, readonly name: string, readonly payload: string) {}
      check = () => true;
      async run(model: Model, real: Real) {
        const res = await send("POST", url(real, this.id, `/raiseEvent/${this.name}`), this.payload);
        const entry = model.get(this.id);
        if (!entry) {
          expect(res.statusCode).toBe(404);
          expect(errorOf(res)).toBe("ERR_INSTANCE_ID_NOT_FOUND");
        } else {
          expect(res.statusCode, res.body).toBe(202);
          if (this.name.toLowerCase() === "done") {
            if (entry.status === "RUNNING") model.set(this.id, { status: "COMPLETED", output: this.payload });
            else if (entry.status === "SUSPENDED" && entry.heldDone === undefined) entry.heldDone = this.payload;
          }
        }
        await settle(real, model, this.id);
      }
      toString = () => `raise(${this.id}, ${this.name}, ${this.payload})`;
    }
    class Command implements fc.AsyncCommand<Model, Real> {
      constructor(readonly id: string, readonly command: "pause" | "resume" | "terminate" | "purge") {}
      check = () => true;
      async run(model: Model, real: Real) {
        const res = await send("POST", url(real, this.id, `/${this.command}`));
        const entry = model.get(this.id);
        if (!entry) {
          expect(res.statusCode, res.body).toBe(404);
          expect(errorOf(res)).toBe("ERR_INSTANCE_ID_NOT_FOUND");
          return settle(real, model, this.id);
        }
        const finished = entry.status === "COMPLETED" || entry.status === "TERMINATED";
        if (this.command === "purge" && !finished) {
          expect(res.statusCode, res.body).toBe(409);
          expect(errorOf(res)).toBe("ERR_PURGE_WORKFLOW");
          return settle(real, model, this.id);
        }
        expect(res.statusCode, res.body).toBe(202);
        if (this.command === "purge") model.delete(this.id);
        else if (!finished) {
          if (this.command === "terminate") model.set(this.id, { status: "TERMINATED" });
          if (this.command === "pause") entry.status = "SUSPENDED";
          if (this.command === "resume" && entry.status === "SUSPENDED") {
            if (entry.heldDone !== undefined) model.set(this.id, { status: "COMPLETED", output: entry.heldDone });
            else entry.status = "RUNNING";
          }
        }
        await settle(real, model, this.id);
      }
      toString = () => `${this.command}(${this.id})`;
    }

    const id = fc.constantFrom(...ids);
    const commands = [
      id.map((i) => new Start(i)),
      fc.tuple(id, fc.constantFrom("done", "DONE", "Done", "other"), fc.integer({ min: 0, max: 999 })).map(([i, n, p]) => new Raise(i, n, JSON.stringify({ p }))),
      fc.tuple(id, fc.constantFrom("pause", "resume", "terminate", "purge") as fc.Arbitrary<"pause" | "resume" | "terminate" | "purge">).map(([i, c]) => new Command(i, c)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
        const real = { app, run: ++run };
        commandsRun += [...cmds].length;
        await fc.asyncModelRun(() => ({ model: new Map(), real }), cmds);
      }),
      { numRuns: Number(process.env.FUZZ_MODEL_RUNS ?? 200), ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
    );
    console.info(`model-based: ${run} random sequences, ${commandsRun} commands, all as the model predicts`);
  }, 120_000);
});
