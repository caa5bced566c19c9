/**
 * The parts of a Dapr `Configuration` resource (the YAML daprd takes with `--config`) that
 * workflowd applies: `spec.workflow.stateRetentionPolicy`, `spec.metrics.enabled` and
 * `spec.tracing` (sampling rate and OTLP exporter). Other fields are daprd's and are
 * ignored. Durations are Go duration strings, as daprd parses them ("168h", "1h30m", "0s").
 */
import { parse } from "yaml";

/** Milliseconds after an instance finishes until it is purged, by final status. */
export interface RetentionPolicy {
  anyTerminal?: number | undefined;
  completed?: number | undefined;
  failed?: number | undefined;
  terminated?: number | undefined;
}

/** `spec.tracing`, as daprd reads it. */
export interface TracingSettings {
  /** 0 to 1: the share of new traces recorded (a caller's sampled flag decides for its own). */
  samplingRate: number;
  /** Where spans go; undefined: none are exported (contexts are still handed on). */
  otel: { endpointAddress: string; isSecure: boolean; protocol: "http" | "grpc" } | undefined;
  /** Settings daprd has that workflowd does not apply (zipkin, stdout), for a start-up note. */
  ignored: string[];
}

/** Why `spec.tracing` records no spans ("samplingRate is 0", "no otel.endpointAddress"), or undefined when it exports them. */
export function tracingOff(settings: TracingSettings): string | undefined {
  if (settings.samplingRate <= 0) return "samplingRate is 0";
  if (!settings.otel) return "no otel.endpointAddress";
  return undefined;
}

export interface DaprConfiguration {
  retention: RetentionPolicy | undefined;
  tracing: TracingSettings | undefined;
  /** `spec.metrics.enabled`; undefined when not set. */
  metricsEnabled: boolean | undefined;
  /** The sections of `spec` workflowd does not apply (daprd's), for a start-up note. */
  ignored: string[];
}

/** The `spec` sections workflowd reads; daprd's others are noted and ignored. */
const appliedSections = ["workflow", "metrics", "tracing"];

/** Throws an Error whose message says what is wrong and where (no file name: the caller adds it). */
export function parseDaprConfiguration(text: string): DaprConfiguration {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new Error(`not valid YAML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  if (typeof document !== "object" || document === null) throw new Error("expected a Dapr Configuration resource (kind: Configuration)");
  const resource = document as { kind?: unknown; spec?: { workflow?: { stateRetentionPolicy?: unknown }; metrics?: { enabled?: unknown }; tracing?: unknown } };
  if (resource.kind !== "Configuration") throw new Error(`expected kind: Configuration, found kind: ${String(resource.kind)}`);
  const ignored = Object.keys(resource.spec ?? {}).filter((section) => !appliedSections.includes(section)).map((s) => `spec.${s}`);
  const enabled = resource.spec?.metrics?.enabled;
  if (enabled !== undefined && typeof enabled !== "boolean") throw new Error(`spec.metrics.enabled must be true or false, found '${String(enabled)}'`);
  const tracing = parseTracing(resource.spec?.tracing);
  const policy = resource.spec?.workflow?.stateRetentionPolicy;
  if (policy === undefined || policy === null) return { retention: undefined, tracing, metricsEnabled: enabled, ignored };
  if (typeof policy !== "object") throw new Error("spec.workflow.stateRetentionPolicy must be a mapping");
  const retention: RetentionPolicy = {};
  for (const [key, value] of Object.entries(policy)) {
    if (!["anyTerminal", "completed", "failed", "terminated"].includes(key)) {
      throw new Error(`spec.workflow.stateRetentionPolicy.${key} is not a setting; use anyTerminal, completed, failed or terminated`);
    }
    const ms = parseGoDuration(String(value));
    if (ms === undefined) {
      throw new Error(`spec.workflow.stateRetentionPolicy.${key}: '${String(value)}' is not a duration; write it as Go does, e.g. 168h, 30m or 1h30m`);
    }
    retention[key as keyof RetentionPolicy] = ms;
  }
  return { retention, tracing, metricsEnabled: enabled, ignored };
}

/**
 * daprd's `spec.tracing`: `samplingRate` (a string, "0" to "1"; daprd's default is "0", no
 * recording), `otel.endpointAddress` (host:port, or a URL), `otel.isSecure`, `otel.protocol`
 * (`http`, daprd's default, or `grpc`).
 */
function parseTracing(section: unknown): TracingSettings | undefined {
  if (section === undefined || section === null) return undefined;
  if (typeof section !== "object" || Array.isArray(section)) throw new Error("spec.tracing must be a mapping");
  const { samplingRate, otel, ...others } = section as { samplingRate?: unknown; otel?: unknown };
  const rateText = samplingRate === undefined || samplingRate === null ? "0" : String(samplingRate).trim();
  const rate = Number(rateText);
  if (rateText === "" || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(`spec.tracing.samplingRate '${String(samplingRate)}' is not a rate; write a number from "0" (off) to "1" (every trace), e.g. samplingRate: "1"`);
  }
  const ignored = Object.keys(others).map((key) => `spec.tracing.${key}`);
  if (otel === undefined || otel === null) return { samplingRate: rate, otel: undefined, ignored };
  if (typeof otel !== "object" || Array.isArray(otel)) throw new Error("spec.tracing.otel must be a mapping");
  const { endpointAddress, isSecure, protocol } = otel as { endpointAddress?: unknown; isSecure?: unknown; protocol?: unknown };
  if (typeof endpointAddress !== "string" || endpointAddress.trim() === "") {
    throw new Error("spec.tracing.otel.endpointAddress is missing; give the collector's host:port, e.g. localhost:4318");
  }
  if (isSecure !== undefined && typeof isSecure !== "boolean") throw new Error(`spec.tracing.otel.isSecure must be true or false, found '${String(isSecure)}'`);
  const wire = protocol === undefined || protocol === null ? "http" : String(protocol).toLowerCase();
  if (wire !== "http" && wire !== "grpc") throw new Error(`spec.tracing.otel.protocol '${String(protocol)}' is not supported; use http or grpc`);
  return { samplingRate: rate, otel: { endpointAddress: endpointAddress.trim(), isSecure: isSecure === true, protocol: wire }, ignored };
}

const goUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A non-negative Go duration ("1h30m", "1.5h", "300ms", "0") in milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  const pattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    total += Number(match[1]) * goUnits[match[2]!]!;
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length) return undefined;
  return Math.round(total);
}
