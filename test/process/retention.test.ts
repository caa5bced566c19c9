/**
 * Retention (daprd's `spec.workflow.stateRetentionPolicy`, from `--config` or WORKFLOWD_CONFIG):
 * a real process purges finished instances a few seconds after their time is up, by final
 * status, with their children; instances that finished before the policy was set go too; the
 * metric counts them; a bad configuration file stops the start-up with one clear line.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, fixtureWorkflows, freePort, type ServerProcess, useProcesses } from "./harness.js";

const processes = useProcesses();

function configFile(policy: string): string {
  const path = join(processes.tempDir(), "config.yaml");
  writeFileSync(path, [
    "apiVersion: dapr.io/v1alpha1",
    "kind: Configuration",
    "metadata:",
    "  name: retention",
    "spec:",
    "  tracing:",
    "    samplingRate: \"1\"",
    "  workflow:",
    "    stateRetentionPolicy:",
    ...policy.split("\n").map((line) => `      ${line}`),
    "",
  ].join("\n"));
  return path;
}

async function list(server: ServerProcess): Promise<string[]> {
  const response = await fetch(`${server.baseUrl}/v1.0/workflows/dapr?pageSize=1000`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { instances: { instanceID: string }[] }).instances.map((i) => i.instanceID).sort();
}

describe("retention policy", () => {
  it("purges finished instances after their status's time (a status setting wins over anyTerminal), children with their parent", async () => {
    const metricsPort = await freePort();
    const server = await processes.spawn({
      env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: join(processes.tempDir(), "wf.db"), DAPR_METRICS_PORT: String(metricsPort), LOG_LEVEL: "warn" },
      args: ["--config", configFile("anyTerminal: 1s\nfailed: 1h")],
    });
    await server.waitHealthy();
    await server.start("echo", "done-1", 1);
    await server.start("tree", "tree-1", 1);
    await server.start("gated", "waiting-1", 1);
    // tree-1's child waits for an event: answer it, and both finish.
    const child = await eventually("tree-1's child", async () => {
      const id = (await list(server)).find((i) => i.startsWith("tree-1:"));
      return id ? { id } : "not yet";
    });
    await server.raise(child.id, "never", "leaf");
    await server.waitTerminal("done-1");
    // When tree-1 finished, as the server recorded it (the test sees it a little later).
    const finishedAt = Date.parse((await server.waitTerminal("tree-1")).lastUpdatedAt);
    await eventually("the completed instances to be purged", async () => {
      const ids = await list(server);
      return ids.includes("done-1") || ids.some((id) => id.startsWith("tree-1")) ? `still there: ${ids.join(", ")}` : true;
    }, 10_000, 100);
    // Not before its time (1 s after it finished), and within a few seconds of it.
    expect(Date.now() - finishedAt).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - finishedAt).toBeLessThan(6_000);
    expect(await list(server)).toEqual(["waiting-1"]);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^workflowd_retention_purged_total\{status="COMPLETED"\} 3$/m);
  });

  it("also purges instances that finished before the policy was set; a status without a setting is kept", async () => {
    const dbPath = join(processes.tempDir(), "wf.db");
    const env = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: dbPath, LOG_LEVEL: "warn" };
    const before = await processes.spawn({ env });
    await before.waitHealthy();
    await before.start("echo", "old-1", 1);
    await before.waitTerminal("old-1");
    await before.start("gated", "old-2", 1);
    const terminate = await fetch(`${before.baseUrl}/v1.0/workflows/dapr/old-2/terminate`, { method: "POST" });
    expect(terminate.status).toBe(202);
    await before.waitTerminal("old-2");
    expect(await before.stop("SIGTERM")).toEqual({ code: 0, signal: null });

    const after = await processes.spawn({ env: { ...env, WORKFLOWD_CONFIG: configFile("completed: 0s") } });
    await after.waitHealthy();
    await eventually("old-1 purged", async () => ((await list(after)).includes("old-1") ? "still there" : true), 10_000, 100);
    expect(await list(after)).toEqual(["old-2"]);
  });

  it.each([
    ["a missing file", undefined, /--config \/ WORKFLOWD_CONFIG '.*nope\.yaml': cannot read it \(no such file\)/],
    ["a bad duration", "anyTerminal: 7 days", /stateRetentionPolicy\.anyTerminal: '7 days' is not a duration; write it as Go does/],
    ["an unknown setting", "completd: 1h", /stateRetentionPolicy\.completd is not a setting/],
  ])("refuses to start with %s, in one line naming the flag and the variable", async (_what, policy, message) => {
    const path = policy === undefined ? join(processes.tempDir(), "nope.yaml") : configFile(policy);
    const server = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: "none", WORKFLOWD_CONFIG: path } });
    const exit = await server.waitExit(10_000);
    expect(exit.code).not.toBe(0);
    expect(server.stderr).toMatch(message);
    expect(server.stderr).toMatch(/--config \/ WORKFLOWD_CONFIG/);
    expect(server.stderr.trim().split("\n")).toHaveLength(1);
  });
});
