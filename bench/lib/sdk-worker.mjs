// A Dapr SDK app for the benchmarks: an unchanged @dapr/dapr WorkflowRuntime connected to
// workflowd's gRPC port, serving the 5-activity chain `sdkBenchChain`. Prints "ready" once
// the worker is started; stops on SIGTERM.
//   node bench/lib/sdk-worker.mjs <grpcPort>
import { LogLevel, WorkflowRuntime } from "@dapr/dapr";

const port = process.argv[2];

async function sdkBenchStep(_ctx, { value, index }) {
  return value * 3 + index + 1;
}

async function* sdkBenchChain(ctx, seed) {
  let value = seed;
  for (let index = 0; index < 5; index++) value = yield ctx.callActivity(sdkBenchStep, { value, index });
  return value;
}

const runtime = new WorkflowRuntime({ daprHost: "127.0.0.1", daprPort: String(port), logger: { level: LogLevel.Error } })
  .registerWorkflow(sdkBenchChain)
  .registerActivity(sdkBenchStep);

await runtime.start();
process.stdout.write("ready\n");

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  runtime.stop().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5_000).unref();
});
