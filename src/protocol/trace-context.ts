/**
 * W3C trace context from a caller (an HTTP request's or a gRPC call's `traceparent` and
 * `tracestate`) as durabletask's `TraceContext` message. A malformed `traceparent` is ignored,
 * as the W3C specification asks: the run then starts a trace of its own.
 */
import type { WireValue } from "../engine/history.js";

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export function traceContextFrom(traceparent: unknown, tracestate: unknown): WireValue | undefined {
  const parent = firstString(traceparent)?.trim().toLowerCase();
  if (!parent) return undefined;
  const match = traceparentPattern.exec(parent);
  if (!match) return undefined;
  const [, version, traceId, spanId, , rest] = match;
  // Version ff is invalid; version 00 has exactly four fields; IDs of zeros are invalid.
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId!) || /^0+$/.test(spanId!)) return undefined;
  const state = firstString(tracestate)?.trim();
  return state ? { traceParent: parent, traceState: { value: state } } : { traceParent: parent };
}

/** A gRPC metadata value or an HTTP header may come as a list; the first one counts. */
function firstString(value: unknown): string | undefined {
  if (Array.isArray(value)) return firstString(value[0]);
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return undefined;
}
