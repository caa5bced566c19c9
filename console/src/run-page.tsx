/**
 * One run: its status, input, output, custom status and failure; the timeline of its
 * activities, timers, child workflows and event waits; its full history; and the actions
 * (terminate, suspend, resume, raise event, rewind, rerun, purge), each confirmed first.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { api, type HistoryEvent, type InstanceState } from "./api";
import { Confirm, ErrorBanner, Notice, Payload, Status } from "./components";
import { formatTime, runDuration } from "./format";
import { HistoryTable } from "./history-table";
import { navigate, onLinkClick, runHref, uiBase } from "./router";
import { buildTimeline } from "./timeline";
import { Timeline } from "./timeline-view";

const refreshMs = 2_000;
const finished = ["COMPLETED", "FAILED", "TERMINATED"];

type Action =
  | { kind: "terminate" | "suspend" | "resume" | "purge" | "rewind" }
  | { kind: "raise" }
  | { kind: "rerun"; eventId?: number };

export function RunPage({ instanceId }: { instanceId: string }) {
  const [state, setState] = useState<InstanceState | undefined>();
  const [history, setHistory] = useState<HistoryEvent[]>([]);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [action, setAction] = useState<Action | undefined>();
  const [eventName, setEventName] = useState("");
  const [payload, setPayload] = useState("");
  const [rerunInput, setRerunInput] = useState("");
  const [rerunEvent, setRerunEvent] = useState<number | undefined>();
  const [reason, setReason] = useState("");
  const [gone, setGone] = useState(false);

  const load = useCallback(async () => {
    try {
      const [next, events] = await Promise.all([api.get(instanceId), api.history(instanceId)]);
      setState(next);
      setHistory(events);
      setError(undefined);
    } catch (e) {
      if ((e as { status?: number }).status === 404) setGone(true);
      setError(e);
    }
  }, [instanceId]);

  useEffect(() => {
    setState(undefined);
    setHistory([]);
    setGone(false);
    void load();
  }, [load]);
  // Follow a run until it finishes.
  useEffect(() => {
    if (!state || finished.includes(state.runtimeStatus)) return;
    const timer = setInterval(() => void load(), refreshMs);
    return () => clearInterval(timer);
  }, [load, state?.runtimeStatus]);

  const bars = buildTimeline(history);
  const rerunTargets = history.filter((e) => e.taskScheduled || e.childWorkflowInstanceCreated);
  const props = state?.properties ?? {};
  const status = state?.runtimeStatus ?? "";

  const run = async (what: () => Promise<unknown>, done: string) => {
    setAction(undefined);
    try {
      const result = await what();
      setNotice(done);
      setError(undefined);
      if (result && typeof result === "object" && "instanceID" in result) {
        navigate(runHref((result as { instanceID: string }).instanceID));
        return;
      }
      await load();
    } catch (e) {
      setError(e);
    }
  };

  const confirm = () => {
    if (!action) return;
    switch (action.kind) {
      case "terminate":
        return run(() => api.terminate(instanceId), "Terminate requested.");
      case "suspend":
        return run(() => api.suspend(instanceId), "Suspend requested.");
      case "resume":
        return run(() => api.resume(instanceId), "Resume requested.");
      case "rewind":
        return run(() => api.rewind(instanceId, reason), "Rewound: the run continues from its failure.");
      case "purge":
        setAction(undefined);
        return api.purge(instanceId).then(() => navigate(uiBase), setError);
      case "raise":
        return run(() => api.raise(instanceId, eventName, payload), `Event ${eventName} raised.`);
      case "rerun":
        return run(() => api.rerun(instanceId, rerunEvent ?? action.eventId ?? 0, rerunInput), "Rerun started.");
    }
  };

  if (gone) {
    return (
      <main>
        <p><a href={uiBase} onClick={onLinkClick}>All runs</a></p>
        <h1>Run {instanceId}</h1>
        <ErrorBanner error={error} />
      </main>
    );
  }

  return (
    <main>
      <p><a href={uiBase} onClick={onLinkClick}>All runs</a></p>
      <h1>Run {instanceId}</h1>
      <ErrorBanner error={error} />
      <Notice text={notice} />
      {state && (
        <>
          <dl class="summary">
            <dt>Workflow</dt><dd>{state.workflowName}</dd>
            <dt>Status</dt><dd><Status status={status} /></dd>
            <dt>Created</dt><dd>{formatTime(state.createdAt)}</dd>
            <dt>Last updated</dt><dd>{formatTime(state.lastUpdatedAt)}</dd>
            <dt>Duration</dt><dd>{runDuration(state.createdAt, state.lastUpdatedAt, status, Date.now())}</dd>
            {props["dapr.workflow.custom_status"] && (<><dt>Custom status</dt><dd>{props["dapr.workflow.custom_status"]}</dd></>)}
          </dl>
          <div class="toolbar" role="group" aria-label="Actions">
            <button type="button" disabled={finished.includes(status)} onClick={() => setAction({ kind: "terminate" })}>Terminate</button>
            <button type="button" disabled={finished.includes(status) || status === "SUSPENDED"} onClick={() => setAction({ kind: "suspend" })}>Suspend</button>
            <button type="button" disabled={status !== "SUSPENDED"} onClick={() => setAction({ kind: "resume" })}>Resume</button>
            <button type="button" disabled={finished.includes(status)} onClick={() => setAction({ kind: "raise" })}>Raise event</button>
            <button type="button" disabled={status !== "FAILED"} onClick={() => setAction({ kind: "rewind" })}>Rewind</button>
            <button type="button" disabled={!finished.includes(status) || rerunTargets.length === 0} onClick={() => {
              setRerunEvent(rerunTargets.at(-1)?.eventId);
              setAction({ kind: "rerun" });
            }}>Rerun</button>
            <button type="button" class="danger" disabled={!finished.includes(status)} onClick={() => setAction({ kind: "purge" })}>Purge</button>
          </div>
          {action && (
            <Confirm title={titleOf(action.kind, instanceId)} action={buttonOf(action.kind)} onConfirm={() => void confirm()} onCancel={() => setAction(undefined)}>
              {action.kind === "raise" && (
                <>
                  <label>Event name <input required value={eventName} onInput={(e) => setEventName(e.currentTarget.value)} /></label>
                  <label>Payload <textarea rows={4} placeholder='{"approved": true}' value={payload} onInput={(e) => setPayload(e.currentTarget.value)} /></label>
                </>
              )}
              {action.kind === "rerun" && (
                <>
                  <label>
                    Rerun from
                    <select value={String(rerunEvent)} onChange={(e) => setRerunEvent(Number(e.currentTarget.value))}>
                      {rerunTargets.map((e) => (
                        <option key={e.eventId} value={String(e.eventId)}>
                          #{e.eventId} {e.taskScheduled ? `activity ${e.taskScheduled.name}` : `child workflow ${e.childWorkflowInstanceCreated.name}`}
                        </option>
                      ))}
                    </select>
                  </label>
                  <label>Input <textarea rows={4} placeholder="unchanged when empty" value={rerunInput} onInput={(e) => setRerunInput(e.currentTarget.value)} /></label>
                  <p>A new run starts from that step; this run is left as it is.</p>
                </>
              )}
              {action.kind === "rewind" && (
                <label>Reason <input value={reason} onInput={(e) => setReason(e.currentTarget.value)} /></label>
              )}
              {action.kind === "purge" && <p>Delete this run, its history and its child workflows? This cannot be undone.</p>}
              {action.kind === "terminate" && <p>Terminate this run and its running child workflows?</p>}
            </Confirm>
          )}
          <Payload label="Input" text={props["dapr.workflow.input"]} />
          <Payload label="Output" text={props["dapr.workflow.output"]} />
          {props["dapr.workflow.failure.error_message"] && (
            <section class="failure" aria-label="Failure">
              <h3>Failure</h3>
              <p><strong>{props["dapr.workflow.failure.error_type"]}</strong>: {props["dapr.workflow.failure.error_message"]}</p>
              {props["dapr.workflow.failure.stack_trace"] && <pre>{props["dapr.workflow.failure.stack_trace"]}</pre>}
            </section>
          )}
          <Timeline bars={bars} origin={Date.parse(state.createdAt)} now={Date.now()}
            until={finished.includes(status) ? Date.parse(state.lastUpdatedAt) : Date.now()} onRerun={finished.includes(status) ? (eventId) => {
            setRerunEvent(eventId);
            setAction({ kind: "rerun", eventId });
          } : undefined} />
          <HistoryTable events={history} />
        </>
      )}
    </main>
  );
}

function titleOf(kind: Action["kind"], id: string): string {
  return {
    terminate: `Terminate ${id}`,
    suspend: `Suspend ${id}`,
    resume: `Resume ${id}`,
    raise: `Raise an event for ${id}`,
    rewind: `Rewind ${id}`,
    rerun: `Rerun ${id}`,
    purge: `Purge ${id}`,
  }[kind];
}

function buttonOf(kind: Action["kind"]): string {
  return { terminate: "Terminate", suspend: "Suspend", resume: "Resume", raise: "Raise event", rewind: "Rewind", rerun: "Rerun", purge: "Purge" }[kind];
}
