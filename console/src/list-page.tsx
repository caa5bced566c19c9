/**
 * The runs list: counts by status as filter chips, filters (status, name, time range, ID
 * prefix) kept in the URL, newest first, keyset paging, auto-refresh every 5 s (pausable), and
 * a bulk purge of the finished runs that match.
 */
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import { api, finishedStatuses, type ListFilter, type Listed, statuses } from "./api";
import { Confirm, ErrorBanner, Notice, Status } from "./components";
import { formatTime, runDuration } from "./format";
import { navigate, onLinkClick, runHref, uiBase } from "./router";

const pageSize = 50;
const refreshMs = 5_000;

/** Filters ⇄ URL query: `status` repeated, `from`/`to` as datetime-local values (UTC). */
function filterOf(query: URLSearchParams): ListFilter & { from: string; to: string } {
  const from = query.get("from") ?? "";
  const to = query.get("to") ?? "";
  return {
    statuses: query.getAll("status"),
    name: query.get("name") ?? undefined,
    instanceIDPrefix: query.get("prefix") ?? undefined,
    createdFrom: utc(from),
    createdTo: utc(to),
    from,
    to,
  };
}

/** A datetime-local value ("2026-11-30T12:00", seconds optional) read as UTC, in RFC 3339. */
function utc(value: string): string | undefined {
  if (!value) return undefined;
  return /T\d{2}:\d{2}$/.test(value) ? `${value}:00Z` : `${value}Z`;
}

function queryOf(values: { statuses: string[]; name: string; prefix: string; from: string; to: string }): string {
  const query = new URLSearchParams();
  for (const status of values.statuses) query.append("status", status);
  if (values.name) query.set("name", values.name);
  if (values.prefix) query.set("prefix", values.prefix);
  if (values.from) query.set("from", values.from);
  if (values.to) query.set("to", values.to);
  const text = query.toString();
  return text ? `${uiBase}?${text}` : uiBase;
}

export function ListPage({ query }: { query: URLSearchParams }) {
  // The page is remounted for every new query (main.tsx), so the filter is fixed for its life.
  const filter = useMemo(() => filterOf(query), []);
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ instances: Listed[]; continuationToken?: string } | undefined>();
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [paused, setPaused] = useState(false);
  const [confirmPurge, setConfirmPurge] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [draft, setDraft] = useState({ name: filter.name ?? "", prefix: filter.instanceIDPrefix ?? "", from: filter.from, to: filter.to });

  const load = useCallback(async () => {
    try {
      const [list, count] = await Promise.all([api.list(filter, pageSize, tokens.at(-1)), api.counts(filter)]);
      setPage(list);
      setCounts(count.counts);
      setNow(Date.now());
      setError(undefined);
    } catch (e) {
      setError(e);
    }
  }, [filter, tokens]);

  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (paused) return;
    const timer = setInterval(() => void load(), refreshMs);
    return () => clearInterval(timer);
  }, [load, paused]);

  const setStatuses = (next: string[]) => navigate(queryOf({ statuses: next, name: draft.name, prefix: draft.prefix, from: draft.from, to: draft.to }));
  const toggleStatus = (status: string) =>
    setStatuses(filter.statuses.includes(status) ? filter.statuses.filter((s) => s !== status) : [...filter.statuses, status]);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);

  const purge = async () => {
    setConfirmPurge(false);
    try {
      let deleted = 0;
      for (;;) {
        const result = await api.purgeMatching(filter);
        deleted += result.deletedInstanceCount;
        if (result.isComplete) break;
      }
      setNotice(`Purged ${deleted} finished run${deleted === 1 ? "" : "s"}.`);
      await load();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <main>
      <h1>Workflow runs</h1>
      <nav class="chips" aria-label="Filter by status">
        <button type="button" aria-pressed={filter.statuses.length === 0} onClick={() => setStatuses([])}>
          All <span class="count">{total}</span>
        </button>
        {statuses.map((status) => (
          <button type="button" key={status} aria-pressed={filter.statuses.includes(status)} aria-label={status}
            aria-description={`${counts[status] ?? 0} runs`} class={`chip status-${status.toLowerCase()}`} onClick={() => toggleStatus(status)}>
            {status} <span class="count">{counts[status] ?? 0}</span>
          </button>
        ))}
      </nav>
      <form class="filters" onSubmit={(e) => {
        e.preventDefault();
        navigate(queryOf({ statuses: filter.statuses, ...draft }));
      }}>
        <label>Workflow name <input value={draft.name} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} /></label>
        <label>ID prefix <input value={draft.prefix} onInput={(e) => setDraft({ ...draft, prefix: e.currentTarget.value })} /></label>
        <label>Created from (UTC) <input type="datetime-local" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} /></label>
        <label>Created before (UTC) <input type="datetime-local" value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} /></label>
        <button type="submit">Apply filters</button>
        <button type="button" onClick={() => navigate(uiBase)}>Clear filters</button>
      </form>
      <div class="toolbar">
        <button type="button" onClick={() => setPaused(!paused)}>{paused ? "Resume auto-refresh" : "Pause auto-refresh"}</button>
        <button type="button" onClick={() => void load()}>Refresh</button>
        <button type="button" class="danger" onClick={() => setConfirmPurge(true)}>Purge finished runs</button>
      </div>
      <ErrorBanner error={error} />
      <Notice text={notice} />
      {confirmPurge && (
        <Confirm title="Purge finished runs" action="Purge" onConfirm={() => void purge()} onCancel={() => setConfirmPurge(false)}>
          <p>
            Delete every {filter.statuses.filter((s) => finishedStatuses.includes(s)).join(", ") || "COMPLETED, FAILED and TERMINATED"} top-level
            run that matches the filters, with its child workflows? Running ones are never purged.
          </p>
        </Confirm>
      )}
      <table class="runs">
        <caption>{page ? `${page.instances.length} run${page.instances.length === 1 ? "" : "s"} on this page, newest first` : "Loading…"}</caption>
        <thead>
          <tr>
            <th scope="col">ID</th>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Last updated</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {page?.instances.map((run) => (
            <tr key={run.instanceID}>
              <td><a href={runHref(run.instanceID)} onClick={onLinkClick}>{run.instanceID}</a></td>
              <td>{run.workflowName}</td>
              <td><Status status={run.runtimeStatus} /></td>
              <td>{formatTime(run.createdAt)}</td>
              <td>{formatTime(run.lastUpdatedAt)}</td>
              <td>{runDuration(run.createdAt, run.lastUpdatedAt, run.runtimeStatus, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.instances.length === 0 && <p>No runs match.</p>}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>Previous page</button>
        <span>Page {tokens.length}</span>
        <button type="button" disabled={!page?.continuationToken} onClick={() => setTokens([...tokens, page?.continuationToken])}>Next page</button>
      </nav>
    </main>
  );
}
