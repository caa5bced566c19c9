/**
 * Configuration from the environment and command-line flags (flags win). Every setting has
 * both forms; the README's configuration table lists them.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CommandLineError, ignoredDaprdFlags, parseCommandLine } from "./command-line.js";
import { type DaprConfiguration, parseDaprConfiguration, type RetentionPolicy, tracingOff, type TracingSettings } from "./dapr-configuration.js";
import { limits } from "./limits.js";

export interface Config {
  host: string;
  port: number;
  /** The durabletask gRPC port for Dapr SDK apps (0 picks a free port). */
  grpcPort: number;
  /** The Prometheus metrics port (0 picks a free port). */
  metricsPort: number;
  /** Serve /metrics (daprd's --enable-metrics). */
  metricsEnabled: boolean;
  dbPath: string;
  /** Add workflowd's tables to a database of another program (--db-adopt). */
  dbAdopt: boolean;
  /** A Dapr Configuration YAML file (retention policy), if any. */
  configPath: string | undefined;
  /** Serve the web console at /ui/. */
  ui: boolean;
  /** Its `spec.workflow.stateRetentionPolicy`; undefined: keep finished instances. */
  retention: RetentionPolicy | undefined;
  /** Its `spec.tracing`; undefined: no spans (trace contexts are still handed on). */
  tracing: TracingSettings | undefined;
  /** Path of the workflows module, or undefined to run without in-process workflows (the default). */
  workflowsPath: string | undefined;
  logLevel: string;
  bodyBytesMax: number;
  /** gRPC message size limit, both directions. */
  grpcMessageBytesMax: number;
  /** End each SDK connection's first worker stream, so the Node SDK reconnects after a crash. */
  grpcPrimeReconnect: boolean;
  apiToken: string | undefined;
  appId: string;
  /** Undefined: the host name. */
  replicaId: string | undefined;
  activityLeaseMs: number;
  /** Client starts are refused (429) while this many instances wait for a turn. */
  backlogMax: number;
  shutdownGraceMs: number;
  /** Lines for the start-up log: daprd flags ignored, and the like. */
  notes: string[];
}

/** The bundled examples, compiled beside this file's directory (dist/examples/index.js). */
export const bundledExamplesPath = fileURLToPath(new URL("../examples/index.js", import.meta.url));

/**
 * Every server flag, its environment variable and what it sets (`workflowd --help` prints
 * this table).
 */
export const serverFlags = {
  host: { type: "string", env: "WORKFLOWD_HOST", help: "address to listen on (default 0.0.0.0; daprd's --dapr-listen-addresses sets it too)" },
  port: { type: "string", env: "DAPR_HTTP_PORT", help: "HTTP port of the Dapr Workflow API and the console (default 3500; also --dapr-http-port)" },
  "grpc-port": { type: "string", env: "DAPR_GRPC_PORT", help: "durabletask gRPC port for Dapr SDK apps (default 50001; also --dapr-grpc-port)" },
  "metrics-port": { type: "string", env: "DAPR_METRICS_PORT", help: "Prometheus /metrics port (default 9090)" },
  "enable-metrics": { type: "boolean", env: "WORKFLOWD_ENABLE_METRICS", help: "serve /metrics (default true; --enable-metrics=false turns it off, as in daprd)" },
  "db-adopt": { type: "boolean", env: "WORKFLOWD_DB_ADOPT", help: "let workflowd add its tables to a database that has other tables and none of its own (default false: refused)" },
  db: { type: "string", env: "WORKFLOWD_DB", help: "SQLite database file (default ./data/workflowd.db; ':memory:' for a throw-away store), or a postgres:// URL for a PostgreSQL database several workflowd processes share" },
  workflows: { type: "string", env: "WORKFLOWD_WORKFLOWS", help: "in-process workflows: a module's path, 'examples' (the bundled ones) or 'none' (default none; npm start: examples)" },
  "default-workflows": { type: "string", env: "", help: "what --workflows is when neither it nor WORKFLOWD_WORKFLOWS is given (npm start passes examples)" },
  ui: { type: "string", env: "WORKFLOWD_UI", help: "serve the web console at /ui/ (default true)" },
  config: { type: "string", env: "WORKFLOWD_CONFIG", help: "a Dapr Configuration YAML, as daprd's --config (spec.workflow.stateRetentionPolicy, spec.tracing, spec.metrics.enabled); default none" },
  "log-level": { type: "string", env: "LOG_LEVEL", help: "debug, info, warn, error or fatal, as daprd's (default info)" },
  "log-as-json": { type: "boolean", env: "", help: "daprd's flag; workflowd always writes JSON log lines (default true)" },
  "max-body-size": { type: "string", env: "WORKFLOWD_MAX_BODY", help: "largest HTTP request body, e.g. 4Mi, as daprd's --max-body-size (default 4Mi)" },
  "dapr-http-max-request-size": { type: "string", env: "", help: "daprd's older form of the body limit, in MB (default 4)" },
  "grpc-max-message-size": { type: "string", env: "WORKFLOWD_GRPC_MAX_MESSAGE", help: "largest gRPC message, e.g. 128Mi (default 128Mi)" },
  "grpc-prime-reconnect": { type: "string", env: "WORKFLOWD_GRPC_PRIME_RECONNECT", help: "end each Node SDK's first worker stream once so it reconnects after a crash (default true)" },
  "app-id": { type: "string", env: "APP_ID", help: "the app's ID: /v1.0/metadata reports it, and this workflowd runs only its app's workflows and activities (default workflowd)" },
  "replica-id": { type: "string", env: "WORKFLOWD_REPLICA_ID", help: "names this process among the replicas sharing a PostgreSQL database: stable across restarts, distinct between replicas (default: the host name)" },
  "max-backlog": { type: "string", env: "WORKFLOWD_MAX_BACKLOG", help: "instances waiting to run past which starts are refused with 429 and Retry-After (default 250000)" },
  "activity-lease-ms": { type: "string", env: "WORKFLOWD_ACTIVITY_LEASE_MS", help: "how long a running activity is leased before it runs again (default 300000)" },
  "shutdown-grace-ms": { type: "string", env: "WORKFLOWD_SHUTDOWN_GRACE_MS", help: "how long shutdown waits for running work (default 10000; also --dapr-graceful-shutdown-seconds)" },
} as const;

