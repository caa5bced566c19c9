/**
 * The engine's tracer over OpenTelemetry, exported over OTLP as a Dapr Configuration's
 * `spec.tracing` asks (daprd's settings: sampling rate, `otel.endpointAddress`, `isSecure`,
 * `protocol` http or grpc). Span names follow durabletask-go's, which daprd emits:
 *
 *   create_orchestration||<name>   the start (a client's, or a parent's for a detached run)
 *   orchestration||<name>          the whole execution, exported when it finishes; its span ID
 *                                  is chosen at the start (ExecutionStarted.workflowSpanId)
 *                                  so that every turn nests under it while it runs
 *     turn||<name>                 one turn: load, the worker's run, apply, commit
 *       activity||<name>           one run of an activity (an SDK worker continues it)
 *       orchestration||<child>     a child workflow's execution, and its turns
 *     timer||<name>                a durable timer, from its creation to the turn that saw it fire
 *
 * The provider is not registered globally: this module owns it and nothing else uses it.
 */
import {
  type Attributes,
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter as OtlpGrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as OtlpHttpExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  type IdGenerator,
  ParentBasedSampler,
  RandomIdGenerator,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { tracingOff, type TracingSettings } from "../dapr-configuration.js";
import type { ExecutionStarted, HistoryEvent, TimerCreated, WireValue } from "../engine/history.js";
import type { SpanHandle, StartSpan, TurnEnd, TurnSpan, WorkflowTracer } from "../orchestration/tracing.js";

export interface OtelTracerOptions {
  samplingRate: number;
  exporter: SpanExporter;
  /** The `service.name` spans carry: the app ID, as daprd reports it. */
  serviceName: string;
  serviceVersion: string;
  /** How long spans wait in the batch before they are sent ("within a few seconds"). */
  exportDelayMs?: number;
}

/** The OTLP exporter daprd's `spec.tracing.otel` describes. */
export function otlpExporter(otel: NonNullable<TracingSettings["otel"]>): SpanExporter {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(otel.endpointAddress);
  const base = hasScheme ? otel.endpointAddress : `${otel.isSecure ? "https" : "http"}://${otel.endpointAddress}`;
  if (otel.protocol === "grpc") return new OtlpGrpcExporter({ url: base });
  // OTLP/HTTP posts to /v1/traces; an address that already names a path is taken as given.
  const url = new URL(base);
  if (url.pathname === "/" || url.pathname === "") url.pathname = "/v1/traces";
  return new OtlpHttpExporter({ url: url.toString() });
}

/** Hands out one chosen span ID (the run span's, fixed at the start), then random ones. */
class PresetIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  private preset: string | undefined;

  /** A random span ID, not consumed by any span (one chosen ahead for a span to come). */
  freshSpanId(): string {
    return this.random.generateSpanId();
  }

  generateTraceId(): string {
    return this.random.generateTraceId();
  }

  generateSpanId(): string {
    const id = this.preset ?? this.random.generateSpanId();
    this.preset = undefined;
    return id;
  }

  /** Runs `start` with the next span ID being `spanId`. */
  withSpanId<T>(spanId: string | undefined, start: () => T): T {
    this.preset = spanId;
    try {
      return start();
    } finally {
      this.preset = undefined;
    }
  }
}

const propagator = new W3CTraceContextPropagator();
const validSpanId = /^[0-9a-f]{16}$/;

export class OtelTracer implements WorkflowTracer {
  readonly recording = true;
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;
  private readonly ids = new PresetIdGenerator();

