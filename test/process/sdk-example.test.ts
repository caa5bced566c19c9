/**
 * The README's "Use it with a Dapr SDK app" example (examples/sdk-app.mjs) runs as written
 * against a workflowd process: the SDK app connects over gRPC, the approval arrives over
 * HTTP, and the workflow completes.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { freePort, useProcesses } from "./harness.js";

const processes = useProcesses();
const example = fileURLToPath(new URL("../../examples/sdk-app.mjs", import.meta.url));

describe("examples/sdk-app.mjs", () => {
  it("completes its order workflow against workflowd as `npm start` runs it (the bundled examples in-process), unchanged", async () => {
    const grpcPort = await freePort();
    const server = await processes.spawn({
      env: { WORKFLOWD_DB: join(processes.tempDir(), "wf.db"), DAPR_GRPC_PORT: String(grpcPort), LOG_LEVEL: "warn" },
      args: ["--default-workflows", "examples"],
    });
    await server.waitHealthy();

    const app = spawn(process.execPath, [example], {
      env: { ...process.env, DAPR_GRPC_PORT: String(grpcPort), DAPR_HTTP_PORT: String(server.port), DAPR_API_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    app.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    app.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => app.on("exit", resolve));
    expect(code, output).toBe(0);
    const id = /started (\S+)/.exec(output)?.[1];
    expect(id, output).toBeDefined();
    expect(output).toContain('status COMPLETED, output {"reservation":"R-42","status":"done","receipt":"charged 30"}');
    const state = await server.get(id!);
    expect(state?.runtimeStatus).toBe("COMPLETED");
    expect(JSON.parse(state?.properties?.["dapr.workflow.output"] ?? "null")).toEqual({ reservation: "R-42", status: "done", receipt: "charged 30" });
  }, 60_000);
});
