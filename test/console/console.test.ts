/**
 * The web console in a real headless Chromium against a real workflowd process: the runs list
 * (counts, status filter in the URL, columns), a run's timeline and history checked against the
 * API, and the actions (raise event, terminate, rerun with a new input, purge, bulk purge), the
 * API token prompt, `--ui=false`, and a 10,000-event history that renders a page of rows.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { join } from "node:path";
import { eventually, fixturesDir, type ServerProcess, useProcesses } from "../process/harness.js";
import { type Browser, launch } from "./browser.js";

const processes = useProcesses();
const workflows = join(fixturesDir, "console-workflows.mjs");
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => browser?.close());
afterEach(() => {
  expect(browser.errors, "script errors in the console").toEqual([]);
  browser.errors.length = 0;
});

async function server(env: Record<string, string> = {}): Promise<ServerProcess> {
  const started = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: workflows, WORKFLOWD_DB: join(processes.tempDir(), "wf.db"), LOG_LEVEL: "warn", ...env } });
  await started.waitHealthy();
  return started;
}

async function api<T>(wd: ServerProcess, path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${wd.baseUrl}/v1.0/workflows/dapr${path}`, init);
  expect(response.ok, `${path}: ${response.status}`).toBe(true);
  return (await response.json()) as T;
}

async function history(wd: ServerProcess, id: string): Promise<Record<string, any>[]> {
  const events: Record<string, any>[] = [];
  let token: string | undefined;
  do {
    const page = await api<{ events: Record<string, any>[]; continuationToken?: string }>(
      wd, `/${encodeURIComponent(id)}/history?pageSize=10000${token ? `&continuationToken=${encodeURIComponent(token)}` : ""}`);
    events.push(...page.events);
    token = page.continuationToken;
  } while (token);
  return events;
}

/** The runs table's rows as text cells. */
async function rows(page: Page): Promise<string[][]> {
  return page.locator("table.runs tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
}

async function confirmDialog(page: Page, action: string): Promise<void> {
  await page.getByRole("dialog").getByRole("button", { name: action, exact: true }).click();
}

describe("the runs list", () => {
  it("shows every run newest first under its column headers, counts by status as filter chips, and keeps the filter in the URL", async () => {
    const wd = await server();
    await wd.start("hello", "hello-1", "Berlin");
    await wd.start("failing", "fail-1");
    await wd.start("approval", "order-7", { item: "laptop" });
    await wd.start("parent", "p-1", ["Paris", "Oslo"]);
    for (const id of ["hello-1", "fail-1", "p-1"]) await wd.waitTerminal(id);
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/`);
    const table = page.getByRole("table");
    await expect.poll(async () => (await rows(page)).length).toBe(6);
    expect(await table.getByRole("columnheader").allTextContents()).toEqual(["ID", "Name", "Status", "Created", "Last updated", "Duration"]);
    const listed = (await rows(page)).map((r) => r[0]);
    expect(listed).toEqual(["p-1:0002", "p-1:0001", "p-1", "order-7", "fail-1", "hello-1"]);
    expect((await rows(page)).find((r) => r[0] === "fail-1")).toEqual(["fail-1", "failing", "FAILED", expect.stringMatching(/ UTC$/), expect.stringMatching(/ UTC$/), expect.stringMatching(/ m?s$/)]);

    // The chips are named by their status and carry the API's counts.
    const { counts } = await api<{ counts: Record<string, number> }>(wd, "?countOnly=true");
    for (const status of ["RUNNING", "PENDING", "SUSPENDED", "COMPLETED", "FAILED", "TERMINATED", "STALLED"]) {
      const chip = page.getByRole("button", { name: status, exact: true });
      await expect.poll(() => chip.textContent()).toBe(`${status} ${counts[status] ?? 0}`);
    }

    await page.getByRole("button", { name: "FAILED", exact: true }).click();
    await expect.poll(() => page.url()).toMatch(/\/ui\/\?status=FAILED$/);
    await expect.poll(async () => (await rows(page)).map((r) => r[0])).toEqual(["fail-1"]);
    // Shareable: the same URL in a fresh page shows the same filter.
    const second = await browser.page();
    await second.goto(page.url());
    await expect.poll(async () => (await rows(second)).map((r) => r[0])).toEqual(["fail-1"]);
    expect(await second.getByRole("button", { name: "FAILED", exact: true }).getAttribute("aria-pressed")).toBe("true");

    // Filters by name and ID prefix.
    await second.getByRole("button", { name: "Clear filters" }).click();
    await second.getByLabel("Workflow name").fill("hello");
    await second.getByRole("button", { name: "Apply filters" }).click();
    await expect.poll(async () => (await rows(second)).map((r) => r[0])).toEqual(["p-1:0002", "p-1:0001", "hello-1"]);
    expect(second.url()).toContain("name=hello");
    await second.getByLabel("ID prefix").fill("p-1:");
    await second.getByRole("button", { name: "Apply filters" }).click();
    await expect.poll(async () => (await rows(second)).map((r) => r[0])).toEqual(["p-1:0002", "p-1:0001"]);

    // Auto-refresh: a run started meanwhile appears within 5 s; paused, it does not.
    await page.goto(`${wd.baseUrl}/ui/`);
    await expect.poll(async () => (await rows(page)).length).toBe(6);
    await wd.start("hello", "hello-2", "Rome");
    await expect.poll(async () => (await rows(page)).map((r) => r[0]), { timeout: 8_000 }).toContain("hello-2");
    await page.getByRole("button", { name: "Pause auto-refresh" }).click();
    await wd.start("hello", "hello-3", "Lima");
    await page.waitForTimeout(6_000);
    expect((await rows(page)).map((r) => r[0])).not.toContain("hello-3");
    await page.getByRole("button", { name: "Resume auto-refresh" }).click();
    await expect.poll(async () => (await rows(page)).map((r) => r[0]), { timeout: 8_000 }).toContain("hello-3");
  });

  it("pages through runs with Next and Previous", async () => {
    const wd = await server();
    for (let n = 0; n < 55; n++) await wd.start("hello", `h-${String(n).padStart(2, "0")}`, "x");
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/?name=hello`);
    await expect.poll(async () => (await rows(page)).length).toBe(50);
    await page.getByRole("button", { name: "Next page" }).click();
    await expect.poll(async () => (await rows(page)).length).toBe(5);
    expect(await page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Previous page" }).click();
    await expect.poll(async () => (await rows(page)).length).toBe(50);
  });

  it("purges the finished runs that match, after a confirmation", async () => {
    const wd = await server();
    await wd.start("hello", "done-1", "x");
    await wd.start("approval", "waiting-1", {});
    await wd.waitTerminal("done-1");
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/`);
    await expect.poll(async () => (await rows(page)).length).toBe(2);
    await page.getByRole("button", { name: "Purge finished runs" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    expect(await wd.get("done-1")).toBeDefined();
    await page.getByRole("button", { name: "Purge finished runs" }).click();
    await confirmDialog(page, "Purge");
    await expect.poll(() => page.getByRole("status").textContent()).toBe("Purged 1 finished run.");
    await expect.poll(async () => (await rows(page)).map((r) => r[0])).toEqual(["waiting-1"]);
    expect(await wd.get("done-1")).toBeUndefined();
  });
});

describe("a run's page", () => {
  it("shows status, input, output, the timeline (one bar per activity attempt and timer, failures marked) and the history, as the API has them", async () => {
    const wd = await server();
    await wd.start("reliableCharge", "pay-1", 1);
    await wd.waitTerminal("pay-1", 10_000);
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/instances/pay-1`);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Run pay-1");
    await expect.poll(() => page.locator(".summary").textContent()).toContain("COMPLETED");
    expect(await page.getByRole("region", { name: "Output" }).textContent()).toContain('"charged on call 2"');
    expect(await page.getByRole("region", { name: "Input" }).textContent()).toContain("1");

    const events = await history(wd, "pay-1");
    const timeline = page.getByRole("region", { name: "Timeline" });
    const bars = await timeline.getByRole("img").evaluateAll((els) => els.map((el) => el.getAttribute("aria-label")));
    expect(bars).toHaveLength(events.filter((e) => e.taskScheduled || e.timerCreated).length);
    expect(bars).toEqual([
      expect.stringMatching(/^activity flakyGateway: failed after \d+ ms: gateway unavailable \(call 1\)$/),
      expect.stringMatching(/^timer timer: completed after/),
      expect.stringMatching(/^activity flakyGateway \(attempt 2\): completed after/),
    ]);

    const historyRows = page.getByRole("region", { name: "Event history" }).locator("tbody tr");
    expect(await historyRows.count()).toBe(events.length);
    const types = await historyRows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-event-type")));
    expect(types).toEqual(events.map((e) => Object.keys(e).find((k) => !["eventId", "timestamp", "router"].includes(k))));
    // An event expands to its JSON.
    await page.getByRole("button", { name: /^Expand event 2 \(executionStarted\)/ }).click();
    await expect.poll(() => page.locator("tr.detail pre").textContent()).toContain('"name": "reliableCharge"');
  });

  it("a failed run shows its failure and stack trace; a child workflow's bar links to its page", async () => {
    const wd = await server();
    await wd.start("failing", "fail-1", { amount: 7 });
    await wd.start("parent", "p-1", ["Oslo"]);
    await wd.waitTerminal("fail-1");
    await wd.waitTerminal("p-1");
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/instances/fail-1`);
    const failure = page.getByRole("region", { name: "Failure" });
    await expect.poll(() => failure.textContent()).toContain("PaymentDeclinedError: card declined for amount 7");
    expect(await failure.locator("pre").textContent()).toMatch(/at /);
    await page.goto(`${wd.baseUrl}/ui/instances/p-1`);
    const link = page.getByRole("region", { name: "Timeline" }).getByRole("link", { name: "hello" });
    await link.click();
    await expect.poll(() => page.url()).toBe(`${wd.baseUrl}/ui/instances/p-1%3A0001`);
    await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Run p-1:0001");
  });

  it("raises an event (name and JSON payload) and the run completes; terminates another", async () => {
    const wd = await server();
    await wd.start("approval", "order-7", { item: "laptop" });
    await wd.start("approval", "order-8", { item: "desk" });
    await wd.waitFor("order-7", "waiting", (s) => s.properties?.["dapr.workflow.custom_status"] === "waiting for approval");
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/instances/order-7`);
    await page.getByRole("button", { name: "Raise event" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Event name").fill("approval");
    await dialog.getByLabel("Payload").fill('{"approved": true}');
    await dialog.getByRole("button", { name: "Raise event" }).click();
    await expect.poll(() => page.locator(".summary").textContent(), { timeout: 8_000 }).toContain("COMPLETED");
    expect(await page.getByRole("region", { name: "Output" }).textContent()).toContain('"approved"');
    expect((await wd.get("order-7"))?.runtimeStatus).toBe("COMPLETED");

    await page.goto(`${wd.baseUrl}/ui/instances/order-8`);
    await page.getByRole("button", { name: "Suspend" }).click();
    await confirmDialog(page, "Suspend");
    await expect.poll(() => page.locator(".summary").textContent(), { timeout: 8_000 }).toContain("SUSPENDED");
    await page.getByRole("button", { name: "Resume" }).click();
    await confirmDialog(page, "Resume");
    await expect.poll(() => page.locator(".summary").textContent(), { timeout: 8_000 }).toContain("RUNNING");
    await page.getByRole("button", { name: "Terminate" }).click();
    await confirmDialog(page, "Terminate");
    await expect.poll(() => page.locator(".summary").textContent(), { timeout: 8_000 }).toContain("TERMINATED");
    expect((await wd.get("order-8"))?.runtimeStatus).toBe("TERMINATED");
  });

  it("reruns a failed run from its failing activity with a new input: the new run completes", async () => {
    const wd = await server();
    await wd.start("limitedOrder", "big-1", { item: "piano", amount: 500 });
    await wd.waitTerminal("big-1");
    const events = await history(wd, "big-1");
    const failingActivity = events.filter((e) => e.taskScheduled).at(-1)!;
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/instances/big-1`);
    await expect.poll(() => page.locator(".summary").textContent()).toContain("FAILED");
    await page.getByRole("button", { name: `Rerun from activity chargeWithLimit (event ${failingActivity.eventId})` }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.getByLabel("Rerun from").inputValue()).toBe(String(failingActivity.eventId));
    await dialog.getByLabel("Input").fill('{"item": "piano", "amount": 50}');
    await dialog.getByRole("button", { name: "Rerun" }).click();
    await expect.poll(() => page.url()).not.toContain("big-1");
    const newId = decodeURIComponent(page.url().split("/ui/instances/")[1]!);
    await expect.poll(() => page.locator(".summary").textContent(), { timeout: 8_000 }).toContain("COMPLETED");
    const state = await wd.get(newId);
    expect(JSON.parse(state!.properties!["dapr.workflow.output"]!)).toEqual(["shipped piano", "charged 50"]);
    expect((await wd.get("big-1"))?.runtimeStatus).toBe("FAILED");
  });

  it("rewinds a failed run; purges a finished one and goes back to the list; an API error is shown as the API gave it", async () => {
    const wd = await server();
    await wd.start("hello", "hello-1", "x");
    await wd.start("limitedOrder", "big-2", { item: "organ", amount: 900 });
    await wd.waitTerminal("hello-1");
    await wd.waitTerminal("big-2");
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/instances/big-2`);
    await page.getByRole("button", { name: "Rewind" }).click();
    await page.getByRole("dialog").getByLabel("Reason").fill("limit raised");
    await confirmDialog(page, "Rewind");
    await expect.poll(() => page.getByRole("status").textContent()).toBe("Rewound: the run continues from its failure.");
    // The amount is still over the limit: the activity ran again and failed again.
    await expect.poll(async () => (await history(wd, "big-2")).filter((e) => e.taskFailed).length, { timeout: 8_000 }).toBe(1);
    expect((await history(wd, "big-2")).find((e) => e.executionResumed)?.executionResumed.input).toBe("rewound: limit raised");
    await page.goto(`${wd.baseUrl}/ui/instances/hello-1`);
    await page.goto(`${wd.baseUrl}/ui/instances/hello-1`);
    await page.getByRole("button", { name: "Purge" }).click();
    await confirmDialog(page, "Purge");
    await expect.poll(() => page.url()).toBe(`${wd.baseUrl}/ui/`);
    expect(await wd.get("hello-1")).toBeUndefined();
    await page.goto(`${wd.baseUrl}/ui/instances/hello-1`);
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("ERR_INSTANCE_ID_NOT_FOUND: unable to find workflow with the provided instance ID: hello-1");
  });

  it("a 10,000-event history renders a page of rows at once and pages through the rest", async () => {
    const wd = await server();
    await wd.start("longHistory", "long-1", 5_000);
    await wd.waitTerminal("long-1", 30_000);
    const events = await history(wd, "long-1");
    expect(events.length).toBeGreaterThanOrEqual(10_000);
    const page = await browser.page();
    const began = Date.now();
    await page.goto(`${wd.baseUrl}/ui/instances/long-1`);
    const region = page.getByRole("region", { name: "Event history" });
    await expect.poll(() => region.locator("tbody tr").count(), { timeout: 10_000 }).toBe(200);
    expect(Date.now() - began, "the page is usable within 5 s").toBeLessThan(5_000);
    expect(await region.getByRole("heading").textContent()).toBe(`Event history (${events.length} events)`);
    await region.getByRole("button", { name: "Next events" }).click();
    expect(await region.locator("tbody tr").first().locator("td").first().textContent()).toBe("201");
    // The timeline shows its first rows and offers the rest.
    const timeline = page.getByRole("region", { name: "Timeline" });
    expect(await timeline.getByRole("img").count()).toBe(300);
    expect(await timeline.getByRole("button", { name: /^Show 300 more of/ }).count()).toBe(1);
  });
});

