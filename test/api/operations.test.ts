/**
 * The operations routes over a real HTTP server (real SQLite, real engine, in-process
 * workflows): list and counts with every filter, keyset paging (also while instances are
 * created and finish meanwhile), history pages in the protobuf JSON mapping, rerun, rewind and
 * bulk purge, each with its error paths (status and errorCode).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActivityContext, WorkflowContext, WorkflowRegistry } from "../../src/index.js";
import { Api, expectError, newId, prefixes, registerAll, seg, startServer, type TestServer } from "./helpers.js";

interface Listed {
  instanceID: string;
  workflowName: string;
  createdAt: string;
  lastUpdatedAt: string;
  runtimeStatus: string;
  parentInstanceID?: string;
  properties?: Record<string, string>;
}
interface ListBody {
  instances: Listed[];
  continuationToken?: string;
}

// -- workflows a rewind can repair: an activity that fails while `broken` -------------------

const calls = new Map<string, number>();
let broken = true;
const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);

function prepare(ctx: ActivityContext, what: string): string {
  count(`prepare:${ctx.getWorkflowInstanceId()}`);
  return `prepared ${what}`;
}

function fragile(ctx: ActivityContext, what: string): string {
  count(`fragile:${ctx.getWorkflowInstanceId()}`);
  if (broken) throw new Error(`service down for ${what}`);
  return `done ${what}`;
}

async function* repairable(ctx: WorkflowContext, what?: string): AsyncGenerator<unknown, string[], any> {
  const first: string = yield ctx.callActivity(prepare, what ?? "x");
  const second: string = yield ctx.callActivity(fragile, what ?? "x");
  return [first, second];
}

async function* repairableParent(ctx: WorkflowContext, what?: string): AsyncGenerator<unknown, unknown, any> {
  return yield ctx.callChildWorkflow(repairable, what ?? "child");
}

/** On the failure, starts a child that waits for an event, then fails: a child decided after the failure. */
async function* givesUpWithChild(ctx: WorkflowContext): AsyncGenerator<unknown, string, any> {
  try {
    return yield ctx.callActivity(fragile, "y");
  } catch {
    ctx.callChildWorkflow("approval", { item: "fallback" });
    yield ctx.createTimer(0);
    throw new Error("gave up");
  }
}

function registerTestWorkflows(registry: WorkflowRegistry): void {
  registerAll(registry);
  registry.registerWorkflow(repairable).registerWorkflow(repairableParent).registerWorkflow(givesUpWithChild)
    .registerActivity(prepare).registerActivity(fragile);
}

let server: TestServer;
let api: Api;

beforeAll(async () => {
  server = await startServer({ workflows: registerTestWorkflows });
  api = new Api(server);
});
afterAll(async () => server.close());

async function list(query: string, prefix = "/v1.0"): Promise<ListBody> {
  const res = await server.http.get(`${prefix}/workflows/dapr${query ? `?${query}` : ""}`);
  expect(res.status, res.text).toBe(200);
  return JSON.parse(res.text) as ListBody;
}

async function listAll(query: string, pageSize: number): Promise<{ items: Listed[]; pages: number }> {
  const items: Listed[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const body = await list(`${query}&pageSize=${pageSize}${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`);
    pages++;
    expect(body.instances.length).toBeLessThanOrEqual(pageSize);
    if (body.continuationToken) expect(body.instances.length).toBe(pageSize);
    items.push(...body.instances);
    token = body.continuationToken;
  } while (token);
  return { items, pages };
}

/** Instances of one test, apart from the others': a prefix all its IDs share. */
function tagged(tag: string) {
  const prefix = `${newId(tag)}-`;
  return { prefix, id: (n: string | number) => `${prefix}${n}`, query: `instanceIDPrefix=${encodeURIComponent(prefix)}` };
}

function badParameter(res: { status: number; text: string; headers: Record<string, string | string[] | undefined> }, name: string) {
  expectError(res, 400, "ERR_MALFORMED_REQUEST", new RegExp(`'${name}'`));
}

