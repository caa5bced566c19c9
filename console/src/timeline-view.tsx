/**
 * The timeline as a Gantt chart: one row per bar, positioned on the run's time axis. It is a
 * labelled region; each bar is named by what it stands for (activity, timer, child workflow,
 * event wait) with its outcome and duration, so it reads the same without the picture.
 * Long runs show the first rows and a button for more, so the tab never freezes.
 */
import { useState } from "preact/hooks";
import { onLinkClick, runHref } from "./router";
import { type Bar, describeBar, duration } from "./timeline";

const rowsShown = 300;

export function Timeline({ bars, origin, until, now, onRerun }: {
  bars: Bar[];
  origin: number;
  /** The end of the axis: the last update of a finished run, else now. */
  until: number;
  now: number;
  /** Set when the run is finished: a rerun can start from an activity or child. */
  onRerun?: ((eventId: number) => void) | undefined;
}) {
  const [limit, setLimit] = useState(rowsShown);
  const end = Math.max(until, ...bars.map((b) => b.end ?? now));
  const start = Math.min(origin, ...bars.map((b) => b.start));
  const span = Math.max(1, end - start);
  const percent = (t: number) => ((t - start) / span) * 100;
  return (
    <section class="timeline" role="region" aria-label="Timeline">
      <h2>Timeline</h2>
      {bars.length === 0 && <p>No activities, timers, child workflows or events yet.</p>}
      <p class="axis" aria-hidden="true"><span>0</span><span>{duration(span)}</span></p>
      <ol>
        {bars.slice(0, limit).map((bar, index) => {
          const label = describeBar(bar, now);
          const left = percent(bar.start);
          const width = Math.max(0.4, percent(bar.end ?? now) - left);
          return (
            <li key={index} class={`row ${bar.kind} ${bar.state}`}>
              <span class="name">
                {bar.kind === "child" && bar.childInstanceId
                  ? <a href={runHref(bar.childInstanceId)} onClick={onLinkClick}>{bar.name}</a>
                  : bar.name}
                {bar.attempt > 1 && <span class="attempt"> attempt {bar.attempt}</span>}
              </span>
              <span class="track">
                <span class="bar" role="img" aria-label={label} title={label} style={{ left: `${left}%`, width: `${width}%` }}>
                  {bar.state === "failed" ? "✕" : ""}
                </span>
              </span>
              <span class="outcome">{bar.state === "open" ? "running" : `${bar.state}, ${duration((bar.end ?? now) - bar.start)}`}</span>
              <span class="row-action">
                {onRerun && bar.eventId !== undefined && (bar.kind === "activity" || bar.kind === "child") && (
                  <button type="button" class="small" aria-label={`Rerun from ${bar.kind} ${bar.name} (event ${bar.eventId})`} onClick={() => onRerun(bar.eventId!)}>
                    Rerun from here
                  </button>
                )}
              </span>
            </li>
          );
        })}
      </ol>
      {bars.length > limit && (
        <button type="button" onClick={() => setLimit(limit + rowsShown)}>Show {Math.min(rowsShown, bars.length - limit)} more of {bars.length - limit}</button>
      )}
    </section>
  );
}
