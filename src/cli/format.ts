/**
 * Text output: aligned tables, key/value blocks, times and ages. Pure functions of their
 * arguments (the clock is passed in), so output is the same for the same data.
 */

/** Columns separated by two spaces, padded to the widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers, ...rows].map((row) => row.map(oneLine));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => width(row[column] ?? ""))));
  return cells
    .map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : pad(cell, widths[column]!))).join("  ").trimEnd())
    .join("\n") + "\n";
}

/** `KEY  value` lines with the keys aligned; entries with an undefined value are left out. */
export function keyValues(entries: readonly (readonly [string, string | undefined])[]): string {
  const present = entries.filter((entry): entry is readonly [string, string] => entry[1] !== undefined);
  const keyWidth = Math.max(0, ...present.map(([key]) => key.length));
  return present.map(([key, value]) => `${key.padEnd(keyWidth)}  ${oneLine(value)}`.trimEnd()).join("\n") + "\n";
}

/**
 * Cells must stay on one line and must not move the terminal's cursor: line breaks and
 * other control characters (from payloads, error messages) are shown escaped.
 */
export function oneLine(text: string): string {
  return text.replace(/\r?\n/g, "\\n").replace(/\t/g, " ").replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** At most `max` characters, with `…` marking a cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}

/** ISO 8601 UTC (`2026-01-02T15:04:05.123Z`), or the text unchanged if it is not a time. */
export function isoTime(text: string | undefined, precision: "s" | "ms" = "ms"): string {
  if (!text) return "";
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return text;
  const iso = new Date(ms).toISOString();
  return precision === "s" ? iso.replace(/\.\d{3}Z$/, "Z") : iso;
}

/** How long ago, as `kubectl` and `dapr workflow list` show ages: 45s, 12m, 3h20m, 5d. */
export function age(since: string | undefined, now: Date): string {
  const ms = since ? Date.parse(since) : Number.NaN;
  if (Number.isNaN(ms)) return "";
  return humanDuration(Math.max(0, now.getTime() - ms));
}

export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}

function width(text: string): number {
  return [...text].length;
}

function pad(text: string, to: number): string {
  return text + " ".repeat(Math.max(0, to - width(text)));
}

/** Bodies are printed as received, plus a final newline so the shell prompt starts on its own line. */
export function withNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
