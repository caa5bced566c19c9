/**
 * The orchestration step and scheduler against the real store, with scripted workers that
 * let a test hold a turn open while something else commits.
 */
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TurnResult } from "../../src/engine/actions.js";
import type { HistoryEvent } from "../../src/engine/history.js";
import { runStep, type StepDeps } from "../../src/orchestration/step.js";
import { propagatingTracer } from "../../src/orchestration/tracing.js";
import { WorkflowEngine } from "../../src/orchestration/workflow-engine.js";
import { WorkerSet, type ActivityResult, type OrchestrationRequest, type Worker } from "../../src/orchestration/worker.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";

const silent = pino({ level: "silent" });

/** A worker driven by a function of the request; records every call. */
class ScriptedWorker implements Worker {
  readonly id = "scripted";
  readonly servesAnyName = false;
  readonly calls: OrchestrationRequest[] = [];
  constructor(
    private readonly script: (request: OrchestrationRequest) => Promise<TurnResult> | TurnResult,
    private readonly workflows: string[] = ["wf"],
  ) {}
  load(): number {
    return 0;
  }
  servesWorkflow(name: string): boolean {
    return this.workflows.includes(name);
  }
  servesActivity(): boolean {
    return true;
  }
  activityNames(): undefined {
    return undefined;
  }
  async executeOrchestration(request: OrchestrationRequest): Promise<TurnResult> {
    this.calls.push(request);
    return this.script(request);
  }
  async executeActivity(): Promise<ActivityResult> {
    return { ok: true, result: '"done"' };
  }
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function kinds(events: readonly HistoryEvent[]): string[] {
  return events.map((e) => e.kind);
}

const stores: SqliteStore[] = [];
const engines: WorkflowEngine[] = [];
afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.stop(0);
  for (const store of stores.splice(0)) await store.close();
});

function newStore(): SqliteStore {
  const store = new SqliteStore({ path: ":memory:", busyTimeoutMs: 100 });
  stores.push(store);
  return store;
}

function stepDeps(store: SqliteStore, worker: Worker): StepDeps {
  const workers = new WorkerSet();
  workers.add(worker);
  let n = 0;
  return { store, workers, clock: Date.now, newExecutionId: () => `e${++n}`, inboxBatchMax: 100, conflictRetriesMax: 3, turnTimeoutMs: 5000, tracer: propagatingTracer, appId: "workflowd" };
}

async function startInstance(engine: WorkflowEngine, id: string, name = "wf") {
  const result = await engine.service.start(name, id, undefined);
  expect(result.kind).toBe("started");
}

