/** The server's command line in daprd's syntax, and the errors that name what was set. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const load = (argv: string[], env: Record<string, string> = {}) => loadConfig(argv, env);

describe("daprd's command line", () => {
  it("reads daprd's flags under their own names, in every syntax pflag and Dapr's docs use", () => {
    const config = load([
      "-app-id", "orders", "--dapr-http-port=3601", "-dapr-grpc-port", "50011", "--metrics-port", "9191",
      "--log-level=debug", "--dapr-http-max-request-size", "16", "--dapr-graceful-shutdown-seconds=7",
      "--dapr-listen-addresses", "127.0.0.1", "--enable-metrics=false", "--log-as-json",
    ]);
    expect(config).toMatchObject({
      appId: "orders", port: 3601, grpcPort: 50011, metricsPort: 9191, logLevel: "debug", bodyBytesMax: 16 * 1024 * 1024,
      shutdownGraceMs: 7_000, host: "127.0.0.1", metricsEnabled: false,
    });
    expect(load(["--enable-metrics"]).metricsEnabled).toBe(true);
    expect(load([]).metricsEnabled).toBe(true);
  });

  it("accepts daprd's flags that do not apply, and says once which were ignored; a boolean never takes the next word", () => {
    const config = load([
      "--mode", "standalone", "--resources-path", "./components", "--placement-host-address", "placement:50005",
      "-scheduler-host-address", "scheduler:50006", "--enable-mtls", "--app-port", "8080", "--app-protocol=grpc",
      "--enable-api-logging", "--port", "3700",
    ]);
    expect(config.port).toBe(3700);
    expect(config.notes).toEqual([
      "ignoring daprd flags that do not apply to workflowd: --mode, --resources-path, --placement-host-address, --scheduler-host-address, --enable-mtls, --app-port, --app-protocol, --enable-api-logging",
    ]);
  });

  it("workflowd's own names win over daprd's older ones when both are given", () => {
    expect(load(["--dapr-http-max-request-size", "16", "--max-body-size", "1Mi"]).bodyBytesMax).toBe(1024 * 1024);
    expect(load(["--dapr-graceful-shutdown-seconds", "7", "--shutdown-grace-ms", "500"]).shutdownGraceMs).toBe(500);
  });

  it.each([
    [["--nope"], /unknown flag '--nope'/],
    [["serve"], /unexpected argument 'serve': the server takes flags only/],
    [["--port"], /flag '--port' needs a value/],
    [["--log-level", "verbose"], /--log-level \(LOG_LEVEL\) 'verbose' \(from --log-level\) is not a log level; use one of debug, info, warn, error, fatal/],
    [["--db", ""], /--db \(WORKFLOWD_DB\) is empty \(from --db\); give a file path, ':memory:' for a throw-away store, or a postgres:\/\/ URL/],
    [["--enable-metrics=maybe"], /--enable-metrics \(WORKFLOWD_ENABLE_METRICS\) 'maybe' \(from --enable-metrics\) is not true or false/],
    [["--dapr-http-max-request-size", "4MB"], /--dapr-http-max-request-size '4MB' is not a number of megabytes/],
    [["--dapr-listen-addresses", "0.0.0.0,[::]"], /workflowd listens on one address/],
  ])("%j is refused in one line that names the setting, the value, the cause and the fix", (argv, message) => {
    expect(() => load(argv)).toThrow(ConfigError);
    expect(() => load(argv)).toThrow(message);
  });

  it("an environment value's error names the variable the user set", () => {
    expect(() => load([], { LOG_LEVEL: "trace" })).toThrow("--log-level (LOG_LEVEL) 'trace' (from LOG_LEVEL) is not a log level");
    expect(() => load([], { DAPR_GRPC_PORT: "x" })).toThrow("--grpc-port (DAPR_GRPC_PORT) 'x' (from DAPR_GRPC_PORT) is not an integer from 0 to 65535; give a port number");
  });

  it("a Dapr Configuration turns metrics off unless the flag says otherwise, and its other sections are noted", () => {
    const dir = mkdtempSync(join(tmpdir(), "workflowd-config-"));
    const path = join(dir, "config.yaml");
    writeFileSync(path, "kind: Configuration\nspec:\n  metrics:\n    enabled: false\n  tracing:\n    samplingRate: '1'\n  nameResolution: {}\n");
    try {
      const config = load(["--config", path]);
      expect(config.metricsEnabled).toBe(false);
      expect(config.notes).toEqual([
        "--config: ignoring the sections workflowd does not apply (daprd's): spec.nameResolution",
        "--config: spec.tracing records no spans (no otel.endpointAddress); callers' trace contexts are still handed on to workers",
      ]);
      expect(config.tracing).toEqual({ samplingRate: 1, otel: undefined, ignored: [] });
      expect(load(["--config", path, "--enable-metrics"]).metricsEnabled).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
