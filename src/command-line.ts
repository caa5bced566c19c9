/**
 * The command line in daprd's syntax (Go's pflag, as daprd parses it, and single-dash long
 * flags as Dapr's Docker docs write them): `--flag value`, `--flag=value`, `-flag value`,
 * `-flag=value`; a boolean flag stands alone (`--enable-metrics`) or takes `=true`/`=false`, and
 * never takes the next word. A daprd container's argument list therefore starts workflowd
 * unchanged: daprd's flags that mean something here are read under their own names, the others
 * are accepted and reported as ignored.
 */

export interface FlagSpec {
  /** The setting this flag sets (a workflowd flag name); the flag's own name when absent. */
  sets?: string;
  bool?: boolean;
}

/** daprd's flags that workflowd reads, each under the workflowd setting it sets. */
export const daprdFlags: Readonly<Record<string, FlagSpec>> = {
  "dapr-http-port": { sets: "port" },
  "dapr-grpc-port": { sets: "grpc-port" },
  "dapr-listen-addresses": { sets: "dapr-listen-addresses" },
  "dapr-http-max-request-size": { sets: "dapr-http-max-request-size" },
  "dapr-graceful-shutdown-seconds": { sets: "dapr-graceful-shutdown-seconds" },
  "enable-metrics": { bool: true },
  "log-as-json": { bool: true },
};

/**
 * daprd's flags that have no meaning for workflowd (the control plane, components, mTLS, the
 * app channel: workflowd never calls the app, SDK workers connect to it). Accepted, reported
 * once at start-up as ignored.
 */
export const ignoredDaprdFlags: Readonly<Record<string, FlagSpec>> = Object.fromEntries([
  ...["mode", "resources-path", "components-path", "placement-host-address", "scheduler-host-address", "sentry-address",
    "dapr-internal-grpc-port", "dapr-internal-grpc-listen-address", "dapr-public-port", "dapr-public-listen-address",
    "app-port", "app-protocol", "app-channel-address", "app-max-concurrency", "app-health-check-path",
    "app-health-probe-interval", "app-health-probe-timeout", "app-health-threshold", "control-plane-address",
    "control-plane-namespace", "control-plane-trust-domain", "profile-port", "unix-domain-socket",
    "dapr-block-shutdown-duration", "allowed-origins", "actors-service", "reminders-service", "dapr-http-read-buffer-size",
    "read-buffer-size", "disable-init-endpoints", "sentry-request-jwt-audiences", "actors-disseminate-timeout",
    "app-binding-options-timeout", "hot-reload-reconcile-interval", "metrics-listen-address", "metrics-exporter-type",
    "metrics-push-endpoint", "metrics-push-interval"].map((name) => [name, {}]),
  ...["enable-mtls", "enable-api-logging", "enable-profiling", "app-ssl", "enable-app-health-check", "wait",
    "disable-builtin-k8s-secret-store"].map((name) => [name, { bool: true }]),
]);

export interface ParsedArgs {
  /** Values by the setting they set (the last one wins, as in Go). */
  values: Map<string, string>;
  /** The ignored daprd flags that were given. */
  ignored: string[];
}

export class CommandLineError extends Error {}

/** Parses `argv` against the known flags (workflowd's own, daprd's, and daprd's ignored ones). */
export function parseCommandLine(argv: readonly string[], own: Readonly<Record<string, FlagSpec>>): ParsedArgs {
  const known: Record<string, FlagSpec & { ignored?: boolean }> = {
    ...Object.fromEntries(Object.entries(ignoredDaprdFlags).map(([name, spec]) => [name, { ...spec, ignored: true }])),
    ...daprdFlags,
    ...own,
  };
  const values = new Map<string, string>();
  const ignored: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const match = /^--?([A-Za-z0-9][A-Za-z0-9-]*)(?:=(.*))?$/s.exec(word);
    if (!match) {
      throw new CommandLineError(`unexpected argument '${word}': the server takes flags only (workflowd --help lists them)`);
    }
    const name = match[1]!;
    const spec = known[name];
    if (!spec) throw new CommandLineError(`unknown flag '${word.split("=")[0]}' (workflowd --help lists every flag)`);
    let value = match[2];
    if (value === undefined) {
      if (spec.bool) value = "true";
      else {
        value = argv[i + 1];
        if (value === undefined) throw new CommandLineError(`flag '${word}' needs a value (workflowd --help)`);
        i++;
      }
    }
    if (spec.ignored) {
      if (!ignored.includes(name)) ignored.push(name);
      continue;
    }
    values.set(spec.sets ?? name, value);
  }
  return { values, ignored };
}
