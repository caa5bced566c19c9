/**
 * Helpers for the runtime tests: golden-history builders for `replay()`, and a small
 * harness around `createWorkflowd` that drives the HTTP API with `inject` and polls GET.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vi } from "vitest";
import { createWorkflowd, type BuildAppOptions, type Workflowd } from "../../src/app.js";
import type { CompleteOrchestrationAction, OrchestratorAction, TurnResult } from "../../src/engine/actions.js";
import type { FailureDetails, HistoryEvent } from "../../src/engine/history.js";
import type { WorkflowRegistry } from "../../src/runtime/registry.js";
import { replay } from "../../src/runtime/replayer.js";
import type { WorkflowStateResponse } from "../../src/api/schemas.js";

// -- Golden histories ---------------------------------------------------------------------

export const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);

/** Builders for history events as the engine records them (eventId -1 unless an action ID). */
export const h = {
  orchStarted: (timestamp = T0): HistoryEvent => ({ kind: "orchestratorStarted", eventId: -1, timestamp }),
  orchCompleted: (timestamp = T0): HistoryEvent => ({ kind: "orchestratorCompleted", eventId: -1, timestamp }),
  started: (name: string, input?: string, timestamp = T0, instanceId = "inst"): HistoryEvent => ({
    kind: "executionStarted",
    eventId: -1,
    timestamp,
    name,
    instanceId,
    executionId: "exec-1",
    input,
  }),
  taskScheduled: (id: number, name: string, input?: string, timestamp = T0): HistoryEvent => ({
    kind: "taskScheduled",
    eventId: id,
    timestamp,
    name,
    input,
  }),
  taskCompleted: (taskScheduledId: number, result?: string, timestamp = T0): HistoryEvent => ({
    kind: "taskCompleted",
    eventId: -1,
    timestamp,
    taskScheduledId,
    result,
  }),
  taskFailed: (taskScheduledId: number, failureDetails: FailureDetails, timestamp = T0): HistoryEvent => ({
    kind: "taskFailed",
    eventId: -1,
    timestamp,
    taskScheduledId,
    failureDetails,
  }),
  timerCreated: (id: number, fireAt: number, timestamp = T0): HistoryEvent => ({
    kind: "timerCreated",
    eventId: id,
    timestamp,
    fireAt,
  }),
  timerFired: (timerId: number, fireAt: number): HistoryEvent => ({
    kind: "timerFired",
    eventId: -1,
    timestamp: fireAt,
    timerId,
    fireAt,
  }),
  childCreated: (id: number, name: string, instanceId: string, input?: string, timestamp = T0): HistoryEvent => ({
    kind: "subOrchestrationInstanceCreated",
    eventId: id,
    timestamp,
    instanceId,
    name,
    input,
  }),
  childCompleted: (taskScheduledId: number, result?: string, timestamp = T0): HistoryEvent => ({
    kind: "subOrchestrationInstanceCompleted",
    eventId: -1,
    timestamp,
    taskScheduledId,
    result,
  }),
  childFailed: (taskScheduledId: number, failureDetails: FailureDetails, timestamp = T0): HistoryEvent => ({
    kind: "subOrchestrationInstanceFailed",
    eventId: -1,
    timestamp,
    taskScheduledId,
    failureDetails,
  }),
  raised: (name: string, input?: string, timestamp = T0): HistoryEvent => ({
    kind: "eventRaised",
    eventId: -1,
    timestamp,
    name,
    input,
  }),
  suspended: (timestamp = T0): HistoryEvent => ({ kind: "executionSuspended", eventId: -1, timestamp }),
  resumed: (timestamp = T0): HistoryEvent => ({ kind: "executionResumed", eventId: -1, timestamp }),
  terminated: (input?: string, timestamp = T0): HistoryEvent => ({
    kind: "executionTerminated",
    eventId: -1,
    timestamp,
    input,
    recurse: false,
  }),
};

export function runReplay(
  registry: WorkflowRegistry,
  pastEvents: HistoryEvent[],
  newEvents: HistoryEvent[],
  instanceId = "inst",
): Promise<TurnResult> {
  return replay(registry, { instanceId, executionId: "exec-1", pastEvents, newEvents });
}

export function completionOf(result: TurnResult): CompleteOrchestrationAction | undefined {
  return result.actions.find((a): a is CompleteOrchestrationAction => a.kind === "completeOrchestration");
}

export function nonCompletion(result: TurnResult): OrchestratorAction[] {
  return result.actions.filter((a) => a.kind !== "completeOrchestration");
}

// -- End-to-end harness -------------------------------------------------------------------

