/**
 * Prometheus metrics (prom-client), named in the spirit of daprd's
 * `dapr_runtime_workflow_*` and `dapr_http_server_*` metrics. Counters and histograms are
 * fed by the engine as it works (an EngineObserver) and by the HTTP server; queue depths
 * and connected workers are read from their sources when Prometheus scrapes.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ActivityReport, EngineObserver, TurnReport } from "../orchestration/engine-observer.js";
import type { RuntimeStatus } from "../orchestration/workflow-service.js";

export interface MetricSources {
  queueDepths: () => Promise<{ readyInstances: number; pendingTimers: number; queuedActivities: number; runningActivities: number }>;
  /** Connected Dapr SDK worker streams (gRPC). */
  connectedWorkers: () => number;
}

/** Seconds: from a fast in-memory step to a long human-in-the-loop workflow. */
const stepBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const executionBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 86400];

export class Metrics implements EngineObserver {
  readonly registry = new Registry();
  private readonly started: Counter<"workflow_name">;
  private readonly completed: Counter<"workflow_name" | "status">;
  private readonly steps: Counter<"workflow_name">;
  private readonly stepLatency: Histogram<"workflow_name">;
  private readonly executionLatency: Histogram<"workflow_name" | "status">;
  private readonly activities: Counter<"activity_name" | "status">;
  private readonly activityLatency: Histogram<"activity_name">;
  private readonly httpRequests: Counter<"method" | "path" | "status">;
  private readonly retentionPurgedTotal: Counter<"status">;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.started = new Counter({
      name: "dapr_runtime_workflow_started_total",
      help: "Workflow instances started: over HTTP or gRPC, and child workflows when the parent's step creates them.",
      labelNames: ["workflow_name"],
      registers,
    });
    this.completed = new Counter({
      name: "dapr_runtime_workflow_completed_total",
      help: "Workflow executions that finished, by final status (COMPLETED, FAILED, TERMINATED) or CONTINUED_AS_NEW.",
      labelNames: ["workflow_name", "status"],
      registers,
    });
    this.steps = new Counter({
      name: "dapr_runtime_workflow_steps_total",
      help: "Orchestration steps (turns) committed.",
      labelNames: ["workflow_name"],
      registers,
    });
    this.stepLatency = new Histogram({
      name: "dapr_runtime_workflow_step_latency_seconds",
      help: "Time of one orchestration step: load, run the worker, apply, commit.",
      labelNames: ["workflow_name"],
      buckets: stepBuckets,
      registers,
    });
    this.executionLatency = new Histogram({
      name: "dapr_runtime_workflow_execution_latency_seconds",
      help: "End-to-end time of a workflow execution, from its start to its final status.",
      labelNames: ["workflow_name", "status"],
      buckets: executionBuckets,
      registers,
    });
    this.activities = new Counter({
      name: "dapr_runtime_workflow_activity_execution_total",
      help: "Activity executions, by outcome (success or failed); a retried activity counts each run.",
      labelNames: ["activity_name", "status"],
      registers,
    });
    this.activityLatency = new Histogram({
      name: "dapr_runtime_workflow_activity_execution_latency_seconds",
      help: "Time of one activity execution on its worker.",
      labelNames: ["activity_name"],
      buckets: stepBuckets,
      registers,
    });
    this.retentionPurgedTotal = new Counter({
      name: "workflowd_retention_purged_total",
      help: "Instances the retention policy (spec.workflow.stateRetentionPolicy) purged, children included, by the status that made them due.",
      labelNames: ["status"],
      registers,
    });
    this.httpRequests = new Counter({
      name: "dapr_http_server_request_count",
      help: "HTTP requests served, by method, route pattern and status code.",
      labelNames: ["method", "path", "status"],
      registers,
    });
    const depth = (name: string, help: string, read: () => number | Promise<number>) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(await read());
        },
      });
    // The four depth gauges of one scrape (collected together) share one read of the store.
    let depths: ReturnType<MetricSources["queueDepths"]> | undefined;
    const queueDepths = () => {
      if (!depths) {
        depths = sources.queueDepths();
        const clear = () => (depths = undefined);
        depths.then(clear, clear);
      }
      return depths;
    };
    depth("dapr_runtime_workflow_ready_instances", "Instances with events ready for their next step.", async () => (await queueDepths()).readyInstances);
    depth("dapr_runtime_workflow_pending_timers", "Durable timers and scheduled starts not yet due.", async () => (await queueDepths()).pendingTimers);
    depth("dapr_runtime_workflow_queued_activities", "Activities waiting for a worker.", async () => (await queueDepths()).queuedActivities);
    depth("dapr_runtime_workflow_running_activities", "Activities running under a lease.", async () => (await queueDepths()).runningActivities);
    depth("dapr_runtime_workflow_connected_workers", "Dapr SDK apps connected over gRPC (GetWorkItems streams).", sources.connectedWorkers);
  }

  /**
   * Adds prom-client's process metrics (CPU, memory, event-loop lag, GC). Once per process:
   * they install process-wide observers, so tests that build many apps leave them out.
   */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  // -- EngineObserver ---------------------------------------------------------------------

  workflowStarted(workflowName: string): void {
    this.started.inc({ workflow_name: workflowName });
  }

  turnCommitted(report: TurnReport): void {
    const workflow_name = report.workflowName;
    this.steps.inc({ workflow_name });
    for (const child of report.childrenStarted) this.started.inc({ workflow_name: child });
    this.stepLatency.observe({ workflow_name }, report.durationMs / 1000);
    if (report.continuedAsNew) this.completed.inc({ workflow_name, status: "CONTINUED_AS_NEW" });
    if (report.completion) {
      this.completed.inc({ workflow_name, status: report.completion.status });
      this.executionLatency.observe({ workflow_name, status: report.completion.status }, report.completion.sinceCreatedMs / 1000);
    }
  }

  activityExecuted(report: ActivityReport): void {
    this.activities.inc({ activity_name: report.name, status: report.ok ? "success" : "failed" });
    this.activityLatency.observe({ activity_name: report.name }, report.durationMs / 1000);
  }

  retentionPurged(status: RuntimeStatus, count: number): void {
    this.retentionPurgedTotal.inc({ status }, count);
  }

  // -- HTTP -------------------------------------------------------------------------------

  httpRequest(method: string, path: string, status: number): void {
    this.httpRequests.inc({ method, path, status: String(status) });
  }
}
