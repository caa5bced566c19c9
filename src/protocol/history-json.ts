/**
 * History events in the protobuf JSON mapping (proto3 JSON, as Go's protojson and every
 * official protobuf library write it) of the vendored proto's `HistoryEvent`: what the HTTP
 * history route answers, so a client reads the same field names and shapes the gRPC
 * `GetInstanceHistory` carries.
 *
 * The mapping, from the message type's own reflection: field names as in the proto (they are
 * lowerCamelCase already), Timestamps as RFC 3339 UTC with 0, 3, 6 or 9 fractional digits,
 * wrapper types as their bare value, enums by name, 64-bit integers as strings, bytes as
 * base64, unset fields and proto3 default values left out (fields with explicit presence,
 * `optional`, are written when set). One exception: `eventId` is always written, also when
 * it is 0, so that every event names its ID; protojson readers accept it either way.
 */
import protobuf from "protobufjs";
import type { HistoryEvent } from "../engine/history.js";
import { eventToPb } from "./convert.js";
import { loadHistoryEventType } from "./proto.js";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const historyEventMessage = loadHistoryEventType();
// Resolved once here, so the walk below never resolves a field per event.
historyEventMessage.root.resolveAll();

export function historyEventJson(event: HistoryEvent): { [key: string]: JsonValue } {
  // eventToPb's object is in the wire shape proto-loader uses (Timestamps as seconds and
  // nanos, wrappers as { value }, enums as numbers, bytes as base64): walked as it is.
  const json = messageJson(historyEventMessage, eventToPb(event) as Record<string, unknown>);
  return { eventId: event.eventId, ...json };
}

// Looked up once: protobufjs computes `fullName` on every read, too slow to compare per field.
const timestampType = historyEventMessage.root.lookupType("google.protobuf.Timestamp");
const wrapperTypes = new Set(
  ["StringValue", "BytesValue", "BoolValue", "Int32Value", "UInt32Value", "Int64Value", "UInt64Value", "FloatValue", "DoubleValue"]
    .map((name) => historyEventMessage.root.lookupType(`google.protobuf.${name}`)),
);

const int64Types = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);

/** Only the fields set on the message (its own keys), in the order of the type's fields. */
function messageJson(type: protobuf.Type, record: Record<string, unknown>): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  const set = Object.keys(record);
  const fields = set.length > 1 ? type.fieldsArray.filter((f) => set.includes(f.name)) : set.map((name) => type.fields[name]).filter((f) => f !== undefined);
  for (const field of fields) {
    const value = record[field.name];
    if (value === null || value === undefined) continue;
    if (field.map) {
      const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, fieldValueJson(field, v)] as const);
      if (entries.length > 0) out[field.name] = Object.fromEntries(entries);
      continue;
    }
    if (field.repeated) {
      const items = (value as unknown[]).map((v) => fieldValueJson(field, v));
      if (items.length > 0) out[field.name] = items;
      continue;
    }
    // Proto3 leaves default scalars out unless the field tracks presence (`optional`, a oneof
    // member, or a message).
    const presence = field.resolvedType instanceof protobuf.Type || field.partOf !== null;
    if (!presence && isDefaultScalar(value)) continue;
    out[field.name] = fieldValueJson(field, value);
  }
  return out;
}

function isDefaultScalar(value: unknown): boolean {
  if (value === 0 || value === "" || value === false) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  return typeof value === "object" && value !== null && "low" in value && "high" in value && Number(value) === 0;
}

function fieldValueJson(field: protobuf.Field, value: unknown): JsonValue {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) return resolved.valuesById[value as number] ?? (value as number);
  if (resolved instanceof protobuf.Type) {
    if (resolved === timestampType) return timestampJson(value as { seconds?: unknown; nanos?: number });
    if (wrapperTypes.has(resolved)) {
      const inner = resolved.fields.value!;
      const wrapped = (value as { value?: unknown }).value;
      return scalarJson(inner.type, wrapped ?? defaultOf(inner.type));
    }
    return messageJson(resolved, value as Record<string, unknown>);
  }
  return scalarJson(field.type, value);
}

function defaultOf(type: string): unknown {
  if (type === "string") return "";
  if (type === "bool") return false;
  if (type === "bytes") return new Uint8Array();
  return 0;
}

function scalarJson(type: string, value: unknown): JsonValue {
  if (int64Types.has(type)) return String(value);
  if (type === "bytes") return typeof value === "string" ? value : Buffer.from(value as Uint8Array).toString("base64");
  if ((type === "double" || type === "float") && typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  return value as JsonValue;
}

/** RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protojson writes a Timestamp. */
export function timestampJson(ts: { seconds?: unknown; nanos?: number }): string {
  const seconds = Number(ts.seconds ?? 0);
  const nanos = ts.nanos ?? 0;
  // Whole milliseconds (the usual case): Date writes them as they are.
  if (nanos % 1_000_000 === 0) {
    const iso = new Date(seconds * 1000 + nanos / 1_000_000).toISOString();
    return nanos === 0 ? `${iso.slice(0, 19)}Z` : iso;
  }
  const digits = String(nanos).padStart(9, "0");
  const fraction = nanos % 1_000 === 0 ? digits.slice(0, 6) : digits;
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}