describe("runStep", () => {
  it("on a version conflict reloads the committed state and runs again; history holds no duplicate", async () => {
    const store = newStore();
    const service = new WorkflowEngine({ store, logger: silent }).service; // not started: nothing runs by itself
    await service.start("wf", "race", undefined);

    const gate = deferred();
    const slow = new ScriptedWorker(async (request) => {
      if (slow.calls.length === 1) await gate.promise;
      // Schedules "act" as action 1 when it sees the start; on later turns, nothing new.
      return kinds(request.newEvents).includes("executionStarted")
        ? { actions: [{ kind: "scheduleTask", id: 1, name: "act" }] }
        : { actions: [] };
    });
    const fast = new ScriptedWorker((request) => ({
      actions: kinds(request.newEvents).includes("executionStarted") ? [{ kind: "scheduleTask", id: 1, name: "act" }] : [],
    }));

    const slowStep = runStep(stepDeps(store, slow), "race");
    await vi.waitFor(async () => expect(slow.calls).toHaveLength(1));
    // While the slow turn is open, another turn of the same instance commits first...
    expect((await runStep(stepDeps(store, fast), "race")).kind).toBe("committed");
    // ...and an event arrives, so the slow step has real work after it reloads.
    expect(await service.raiseEvent("race", "ping", '"x"')).toBe("ok");
    gate.resolve();
    const result = await slowStep;

    expect(result.kind).toBe("committed");
    expect(slow.calls).toHaveLength(2);
    // The retry ran on the committed history, not on the state that lost.
    expect(kinds(slow.calls[1]!.pastEvents)).toEqual(["orchestratorStarted", "executionStarted", "taskScheduled"]);
    expect(kinds(slow.calls[1]!.newEvents)).toEqual(["orchestratorStarted", "eventRaised"]);
    const history = (await store.loadTurn("race", Date.now(), 100))!.history;
    expect(kinds(history)).toEqual([
      "orchestratorStarted", "executionStarted", "taskScheduled", "orchestratorStarted", "eventRaised",
    ]);
    expect((await store.getInstance("race"))!.version).toBe(3);
  });

  it("gives up with 'conflict' when every retry loses, leaving the store untouched by the loser", async () => {
    const store = newStore();
    const service = new WorkflowEngine({ store, logger: silent }).service;
    await service.start("wf", "contended", undefined);
    // Each time the step runs the worker, a competing writer bumps the version first.
    const rival = new ScriptedWorker(() => ({ actions: [] }));
    let raised = 0;
    const loser = new ScriptedWorker(async () => {
      await runStep(stepDeps(store, rival), "contended");
      await service.raiseEvent("contended", "e", String(++raised));
      return { actions: [{ kind: "completeOrchestration", id: 1, status: "COMPLETED", result: '"loser"' }] };
    });
    const result = await runStep({ ...stepDeps(store, loser), conflictRetriesMax: 2 }, "contended");
    expect(result.kind).toBe("conflict");
    expect(loser.calls).toHaveLength(3);
    expect((await store.getInstance("contended"))!.status).toBe("RUNNING");
  });
});

