/**
 * What an operator reads at info and warn: one start-up line (version, ports, database, what
 * was recovered), a failed workflow at warn (ID, name, error type), the shutdown steps; an SDK
 * app's start-up race is not a warning, a workflow nobody runs is, a few seconds later; a
 * workflows module that does not load is named with its file and line.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, fixtureWorkflows, useProcesses } from "./harness.js";

const processes = useProcesses();

interface Line { level: number; msg: string; [key: string]: unknown }
const lines = (stdout: string): Line[] => stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Line);

describe("logs", () => {
  it("one start-up summary line, a failed workflow at warn, the shutdown steps", async () => {
    const server = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: "examples", WORKFLOWD_DB: join(processes.tempDir(), "wf.db") } });
    await server.waitHealthy();
    const ready = await eventually("the ready line", () => lines(server.stdout).find((l) => l.msg.startsWith("workflowd ")) ?? "not yet");
    expect(ready).toMatchObject({ level: 30, httpPort: server.port, inProcessWorkflows: 7, recovered: { instancesWithWork: 0, timersWaiting: 0, activitiesQueued: 0 } });
    expect(ready.msg).toMatch(new RegExp(`^workflowd \\d+\\.\\d+\\.\\d+ ready: HTTP on ${server.port}, gRPC on \\d+, database .*wf\\.db$`));

    await server.start("failing", "fail-1", { amount: 5 });
    await server.waitTerminal("fail-1");
    const failed = await eventually("the failure line", () => lines(server.stdout).find((l) => l.msg === "workflow failed") ?? "not yet");
    expect(failed).toMatchObject({ level: 40, instanceId: "fail-1", workflowName: "failing", errorType: "TaskFailedError" });
    expect(failed.error).toMatch(/card declined for amount 5/);

    expect(await server.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(lines(server.stdout).map((l) => l.msg).filter((m) => m.startsWith("shutdown:") || m === "shutting down")).toEqual([
      "shutting down",
      "shutdown: engine stopped (in-flight turns committed, activities finished or given back)",
      "shutdown: gRPC closed (SDK worker streams ended)",
      "shutdown: database closed",
    ]);
  });

  it("a workflow no worker serves is a warning only if none appears within 5 s; the start-up race is not", async () => {
    const server = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: join(processes.tempDir(), "wf.db") } });
    await server.waitHealthy();
    await server.start("nobodyRunsThis", "orphan-1");
    await server.start("nobodyRunsThis", "orphan-2");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(lines(server.stdout).filter((l) => l.level >= 40)).toEqual([]);
    const warning = await eventually("the late warning", () => lines(server.stdout).find((l) => l.level === 40) ?? "not yet", 10_000);
    expect(warning).toMatchObject({ workflowName: "nobodyRunsThis", waiting: 2 });
    expect(warning.msg).toMatch(/^no worker serves this workflow/);
  });

  it("a workflows module that does not load is named with its file and line", async () => {
    const dir = processes.tempDir();
    const broken = join(dir, "broken.mjs");
    writeFileSync(broken, "export default (registry) => {\n  registry.registerWorkflow(;\n};\n");
    const throws = join(dir, "throws.mjs");
    writeFileSync(throws, "const settings = undefined;\nconst port = settings.port;\nexport default () => {};\n");
    for (const [file, message] of [
      [broken, new RegExp(`failed to load: SyntaxError: .* at ${broken.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2; fix it, or point --workflows \\(WORKFLOWD_WORKFLOWS\\) elsewhere`)],
      [throws, new RegExp(`failed to load: TypeError: Cannot read properties of undefined \\(reading 'port'\\) at ${throws.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2:\\d+`)],
    ] as const) {
      const server = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: file, WORKFLOWD_DB: ":memory:" } });
      const exit = await server.waitExit(10_000);
      expect(exit.code).not.toBe(0);
      expect(server.stderr.trim().split("\n")).toHaveLength(1);
      expect(server.stderr).toMatch(message);
    }
  });
});
