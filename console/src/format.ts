/** Display helpers: times, durations and payloads. */
import { duration } from "./timeline";

export function formatTime(iso: string | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace("T", " ").replace("Z", " UTC");
}

/** From creation to the last update (finished) or to now (still going). */
export function runDuration(createdAt: string, lastUpdatedAt: string, status: string, now: number): string {
  const finished = ["COMPLETED", "FAILED", "TERMINATED"].includes(status);
  return duration((finished ? Date.parse(lastUpdatedAt) : now) - Date.parse(createdAt));
}

/** Pretty-printed JSON when the text is JSON; the text as it is otherwise. */
export function pretty(text: string | undefined): string {
  if (text === undefined || text === "") return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