describe("TurnScheduler via WorkflowEngine", () => {
  it("never runs two turns of one instance at once, however often it is notified", async () => {
    const store = newStore();
    const engine = new WorkflowEngine({ store, logger: silent });
    engines.push(engine);
    let inside = 0;
    let maxInside = 0;
    const worker = new ScriptedWorker(async (request) => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
      const events = request.pastEvents.concat(request.newEvents).filter((e) => e.kind === "eventRaised").length;
      return events >= 20
        ? { actions: [{ kind: "completeOrchestration", id: 1, status: "COMPLETED", result: String(events) }] }
        : { actions: [] };
    });
    engine.workers.add(worker);
    await engine.start();
    await startInstance(engine, "busy");
    for (let i = 0; i < 20; i++) await engine.service.raiseEvent("busy", "e", String(i));
    await vi.waitFor(async () => expect((await store.getInstance("busy"))!.status).toBe("COMPLETED"), { timeout: 5000 });
    expect(maxInside).toBe(1);
    expect((await store.getInstance("busy"))!.output).toBe("20");
  });

  it("retries a turn whose worker failed, with back-off, until it commits", async () => {
    const store = newStore();
    const engine = new WorkflowEngine({ store, logger: silent });
    engines.push(engine);
    const worker = new ScriptedWorker(() => {
      if (worker.calls.length < 3) throw new Error("worker went away");
      return { actions: [{ kind: "completeOrchestration", id: 1, status: "COMPLETED", result: '"ok"' }] };
    });
    engine.workers.add(worker);
    await engine.start();
    await startInstance(engine, "flaky");
    await vi.waitFor(async () => expect((await store.getInstance("flaky"))!.status).toBe("COMPLETED"), { timeout: 5000 });
    expect(worker.calls).toHaveLength(3);
  });

  it("abandons a turn that never finishes and retries it, so the instance is not held forever", async () => {
    const store = newStore();
    const engine = new WorkflowEngine({ store, logger: silent, turnTimeoutMs: 100 });
    engines.push(engine);
    const worker = new ScriptedWorker(() =>
      worker.calls.length === 1
        ? new Promise<TurnResult>(() => {}) // the first turn hangs forever
        : { actions: [{ kind: "completeOrchestration", id: 1, status: "COMPLETED", result: '"second try"' }] });
    engine.workers.add(worker);
    await engine.start();
    await startInstance(engine, "stuck");
    await vi.waitFor(async () => expect(await store.getInstance("stuck")).toMatchObject({ status: "COMPLETED", output: '"second try"' }), { timeout: 3000 });
    expect(worker.calls).toHaveLength(2);
  });

  it("keeps an instance PENDING while no worker serves it, and runs it when one appears", async () => {
    const store = newStore();
    const engine = new WorkflowEngine({ store, logger: silent });
    engines.push(engine);
    await engine.start();
    await startInstance(engine, "later", "lateWorkflow");
    await new Promise((r) => setTimeout(r, 50));
    expect((await store.getInstance("later"))!.status).toBe("PENDING");
    engine.workers.add(new ScriptedWorker(
      () => ({ actions: [{ kind: "completeOrchestration", id: 1, status: "COMPLETED", result: "1" }] }),
      ["lateWorkflow"],
    ));
    await vi.waitFor(async () => expect((await store.getInstance("later"))!.status).toBe("COMPLETED"));
  });

  it("terminates an instance no worker serves, recursively, without any worker", async () => {
    const store = newStore();
    const engine = new WorkflowEngine({ store, logger: silent });
    engines.push(engine);
    await engine.start();
    await startInstance(engine, "orphan", "nobody");
    expect(await engine.service.terminate("orphan", '"stop"', true)).toBe("ok");
    await vi.waitFor(async () => expect(await store.getInstance("orphan")).toMatchObject({ status: "TERMINATED", output: '"stop"' }));
    expect(await engine.service.terminate("orphan", undefined, true)).toBe("ok");
    expect(await engine.service.terminate("missing", undefined, true)).toBe("not-found");
  });

  it("keeps a timer's wake-up when the store fails while reading due timers", async () => {
    const store = newStore();
    // Fault injection on the real store: once armed, the next two reads of due timers fail.
    const instancesDueBetween = store.instancesDueBetween.bind(store);
    let armed = false;
    let failures = 0;
    store.instancesDueBetween = (after, upTo) => {
      if (armed && failures < 2) {
        failures++;
        throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
      }
      return instancesDueBetween(after, upTo);
    };
    const engine = new WorkflowEngine({ store, logger: silent });
    engines.push(engine);
    engine.workers.add(new ScriptedWorker((request) => {
      const all = request.pastEvents.concat(request.newEvents);
      if (all.some((e) => e.kind === "timerFired")) return { actions: [{ kind: "completeOrchestration", id: 2, status: "COMPLETED" }] };
      return { actions: [{ kind: "createTimer", id: 1, fireAt: request.newEvents[0]!.timestamp + 50 }] };
    }));
    await engine.start();
    armed = true;
    await startInstance(engine, "resilient");
    await vi.waitFor(async () => expect((await store.getInstance("resilient"))!.status).toBe("COMPLETED"), { timeout: 5000 });
    expect(failures).toBe(2);
  });

  it("delivers timers when they are due, from the database", async () => {
    const store = newStore();
    const engine = new WorkflowEngine({ store, logger: silent });
    engines.push(engine);
    const worker = new ScriptedWorker((request) => {
      const all = request.pastEvents.concat(request.newEvents);
      if (all.some((e) => e.kind === "timerFired")) {
        return { actions: [{ kind: "completeOrchestration", id: 2, status: "COMPLETED", result: "1" }] };
      }
      const started = request.newEvents.find((e) => e.kind === "orchestratorStarted")!.timestamp;
      return { actions: [{ kind: "createTimer", id: 1, fireAt: started + 150 }] };
    });
    engine.workers.add(worker);
    await engine.start();
    const t0 = Date.now();
    await startInstance(engine, "sleepy");
    await vi.waitFor(async () => expect((await store.getInstance("sleepy"))!.status).toBe("COMPLETED"), { timeout: 3000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });
});