/** GET's body, typed from the server's own response schema so the two cannot drift. */
export type StateBody = WorkflowStateResponse;

export const terminal = ["COMPLETED", "FAILED", "TERMINATED"];

export class Harness {
  private closed = false;

  private constructor(readonly wd: Workflowd) {}

  static async create(options: BuildAppOptions): Promise<Harness> {
    return new Harness(await createWorkflowd(options));
  }

  get app() {
    return this.wd.app;
  }

  /** Idempotent: tests may close an app early (to restart on the same file). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.wd.app.close();
  }

  /** Starts an instance; `body` is sent as-is (raw text), undefined sends no body. */
  async start(name: string, body?: string, instanceId?: string): Promise<string> {
    const query = instanceId ? `?instanceID=${encodeURIComponent(instanceId)}` : "";
    const response = await this.app.inject({
      method: "POST",
      url: `/v1.0/workflows/dapr/${name}/start${query}`,
      ...(body !== undefined ? { payload: body, headers: { "content-type": "application/json" } } : {}),
    });
    if (response.statusCode !== 202) throw new Error(`start failed: ${response.statusCode} ${response.body}`);
    return (response.json() as { instanceID: string }).instanceID;
  }

  /** Starts with a JSON-serialized input. */
  startJson(name: string, input: unknown, instanceId?: string): Promise<string> {
    return this.start(name, input === undefined ? undefined : JSON.stringify(input), instanceId);
  }

  async get(instanceId: string): Promise<StateBody | undefined> {
    const response = await this.app.inject({ method: "GET", url: `/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}` });
    if (response.statusCode === 404) return undefined;
    if (response.statusCode !== 200) throw new Error(`get failed: ${response.statusCode} ${response.body}`);
    return response.json() as StateBody;
  }

  async command(instanceId: string, command: "terminate" | "pause" | "resume" | "purge"): Promise<void> {
    const response = await this.app.inject({ method: "POST", url: `/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}/${command}` });
    if (response.statusCode !== 202) throw new Error(`${command} failed: ${response.statusCode} ${response.body}`);
  }

  async raise(instanceId: string, eventName: string, data?: unknown): Promise<void> {
    const response = await this.app.inject({
      method: "POST",
      url: `/v1.0/workflows/dapr/${encodeURIComponent(instanceId)}/raiseEvent/${encodeURIComponent(eventName)}`,
      ...(data !== undefined ? { payload: JSON.stringify(data), headers: { "content-type": "application/json" } } : {}),
    });
    if (response.statusCode !== 202) throw new Error(`raise failed: ${response.statusCode} ${response.body}`);
  }

  /** Polls GET until `until` holds (10 s at most). */
  async waitFor(instanceId: string, until: (state: StateBody) => boolean, timeout = 10_000): Promise<StateBody> {
    return vi.waitFor(
      async () => {
        const state = await this.get(instanceId);
        if (!state || !until(state)) throw new Error(`not yet: ${JSON.stringify(state)}`);
        return state;
      },
      { timeout, interval: 10 },
    );
  }

  waitForStatus(instanceId: string, status: string): Promise<StateBody> {
    return this.waitFor(instanceId, (s) => s.runtimeStatus === status);
  }

  waitForTerminal(instanceId: string): Promise<StateBody> {
    return this.waitFor(instanceId, (s) => terminal.includes(s.runtimeStatus));
  }

  waitForCustomStatus(instanceId: string, customStatus: string): Promise<StateBody> {
    return this.waitFor(instanceId, (s) => s.properties?.["dapr.workflow.custom_status"] === customStatus);
  }

  /** The committed history of an instance, read from the store. */
  async history(instanceId: string): Promise<readonly HistoryEvent[]> {
    return (await this.wd.store.loadTurn(instanceId, 0, 0))?.history ?? [];
  }
}

/** Parsed output of a finished instance (undefined when there is none). */
export function outputOf(state: StateBody): unknown {
  const raw = state.properties?.["dapr.workflow.output"];
  return raw === undefined ? undefined : JSON.parse(raw);
}

/** Tracks harnesses so afterEach can close every one. */
export function harnesses() {
  const open: Harness[] = [];
  return {
    async create(options: BuildAppOptions): Promise<Harness> {
      const harness = await Harness.create(options);
      open.push(harness);
      return harness;
    },
    async closeAll(): Promise<void> {
      for (const harness of open.splice(0)) await harness.close();
    },
  };
}

/** A promise the test resolves by hand, to hold an activity at a known point. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** A temporary directory for file databases, removed by `cleanup`. */
export function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), "workflowd-runtime-"));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
