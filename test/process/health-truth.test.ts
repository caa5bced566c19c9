/**
 * Health that tells the truth: a damaged database file is refused at start-up (with its path
 * and what to do); damage found while serving makes /v1.0/healthz answer 500 until restart; a
 * database of another program is refused unless adopted.
 */
import { openSync, writeSync, closeSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { eventually, fixtureWorkflows, useProcesses } from "./harness.js";

const processes = useProcesses();

async function startFailure(env: Record<string, string>, args: string[] = []) {
  const server = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: "none", ...env }, args });
  const exit = await server.waitExit(10_000);
  expect(exit.code).not.toBe(0);
  expect(server.stderr.trim().split("\n")).toHaveLength(1);
  expect(server.stderr).not.toMatch(/^\s+at /m);
  return server.stderr;
}

describe("health that tells the truth", () => {
  it("refuses to start on 16 KiB of garbage, naming the file and the fix", async () => {
    const dbPath = join(processes.tempDir(), "garbage.db");
    writeFileSync(dbPath, randomBytes(16 * 1024));
    const stderr = await startFailure({ WORKFLOWD_DB: dbPath });
    expect(stderr).toContain(`database '${dbPath}' is damaged (file is not a database); restore it from a backup made with \`workflowd backup\``);
  });

  it("refuses to start on a database whose pages are damaged (quick_check)", async () => {
    const dbPath = join(processes.tempDir(), "wf.db");
    const first = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: dbPath, LOG_LEVEL: "warn" } });
    await first.waitHealthy();
    for (let i = 0; i < 300; i++) await first.start("echo", `e-${i}`, "x".repeat(500));
    await first.waitTerminal("e-299");
    expect(await first.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    damagePages(dbPath);
    const stderr = await startFailure({ WORKFLOWD_DB: dbPath });
    expect(stderr).toMatch(new RegExp(`database '${dbPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}' is damaged \\(`));
    expect(stderr).toContain("restore it from a backup");
  });

  it("damage found while serving makes healthz answer 500 (not 204) until restart", async () => {
    const dbPath = join(processes.tempDir(), "wf.db");
    const server = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: dbPath, LOG_LEVEL: "fatal" } });
    await server.waitHealthy();
    for (let i = 0; i < 400; i++) await server.start("echo", `e-${i}`, "y".repeat(1000));
    await server.waitTerminal("e-399");
    damagePages(dbPath);
    // Reads of pages not in SQLite's cache now fail; the first such fault marks the store.
    await eventually("a read to fail on the damaged file", async () => {
      const res = await fetch(`${server.baseUrl}/v1.0/workflows/dapr?pageSize=1000&fetchInputsAndOutputs=true`);
      for (let i = 0; i < 400 && res.status === 200; i += 37) {
        const got = await fetch(`${server.baseUrl}/v1.0/workflows/dapr/e-${i}/history`);
        if (got.status === 500) return true;
      }
      return res.status === 500 || `list answered ${res.status}`;
    });
    const health = await fetch(`${server.baseUrl}/v1.0/healthz`);
    expect(health.status).toBe(500);
    const body = (await health.json()) as { errorCode: string; message: string };
    expect(body.errorCode).toBe("ERR_HEALTH_NOT_READY");
    expect(body.message).toMatch(/store \(the database is damaged .*restore it from a backup/);
  });

  it("refuses a database of another program unless --db-adopt says to add workflowd's tables to it", async () => {
    const dbPath = join(processes.tempDir(), "theirs.db");
    const theirs = new Database(dbPath);
    theirs.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('Ada')");
    theirs.close();
    const stderr = await startFailure({ WORKFLOWD_DB: dbPath });
    expect(stderr).toContain(`database '${dbPath}' is not workflowd's: it has other tables (customers) and no workflowd schema`);
    expect(stderr).toContain("--db-adopt (WORKFLOWD_DB_ADOPT=true)");
    const adopted = await processes.spawn({ env: { WORKFLOWD_WORKFLOWS: "none", WORKFLOWD_DB: dbPath }, args: ["--db-adopt"] });
    await adopted.waitHealthy();
    expect(await adopted.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    const after = new Database(dbPath, { readonly: true });
    expect(after.prepare("SELECT name FROM customers").all()).toEqual([{ name: "Ada" }]);
    after.close();
  });
});

/** Overwrites the file's pages after the first two with random bytes (the header stays). */
function damagePages(path: string): void {
  const size = statSync(path).size;
  const fd = openSync(path, "r+");
  try {
    for (let offset = 8192; offset < size; offset += 4096) writeSync(fd, randomBytes(4096), 0, 4096, offset);
  } finally {
    closeSync(fd);
  }
}