describe("list", () => {
  it("answers exactly the listed keys, newest first, parentInstanceID only on children, under every prefix", async () => {
    const t = tagged("keys");
    await api.start("hello", t.id("a"), '"A"');
    await api.start("parent", t.id("b"), '["Oslo"]');
    await api.waitForStatus(t.id("b"), "COMPLETED");
    await api.waitForStatus(t.id("a"), "COMPLETED");
    for (const prefix of prefixes) {
      const body = await list(t.query, prefix);
      expect(Object.keys(body)).toEqual(["instances"]);
      expect(body.instances.map((i) => i.instanceID)).toEqual([`${t.id("b")}:0001`, t.id("b"), t.id("a")]);
      const [child, parent, hello] = body.instances;
      expect(Object.keys(hello!)).toEqual(["instanceID", "workflowName", "createdAt", "lastUpdatedAt", "runtimeStatus"]);
      expect(Object.keys(parent!)).toEqual(["instanceID", "workflowName", "createdAt", "lastUpdatedAt", "runtimeStatus"]);
      expect(child).toMatchObject({ workflowName: "hello", runtimeStatus: "COMPLETED", parentInstanceID: t.id("b") });
      expect(Object.keys(child!)).toEqual(["instanceID", "workflowName", "createdAt", "lastUpdatedAt", "runtimeStatus", "parentInstanceID"]);
      const state = await api.state(t.id("a"));
      expect(hello).toEqual({ instanceID: state.instanceID, workflowName: state.workflowName, createdAt: state.createdAt, lastUpdatedAt: state.lastUpdatedAt, runtimeStatus: state.runtimeStatus });
    }
  });

  it("filters by status (repeatable), name, parent and a literal ID prefix, combined", async () => {
    const t = tagged("filters");
    await api.start("hello", t.id("done"), '"x"');
    await api.start("approval", t.id("waiting"), "{}");
    await api.start("failing", t.id("failed"), "{}");
    await api.start("parent", t.id("parent"), '["Rome","Lima"]');
    await api.waitForStatus(t.id("done"), "COMPLETED");
    await api.waitForStatus(t.id("failed"), "FAILED");
    await api.waitForStatus(t.id("parent"), "COMPLETED");
    await api.waitForState(t.id("waiting"), (s) => s.properties?.["dapr.workflow.custom_status"] !== undefined);
    const ids = async (query: string) => (await list(`${t.query}&${query}`)).instances.map((i) => i.instanceID).sort();
    expect(await ids("status=RUNNING")).toEqual([t.id("waiting")]);
    expect(await ids("status=FAILED&status=RUNNING")).toEqual([t.id("failed"), t.id("waiting")]);
    expect(await ids("name=hello")).toEqual([t.id("done"), `${t.id("parent")}:0001`, `${t.id("parent")}:0002`].sort());
    expect(await ids("name=hello&status=COMPLETED")).toHaveLength(3);
    expect(await ids("name=nothing")).toEqual([]);
    expect(await ids(`parentInstanceID=${encodeURIComponent(t.id("parent"))}`)).toEqual([`${t.id("parent")}:0001`, `${t.id("parent")}:0002`]);
    expect(await ids(`parentInstanceID=${encodeURIComponent(t.id("parent"))}&name=parent`)).toEqual([]);
    // `_` and `%` are plain characters of the prefix, not wildcards.
    await api.start("hello", `${t.prefix}lit_one`, '"x"');
    await api.start("hello", `${t.prefix}litXtwo`, '"x"');
    expect((await list(`instanceIDPrefix=${encodeURIComponent(`${t.prefix}lit_`)}`)).instances.map((i) => i.instanceID)).toEqual([`${t.prefix}lit_one`]);
    expect((await list(`instanceIDPrefix=${encodeURIComponent(`${t.prefix}lit%`)}`)).instances).toEqual([]);
    // Case-sensitive.
    expect((await list(`instanceIDPrefix=${encodeURIComponent(t.prefix.toUpperCase())}`)).instances).toEqual([]);
  });

  it("filters by creation and last-update time: From inclusive, To exclusive", async () => {
    const t = tagged("times");
    for (const n of [1, 2, 3]) {
      await api.start("hello", t.id(n), '"x"');
      await api.waitForStatus(t.id(n), "COMPLETED");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const [third, second, first] = (await list(t.query)).instances;
    const ids = async (query: string) => (await list(`${t.query}&${query}`)).instances.map((i) => i.instanceID);
    expect(await ids(`createdFrom=${second!.createdAt}`)).toEqual([third!.instanceID, second!.instanceID]);
    expect(await ids(`createdTo=${second!.createdAt}`)).toEqual([first!.instanceID]);
    expect(await ids(`createdFrom=${second!.createdAt}&createdTo=${third!.createdAt}`)).toEqual([second!.instanceID]);
    expect(await ids(`lastUpdatedFrom=${second!.lastUpdatedAt}`)).toEqual([third!.instanceID, second!.instanceID]);
    expect(await ids(`lastUpdatedTo=${second!.lastUpdatedAt}`)).toEqual([first!.instanceID]);
    // Offsets and a lowercase `t`/`z` are RFC 3339 too.
    const at = new Date(second!.createdAt);
    const shifted = new Date(at.getTime() + 2 * 3_600_000).toISOString().replace("Z", "+02:00");
    expect(await ids(`createdFrom=${encodeURIComponent(shifted)}`)).toEqual([third!.instanceID, second!.instanceID]);
    expect(await ids(`createdFrom=${second!.createdAt.replace("T", "t").replace("Z", "z")}`)).toEqual([third!.instanceID, second!.instanceID]);
  });

  it("pages with an opaque token: every page full but the last, which has no token; together exactly the listing", async () => {
    const t = tagged("pages");
    for (let n = 0; n < 23; n++) await api.start("echo", t.id(String(n).padStart(2, "0")), String(n));
    const everything = (await list(`${t.query}&pageSize=1000`)).instances.map((i) => i.instanceID);
    expect(everything).toHaveLength(23);
    const { items, pages } = await listAll(t.query, 5);
    expect(pages).toBe(5);
    expect(items.map((i) => i.instanceID)).toEqual(everything);
    // Newest first: createdAt, then instanceID, descending. (Compared as times: RFC 3339 drops a
    // `.000` fraction, so "…:32Z" sorts after "…:32.036Z" as text though it is earlier.)
    const keys = items.map((i) => ({ at: Date.parse(i.createdAt), id: i.instanceID }));
    const newestFirst = [...keys].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    expect(keys).toEqual(newestFirst);
    expect((await list(`${t.query}&pageSize=23`)).continuationToken).toBeUndefined();
    expect((await list(t.query)).instances).toHaveLength(23); // default page size 100
  });

  it("a listing in progress neither repeats nor skips instances while others are created and finish", async () => {
    const t = tagged("stable");
    const initial: string[] = [];
    for (let n = 0; n < 40; n++) {
      const id = t.id(`old-${n}`);
      initial.push(id);
      await api.start(n % 2 === 0 ? "approval" : "echo", id, n % 2 === 0 ? "{}" : String(n));
    }
    const seen: string[] = [];
    let token: string | undefined;
    let round = 0;
    do {
      const body = await list(`${t.query}&pageSize=7${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`);
      seen.push(...body.instances.map((i) => i.instanceID));
      token = body.continuationToken;
      // Meanwhile: new instances arrive and waiting ones finish (their status and lastUpdatedAt move).
      const writes = [api.start("echo", t.id(`new-${round}-a`), "1"), api.start("echo", t.id(`new-${round}-b`), "2")];
      const waiting = initial.filter((_, n) => n % 2 === 0)[round];
      if (waiting) writes.push(api.commandOk(waiting, "raiseEvent/approval", '{"approved":true}') as Promise<never>);
      await Promise.all(writes);
      round++;
    } while (token);
    expect(new Set(seen).size, "no instance twice").toBe(seen.length);
    for (const id of initial) expect(seen, id).toContain(id);
  });

  it("fetchInputsAndOutputs=true adds each instance's properties exactly as GET returns them", async () => {
    const t = tagged("payloads");
    await api.start("hello", t.id("ok"), '"Kyiv"');
    await api.start("failing", t.id("bad"), '{"amount":7}');
    await api.waitForStatus(t.id("ok"), "COMPLETED");
    await api.waitForStatus(t.id("bad"), "FAILED");
    const body = await list(`${t.query}&fetchInputsAndOutputs=true`);
    for (const item of body.instances) {
      const state = await api.state(item.instanceID);
      expect(item.properties).toEqual(state.properties);
      expect(Object.keys(item).at(-1)).toBe("properties");
    }
    expect((await list(`${t.query}&fetchInputsAndOutputs=false`)).instances.every((i) => i.properties === undefined)).toBe(true);
  });

  it("counts by status with the same filters (countOnly=true)", async () => {
    const t = tagged("counts");
    await api.start("hello", t.id("a"), '"x"');
    await api.start("hello", t.id("b"), '"x"');
    await api.start("failing", t.id("c"), "{}");
    await api.start("approval", t.id("d"), "{}");
    await api.waitForStatus(t.id("a"), "COMPLETED");
    await api.waitForStatus(t.id("b"), "COMPLETED");
    await api.waitForStatus(t.id("c"), "FAILED");
    const counts = async (query: string) => {
      const res = await server.http.get(`/v1.0/workflows/dapr?countOnly=true&${query}`);
      expect(res.status, res.text).toBe(200);
      const body = JSON.parse(res.text) as { counts: Record<string, number> };
      expect(Object.keys(body)).toEqual(["counts"]);
      return body.counts;
    };
    expect(await counts(t.query)).toEqual({ COMPLETED: 2, FAILED: 1, RUNNING: 1 });
    expect(await counts(`${t.query}&status=COMPLETED&status=FAILED`)).toEqual({ COMPLETED: 2, FAILED: 1 });
    expect(await counts(`${t.query}&name=nothing`)).toEqual({});
    const all = await counts("");
    const listedTotal = (await listAll("countOnly=false", 1000)).items.length;
    expect(Object.values(all).reduce((a, b) => a + b, 0)).toBe(listedTotal);
  });

  it.each([
    ["status=Running", "status"],
    ["status=UNKNOWN", "status"],
    ["name=a&name=b", "name"],
    ["createdFrom=2026-11-30", "createdFrom"],
    ["createdTo=yesterday", "createdTo"],
    ["lastUpdatedFrom=2026-13-45T99:00:00Z", "lastUpdatedFrom"],
    ["lastUpdatedTo=1764500000000", "lastUpdatedTo"],
    ["pageSize=0", "pageSize"],
    ["pageSize=1001", "pageSize"],
    ["pageSize=ten", "pageSize"],
    ["pageSize=-5", "pageSize"],
    ["fetchInputsAndOutputs=yes", "fetchInputsAndOutputs"],
    ["countOnly=1", "countOnly"],
    ["continuationToken=not-a-token", "continuationToken"],
  ])("GET ?%s → 400 ERR_MALFORMED_REQUEST naming %s", async (query, name) => {
    badParameter(await server.http.get(`/v1.0/workflows/dapr?${query}`), name);
  });

  it("refuses a token we did not issue: edited, made up, or issued for other filters", async () => {
    const t = tagged("tokens");
    for (let n = 0; n < 3; n++) await api.start("echo", t.id(n), "1");
    const token = (await list(`${t.query}&pageSize=1`)).continuationToken!;
    expect(token).toBeTruthy();
    const [payload, mac] = token.split(".");
    const edited = JSON.parse(Buffer.from(payload!, "base64url").toString()) as unknown[];
    edited[1] = 0;
    const forged = `${Buffer.from(JSON.stringify(edited)).toString("base64url")}.${mac}`;
    for (const bad of [forged, `${payload}.AAAAAAAAAAAAAAAAAAAAAA`, "eyJ4IjoxfQ", token.slice(0, -2)]) {
      badParameter(await server.http.get(`/v1.0/workflows/dapr?${t.query}&pageSize=1&continuationToken=${encodeURIComponent(bad)}`), "continuationToken");
    }
    badParameter(await server.http.get(`/v1.0/workflows/dapr?${t.query}&status=RUNNING&pageSize=1&continuationToken=${encodeURIComponent(token)}`), "continuationToken");
    // The same token with its own filters goes on (page size may change).
    expect((await list(`${t.query}&pageSize=5&continuationToken=${encodeURIComponent(token)}`)).instances).toHaveLength(2);
  });
});

describe("history", () => {
  const eventTypes = [
    "executionStarted", "executionCompleted", "executionTerminated", "taskScheduled", "taskCompleted", "taskFailed",
    "childWorkflowInstanceCreated", "childWorkflowInstanceCompleted", "childWorkflowInstanceFailed", "timerCreated",
    "timerFired", "workflowStarted", "workflowCompleted", "eventSent", "eventRaised", "continueAsNew",
    "executionSuspended", "executionResumed", "executionStalled", "detachedWorkflowInstanceCreated",
  ];

  it("answers the history in order, each event in the protobuf JSON mapping of HistoryEvent", async () => {
    const id = newId("hist");
    await api.start("parent", id, '["Oslo"]');
    await api.waitForStatus(id, "COMPLETED");
    const res = await server.http.get(api.url(`${seg(id)}/history`));
    expect(res.status, res.text).toBe(200);
    const body = JSON.parse(res.text) as { instanceID: string; events: Record<string, any>[]; continuationToken?: string };
    expect(Object.keys(body)).toEqual(["instanceID", "events"]);
    expect(body.instanceID).toBe(id);
    expect(body.events).toHaveLength((await server.engine.service.history(id))!.length);
    for (const event of body.events) {
      expect(typeof event.eventId).toBe("number");
      expect(event.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3}|\.\d{6}|\.\d{9})?Z$/);
      const types = Object.keys(event).filter((k) => !["eventId", "timestamp", "router"].includes(k));
      expect(types).toHaveLength(1);
      expect(eventTypes).toContain(types[0]);
    }
    const kinds = body.events.map((e) => Object.keys(e).find((k) => eventTypes.includes(k)));
    expect(kinds.slice(0, 3)).toEqual(["workflowStarted", "executionStarted", "childWorkflowInstanceCreated"]);
    expect(kinds.at(-1)).toBe("executionCompleted");
    const started = body.events[1]!.executionStarted;
    expect(started).toMatchObject({ name: "parent", input: '["Oslo"]', workflowInstance: { instanceId: id } });
    const child = body.events[2]!;
    expect(child).toMatchObject({ eventId: 1, childWorkflowInstanceCreated: { name: "hello", instanceId: `${id}:0001`, input: '"Oslo"' } });
    expect(body.events.at(-1)!.executionCompleted).toMatchObject({ workflowStatus: "ORCHESTRATION_STATUS_COMPLETED" });
  });

  it("pages: pageSize events at a time, a token until the last page, together the whole history", async () => {
    const id = newId("histpages");
    await api.start("hello", id, '"x"');
    await api.waitForStatus(id, "COMPLETED");
    const whole = (JSON.parse((await server.http.get(api.url(`${seg(id)}/history`))).text) as { events: unknown[] }).events;
    const collected: unknown[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await server.http.get(api.url(`${seg(id)}/history?pageSize=3${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`));
      expect(res.status, res.text).toBe(200);
      const body = JSON.parse(res.text) as { events: unknown[]; continuationToken?: string };
      collected.push(...body.events);
      token = body.continuationToken;
      pages++;
    } while (token);
    expect(collected).toEqual(whole);
    expect(pages).toBe(Math.ceil(whole.length / 3));
  });

  it("404 for an unknown instance; 400 for a bad page size or a token of another instance", async () => {
    expectError(await server.http.get(api.url("no-such-instance/history")), 404, "ERR_INSTANCE_ID_NOT_FOUND");
    const id = newId("histerr");
    const other = newId("histerr");
    await api.start("hello", id, '"x"');
    await api.start("hello", other, '"x"');
    await api.waitForStatus(id, "COMPLETED");
    for (const size of ["0", "10001", "x"]) badParameter(await server.http.get(api.url(`${seg(id)}/history?pageSize=${size}`)), "pageSize");
    const token = (JSON.parse((await server.http.get(api.url(`${seg(id)}/history?pageSize=1`))).text) as { continuationToken: string }).continuationToken;
    badParameter(await server.http.get(api.url(`${seg(other)}/history?continuationToken=${encodeURIComponent(token)}`)), "continuationToken");
    badParameter(await server.http.get(api.url(`${seg(id)}/history?continuationToken=abc`)), "continuationToken");
  });
});

