/**
 * The bundled examples (what `npm start` serves and the README's walkthrough uses), each
 * run to its documented result through the HTTP API.
 */
import { afterEach, describe, expect, it } from "vitest";
import registerExamples from "../../examples/index.js";
import { harnesses, outputOf } from "./helpers.js";

const open = harnesses();
afterEach(async () => open.closeAll());
const examples = () => open.create({ workflows: registerExamples });

describe("bundled examples", () => {
  it("hello greets three cities", async () => {
    const app = await examples();
    const state = await app.waitForTerminal(await app.startJson("hello", "Berlin"));
    expect(outputOf(state)).toEqual(["Hello, Tokyo!", "Hello, London!", "Hello, Berlin!"]);
  });

  it("fanOutFanIn sums the squares of 1..100", async () => {
    const app = await examples();
    const state = await app.waitForTerminal(await app.startJson("fanOutFanIn", 100));
    expect(outputOf(state)).toEqual({ count: 100, sumOfSquares: 338_350 });
  });

  it("failing ends FAILED with the activity's error", async () => {
    const app = await examples();
    const state = await app.waitForTerminal(await app.start("failing"));
    expect(state.runtimeStatus).toBe("FAILED");
    expect(state.properties?.["dapr.workflow.failure.error_message"]).toContain("card declined for amount 42");
  });

  it("approval is approved by an event, or times out on its timer", async () => {
    const app = await examples();
    const approved = await app.startJson("approval", { item: "laptop" });
    await app.waitForCustomStatus(approved, "waiting for approval");
    await app.raise(approved, "approval", { approved: true });
    expect(outputOf(await app.waitForTerminal(approved))).toBe("approved");
    const ignored = await app.startJson("approval", { item: "chair", timeoutSeconds: 0.1 });
    expect(outputOf(await app.waitForTerminal(ignored))).toBe("timed out");
  });

  it("parent runs one hello child per city", async () => {
    const app = await examples();
    const id = await app.startJson("parent", ["Paris", "Oslo"], "p-1");
    const state = await app.waitForTerminal(id);
    expect(outputOf(state)).toEqual([
      ["Hello, Tokyo!", "Hello, London!", "Hello, Paris!"],
      ["Hello, Tokyo!", "Hello, London!", "Hello, Oslo!"],
    ]);
    expect((await app.get("p-1:0001"))?.runtimeStatus).toBe("COMPLETED");
  });

  it("monitor checks on a timer, continuing as new, until the job is done; history stays one generation long", async () => {
    const app = await examples();
    const id = await app.startJson("monitor", { checks: 5, intervalSeconds: 0.05, healthyAfter: 2 });
    const state = await app.waitForTerminal(id);
    expect(outputOf(state)).toBe("job done with 2 checks left");
    expect((await app.history(id)).filter((e) => e.kind === "executionStarted")).toHaveLength(1);
  });

  it("monitor stops when it receives 'stop'", async () => {
    const app = await examples();
    const id = await app.startJson("monitor", { checks: 5, intervalSeconds: 60 });
    await app.waitForCustomStatus(id, "job running; 4 checks left");
    await app.raise(id, "stop");
    expect(outputOf(await app.waitForTerminal(id))).toBe("stopped on request");
  });

  it("reliableCharge succeeds on the third call after two retried failures", async () => {
    const app = await examples();
    const state = await app.waitFor(await app.startJson("reliableCharge", 2), (s) => s.runtimeStatus === "COMPLETED", 10_000);
    expect(outputOf(state)).toBe("charged on call 3");
  });
});
