/** The Dapr Configuration reader: Go durations as daprd parses them, and clear refusals. */
import { describe, expect, it } from "vitest";
import { parseDaprConfiguration, parseGoDuration } from "../../src/dapr-configuration.js";

describe("parseGoDuration", () => {
  it.each([
    ["0", 0], ["0s", 0], ["168h", 168 * 3_600_000], ["1h30m", 5_400_000], ["1.5h", 5_400_000], ["30m", 1_800_000],
    ["10s", 10_000], ["300ms", 300], ["1500us", 2], ["2h45m30.5s", 9_930_500], [".5s", 500],
  ])("%s is %d ms", (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it.each(["", "7d", "1 h", "h", "-1h", "1h-30m", "10", "1hour", "1.2.3s"])("refuses %j", (text) => expect(parseGoDuration(text)).toBeUndefined());
});

describe("parseDaprConfiguration", () => {
  const doc = (policy: string) => `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nspec:\n  workflow:\n    stateRetentionPolicy:\n${policy}`;

  it("reads spec.metrics.enabled and names the sections it does not apply", () => {
    const parsed = parseDaprConfiguration("kind: Configuration\nspec:\n  metrics:\n    enabled: false\n  tracing:\n    samplingRate: '1'\n  accessControl: {}\n");
    expect(parsed).toEqual({
      retention: undefined,
      tracing: { samplingRate: 1, otel: undefined, ignored: [] },
      metricsEnabled: false,
      ignored: ["spec.accessControl"],
    });
    expect(() => parseDaprConfiguration("kind: Configuration\nspec:\n  metrics:\n    enabled: 'no'\n")).toThrow("spec.metrics.enabled must be true or false");
  });

  it("reads stateRetentionPolicy, ignoring daprd's other settings", () => {
    expect(parseDaprConfiguration(doc("      anyTerminal: 168h\n      failed: \"30m\"\n")).retention).toEqual({ anyTerminal: 604_800_000, failed: 1_800_000 });
    expect(parseDaprConfiguration("kind: Configuration\nspec:\n  tracing:\n    samplingRate: '1'\n").retention).toBeUndefined();
  });

  it("refuses other resources, malformed YAML, unknown settings and bad durations, saying what to write", () => {
    expect(() => parseDaprConfiguration("kind: Component\n")).toThrow("expected kind: Configuration, found kind: Component");
    expect(() => parseDaprConfiguration("kind: [")).toThrow(/not valid YAML/);
    expect(() => parseDaprConfiguration(doc("      complete: 1h\n"))).toThrow(/complete is not a setting; use anyTerminal, completed, failed or terminated/);
    expect(() => parseDaprConfiguration(doc("      completed: 1 week\n"))).toThrow(/'1 week' is not a duration; write it as Go does, e.g. 168h/);
    expect(() => parseDaprConfiguration("kind: Configuration\nspec:\n  workflow:\n    stateRetentionPolicy: 5\n")).toThrow(/must be a mapping/);
  });

  const tracing = (body: string) => parseDaprConfiguration(`kind: Configuration\nspec:\n  tracing:\n${body}`).tracing;

  it("reads spec.tracing as daprd does: the rate as a string, the OTLP endpoint, http by default, grpc on request", () => {
    expect(tracing("    samplingRate: \"0.25\"\n    otel:\n      endpointAddress: collector:4318\n")).toEqual({
      samplingRate: 0.25, otel: { endpointAddress: "collector:4318", isSecure: false, protocol: "http" }, ignored: [],
    });
    expect(tracing("    samplingRate: '1'\n    stdout: true\n    zipkin:\n      endpointAddress: http://z:9411/api/v2/spans\n    otel:\n      endpointAddress: ' c:4317 '\n      isSecure: true\n      protocol: GRPC\n")).toEqual({
      samplingRate: 1, otel: { endpointAddress: "c:4317", isSecure: true, protocol: "grpc" }, ignored: ["spec.tracing.stdout", "spec.tracing.zipkin"],
    });
    // daprd's default rate is "0": nothing is recorded.
    expect(tracing("    otel:\n      endpointAddress: c:4318\n")!.samplingRate).toBe(0);
  });

  it("refuses a tracing section it cannot apply, saying what to write", () => {
    expect(() => tracing("    samplingRate: often\n")).toThrow(`spec.tracing.samplingRate 'often' is not a rate; write a number from "0" (off) to "1" (every trace)`);
    expect(() => tracing("    samplingRate: '1.5'\n")).toThrow(/'1.5' is not a rate/);
    expect(() => tracing("    samplingRate: '1'\n    otel:\n      isSecure: false\n")).toThrow("spec.tracing.otel.endpointAddress is missing; give the collector's host:port, e.g. localhost:4318");
    expect(() => tracing("    otel:\n      endpointAddress: c:1\n      protocol: thrift\n")).toThrow("spec.tracing.otel.protocol 'thrift' is not supported; use http or grpc");
    expect(() => tracing("    otel:\n      endpointAddress: c:1\n      isSecure: 'yes'\n")).toThrow("spec.tracing.otel.isSecure must be true or false");
    expect(() => tracing("    - 1\n")).toThrow("spec.tracing must be a mapping");
  });
});