describe("rerun", () => {
  async function taskEventId(id: string, nth: number): Promise<number> {
    const events = (JSON.parse((await server.http.get(api.url(`${seg(id)}/history`))).text) as { events: Record<string, any>[] }).events;
    return events.filter((e) => e.taskScheduled)[nth]!.eventId as number;
  }

  it("reruns a finished instance from an activity as a new instance, with a new input from the body", async () => {
    const id = newId("rerun");
    await api.start("hello", id, '"Lima"');
    await api.waitForStatus(id, "COMPLETED");
    const third = await taskEventId(id, 2);
    const res = await server.http.post(api.url(`${seg(id)}/rerun?fromEventID=${third}&newInstanceID=${id}-again`)).set("content-type", "application/json").send('"Rome"');
    expect(res.status, res.text).toBe(202);
    expect(JSON.parse(res.text)).toEqual({ instanceID: `${id}-again` });
    const rerun = await api.waitForStatus(`${id}-again`, "COMPLETED");
    expect(JSON.parse(rerun.properties!["dapr.workflow.output"]!)).toEqual(["Hello, Tokyo!", "Hello, London!", "Hello, Rome!"]);
    // The source is left as it was.
    expect(JSON.parse((await api.state(id)).properties!["dapr.workflow.output"]!)).toEqual(["Hello, Tokyo!", "Hello, London!", "Hello, Lima!"]);
    // Without newInstanceID: a fresh ID; without a body: the original input.
    const again = await server.http.post(api.url(`${seg(id)}/rerun?fromEventID=${third}`));
    expect(again.status, again.text).toBe(202);
    const fresh = (JSON.parse(again.text) as { instanceID: string }).instanceID;
    expect(JSON.parse((await api.waitForStatus(fresh, "COMPLETED")).properties!["dapr.workflow.output"]!)).toEqual(["Hello, Tokyo!", "Hello, London!", "Hello, Lima!"]);
  });

  it("404 unknown source; 409 source not finished, a child, or new ID taken; 400 bad or wrong event, bad new ID", async () => {
    expectError(await server.http.post(api.url("no-such-instance/rerun?fromEventID=1")), 404, "ERR_INSTANCE_ID_NOT_FOUND");
    const waiting = newId("rerunwait");
    await api.start("approval", waiting, "{}");
    await api.waitForState(waiting, (s) => s.properties?.["dapr.workflow.custom_status"] !== undefined);
    expectError(await server.http.post(api.url(`${seg(waiting)}/rerun?fromEventID=1`)), 409, "ERR_RERUN_WORKFLOW", /RUNNING/);

    const done = newId("rerundone");
    await api.start("parent", done, '["Oslo"]');
    await api.waitForStatus(done, "COMPLETED");
    expectError(await server.http.post(api.url(`${seg(done)}/rerun?fromEventID=1&newInstanceID=${waiting}`)), 409, "ERR_RERUN_WORKFLOW", /exists/);
    expectError(await server.http.post(api.url(`${seg(done)}/rerun?fromEventID=1&newInstanceID=${done}`)), 409, "ERR_RERUN_WORKFLOW");
    expectError(await server.http.post(api.url(`${seg(`${done}:0001`)}/rerun?fromEventID=1`)), 409, "ERR_RERUN_WORKFLOW", /child workflow/);
    expectError(await server.http.post(api.url(`${seg(done)}/rerun?fromEventID=1&newInstanceID=bad%20id`)), 400, "ERR_INSTANCE_ID_INVALID");
    badParameter(await server.http.post(api.url(`${seg(done)}/rerun`)), "fromEventID");
    badParameter(await server.http.post(api.url(`${seg(done)}/rerun?fromEventID=one`)), "fromEventID");
    badParameter(await server.http.post(api.url(`${seg(done)}/rerun?fromEventID=77`)), "fromEventID");
    // Not a taskScheduled or childWorkflowInstanceCreated event: the start, or a timer.
    badParameter(await server.http.post(api.url(`${seg(done)}/rerun?fromEventID=-1`)), "fromEventID");
    await api.commandOk(waiting, "terminate");
    await api.waitForStatus(waiting, "TERMINATED");
    const events = (JSON.parse((await server.http.get(api.url(`${seg(waiting)}/history`))).text) as { events: Record<string, any>[] }).events;
    const timer = events.find((e) => e.timerCreated)!;
    const res = await server.http.post(api.url(`${seg(waiting)}/rerun?fromEventID=${timer.eventId}`));
    expectError(res, 400, "ERR_MALFORMED_REQUEST", /timerCreated/);
  });
});

