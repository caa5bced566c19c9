/** A caller's W3C trace context (HTTP headers, gRPC metadata) as durabletask's TraceContext; malformed ones are ignored. */
import { describe, expect, it } from "vitest";
import { traceContextFrom } from "../../src/protocol/trace-context.js";

const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("traceContextFrom", () => {
  it("takes a valid traceparent, with its tracestate when given, from a string, a list or a buffer", () => {
    expect(traceContextFrom(valid, undefined)).toEqual({ traceParent: valid });
    expect(traceContextFrom([valid, "00-other"], ["a=1"])).toEqual({ traceParent: valid, traceState: { value: "a=1" } });
    expect(traceContextFrom(Buffer.from(` ${valid.toUpperCase()} `), "  ")).toEqual({ traceParent: valid });
    // A later version may carry more fields; they are kept as given.
    const later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra";
    expect(traceContextFrom(later, undefined)).toEqual({ traceParent: later });
  });

  it.each([
    ["absent", undefined],
    ["empty", ""],
    ["not hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"],
    ["short trace ID", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
    ["zero trace ID", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
    ["zero span ID", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],
    ["version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["version 00 with more fields", `${valid}-extra`],
    ["a number", 5],
  ])("ignores a traceparent that is %s", (_what, value) => expect(traceContextFrom(value, "a=1")).toBeUndefined());
});
