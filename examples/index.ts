/**
 * The bundled example workflows, loaded by `npm start` (WORKFLOWD_WORKFLOWS points
 * elsewhere to load your own). The code is written exactly as for `@dapr/dapr`'s
 * WorkflowRuntime: the default export receives a registry with the same register methods.
 */
import { type ActivityContext, RetryPolicy, type WorkflowContext, type WorkflowRegistry } from "../src/index.js";

// -- hello: a chain of three activities ---------------------------------------------------

function sayHello(_ctx: ActivityContext, city: string): string {
  return `Hello, ${city}!`;
}

async function* hello(ctx: WorkflowContext, name?: string): AsyncGenerator<unknown, string[], any> {
  const greetings: string[] = [];
  for (const city of ["Tokyo", "London", name ?? "Seattle"]) {
    greetings.push(yield ctx.callActivity(sayHello, city));
    ctx.setCustomStatus(`greeted ${greetings.length} of 3`);
  }
  return greetings;
}

// -- fanOutFanIn: parallel activities, then an aggregate ----------------------------------

function square(_ctx: ActivityContext, n: number): number {
  return n * n;
}

async function* fanOutFanIn(ctx: WorkflowContext, input?: number[] | number): AsyncGenerator<unknown, { count: number; sumOfSquares: number }, any> {
  const numbers = Array.isArray(input) ? input : Array.from({ length: Number(input ?? 10) }, (_, i) => i + 1);
  const squares: number[] = yield ctx.whenAll(numbers.map((n) => ctx.callActivity(square, n)));
  return { count: squares.length, sumOfSquares: squares.reduce((a, b) => a + b, 0) };
}

// -- failing: an activity that throws fails the workflow ----------------------------------

class PaymentDeclinedError extends Error {
  override name = "PaymentDeclinedError";
}

function chargeCard(_ctx: ActivityContext, order: { amount?: number } | undefined): never {
  throw new PaymentDeclinedError(`card declined for amount ${order?.amount ?? 0}`);
}

async function* failing(ctx: WorkflowContext, order?: { amount?: number }): AsyncGenerator<unknown, void, any> {
  yield ctx.callActivity(chargeCard, order ?? { amount: 42 });
}

// -- approval: an external event raced against a durable timer ----------------------------

function notifyApprover(_ctx: ActivityContext, request: unknown): string {
  return `approval requested for ${JSON.stringify(request)}`;
}

async function* approval(ctx: WorkflowContext, request?: { item?: string; timeoutSeconds?: number }): AsyncGenerator<unknown, string, any> {
  yield ctx.callActivity(notifyApprover, request ?? {});
  ctx.setCustomStatus("waiting for approval");
  const decision = ctx.waitForExternalEvent("approval");
  const timeout = ctx.createTimer(request?.timeoutSeconds ?? 3600);
  const winner = yield ctx.whenAny([decision, timeout]);
  if (winner === timeout) return "timed out";
  const answer = decision.getResult() as { approved?: boolean } | undefined;
  return answer?.approved ? "approved" : "rejected";
}

// -- parent: child workflows (terminate and purge are recursive over them) ----------------

async function* parent(ctx: WorkflowContext, cities?: string[]): AsyncGenerator<unknown, string[][], any> {
  const children = (cities ?? ["Paris", "Oslo"]).map((city) => ctx.callChildWorkflow(hello, city));
  return yield ctx.whenAll(children);
}

// -- monitor: poll on a durable timer, continuing as new so history never grows ----------
// Input: { checks: how many checks are left, intervalSeconds, healthyAfter: the check at which
// the (simulated) job reports done }. Events raised while it sleeps are carried over.

function checkJob(_ctx: ActivityContext, check: { remaining: number; healthyAfter: number }): "done" | "running" {
  return check.remaining <= check.healthyAfter ? "done" : "running";
}

async function* monitor(
  ctx: WorkflowContext,
  input?: { checks?: number; intervalSeconds?: number; healthyAfter?: number },
): AsyncGenerator<unknown, string | undefined, any> {
  const checks = input?.checks ?? 10;
  const intervalSeconds = input?.intervalSeconds ?? 5;
  const healthyAfter = input?.healthyAfter ?? 0;
  const status: string = yield ctx.callActivity(checkJob, { remaining: checks, healthyAfter });
  if (status === "done") return `job done with ${checks} checks left`;
  if (checks <= 1) return "gave up: job still running";
  ctx.setCustomStatus(`job running; ${checks - 1} checks left`);
  const stop = ctx.waitForExternalEvent("stop");
  const next = ctx.createTimer(intervalSeconds);
  if ((yield ctx.whenAny([stop, next])) === stop) return "stopped on request";
  ctx.continueAsNew({ checks: checks - 1, intervalSeconds, healthyAfter }, true);
  return undefined;
}

// -- reliableCharge: an activity that fails at first, retried with exponential back-off ---

const flakyCalls = new Map<string, number>();

function flakyGateway(ctx: ActivityContext, failures: number): string {
  const key = ctx.getWorkflowInstanceId();
  const call = (flakyCalls.get(key) ?? 0) + 1;
  flakyCalls.set(key, call);
  if (call <= failures) throw new Error(`gateway unavailable (call ${call})`);
  flakyCalls.delete(key);
  return `charged on call ${call}`;
}

async function* reliableCharge(ctx: WorkflowContext, failures?: number): AsyncGenerator<unknown, string, any> {
  return yield ctx.callActivity(flakyGateway, failures ?? 2, {
    retryPolicy: new RetryPolicy({ maxNumberOfAttempts: 5, firstRetryIntervalInMilliseconds: 500, backoffCoefficient: 2 }),
  });
}

export default function register(registry: WorkflowRegistry): void {
  registry
    .registerWorkflow(hello)
    .registerWorkflow(fanOutFanIn)
    .registerWorkflow(failing)
    .registerWorkflow(approval)
    .registerWorkflow(parent)
    .registerWorkflow(monitor)
    .registerWorkflow(reliableCharge)
    .registerActivity(sayHello)
    .registerActivity(square)
    .registerActivity(chargeCard)
    .registerActivity(notifyApprover)
    .registerActivity(checkJob)
    .registerActivity(flakyGateway);
}