describe("rewind", () => {
  it("continues a FAILED instance from its failure point: the failed activity runs again, the succeeded one does not, same ID", async () => {
    broken = true;
    const id = newId("rewind");
    await api.start("repairable", id, '"order-1"');
    const failed = await api.waitForStatus(id, "FAILED");
    expect(failed.properties?.["dapr.workflow.failure.error_message"]).toMatch(/service down/);
    expect(calls.get(`prepare:${id}`)).toBe(1);
    broken = false;
    const res = await api.command(id, "rewind", '{"reason":"service is back"}');
    expect(res.status, res.text).toBe(202);
    expect(res.text).toBe("");
    const done = await api.waitForStatus(id, "COMPLETED");
    expect(JSON.parse(done.properties!["dapr.workflow.output"]!)).toEqual(["prepared order-1", "done order-1"]);
    expect(done.properties?.["dapr.workflow.failure.error_message"]).toBeUndefined();
    expect(calls.get(`prepare:${id}`)).toBe(1);
    expect(calls.get(`fragile:${id}`)).toBe(2);
    const events = (JSON.parse((await server.http.get(api.url(`${seg(id)}/history`))).text) as { events: Record<string, any>[] }).events;
    expect(events.filter((e) => e.executionResumed).map((e) => e.executionResumed.input)).toEqual(["rewound: service is back"]);
    expect(events.filter((e) => e.taskFailed)).toEqual([]);
  });

  it("rewinds failed children too, under their own IDs", async () => {
    broken = true;
    const id = newId("rewindtree");
    await api.start("repairableParent", id, '"gift"');
    await api.waitForStatus(id, "FAILED");
    await api.waitForStatus(`${id}:0001`, "FAILED");
    const childId = (await list(`parentInstanceID=${encodeURIComponent(id)}`)).instances[0]!.instanceID;
    broken = false;
    expect((await api.command(id, "rewind")).status).toBe(202);
    expect(JSON.parse((await api.waitForStatus(id, "COMPLETED")).properties!["dapr.workflow.output"]!)).toEqual(["prepared gift", "done gift"]);
    expect((await api.state(childId)).runtimeStatus).toBe("COMPLETED");
    expect(calls.get(`prepare:${childId}`)).toBe(1);
  });

  it("409 while a child started after the failure still runs (nothing changes); once it is finished, the rewind goes through", async () => {
    broken = true;
    const id = newId("rewindchild");
    await api.start("givesUpWithChild", id);
    await api.waitForStatus(id, "FAILED");
    const child = (await list(`parentInstanceID=${encodeURIComponent(id)}`)).instances[0]!.instanceID;
    await api.waitForState(child, (s) => s.properties?.["dapr.workflow.custom_status"] !== undefined);
    const historyBefore = (await server.http.get(api.url(`${seg(id)}/history`))).text;
    expectError(await api.command(id, "rewind"), 409, "ERR_REWIND_WORKFLOW", new RegExp(`child workflow '${child}'.*RUNNING`));
    expect((await api.state(id)).runtimeStatus).toBe("FAILED");
    expect((await server.http.get(api.url(`${seg(id)}/history`))).text).toBe(historyBefore);
    await api.commandOk(child, "terminate");
    await api.waitForStatus(child, "TERMINATED");
    broken = false;
    expect((await api.command(id, "rewind")).status).toBe(202);
    expect((await api.waitForStatus(id, "COMPLETED")).properties?.["dapr.workflow.output"]).toBe('"done y"');
    // The child decided after the failure was purged; the replay did not start it again.
    expect(await server.http.get(api.url(seg(child)))).toMatchObject({ status: 404 });
  });

  it("409 ERR_REWIND_WORKFLOW unless FAILED; 404 unknown; 400 for a body that is not an object or a reason that is not a string", async () => {
    const id = newId("rewinderr");
    await api.start("hello", id, '"x"');
    await api.waitForStatus(id, "COMPLETED");
    expectError(await api.command(id, "rewind"), 409, "ERR_REWIND_WORKFLOW", /COMPLETED/);
    expectError(await api.command("no-such-instance", "rewind"), 404, "ERR_INSTANCE_ID_NOT_FOUND");
    expectError(await api.command(id, "rewind", "[]"), 400, "ERR_MALFORMED_REQUEST");
    expectError(await api.command(id, "rewind", '{"reason":5}'), 400, "ERR_MALFORMED_REQUEST", /reason/);
    expectError(await api.command(id, "rewind", "{nope"), 400, "ERR_MALFORMED_REQUEST");
  });
});

