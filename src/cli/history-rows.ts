/**
 * One table row per history event. The API sends durabletask's HistoryEvent in protobuf's
 * JSON mapping: `eventId`, `timestamp`, optionally `router`, and exactly one key naming the
 * event type. The row shows that type, the name it carries (task, timer, event, child
 * workflow) and the fields worth reading; unknown event types still get a row.
 */
import { isoTime, truncate } from "./format.js";
import type { HistoryEventJson } from "./workflows-api.js";

export interface HistoryRow {
  eventId: string;
  time: string;
  type: string;
  name: string;
  details: string;
}

const envelopeKeys = new Set(["eventId", "timestamp", "router"]);

/** `details` is cut to `detailsMax` characters unless it is undefined (wide output). */
export function historyRow(event: HistoryEventJson, detailsMax?: number): HistoryRow {
  const typeKey = Object.keys(event).find((key) => !envelopeKeys.has(key)) ?? "unknown";
  const body = asRecord(event[typeKey]);
  // protojson leaves out zero values, so a missing eventId is event 0.
  const eventId = typeof event.eventId === "number" ? event.eventId : 0;
  const details = describe(body, reasonTypes.has(typeKey) ? "reason" : "input").join("  ");
  return {
    eventId: eventId >= 0 ? String(eventId) : "",
    time: isoTime(event.timestamp),
    type: typeKey.charAt(0).toUpperCase() + typeKey.slice(1),
    name: typeof body.name === "string" ? body.name : "",
    details: detailsMax === undefined ? details : truncate(details, detailsMax),
  };
}

/** Event types whose `input` is the reason a user gave (suspend, resume, rewind). */
const reasonTypes = new Set(["executionSuspended", "executionResumed"]);

function describe(body: Record<string, unknown>, inputLabel: string): string[] {
  const parts: string[] = [];
  const add = (key: string, value: unknown) => {
    if (value === undefined || value === null || value === "") return;
    parts.push(`${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  };
  if (typeof body.workflowStatus === "string") add("status", body.workflowStatus.replace(/^(ORCHESTRATION|WORKFLOW)_STATUS_/, ""));
  add("scheduledId", body.taskScheduledId);
  add("timerId", body.timerId);
  add("instance", body.instanceId);
  add("parent", asRecord(asRecord(body.parentInstance).workflowInstance).instanceId);
  add("rerunOf", asRecord(body.rerunParentInstanceInfo).instanceID);
  if (typeof body.fireAt === "string") add("fireAt", isoTime(body.fireAt));
  const failure = asRecord(body.failureDetails);
  if (failure.errorType !== undefined || failure.errorMessage !== undefined) {
    add("error", [failure.errorType, failure.errorMessage].filter((part) => typeof part === "string" && part !== "").join(": "));
  }
  add("reason", body.reason);
  add("description", body.description);
  // A StringValue (a start's or task's version) or, on workflowStarted, a WorkflowVersion message.
  add("version", typeof body.version === "string" ? body.version : asRecord(body.version).name);
  add(inputLabel, body.input);
  add("output", body.result);
  return parts;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
