/**
 * Helpers for the process-level tests: spawn the built server (`dist/src/main.js`) as a
 * real child process on a real port with a real SQLite file, talk to it with global fetch,
 * and clean up after every test (children killed, temp dirs removed, output printed when the
 * test failed).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach } from "vitest";
import type { WorkflowStateResponse } from "../../src/api/schemas.js";
import { freePort, serverEnvNames } from "./server-env.mjs";

export const mainJs = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
export const fixturesDir = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const fixtureWorkflows = join(fixturesDir, "workflows.mjs");

if (!existsSync(mainJs)) {
  throw new Error(`${mainJs} does not exist: run \`npm run build\` before the process tests`);
}

export { freePort };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Added to a clean environment (our own server settings removed). */
  env?: Record<string, string | undefined>;
  args?: string[];
  cwd?: string;
  /**
   * The port to reach the server on. Defaults to a fresh free port, passed as
   * DAPR_HTTP_PORT unless `env`/`args` already name one.
   */
  port?: number;
  label?: string;
}

export class ServerProcess {
  stdout = "";
  stderr = "";
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  readonly baseUrl: string;

  constructor(readonly child: ChildProcess, readonly port: number, readonly label: string) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (this.stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Waits for GET /v1.0/healthz to answer 204; fails early if the process exits. */
  async waitHealthy(timeoutMs = 10_000): Promise<void> {
    await eventually(`${this.label} to answer GET /v1.0/healthz with 204`, async () => {
      if (this.exit) throw new Fatal(`${this.label} exited (${describeExit(this.exit)}) before it was healthy; stderr:\n${this.stderr}`);
      try {
        const response = await fetch(`${this.baseUrl}/v1.0/healthz`, { signal: AbortSignal.timeout(1000) });
        return response.status === 204 || `healthz answered ${response.status}`;
      } catch (error) {
        return `healthz: ${(error as Error).message}`;
      }
    }, timeoutMs);
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals, timeoutMs = 10_000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    return this.waitExit(timeoutMs);
  }

  async waitExit(timeoutMs = 10_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL, and wait until the process is really gone (so its file locks are released). */
  async kill(): Promise<Exit> {
    return this.stop("SIGKILL");
  }

  dump(): string {
    const status = this.exit ? describeExit(this.exit) : "still running";
    return `---- ${this.label} (pid ${this.child.pid}, port ${this.port}, ${status}) ----\n` +
      `stdout:\n${this.stdout || "(empty)"}\nstderr:\n${this.stderr || "(empty)"}\n`;
  }

  // -- the Dapr Workflow HTTP API -----------------------------------------------------------

  async startWorkflow(name: string, instanceId: string, input?: unknown): Promise<Response> {
    return fetch(`${this.baseUrl}/v1.0/workflows/dapr/${name}/start?instanceID=${encodeURIComponent(instanceId)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      ...(input === undefined ? {} : { body: JSON.stringify(input) }),
    });
  }

  /** Starts a workflow and insists on 202. */
  async start(name: string, instanceId: string, input?: unknown): Promise<void> {
    const response = await this.startWorkflow(name, instanceId, input);
    if (response.status !== 202) {
      throw new Error(`starting ${name} as ${instanceId} answered ${response.status}: ${await response.text()}`);
    }
  }

  async get(instanceId: string): Promise<WorkflowState | undefined> {
    const response = await fetch(`${this.baseUrl}/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}`);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw new Error(`GET ${instanceId} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as WorkflowState;
  }

  async raise(instanceId: string, eventName: string, data?: unknown): Promise<void> {
    const response = await fetch(
      `${this.baseUrl}/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}/raiseEvent/${encodeURIComponent(eventName)}`,
      { method: "POST", headers: { "content-type": "application/json" }, ...(data === undefined ? {} : { body: JSON.stringify(data) }) },
    );
    if (response.status !== 202) throw new Error(`raise ${eventName} at ${instanceId} answered ${response.status}: ${await response.text()}`);
  }

  /** terminate / pause / resume / purge, insisting on 202. */
  async command(instanceId: string, command: "terminate" | "pause" | "resume" | "purge"): Promise<void> {
    const response = await fetch(`${this.baseUrl}/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}/${command}`, { method: "POST" });
    if (response.status !== 202) throw new Error(`${command} ${instanceId} answered ${response.status}: ${await response.text()}`);
  }

  /** Polls until GET satisfies `until`, and returns that state. */
  async waitFor(instanceId: string, what: string, until: (state: WorkflowState) => boolean, timeoutMs = 10_000): Promise<WorkflowState> {
    return eventually(`${instanceId} ${what} on ${this.label}`, async () => {
      if (this.exit) throw new Fatal(`${this.label} exited (${describeExit(this.exit)})`);
      const state = await this.get(instanceId);
      if (state && until(state)) return state;
      return `status is ${state?.runtimeStatus ?? "not found"}, custom status ${state?.properties?.["dapr.workflow.custom_status"]}`;
    }, timeoutMs);
  }

  /** Polls until the instance reaches a terminal status, and returns its state. */
  async waitTerminal(instanceId: string, timeoutMs = 10_000): Promise<WorkflowState> {
    return eventually(`${instanceId} to reach a terminal status on ${this.label}`, async () => {
      if (this.exit) throw new Fatal(`${this.label} exited (${describeExit(this.exit)})`);
      const state = await this.get(instanceId);
      if (state && terminal.has(state.runtimeStatus)) return state;
      return `status is ${state?.runtimeStatus ?? "not found"}`;
    }, timeoutMs);
  }
}

/** GET's body, typed from the server's own response schema so the two cannot drift. */
export type WorkflowState = WorkflowStateResponse;

const terminal = new Set(["COMPLETED", "FAILED", "TERMINATED"]);

/** The parsed output of a workflow state (undefined when it has none). */
export function outputOf(state: WorkflowState | undefined): unknown {
  const text = state?.properties?.["dapr.workflow.output"];
  return text === undefined ? undefined : JSON.parse(text);
}

/** An error `eventually` does not retry. */
export class Fatal extends Error {}

/**
 * Polls `probe` until it returns something other than a string or `false`; a string is a
 * description of the current state, kept for the timeout message. No fixed sleeps.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | string | false> | T | string | false,
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const result = await probe();
      if (result !== false && typeof result !== "string") return result as T;
      if (typeof result === "string") last = result;
    } catch (error) {
      if (error instanceof Fatal) throw new Error(`while waiting for ${what}: ${error.message}`);
      last = `probe threw: ${(error as Error).message}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${last})` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function describeExit(exit: Exit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/**
 * Registers beforeEach/afterEach hooks for the calling test file and returns the per-test
 * spawning and temp-dir helpers. After each test every child still running is SIGKILLed and
 * every temp dir removed; when a test failed, every child's stdout and stderr are printed.
 */
export function useProcesses() {
  let servers: ServerProcess[] = [];
  let dirs: string[] = [];
  let count = 0;

  beforeEach((context) => {
    servers = [];
    count = 0;
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
    /** A fresh temp dir, removed after the test. */
    tempDir(): string {
      const dir = mkdtempSync(join(tmpdir(), "workflowd-process-"));
      dirs.push(dir);
      return dir;
    },

    /** Spawns `node dist/src/main.js`; does not wait for it to be healthy. */
    async spawn(options: SpawnOptions = {}): Promise<ServerProcess> {
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const name of serverEnvNames) delete env[name];
      const args = options.args ?? [];
      const portNamed = options.env?.DAPR_HTTP_PORT !== undefined || args.some((a) => a === "--port" || a.startsWith("--port="));
      const port = options.port ?? (portNamed ? Number(options.env?.DAPR_HTTP_PORT) : await freePort());
      if (!portNamed) env.DAPR_HTTP_PORT = String(port);
      env.WORKFLOWD_HOST = "127.0.0.1";
      // Parallel test servers must not fight over the default gRPC and metrics ports.
      env.DAPR_GRPC_PORT = "0";
      env.DAPR_METRICS_PORT = "0";
      for (const [name, value] of Object.entries(options.env ?? {})) {
        if (value === undefined) delete env[name];
        else env[name] = value;
      }
      const child = spawn(process.execPath, [mainJs, ...args], {
        cwd: options.cwd ?? process.cwd(),
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      const server = new ServerProcess(child, port, options.label ?? `server #${++count}`);
      servers.push(server);
      return server;
    },
  };
}