type Setting = keyof typeof serverFlags;

/** daprd's flags workflowd accepts and ignores (for `--help`). */
export const ignoredFlagNames: readonly string[] = Object.keys(ignoredDaprdFlags);

export class ConfigError extends Error {}

/** The log levels daprd takes (its logger's), which pino has too. */
export const logLevels = ["debug", "info", "warn", "error", "fatal"] as const;

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv, Object.fromEntries(Object.entries(serverFlags).map(([name, f]) => [name, { bool: f.type === "boolean" }])));
  } catch (error) {
    if (error instanceof CommandLineError) throw new ConfigError(error.message);
    throw error;
  }
  const { values } = parsed;
  /** A setting's value and where it came from, for messages that name what the user set. */
  const read = (name: Setting | string): { value: string; from: string } | undefined => {
    const fromFlag = values.get(name);
    if (fromFlag !== undefined) return { value: fromFlag, from: `--${name}` };
    const variable = (serverFlags as Record<string, { env: string }>)[name]?.env;
    const fromEnv = variable ? env[variable] : undefined;
    return fromEnv === undefined || fromEnv === "" ? undefined : { value: fromEnv, from: variable! };
  };
  const setting = (name: Setting) => new SettingReader(name, serverFlags[name].env, read(name));

  const db = read("db");
  if (db && db.value.trim() === "") {
    throw new ConfigError(`${describe("db", "WORKFLOWD_DB")} is empty (from ${db.from}); give a file path, ':memory:' for a throw-away store, or a postgres:// URL`);
  }
  const workflows = read("workflows")?.value ?? read("default-workflows")?.value;
  const logLevel = read("log-level");
  if (logLevel && !(logLevels as readonly string[]).includes(logLevel.value)) {
    throw new ConfigError(`${describe("log-level", "LOG_LEVEL")} '${logLevel.value}' (from ${logLevel.from}) is not a log level; use one of ${logLevels.join(", ")}`);
  }
  const configuration = configurationOf(read("config")?.value);
  const notes: string[] = [];
  if (configuration && configuration.ignored.length > 0) {
    notes.push(`--config: ignoring the sections workflowd does not apply (daprd's): ${configuration.ignored.join(", ")}`);
  }
  const tracing = configuration?.tracing;
  if (tracing && tracing.ignored.length > 0) notes.push(`--config: ignoring tracing settings workflowd does not apply: ${tracing.ignored.join(", ")} (it exports over OTLP only)`);
  const off = tracing && tracingOff(tracing);
  if (off) notes.push(`--config: spec.tracing records no spans (${off}); callers' trace contexts are still handed on to workers`);
  if (parsed.ignored.length > 0) notes.push(`ignoring daprd flags that do not apply to workflowd: ${parsed.ignored.map((f) => `--${f}`).join(", ")}`);
  if (values.get("log-as-json") === "false") notes.push("--log-as-json=false: workflowd writes JSON log lines only");

  const listen = read("dapr-listen-addresses");
  const listenHosts = listen?.value.split(",").map((h) => h.trim()).filter(Boolean);
  if (listenHosts && listenHosts.length !== 1) {
    throw new ConfigError(`--dapr-listen-addresses '${listen!.value}': workflowd listens on one address; give one (e.g. 0.0.0.0 or 127.0.0.1)`);
  }
  const maxRequestMb = read("dapr-http-max-request-size");
  const graceSeconds = read("dapr-graceful-shutdown-seconds");
  return {
    host: read("host")?.value ?? listenHosts?.[0] ?? "0.0.0.0",
    port: setting("port").integer(3500, 0, 65535, "a port number, or 0 for any free port"),
    grpcPort: setting("grpc-port").integer(50001, 0, 65535, "a port number, or 0 for any free port"),
    metricsPort: setting("metrics-port").integer(9090, 0, 65535, "a port number, or 0 for any free port"),
    // The flag (or its variable) wins over the Configuration's spec.metrics.enabled.
    metricsEnabled: setting("enable-metrics").boolean(configuration?.metricsEnabled ?? true),
    dbPath: db?.value ?? "./data/workflowd.db",
    dbAdopt: setting("db-adopt").boolean(false),
    configPath: read("config")?.value,
    retention: configuration?.retention,
    tracing: configuration?.tracing,
    ui: setting("ui").boolean(true),
    // Opt-in: a daprd replacement runs no code of its own unless asked (an in-process name would
    // take that name from every SDK app).
    workflowsPath: workflows === undefined || workflows === "none" ? undefined : workflows === "examples" ? bundledExamplesPath : workflows,
    logLevel: logLevel?.value ?? "info",
    bodyBytesMax: maxRequestMb && !read("max-body-size")
      ? megabytes(maxRequestMb.value)
      : setting("max-body-size").size(limits.bodyBytesDefault),
    grpcMessageBytesMax: setting("grpc-max-message-size").size(limits.grpcMessageBytesMax),
    grpcPrimeReconnect: setting("grpc-prime-reconnect").boolean(true),
    apiToken: env.DAPR_API_TOKEN || undefined,
    appId: read("app-id")?.value ?? "workflowd",
    replicaId: read("replica-id")?.value,
    activityLeaseMs: setting("activity-lease-ms").integer(limits.activityLeaseMsDefault, 1, 2 ** 31, "milliseconds"),
    backlogMax: setting("max-backlog").integer(limits.backlogMaxDefault, 1, 2 ** 31, "a number of instances"),
    shutdownGraceMs: graceSeconds && !read("shutdown-grace-ms")
      ? seconds(graceSeconds.value) * 1000
      : setting("shutdown-grace-ms").integer(limits.shutdownGraceMsDefault, 0, 2 ** 31, "milliseconds"),
    notes,
  };
}

