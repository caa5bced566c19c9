/**
 * How history events and failure details are stored: JSON text, checked on the way out.
 * A row that does not decode is reported as a StoreCorruptionError naming the row, never
 * retried and never skipped (dapr/dapr#8323 looped forever on undecodable state).
 */
import { historyEventKinds, type FailureDetails, type HistoryEvent, type PropagatedHistory } from "../engine/history.js";

export class StoreCorruptionError extends Error {
  readonly code = "STORE_CORRUPT";
}

const kinds = new Set<string>(historyEventKinds);

export function encodeEvent(event: HistoryEvent): string {
  return JSON.stringify(event);
}

export function decodeEvent(text: string, where: string): HistoryEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new StoreCorruptionError(`${where}: stored event is not valid JSON`, { cause });
  }
  return checkEvent(value, where);
}

function checkEvent(value: unknown, where: string): HistoryEvent {
  if (
    typeof value !== "object" || value === null ||
    !kinds.has((value as { kind?: unknown }).kind as string) ||
    typeof (value as { eventId?: unknown }).eventId !== "number" ||
    typeof (value as { timestamp?: unknown }).timestamp !== "number"
  ) {
    throw new StoreCorruptionError(`${where}: stored event has no valid kind, eventId or timestamp`);
  }
  return value as HistoryEvent;
}

export function encodePropagated(history: PropagatedHistory): string {
  return JSON.stringify(history);
}

/** Propagated history is checked like events: each chunk's events must decode. */
export function decodePropagated(text: string, where: string): PropagatedHistory {
  let value: { scope?: unknown; chunks?: { events?: unknown[] }[] };
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new StoreCorruptionError(`${where}: stored propagated history is not valid JSON`, { cause });
  }
  if ((value.scope !== "OWN_HISTORY" && value.scope !== "LINEAGE") || !Array.isArray(value.chunks)) {
    throw new StoreCorruptionError(`${where}: stored propagated history has no valid scope or chunks`);
  }
  for (const chunk of value.chunks) for (const event of chunk.events ?? []) checkEvent(event, where);
  return value as unknown as PropagatedHistory;
}

export function encodeFailure(details: FailureDetails | undefined): string | null {
  return details ? JSON.stringify(details) : null;
}

export function decodeFailure(text: string | null, where: string): FailureDetails | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as FailureDetails;
  } catch (cause) {
    throw new StoreCorruptionError(`${where}: stored failure details are not valid JSON`, { cause });
  }
}
