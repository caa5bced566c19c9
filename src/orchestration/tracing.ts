/**
 * Tracing as the orchestration layer sees it: a span around each start, each turn and each
 * activity run, and the W3C trace context those spans hand on. Contexts are durabletask's
 * `TraceContext` message as plain data (`{traceParent, traceState?: {value}}`); they are
 * recorded on the events a turn creates and sent to SDK workers, so a run is one trace.
 *
 * `src/tracing` implements this over OpenTelemetry when a Dapr Configuration asks for it.
 * Without it, `propagatingTracer` records nothing and hands on the context a caller gave,
 * unchanged: an SDK worker still continues its caller's trace, at no cost.
 */
import type { ExecutionStarted, HistoryEvent, WireValue } from "../engine/history.js";
import type { RuntimeStatus } from "../engine/state.js";

export interface SpanHandle {
  /** The context to hand on (recorded on events, sent to workers); undefined when there is none. */
  readonly context: WireValue | undefined;
  /** `error`: why the work failed (the span's status); omitted when it succeeded. Only the first call counts. */
  end(error?: string): void;
}

export interface StartSpan extends SpanHandle {
  /**
   * The span ID the run's own span will have (recorded as ExecutionStarted's workflowSpanId,
   * durabletask's orchestrationSpanID), so that turns nest under a span exported at the end.
   */
  readonly workflowSpanId: string | undefined;
}

export interface TurnEnd {
  /** The events the turn saw before and the ones it brought (fired timers become spans). */
  pastEvents: readonly HistoryEvent[];
  newEvents: readonly HistoryEvent[];
  /** Set when the turn finished the execution (the run's span ends with it). */
  finished?: { status: RuntimeStatus; failure?: string | undefined } | undefined;
  /** Why the turn did not commit (a conflict, a worker error); omitted when it committed. */
  error?: string | undefined;
}

export interface TurnSpan {
  readonly context: WireValue | undefined;
  end(report: TurnEnd): void;
}

export interface WorkflowTracer {
  /** True when spans are recorded and exported; false for propagation alone. */
  readonly recording: boolean;
  /** A client start; `parent` is the caller's context (HTTP traceparent, gRPC field or metadata). */
  workflowStart(workflowName: string, instanceId: string, parent: WireValue | undefined): StartSpan;
  /** One turn of an execution whose start event is `start`. */
  turn(workflowName: string, instanceId: string, start: ExecutionStarted | undefined): TurnSpan;
  /** One run of an activity scheduled under `parent` (its TaskScheduled's context). */
  activity(name: string, instanceId: string, taskId: number, parent: WireValue | undefined): SpanHandle;
  /** Exports what is buffered; resolves when done (at shutdown). */
  shutdown(): Promise<void>;
}

const noEnd = (): void => {};

/** Records nothing; hands every context on as it came. */
export const propagatingTracer: WorkflowTracer = {
  recording: false,
  workflowStart: (_name, _id, parent) => ({ context: parent, workflowSpanId: undefined, end: noEnd }),
  turn: (_name, _id, start) => ({ context: start?.parentTraceContext, end: noEnd }),
  activity: (_name, _id, _task, parent) => ({ context: parent, end: noEnd }),
  shutdown: () => Promise.resolve(),
};

/**
 * The execution's start event: at the head of its history (after the first
 * OrchestratorStarted), or among the new events on its first turn.
 */
export function executionStartOf(pastEvents: readonly HistoryEvent[], newEvents: readonly HistoryEvent[]): ExecutionStarted | undefined {
  for (const events of [pastEvents, newEvents]) {
    for (let i = 0; i < Math.min(events.length, 4); i++) {
      const event = events[i]!;
      if (event.kind === "executionStarted") return event;
    }
  }
  return undefined;
}
