#!/usr/bin/env node
/**
 * Takes the README's screenshots of the web console (docs/console-list.png,
 * docs/console-run.png): a workflowd on a throw-away database runs the walkthrough's
 * workflows, then Debian's Chromium (playwright-core) opens the runs list and a run's page.
 *   npm run build && node scripts/console-screenshots.mjs
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "workflowd-shots-"));
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const server = spawn(process.execPath, [join(root, "dist/src/main.js")], {
  env: { ...process.env, DAPR_HTTP_PORT: String(port), DAPR_GRPC_PORT: "0", DAPR_METRICS_PORT: "0", WORKFLOWD_DB: join(dir, "wf.db"), LOG_LEVEL: "warn" },
  stdio: "inherit",
});
const base = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
try {
  for (let i = 0; i < 50 && !(await fetch(`${base}/v1.0/healthz`).then((r) => r.ok, () => false)); i++) await sleep(100);
  const start = (name, id, input) => fetch(`${base}/v1.0/workflows/dapr/${name}/start?instanceID=${id}`, { method: "POST", body: JSON.stringify(input) });
  await start("hello", "hello-1", "Berlin");
  await start("fanOutFanIn", "fan-1", 20);
  await start("failing", "fail-1", { amount: 42 });
  await start("approval", "order-7", { item: "laptop" });
  await start("parent", "p-1", ["Paris", "Oslo"]);
  await start("reliableCharge", "pay-1", 2);
  await start("monitor", "mon-1", { checks: 10, intervalSeconds: 60, healthyAfter: 0 });
  await sleep(2_500);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 640 } });
  await page.goto(`${base}/ui/`);
  await page.waitForSelector("table.runs tbody tr");
  await page.screenshot({ path: join(root, "docs/console-list.png") });
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto(`${base}/ui/instances/pay-1`);
  await page.waitForSelector(".timeline .bar");
  await page.screenshot({ path: join(root, "docs/console-run.png") });
  await browser.close();
  console.log("wrote docs/console-list.png and docs/console-run.png");
} finally {
  server.kill("SIGTERM");
  await sleep(300);
  rmSync(dir, { recursive: true, force: true });
}
