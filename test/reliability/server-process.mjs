// A workflowd server as a real child process (`node dist/src/main.js`), for the reliability
// tests and for scripts/torture.mjs (plain .mjs, so `node` runs it without a build step of
// its own; only dist/ must be built). Mirrors test/process/harness.ts, without vitest hooks.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort, serverEnvNames } from "../process/server-env.mjs";

export const mainJs = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
export const tortureWorkflows = fileURLToPath(new URL("../fixtures/torture-workflows.mjs", import.meta.url));

export { freePort };

export function assertBuilt() {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} does not exist: run \`npm run build\` first`);
}

const keepBytes = 200_000;

export class Server {
  /**
   * @param {{ env?: Record<string, string | undefined>, label?: string, port?: number }} options
   */
  static async spawn(options = {}) {
    assertBuilt();
    const port = options.port ?? (await freePort());
    const env = { ...process.env };
    for (const name of serverEnvNames) delete env[name];
    Object.assign(env, {
      DAPR_HTTP_PORT: String(port),
      WORKFLOWD_HOST: "127.0.0.1",
      DAPR_GRPC_PORT: "0",
      DAPR_METRICS_PORT: "0",
      LOG_LEVEL: "warn",
    });
    for (const [name, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    const child = spawn(process.execPath, [mainJs], { env, stdio: ["ignore", "pipe", "pipe"] });
    return new Server(child, port, options.label ?? `server on ${port}`);
  }

  constructor(child, port, label) {
    this.child = child;
    this.port = port;
    this.label = label;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.stdout = "";
    this.stderr = "";
    /** @type {{ code: number | null, signal: string | null } | undefined} */
    this.exit = undefined;
    child.stdout.setEncoding("utf8").on("data", (chunk) => (this.stdout = (this.stdout + chunk).slice(-keepBytes)));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (this.stderr = (this.stderr + chunk).slice(-keepBytes)));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  get running() {
    return this.exit === undefined;
  }

  async waitHealthy(timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (this.exit) throw new Error(`${this.label} exited (${JSON.stringify(this.exit)}) before it was healthy; stderr:\n${this.stderr}`);
      try {
        const response = await fetch(`${this.baseUrl}/v1.0/healthz`, { signal: AbortSignal.timeout(1000) });
        if (response.status === 204) return;
        last = `healthz answered ${response.status}`;
      } catch (error) {
        last = error.message;
      }
      await sleep(20);
    }
    throw new Error(`${this.label} not healthy after ${timeoutMs} ms (${last})`);
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill() {
    if (this.exit) return this.exit;
    this.child.kill("SIGKILL");
    return this.exited;
  }

  /** SIGTERM (graceful), and wait for the exit. */
  async stop(timeoutMs = 20_000) {
    if (this.exit) return this.exit;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  dump() {
    return `---- ${this.label} (pid ${this.child.pid}, ${this.exit ? JSON.stringify(this.exit) : "running"}) ----\n` +
      `stdout (tail):\n${this.stdout.slice(-8000) || "(empty)"}\nstderr (tail):\n${this.stderr.slice(-8000) || "(empty)"}\n`;
  }

  // -- the Dapr Workflow HTTP API: each returns { status, body } or throws on a network error

  request(method, path, body, headers = {}, timeoutMs = 10_000) {
    return httpRequest(`${this.baseUrl}${path}`, method, body, headers, timeoutMs);
  }

  start(name, instanceId, input) {
    return this.request("POST", `/v1.0/workflows/dapr/${name}/start?instanceID=${encodeURIComponent(instanceId)}`,
      input === undefined ? undefined : JSON.stringify(input), { "content-type": "application/json" });
  }

  get(instanceId) {
    return this.request("GET", `/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}`);
  }

  raise(instanceId, eventName, data) {
    return this.request("POST", `/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}/raiseEvent/${encodeURIComponent(eventName)}`,
      data === undefined ? undefined : JSON.stringify(data), { "content-type": "application/json" });
  }

  command(instanceId, command) {
    return this.request("POST", `/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}/${command}`);
  }
}

export async function httpRequest(url, method, body, headers = {}, timeoutMs = 10_000) {
  const response = await fetch(url, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, headers: response.headers };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The parsed output of a GET body (undefined when it has none). */
export function outputOf(state) {
  const text = state?.properties?.["dapr.workflow.output"];
  return text === undefined ? undefined : JSON.parse(text);
}

export function customStatusOf(state) {
  return state?.properties?.["dapr.workflow.custom_status"];
}

/** A small seeded PRNG (mulberry32), so a run's random choices can be replayed by seed. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [min, max]. */
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}
