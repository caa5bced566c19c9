/**
 * The full event history as a table, a page of rows at a time (a history of 10,000 events
 * renders 200 rows, not 10,000). Each row expands to the event as the API gave it.
 */
import { useState } from "preact/hooks";
import type { HistoryEvent } from "./api";
import { formatTime, pretty } from "./format";

const rowsPerPage = 200;

/** The event-type key of a history event (the protobuf JSON mapping has exactly one). */
export function eventType(event: HistoryEvent): string {
  return Object.keys(event).find((k) => k !== "eventId" && k !== "timestamp" && k !== "router") ?? "unknown";
}

/** A short description: the name of the task, timer, event or child, or the status. */
export function eventSummary(event: HistoryEvent): string {
  const body = event[eventType(event)] ?? {};
  if (body.name) return String(body.name);
  if (body.taskScheduledId !== undefined) return `for event #${body.taskScheduledId}`;
  if (body.timerId !== undefined) return `timer #${body.timerId}`;
  if (body.workflowStatus) return String(body.workflowStatus).replace("ORCHESTRATION_STATUS_", "");
  if (body.fireAt) return `fires at ${formatTime(body.fireAt)}`;
  return "";
}

export function HistoryTable({ events }: { events: HistoryEvent[] }) {
  const [page, setPage] = useState(0);
  const [open, setOpen] = useState<Set<number>>(new Set());
  const pages = Math.max(1, Math.ceil(events.length / rowsPerPage));
  const current = Math.min(page, pages - 1);
  const first = current * rowsPerPage;
  const toggle = (index: number) => {
    const next = new Set(open);
    if (next.has(index)) next.delete(index);
    else next.add(index);
    setOpen(next);
  };
  return (
    <section class="history" aria-label="Event history">
      <h2>Event history ({events.length} events)</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Event ID</th>
            <th scope="col">Time</th>
            <th scope="col">Type</th>
            <th scope="col">Details</th>
            <th scope="col"><span class="visually-hidden">Expand</span></th>
          </tr>
        </thead>
        <tbody>
          {events.slice(first, first + rowsPerPage).flatMap((event, offset) => {
            const index = first + offset;
            const type = eventType(event);
            const rows = [
              <tr key={index} data-event-type={type}>
                <td>{index + 1}</td>
                <td>{event.eventId}</td>
                <td>{formatTime(event.timestamp)}</td>
                <td>{type}</td>
                <td>{eventSummary(event)}</td>
                <td>
                  <button type="button" class="small" aria-expanded={open.has(index)} aria-label={`${open.has(index) ? "Collapse" : "Expand"} event ${index + 1} (${type})`} onClick={() => toggle(index)}>
                    {open.has(index) ? "−" : "+"}
                  </button>
                </td>
              </tr>,
            ];
            if (open.has(index)) {
              rows.push(
                <tr key={`${index}-detail`} class="detail">
                  <td colSpan={6}><pre>{prettyEvent(event)}</pre></td>
                </tr>,
              );
            }
            return rows;
          })}
        </tbody>
      </table>
      {pages > 1 && (
        <nav class="pager" aria-label="History pages">
          <button type="button" disabled={current === 0} onClick={() => setPage(current - 1)}>Previous events</button>
          <span>Events {first + 1}–{Math.min(first + rowsPerPage, events.length)} of {events.length}</span>
          <button type="button" disabled={current >= pages - 1} onClick={() => setPage(current + 1)}>Next events</button>
        </nav>
      )}
    </section>
  );
}

/** The event as JSON, with the JSON payloads inside it (inputs, results) unfolded. */
function prettyEvent(event: HistoryEvent): string {
  return JSON.stringify(event, (key, value: unknown) => {
    if (typeof value === "string" && ["input", "result", "output"].includes(key)) {
      const unfolded = pretty(value);
      try {
        return JSON.parse(unfolded) as unknown;
      } catch {
        return value;
      }
    }
    return value;
  }, 2);
}