describe("the API token and --ui=false", () => {
  it("asks for the token once (the shell itself needs none), keeps it for the tab, and says when it is wrong", async () => {
    const wd = await server({ DAPR_API_TOKEN: "s3cret" });
    const shell = await fetch(`${wd.baseUrl}/ui/`);
    expect(shell.status).toBe(200);
    expect((await fetch(`${wd.baseUrl}/v1.0/workflows/dapr`)).status).toBe(401);
    const page = await browser.page();
    await page.goto(`${wd.baseUrl}/ui/`);
    await page.getByLabel("API token").fill("wrong");
    await page.getByRole("button", { name: "Use token" }).click();
    await expect.poll(() => page.getByText("That token was not accepted.").count()).toBe(1);
    await page.getByLabel("API token").fill("s3cret");
    await page.getByRole("button", { name: "Use token" }).click();
    await expect.poll(() => page.getByRole("table").count()).toBe(1);
    expect(await page.evaluate(() => sessionStorage.getItem("workflowd.apiToken"))).toBe("s3cret");
    expect(await page.context().cookies()).toEqual([]);
    // Another page of the same tab's session keeps it: a run page loads without asking.
    await page.goto(`${wd.baseUrl}/ui/instances/none`);
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/^ERR_INSTANCE_ID_NOT_FOUND/);
  });

  it("with --ui=false /ui/ answers 404 and the API is unchanged", async () => {
    const wd = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: workflows, WORKFLOWD_DB: join(processes.tempDir(), "wf.db"), LOG_LEVEL: "warn" }, args: ["--ui=false"] });
    await wd.waitHealthy();
    for (const path of ["/ui/", "/ui", "/ui/instances/x"]) {
      const response = await fetch(`${wd.baseUrl}${path}`);
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { errorCode: string }).errorCode).toBe("ERR_NOT_FOUND");
    }
    await wd.start("hello", "h-1", "x");
    await eventually("h-1 done", async () => ((await wd.get("h-1"))?.runtimeStatus === "COMPLETED" ? true : "not yet"));
  });
});
