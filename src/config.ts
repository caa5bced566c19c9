/**
 * Configuration from the environment and command-line flags (flags win). Every setting has
 * both forms; the README's configuration table lists them.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseDaprConfiguration, type RetentionPolicy } from "./dapr-configuration.js";
import { limits } from "./limits.js";

export interface Config {
  host: string;
  port: number;
  /** The durabletask gRPC port for Dapr SDK apps (0 picks a free port). */
  grpcPort: number;
  /** The Prometheus metrics port (0 picks a free port). */
  metricsPort: number;
  dbPath: string;
  /** A Dapr Configuration YAML file (retention policy), if any. */
  configPath: string | undefined;
  /** Serve the web console at /ui/. */
  ui: boolean;
  /** Its `spec.workflow.stateRetentionPolicy`; undefined: keep finished instances. */
  retention: RetentionPolicy | undefined;
  /** Path of the workflows module, or undefined to run without in-process workflows. */
  workflowsPath: string | undefined;
  logLevel: string;
  bodyBytesMax: number;
  /** gRPC message size limit, both directions. */
  grpcMessageBytesMax: number;
  /** End each SDK connection's first worker stream, so the Node SDK reconnects after a crash. */
  grpcPrimeReconnect: boolean;
  apiToken: string | undefined;
  appId: string;
  activityLeaseMs: number;
  shutdownGraceMs: number;
}

/** The bundled examples, compiled beside this file's directory (dist/examples/index.js). */
export const bundledExamplesPath = fileURLToPath(new URL("../examples/index.js", import.meta.url));

/**
 * Every server flag, its environment variable and what it sets (`workflowd --help` prints
 * this table).
 */
export const serverFlags = {
  host: { type: "string", env: "WORKFLOWD_HOST", help: "address to listen on (default 0.0.0.0)" },
  port: { type: "string", env: "DAPR_HTTP_PORT", help: "HTTP port of the Dapr Workflow API (default 3500)" },
  "grpc-port": { type: "string", env: "DAPR_GRPC_PORT", help: "durabletask gRPC port for Dapr SDK apps (default 50001)" },
  "metrics-port": { type: "string", env: "DAPR_METRICS_PORT", help: "Prometheus /metrics port (default 9090)" },
  db: { type: "string", env: "WORKFLOWD_DB", help: "SQLite database file (default ./data/workflowd.db)" },
  workflows: { type: "string", env: "WORKFLOWD_WORKFLOWS", help: "in-process workflows module, or 'none' (default: the bundled examples)" },
  ui: { type: "string", env: "WORKFLOWD_UI", help: "serve the web console at /ui/ (default true)" },
  config: { type: "string", env: "WORKFLOWD_CONFIG", help: "a Dapr Configuration YAML (spec.workflow.stateRetentionPolicy)" },
  "log-level": { type: "string", env: "LOG_LEVEL", help: "debug, info, warn or error (default info)" },
  "max-body-size": { type: "string", env: "WORKFLOWD_MAX_BODY", help: "largest HTTP request body, e.g. 4Mi (default 4Mi)" },
  "grpc-max-message-size": { type: "string", env: "WORKFLOWD_GRPC_MAX_MESSAGE", help: "largest gRPC message, e.g. 128Mi" },
  "grpc-prime-reconnect": { type: "string", env: "WORKFLOWD_GRPC_PRIME_RECONNECT", help: "end each Node SDK's first worker stream once so it reconnects after a crash (default true)" },
  "app-id": { type: "string", env: "APP_ID", help: "the app ID /v1.0/metadata reports (default workflowd)" },
  "activity-lease-ms": { type: "string", env: "WORKFLOWD_ACTIVITY_LEASE_MS", help: "how long a running activity is leased before it runs again" },
  "shutdown-grace-ms": { type: "string", env: "WORKFLOWD_SHUTDOWN_GRACE_MS", help: "how long shutdown waits for running work" },
} as const;
const flags = serverFlags;

export class ConfigError extends Error {}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, { type: v.type }])),
    strict: true,
  });
  const get = (name: keyof typeof flags): string | undefined => {
    const fromFlag = values[name];
    if (typeof fromFlag === "string") return fromFlag;
    const fromEnv = env[flags[name].env];
    return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
  };
  const workflows = get("workflows");
  return {
    host: get("host") ?? "0.0.0.0",
    port: integer("port", get("port") ?? "3500", 0, 65535),
    grpcPort: integer("grpc-port", get("grpc-port") ?? "50001", 0, 65535),
    metricsPort: integer("metrics-port", get("metrics-port") ?? "9090", 0, 65535),
    dbPath: get("db") ?? "./data/workflowd.db",
    configPath: get("config"),
    retention: retentionOf(get("config")),
    ui: boolean("ui", get("ui") ?? "true"),
    workflowsPath: workflows === "none" ? undefined : workflows ?? bundledExamplesPath,
    logLevel: get("log-level") ?? "info",
    bodyBytesMax: byteSize(get("max-body-size"), "max-body-size") ?? limits.bodyBytesDefault,
    grpcMessageBytesMax: byteSize(get("grpc-max-message-size"), "grpc-max-message-size") ?? limits.grpcMessageBytesMax,
    grpcPrimeReconnect: boolean("grpc-prime-reconnect", get("grpc-prime-reconnect") ?? "true"),
    apiToken: env.DAPR_API_TOKEN || undefined,
    appId: get("app-id") ?? "workflowd",
    activityLeaseMs: integer("activity-lease-ms", get("activity-lease-ms") ?? String(limits.activityLeaseMsDefault), 1, 2 ** 31),
    shutdownGraceMs: integer("shutdown-grace-ms", get("shutdown-grace-ms") ?? String(limits.shutdownGraceMsDefault), 0, 2 ** 31),
  };
}

function retentionOf(path: string | undefined): RetentionPolicy | undefined {
  if (path === undefined) return undefined;
  const where = `--config / WORKFLOWD_CONFIG '${path}'`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const cause = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : error instanceof Error ? error.message : String(error);
    throw new ConfigError(`${where}: cannot read it (${cause}); give the path of a Dapr Configuration YAML file`);
  }
  try {
    return parseDaprConfiguration(text).retention;
  } catch (error) {
    throw new ConfigError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function boolean(name: string, text: string): boolean {
  if (/^(true|1|yes|on)$/i.test(text)) return true;
  if (/^(false|0|no|off)$/i.test(text)) return false;
  throw new ConfigError(`${name} must be true or false, got '${text}'`);
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got '${text}'`);
  }
  return value;
}

const units: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1e3, ki: 1024, kib: 1024, m: 1e6, mb: 1e6, mi: 2 ** 20, mib: 2 ** 20, g: 1e9, gb: 1e9, gi: 2 ** 30, gib: 2 ** 30 };

/** Bytes, or a size with a unit as daprd's --max-body-size takes it ("4Mi", "10MB"). */
export function byteSize(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = match ? units[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) throw new ConfigError(`${name} must be a size such as 4194304 or 4Mi, got '${text}'`);
  const bytes = Math.floor(Number(match[1]) * factor);
  if (bytes < 1) throw new ConfigError(`${name} must be at least 1 byte, got '${text}'`);
  return bytes;
}
