/**
 * Start-up with defaults. `npm start` (`node dist/src/main.js --default-workflows examples`)
 * creates ./data/workflowd.db in the working directory, loads the bundled examples, and opens
 * SQLite in WAL mode, every commit flushed to disk before it is answered. The binary alone (the container, the deploy files)
 * runs no in-process workflows: examples are opt-in, and WORKFLOWD_WORKFLOWS or --workflows
 * choose otherwise under npm start too.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, outputOf, useProcesses } from "./harness.js";

const processes = useProcesses();

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function logLines(stdout: string): LogLine[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as LogLine);
}

describe("start-up with defaults", () => {
  it("creates ./data/workflowd.db in its cwd, serves the bundled examples, and runs SQLite in WAL mode with every commit flushed before it is answered", async () => {
    const cwd = processes.tempDir();
    // Only the port is set (a fixed 3500 could be taken); everything else is the default,
    // including the host (0.0.0.0), which 127.0.0.1 reaches.
    const server = await processes.spawn({ cwd, env: { WORKFLOWD_HOST: undefined }, args: ["--default-workflows", "examples"], label: "npm start" });
    await server.waitHealthy();
    expect(existsSync(join(cwd, "data", "workflowd.db")), "./data/workflowd.db in the cwd").toBe(true);

    const startLine = await eventually("the start-up log line", () =>
      logLines(server.stdout).find((l) => l.msg === "store open, engine started") ?? `stdout so far: ${server.stdout}`);
    // NORMAL, with the WAL fdatasync'ed off the event loop before any answer (store/sqlite/wal-sync.ts).
    expect(startLine.synchronous, "PRAGMA synchronous (1 = NORMAL)").toBe(1);
    expect(startLine.durability).toBe("a writer thread; fdatasync of the WAL after each group commit, before any answer");
    expect(startLine.journalMode).toBe("wal");
    expect(startLine.db).toBe("./data/workflowd.db");
    expect(startLine.workflows).toEqual(expect.arrayContaining(["hello", "fanOutFanIn", "failing", "approval", "parent"]));

    await server.start("hello", "hello-1");
    const state = await server.waitTerminal("hello-1");
    expect(state.runtimeStatus).toBe("COMPLETED");
    expect(state.workflowName).toBe("hello");
    expect(outputOf(state)).toEqual(["Hello, Tokyo!", "Hello, London!", "Hello, Seattle!"]);

    // Logs are JSON lines at info level by default; nothing goes to stderr.
    expect(logLines(server.stdout).every((l) => typeof l.level === "number" && l.level >= 30)).toBe(true);
    expect(server.stderr).toBe("");
    expect(await server.stop("SIGTERM")).toEqual({ code: 0, signal: null });
  });

  it("with LOG_LEVEL=warn the start-up is silent", async () => {
    const cwd = processes.tempDir();
    const server = await processes.spawn({ cwd, env: { LOG_LEVEL: "warn" }, args: ["--default-workflows", "examples"], label: "quiet" });
    await server.waitHealthy();
    await server.start("hello", "quiet-1");
    expect((await server.waitTerminal("quiet-1")).runtimeStatus).toBe("COMPLETED");
    expect(await server.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(server.stdout).toBe("");
    expect(server.stderr).toBe("");
  });

  it("the binary alone runs no in-process workflows: a start of an example's name waits for a worker (PENDING)", async () => {
    const cwd = processes.tempDir();
    const server = await processes.spawn({ cwd, label: "binary" });
    await server.waitHealthy();
    const startLine = await eventually("the start-up log line", () =>
      logLines(server.stdout).find((l) => l.msg === "store open, engine started") ?? `stdout so far: ${server.stdout}`);
    expect(startLine.workflows).toEqual([]);
    const metadata = (await (await fetch(`${server.baseUrl}/v1.0/metadata`)).json()) as { workflows: unknown };
    expect(metadata.workflows).toEqual({ connectedWorkers: 0, inProcessRuntime: false });
    await server.start("hello", "nobody-runs-me");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await server.get("nobody-runs-me"))?.runtimeStatus).toBe("PENDING");
  });

  it("under npm start, WORKFLOWD_WORKFLOWS=none and --workflows none still win over the examples", async () => {
    for (const options of [{ env: { WORKFLOWD_WORKFLOWS: "none" }, args: ["--default-workflows", "examples"] }, { args: ["--default-workflows", "examples", "--workflows", "none"] }]) {
      const server = await processes.spawn({ cwd: processes.tempDir(), label: "npm start, none", ...options });
      await server.waitHealthy();
      const startLine = await eventually("the start-up log line", () =>
        logLines(server.stdout).find((l) => l.msg === "store open, engine started") ?? `stdout so far: ${server.stdout}`);
      expect(startLine.workflows).toEqual([]);
      await server.stop("SIGTERM");
    }
  });
});