  constructor(options: OtelTracerOptions) {
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ "service.name": options.serviceName, "service.version": options.serviceVersion }),
      // A caller's sampled flag decides for its trace; new traces are sampled at the rate.
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.samplingRate) }),
      idGenerator: this.ids,
      spanProcessors: [new BatchSpanProcessor({ exporter: options.exporter, scheduledDelayMillis: options.exportDelayMs ?? 1_000 })],
    });
    this.tracer = this.provider.getTracer("workflowd", options.serviceVersion);
  }

  workflowStart(workflowName: string, instanceId: string, parent: WireValue | undefined): StartSpan {
    const span = this.tracer.startSpan(`create_orchestration||${workflowName}`, {
      kind: SpanKind.PRODUCER,
      attributes: taskAttributes("orchestration", workflowName, instanceId),
    }, contextOf(parent));
    return { ...handle(span), workflowSpanId: this.ids.freshSpanId() };
  }

  turn(workflowName: string, instanceId: string, start: ExecutionStarted | undefined): TurnSpan {
    const startContext = contextOf(start?.parentTraceContext);
    const runContext = withSpanId(startContext, start?.workflowSpanId);
    const span = this.tracer.startSpan(`turn||${workflowName}`, {
      attributes: { ...taskAttributes("orchestration", workflowName, instanceId), ...(start ? { "durabletask.task.execution_id": start.executionId } : {}) },
    }, runContext);
    return {
      context: wireOf(span),
      end: (report: TurnEnd) => {
        this.timerSpans(runContext, instanceId, report);
        if (report.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: report.error });
        span.end();
        if (report.finished && start) this.runSpan(workflowName, instanceId, start, startContext, report.finished);
      },
    };
  }

  activity(name: string, instanceId: string, taskId: number, parent: WireValue | undefined): SpanHandle {
    const span = this.tracer.startSpan(`activity||${name}`, {
      kind: SpanKind.SERVER,
      attributes: { ...taskAttributes("activity", name, instanceId), "durabletask.task.task_id": taskId },
    }, contextOf(parent));
    return handle(span);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }

  /** The execution's own span, from its start event's time to now, under the span ID chosen at the start. */
  private runSpan(workflowName: string, instanceId: string, start: ExecutionStarted, parent: Context, finished: NonNullable<TurnEnd["finished"]>): void {
    const spanId = start.workflowSpanId && validSpanId.test(start.workflowSpanId) ? start.workflowSpanId : undefined;
    const span = this.ids.withSpanId(spanId, () => this.tracer.startSpan(`orchestration||${workflowName}`, {
      kind: SpanKind.SERVER,
      startTime: start.timestamp,
      attributes: {
        ...taskAttributes("orchestration", workflowName, instanceId),
        "durabletask.task.execution_id": start.executionId,
        "durabletask.runtime_status": finished.status,
      },
    }, parent));
    if (finished.status === "FAILED") span.setStatus({ code: SpanStatusCode.ERROR, message: finished.failure ?? "failed" });
    span.end();
  }

  /** One span per timer that fired in this turn, from its TimerCreated to now. */
  private timerSpans(runContext: Context, instanceId: string, report: TurnEnd): void {
    for (const event of report.newEvents) {
      if (event.kind !== "timerFired") continue;
      const created = findTimer(report.pastEvents, event.timerId);
      const name = created?.name ?? "timer";
      const span = this.tracer.startSpan(`timer||${name}`, {
        startTime: created?.timestamp ?? event.timestamp,
        attributes: {
          ...taskAttributes("timer", name, instanceId),
          "durabletask.task.task_id": event.timerId,
          "durabletask.fire_at": new Date(event.fireAt).toISOString(),
        },
      }, runContext);
      span.end();
    }
  }
}

function taskAttributes(type: string, name: string, instanceId: string): Attributes {
  return { "durabletask.type": type, "durabletask.task.name": name, "durabletask.task.instance_id": instanceId };
}

function handle(span: Span): SpanHandle {
  let ended = false;
  return {
    context: wireOf(span),
    end(error?: string) {
      if (ended) return;
      ended = true;
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      span.end();
    },
  };
}

/** A recorded TraceContext as an OpenTelemetry context (the root one when there is none or it is malformed). */
function contextOf(wire: WireValue | undefined): Context {
  const traceparent = wire?.["traceParent"];
  if (typeof traceparent !== "string" || traceparent === "") return ROOT_CONTEXT;
  const state = (wire?.["traceState"] as { value?: unknown } | undefined)?.value;
  const carrier: Record<string, string> = { traceparent, ...(typeof state === "string" && state ? { tracestate: state } : {}) };
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/** `context` with its span replaced by span `spanId` of the same trace (the run's span), when given. */
function withSpanId(context: Context, spanId: string | undefined): Context {
  const current = trace.getSpanContext(context);
  if (!current || !spanId || !validSpanId.test(spanId)) return context;
  return trace.setSpanContext(ROOT_CONTEXT, { ...current, spanId, isRemote: true });
}

function wireOf(span: Span): WireValue | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  if (!carrier["traceparent"]) return undefined;
  return carrier["tracestate"] ? { traceParent: carrier["traceparent"], traceState: { value: carrier["tracestate"] } } : { traceParent: carrier["traceparent"] };
}

function findTimer(events: readonly HistoryEvent[], timerId: number): TimerCreated | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.kind === "timerCreated" && event.eventId === timerId) return event;
  }
  return undefined;
}

/**
 * The tracer a Configuration's `spec.tracing` asks for: spans exported over OTLP when a rate
 * above 0 and an endpoint are set; otherwise undefined (contexts are only handed on).
 */
export function tracerFor(settings: TracingSettings | undefined, serviceName: string, serviceVersion: string): OtelTracer | undefined {
  if (!settings?.otel || tracingOff(settings)) return undefined;
  return new OtelTracer({ samplingRate: settings.samplingRate, exporter: otlpExporter(settings.otel), serviceName, serviceVersion });
}
