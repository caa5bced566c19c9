import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { limits } from "../../src/limits.js";
import { version } from "../../src/version.js";
import { instanceIdBytesMax } from "../../src/engine/instance-id.js";

describe("limits", () => {
  it("hold their relations", () => {
    expect(limits.bodyBytesDefault).toBe(4 * 1024 * 1024);
    expect(limits.retryDelayMsMin).toBeLessThan(limits.retryDelayMsMax);
    expect(limits.inboxBatchMax).toBeGreaterThanOrEqual(1);
    expect(limits.turnConcurrencyMax).toBeGreaterThanOrEqual(1);
    expect(limits.activityConcurrencyMax).toBeGreaterThanOrEqual(1);
    // A lease shorter than the shutdown grace would re-run activities that are merely finishing.
    expect(limits.activityLeaseMsDefault).toBeGreaterThan(limits.shutdownGraceMsDefault);
    expect(limits.retryDelayMsMax).toBeLessThan(limits.timerDelayMsMax);
    expect(instanceIdBytesMax).toBe(64);
  });

  it("the reported version is package.json's", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(version).toBe(pkg.version);
  });
});
