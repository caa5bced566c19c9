// A Dapr SDK app, unchanged: the same code runs against daprd or workflowd.
//
//   terminal 1:  npm start                      (workflowd: HTTP 3500, gRPC 50001)
//   terminal 2:  node examples/sdk-app.mjs      (this app: registers, starts, waits)
//
// It registers an order workflow with @dapr/dapr's WorkflowRuntime (which dials
// DAPR_GRPC_PORT, default 50001, and runs the workflow code here, in this process), starts
// one instance with DaprWorkflowClient, raises its approval over the HTTP API as an operator
// would with curl, and prints the result. Set DAPR_API_TOKEN on both sides to use a token.
import { DaprWorkflowClient, WorkflowRuntime, WorkflowRuntimeStatus } from "@dapr/dapr";

const daprHost = process.env.DAPR_HOST ?? "127.0.0.1";
const httpPort = process.env.DAPR_HTTP_PORT ?? "3500";

async function reserveStock(_ctx, order) {
  return { reservation: `R-${order.id}`, items: order.items.length };
}

// Named apart from the bundled examples' activities: `npm start` runs those in workflowd, and
// an in-process name would take the call from this app.
async function chargeOrder(_ctx, order) {
  if (order.total > 1000) throw new Error(`amount ${order.total} exceeds the card limit`);
  return `charged ${order.total}`;
}

async function* processOrder(ctx, order) {
  const { reservation } = yield ctx.callActivity(reserveStock, order);
  ctx.setCustomStatus(`reserved ${reservation}; waiting for approval`);
  const approval = ctx.waitForExternalEvent("approval");
  const timeout = ctx.createTimer(30);
  if ((yield ctx.whenAny([approval, timeout])) === timeout) return { reservation, status: "approval timed out" };
  if (!approval.getResult()?.approved) return { reservation, status: "rejected" };
  const receipt = yield ctx.callActivity(chargeOrder, order);
  return { reservation, status: "done", receipt };
}

const runtime = new WorkflowRuntime().registerWorkflow(processOrder).registerActivity(reserveStock).registerActivity(chargeOrder);
const client = new DaprWorkflowClient();

try {
  await runtime.start();
  const instanceId = await client.scheduleNewWorkflow(processOrder, { id: 42, items: ["book", "pen"], total: 30 });
  console.log(`started ${instanceId}`);
  await client.waitForWorkflowStart(instanceId, true, 30);

  // An operator approves it over the HTTP API (the curl equivalent).
  const raise = await fetch(`http://${daprHost}:${httpPort}/v1.0/workflows/dapr/${instanceId}/raiseEvent/approval`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(process.env.DAPR_API_TOKEN ? { "dapr-api-token": process.env.DAPR_API_TOKEN } : {}) },
    body: JSON.stringify({ approved: true }),
  });
  if (raise.status !== 202) throw new Error(`raiseEvent answered ${raise.status}: ${await raise.text()}`);

  const state = await client.waitForWorkflowCompletion(instanceId, true, 30);
  console.log(`status ${WorkflowRuntimeStatus[state?.runtimeStatus]}, output ${state?.serializedOutput}`);
} finally {
  await runtime.stop();
  await client.stop();
}
