/**
 * Shared helpers of the reliability tests: real server processes (server-process.mjs) and
 * temp dirs, cleaned up after every test (servers SIGKILLed, dirs removed, server output
 * printed when the test failed); polling without fixed sleeps.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
// @ts-expect-error -- plain .mjs module shared with scripts/torture.mjs (no declarations)
import * as serverProcess from "./server-process.mjs";

export interface HttpAnswer {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

export interface ServerProcess {
  readonly port: number;
  readonly baseUrl: string;
  readonly label: string;
  readonly child: import("node:child_process").ChildProcess;
  stdout: string;
  stderr: string;
  exit: { code: number | null; signal: string | null } | undefined;
  readonly running: boolean;
  waitHealthy(timeoutMs?: number): Promise<void>;
  kill(): Promise<{ code: number | null; signal: string | null }>;
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: string | null }>;
  dump(): string;
  request(method: string, path: string, body?: string, headers?: Record<string, string>, timeoutMs?: number): Promise<HttpAnswer>;
  start(name: string, instanceId: string, input?: unknown): Promise<HttpAnswer>;
  get(instanceId: string): Promise<HttpAnswer>;
  raise(instanceId: string, eventName: string, data?: unknown): Promise<HttpAnswer>;
  command(instanceId: string, command: string): Promise<HttpAnswer>;
}

export const Server = serverProcess.Server as {
  spawn(options?: { env?: Record<string, string | undefined>; label?: string; port?: number }): Promise<ServerProcess>;
};
export const tortureWorkflows: string = serverProcess.tortureWorkflows;
export const freePort: () => Promise<number> = serverProcess.freePort;
export const outputOf: (state: unknown) => unknown = serverProcess.outputOf;
export const customStatusOf: (state: unknown) => string | undefined = serverProcess.customStatusOf;
export const sleep: (ms: number) => Promise<void> = serverProcess.sleep;
export const httpRequest: (url: string, method: string, body?: string, headers?: Record<string, string>, timeoutMs?: number) => Promise<HttpAnswer> =
  serverProcess.httpRequest;

/** Per-test servers and temp dirs; registers the hooks of the calling file. */
export function useServers() {
  let servers: ServerProcess[] = [];
  let dirs: string[] = [];
  beforeEach((context) => {
    servers = [];
    const mine = servers;
    context.onTestFailed(() => {
      for (const server of mine) console.error(server.dump());
    });
  });
  afterEach(async () => {
    await Promise.allSettled(servers.map((server) => server.kill()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs = [];
  });
  return {
    tempDir(): string {
      const dir = mkdtempSync(join(tmpdir(), "workflowd-reliability-"));
      dirs.push(dir);
      return dir;
    },
    async spawn(options: { env?: Record<string, string | undefined>; label?: string; port?: number } = {}): Promise<ServerProcess> {
      const server = await Server.spawn(options);
      servers.push(server);
      return server;
    },
  };
}

/** Polls `probe` until it returns something other than a string (a description of what is still missing). */
export async function eventually<T>(what: string, probe: () => Promise<T | string> | T | string, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const result = await probe();
      if (typeof result !== "string") return result;
      last = result;
    } catch (error) {
      last = `probe threw: ${(error as Error).message}`;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Runs `jobs` with at most `limit` at once. */
export async function pool<T>(limit: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, async () => {
    while (next < jobs.length) {
      const index = next++;
      results[index] = await jobs[index]!();
    }
  }));
  return results;
}
