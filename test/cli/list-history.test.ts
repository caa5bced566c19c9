/**
 * `list` (filters, paging, limits, counts, every output format) and `history`, against a
 * real server holding a fixed set of instances created before the tests over plain HTTP.
 * The tests only read, so they run concurrently; each compares what the CLI printed with
 * what the API itself answers.
 */
import { beforeAll, describe, it } from "vitest";
import { eventually } from "../process/harness.js";
import { parseTable, useSharedServer } from "./helpers.js";

const shared = useSharedServer();
const run = (...args: string[]) => shared.run(args);

/** GET on the API (component `dapr`), the body as text. */
async function api(path: string): Promise<string> {
  const response = await fetch(`${shared.server.baseUrl}/v1.0/workflows/dapr${path}`);
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${await response.text()}`);
  return response.text();
}

interface Listed {
  instanceID: string;
  workflowName: string;
  runtimeStatus: string;
  createdAt: string;
  lastUpdatedAt: string;
}

const echoes = ["e-1", "e-2", "e-3", "e-4", "e-5"];
const longInput = "x".repeat(200);

beforeAll(async () => {
  const server = shared.server;
  // Created one after another, a few milliseconds apart, so "newest first" has one order.
  const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
  for (const id of echoes) {
    await server.start("echo", id, id);
    await pause();
  }
  await server.start("echo", "long-1", longInput);
  await server.start("fragile", "f-1", "v");
  await server.start("waiter", "w-1");
  await server.start("waiter", "w-2");
  await server.start("family", "fam-1");
  for (const id of [...echoes, "long-1", "f-1"]) await server.waitTerminal(id);
  await server.waitFor("w-2", "to wait", (s) => s.runtimeStatus === "RUNNING");
  await server.command("w-2", "pause");
  await server.waitFor("w-2", "to be suspended", (s) => s.runtimeStatus === "SUSPENDED");
  await eventually("the child to wait", async () => (await server.get("fam-1:0001"))?.properties?.["dapr.workflow.custom_status"] === "waiting for go");
});

describe.concurrent("list", () => {
  it("prints every instance newest first under the headers, as the API lists them", async ({ expect }) => {
    const result = await run("list");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const { headers, rows } = parseTable(result.stdout);
    expect(headers).toEqual(["INSTANCE ID", "NAME", "STATUS", "CREATED", "LAST UPDATED", "AGE"]);
    const listed = (JSON.parse(await api("?pageSize=100")) as { instances: Listed[] }).instances;
    expect(listed).toHaveLength(11);
    expect(rows).toEqual(listed.map((instance) => ({
      "INSTANCE ID": instance.instanceID,
      NAME: instance.workflowName,
      STATUS: instance.runtimeStatus,
      CREATED: new Date(instance.createdAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
      "LAST UPDATED": new Date(instance.lastUpdatedAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
      AGE: expect.stringMatching(/^\d+s$/),
    })));
    expect(rows.filter((row) => row.NAME === "echo").map((row) => row["INSTANCE ID"])).toEqual(["long-1", ...[...echoes].reverse()]);
  });

  it("-o json prints the API's body as received; ls and `workflow list` list the same", async ({ expect }) => {
    const [json, inputs, ls, grouped, plain] = await Promise.all([
      run("list", "-o", "json"),
      run("list", "--prefix", "e-1", "--inputs", "-o", "json"),
      run("ls"),
      run("workflow", "list"),
      run("list"),
    ]);
    expect(json).toEqual({ code: 0, stdout: `${await api("?pageSize=100")}\n`, stderr: "" });
    expect(inputs.stdout).toBe(`${await api("?pageSize=100&instanceIDPrefix=e-1&fetchInputsAndOutputs=true")}\n`);
    expect(JSON.parse(inputs.stdout)).toMatchObject({ instances: [{ instanceID: "e-1", properties: { "dapr.workflow.input": '"e-1"' } }] });
    expect(parseTable(ls.stdout).rows.map((r) => r["INSTANCE ID"])).toEqual(parseTable(plain.stdout).rows.map((r) => r["INSTANCE ID"]));
    expect(parseTable(grouped.stdout).rows.map((r) => r["INSTANCE ID"])).toEqual(parseTable(plain.stdout).rows.map((r) => r["INSTANCE ID"]));
  });

  it("filters by status (repeatable, comma-separated, any case), name, prefix and parent", async ({ expect }) => {
    const ids = async (...args: string[]) => {
      const result = await run("list", "-o", "ids", ...args);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.split("\n").filter(Boolean);
    };
    const [active, failed, echoNamed, prefixed, children] = await Promise.all([
      ids("-s", "running", "--filter-status", "Suspended,RUNNING"),
      ids("--status", "FAILED"),
      ids("--filter-name", "echo", "--prefix", "e-"),
      ids("--prefix", "fam-"),
      ids("--parent", "fam-1"),
    ]);
    expect(active.sort()).toEqual(["fam-1", "fam-1:0001", "w-1", "w-2"]);
    expect(failed).toEqual(["f-1"]);
    expect(echoNamed).toEqual([...echoes].reverse());
    expect(prefixed.sort()).toEqual(["fam-1", "fam-1:0001"]);
    expect(children).toEqual(["fam-1:0001"]);
  });

  it("filters by creation time: --older-than (createdTo) and --newer-than/--filter-max-age (createdFrom)", async ({ expect }) => {
    const listed = (JSON.parse(await api("?pageSize=100&instanceIDPrefix=e-")) as { instances: Listed[] }).instances;
    const createdOf = (id: string) => listed.find((instance) => instance.instanceID === id)!.createdAt;
    const ids = async (...args: string[]) => (await run("list", "-o", "ids", "--prefix", "e-", ...args)).stdout.split("\n").filter(Boolean);
    const [older, newer, daprAge, hourOld] = await Promise.all([
      ids("--older-than", createdOf("e-3")),
      ids("--newer-than", createdOf("e-4")),
      ids("--filter-max-age", "1h"),
      run("list", "--older-than", "1h"),
    ]);
    expect(older).toEqual(["e-2", "e-1"]);
    expect(newer).toEqual(["e-5", "e-4"]);
    expect(daprAge).toEqual([...echoes].reverse());
    expect(hourOld).toEqual({ code: 0, stdout: "", stderr: "No workflow instances found.\n" });
  });

  it("--limit stops early and says so on stderr; json then keeps the continuation token", async ({ expect }) => {
    const [table, json] = await Promise.all([run("list", "--prefix", "e-", "--limit", "2"), run("list", "--prefix", "e-", "--limit", "2", "-o", "json")]);
    expect(parseTable(table.stdout).rows.map((row) => row["INSTANCE ID"])).toEqual(["e-5", "e-4"]);
    expect(table.stderr).toBe("Showing the first 2; more instances match (raise --limit, or --limit 0 for all).\n");
    expect(json.code).toBe(0);
    expect(json.stderr).toBe("");
    const body = JSON.parse(json.stdout) as { instances: Listed[]; continuationToken?: string };
    expect(body.instances.map((instance) => instance.instanceID)).toEqual(["e-5", "e-4"]);
    expect(body.continuationToken).toEqual(expect.any(String));
  });

  it("follows continuation tokens across pages; json is then one object with every page's instances", async ({ expect }) => {
    const whole = JSON.parse(await api("?pageSize=100&instanceIDPrefix=e-")) as { instances: Listed[] };
    const [paged, pagedLimited, all] = await Promise.all([
      run("list", "--prefix", "e-", "--page-size", "2", "-o", "json"),
      run("list", "--prefix", "e-", "--page-size", "2", "--limit", "3", "-o", "json"),
      run("list", "--prefix", "e-", "--page-size", "2", "--limit", "0", "-o", "ids"),
    ]);
    expect(JSON.parse(paged.stdout)).toEqual({ instances: whole.instances });
    const limited = JSON.parse(pagedLimited.stdout) as { instances: Listed[]; continuationToken?: string };
    expect(limited.instances).toEqual(whole.instances.slice(0, 3));
    expect(limited.continuationToken).toEqual(expect.any(String));
    expect(all.stdout).toBe([...echoes].reverse().map((id) => `${id}\n`).join(""));
    expect(all.stderr).toBe("");
  });

  it("-o wide adds the parent, custom status and failure", async ({ expect }) => {
    const result = await run("list", "-o", "wide");
    const { headers, rows } = parseTable(result.stdout);
    expect(headers).toEqual(["INSTANCE ID", "NAME", "STATUS", "CREATED", "LAST UPDATED", "AGE", "PARENT", "CUSTOM STATUS", "FAILURE"]);
    const row = (id: string) => rows.find((r) => r["INSTANCE ID"] === id)!;
    expect(row("fam-1:0001")).toMatchObject({ PARENT: "fam-1", "CUSTOM STATUS": "waiting for go", FAILURE: "" });
    expect(row("f-1").FAILURE).toBe("TaskFailedError: activity task #1 failed: first attempt for f-1 fails");
    expect(row("e-1")).toMatchObject({ PARENT: "", "CUSTOM STATUS": "", FAILURE: "" });
  });

  it("--count prints the number per status and the total; -o json the API's body", async ({ expect }) => {
    const [table, json, filtered] = await Promise.all([
      run("list", "--count"),
      run("list", "--count", "-o", "json"),
      run("list", "--count", "--name", "echo"),
    ]);
    expect(table).toEqual({
      code: 0,
      stdout: "STATUS     COUNT\nRUNNING    3\nCOMPLETED  6\nFAILED     1\nSUSPENDED  1\nTOTAL      11\n",
      stderr: "",
    });
    expect(json.stdout).toBe(`${await api("?countOnly=true")}\n`);
    expect(JSON.parse(json.stdout)).toEqual({ counts: { RUNNING: 3, COMPLETED: 6, FAILED: 1, SUSPENDED: 1 } });
    expect(filtered.stdout).toBe("STATUS     COUNT\nCOMPLETED  6\nTOTAL      6\n");
  });
});

describe.concurrent("history", () => {
  it("prints one row per event: EVENT ID, TIME, TYPE, NAME, DETAILS", async ({ expect }) => {
    const result = await run("history", "e-1");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const { headers, rows } = parseTable(result.stdout);
    expect(headers).toEqual(["EVENT ID", "TIME", "TYPE", "NAME", "DETAILS"]);
    const events = (JSON.parse(await api("/e-1/history")) as { events: Record<string, unknown>[] }).events;
    expect(rows).toHaveLength(events.length);
    const typeKey = (event: Record<string, unknown>) => Object.keys(event).find((k) => !["eventId", "timestamp", "router"].includes(k))!;
    expect(rows.map((row) => row.TYPE)).toEqual(events.map((event) => typeKey(event).replace(/^./, (c) => c.toUpperCase())));
    expect(rows.map((row) => row.TIME)).toEqual(events.map((event) => new Date(event.timestamp as string).toISOString()));
    const scheduled = events.find((event) => "taskScheduled" in event)!;
    expect(rows.find((row) => row.TYPE === "TaskScheduled")).toEqual({
      "EVENT ID": String(scheduled.eventId),
      TIME: new Date(scheduled.timestamp as string).toISOString(),
      TYPE: "TaskScheduled",
      NAME: "shout",
      DETAILS: 'input="e-1"',
    });
    expect(rows.find((row) => row.TYPE === "ExecutionStarted")).toMatchObject({ NAME: "echo", DETAILS: 'input="e-1"' });
    expect(rows.find((row) => row.TYPE === "TaskCompleted")?.DETAILS).toBe(`scheduledId=${scheduled.eventId}  output="E-1"`);
    expect(rows.at(-1)).toMatchObject({ TYPE: "ExecutionCompleted", DETAILS: 'status=COMPLETED  output="E-1"' });
  });

  it("shows failures; cuts long details in the table and shows them whole with -o wide", async ({ expect }) => {
    const [failed, table, wide] = await Promise.all([run("history", "f-1"), run("history", "long-1"), run("history", "long-1", "-o", "wide")]);
    const failedRows = parseTable(failed.stdout).rows;
    expect(failedRows.find((row) => row.TYPE === "TaskFailed")?.DETAILS).toBe("scheduledId=1  error=Error: first attempt for f-1 fails");
    expect(failedRows.at(-1)?.DETAILS).toMatch(/^status=FAILED {2}error=TaskFailedError: activity task #1 failed/);
    const started = (stdout: string) => parseTable(stdout).rows.find((row) => row.TYPE === "ExecutionStarted")!.DETAILS;
    expect(started(table.stdout)).toBe(`input="${"x".repeat(72)}…`);
    expect(started(wide.stdout)).toBe(`input="${longInput}"`);
  });

  it("-o json prints the API's body; across pages, one object with every page's events", async ({ expect }) => {
    const whole = await api("/e-1/history");
    const [json, paged] = await Promise.all([run("history", "e-1", "-o", "json"), run("history", "e-1", "--page-size", "2", "-o", "json")]);
    expect(json).toEqual({ code: 0, stdout: `${whole}\n`, stderr: "" });
    expect(JSON.parse(paged.stdout)).toEqual(JSON.parse(whole));
    expect((JSON.parse(whole) as { events: unknown[] }).events.length).toBeGreaterThan(2);
  });

  it("an unknown instance is exit 1 with the 404", async ({ expect }) => {
    const result = await run("history", "nobody");
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: ERR_INSTANCE_ID_NOT_FOUND: unable to find workflow with the provided instance ID: nobody (HTTP 404)\n",
    });
  });
});
