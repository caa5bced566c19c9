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
    expect(parsed).toEqual({ retention: undefined, metricsEnabled: false, ignored: ["spec.tracing", "spec.accessControl"] });
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
});