describe("bulk purge", () => {
  it("purges the finished top-level instances that match, with their children, and leaves the rest", async () => {
    const t = tagged("bulk");
    await api.start("hello", t.id("done"), '"x"');
    await api.start("parent", t.id("tree"), '["Oslo","Rome"]');
    await api.start("failing", t.id("failed"), "{}");
    await api.start("approval", t.id("waiting"), "{}");
    await api.waitForStatus(t.id("done"), "COMPLETED");
    await api.waitForStatus(t.id("tree"), "COMPLETED");
    await api.waitForStatus(t.id("failed"), "FAILED");
    const res = await server.http.delete(`/v1.0/workflows/dapr?${t.query}&status=COMPLETED`);
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ deletedInstanceCount: 4, isComplete: true });
    expect((await list(t.query)).instances.map((i) => i.instanceID).sort()).toEqual([t.id("failed"), t.id("waiting")]);
    // A running instance never matches, even when named.
    const running = await server.http.delete(`/v1.0/workflows/dapr?${t.query}&status=RUNNING`);
    expect(JSON.parse(running.text)).toEqual({ deletedInstanceCount: 0, isComplete: true });
    const byTime = await server.http.delete(`/v1.0/workflows/dapr?${t.query}&createdTo=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(JSON.parse(byTime.text)).toEqual({ deletedInstanceCount: 1, isComplete: true });
    expect((await list(t.query)).instances.map((i) => i.instanceID)).toEqual([t.id("waiting")]);
  });

  it("400 without status, createdTo or lastUpdatedTo, and for bad values", async () => {
    badParameter(await server.http.delete("/v1.0/workflows/dapr"), "status");
    badParameter(await server.http.delete("/v1.0/workflows/dapr?name=hello&createdFrom=2026-01-01T00:00:00Z"), "status");
    badParameter(await server.http.delete("/v1.0/workflows/dapr?status=DONE"), "status");
    badParameter(await server.http.delete("/v1.0/workflows/dapr?lastUpdatedTo=soon"), "lastUpdatedTo");
  });
});