/** "--port (DAPR_HTTP_PORT)": the flag and its variable, as --help lists them. */
function describe(flag: string, variable: string): string {
  return variable ? `--${flag} (${variable})` : `--${flag}`;
}

/** Reads one setting's value (flag, else environment, else the default) with a clear error. */
class SettingReader {
  constructor(
    private readonly flag: string,
    private readonly variable: string,
    private readonly given: { value: string; from: string } | undefined,
  ) {}

  private fail(cause: string, fix: string): never {
    throw new ConfigError(`${describe(this.flag, this.variable)} '${this.given!.value}' (from ${this.given!.from}) ${cause}; ${fix}`);
  }

  integer(fallback: number, min: number, max: number, what: string): number {
    if (!this.given) return fallback;
    const value = Number(this.given.value);
    if (!/^\s*-?\d+\s*$/.test(this.given.value) || value < min || value > max) {
      this.fail(`is not an integer from ${min} to ${max}`, `give ${what}`);
    }
    return value;
  }

  boolean(fallback: boolean): boolean {
    if (!this.given) return fallback;
    if (/^(true|1|yes|on)$/i.test(this.given.value)) return true;
    if (/^(false|0|no|off)$/i.test(this.given.value)) return false;
    this.fail("is not true or false", "give true or false");
  }

  size(fallback: number): number {
    if (!this.given) return fallback;
    try {
      return byteSize(this.given.value, this.flag) ?? fallback;
    } catch {
      this.fail("is not a size", "give bytes or a size such as 4Mi or 10MB");
    }
  }
}

function megabytes(text: string): number {
  const mb = Number(text);
  if (!/^\d+$/.test(text.trim()) || mb < 1) {
    throw new ConfigError(`--dapr-http-max-request-size '${text}' is not a number of megabytes; give an integer such as 4 (or use --max-body-size 4Mi)`);
  }
  return mb * 1024 * 1024;
}

function seconds(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim())) {
    throw new ConfigError(`--dapr-graceful-shutdown-seconds '${text}' is not a number of seconds; give an integer such as 5`);
  }
  return value;
}

function configurationOf(path: string | undefined): DaprConfiguration | undefined {
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
    return parseDaprConfiguration(text);
  } catch (error) {
    throw new ConfigError(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
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
