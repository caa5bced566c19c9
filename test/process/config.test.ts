/**
 * Configuration as the process sees it: flags win over environment variables, invalid
 * values stop the start-up with a clear one-line message (no stack trace), and the body
 * limit is enforced on the wire.
 */
import { existsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixturesDir, fixtureWorkflows, freePort, outputOf, type ServerProcess, useProcesses } from "./harness.js";

const processes = useProcesses();

/** Asserts the process failed to start: non-zero exit, the message on stderr, no stack trace. */
async function expectStartFailure(server: ServerProcess, message: RegExp): Promise<void> {
  const exit = await server.waitExit(10_000);
  expect(exit.signal, "killed instead of exiting").toBeNull();
  expect(exit.code, `exit code; stderr: ${server.stderr}`).not.toBe(0);
  expect(server.stderr).toMatch(message);
  expect(server.stderr, "a stack trace on stderr").not.toMatch(/^\s+at /m);
  expect(server.stderr.trim().split("\n").length, `stderr is one clear line: ${server.stderr}`).toBe(1);
}

describe("configuration", () => {
  it("--port, --db and --workflows override DAPR_HTTP_PORT, WORKFLOWD_DB and WORKFLOWD_WORKFLOWS", async () => {
    const dir = processes.tempDir();
    const envPort = await freePort();
    const flagPort = await freePort();
    const envDb = join(dir, "from-env.db");
    const flagDb = join(dir, "from-flag.db");
    const server = await processes.spawn({
      port: flagPort,
      env: {
        DAPR_HTTP_PORT: String(envPort),
        WORKFLOWD_DB: envDb,
        // Loading this would fail the start-up: the flag must win.
        WORKFLOWD_WORKFLOWS: join(fixturesDir, "not-a-function.mjs"),
        LOG_LEVEL: "warn",
      },
      args: ["--port", String(flagPort), "--db", flagDb, `--workflows=${fixtureWorkflows}`],
      label: "flags",
    });
    await server.waitHealthy();
    expect(existsSync(flagDb), "the --db file").toBe(true);
    expect(existsSync(envDb), "the WORKFLOWD_DB file").toBe(false);
    await expect(fetch(`http://127.0.0.1:${envPort}/v1.0/healthz`), "something listens on DAPR_HTTP_PORT").rejects.toThrow();

    // The fixture module (from --workflows) is loaded, not the bundled examples.
    await server.start("echo", "echo-1", "flags win");
    const state = await server.waitTerminal("echo-1");
    expect(outputOf(state)).toBe("FLAGS WIN");
  });

  it("a daprd container's argument list starts workflowd unchanged: its flags are read, the ones that do not apply are named once", async () => {
    const [httpPort, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const args = [
      "-app-id", "orders", "-dapr-http-port", String(httpPort), "-dapr-grpc-port", String(grpcPort), "-metrics-port", String(metricsPort),
      "-placement-host-address", "placement:50005", "-scheduler-host-address", "scheduler:50006", "-resources-path", "./components",
      "-log-level", "info", "-enable-metrics=false", "-app-port", "8080", "--dapr-graceful-shutdown-seconds", "3",
    ];
    const server = await processes.spawn({ port: httpPort, args, env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: join(processes.tempDir(), "wf.db") } });
    await server.waitHealthy();
    const metadata = (await (await fetch(`${server.baseUrl}/v1.0/metadata`)).json()) as { id: string };
    expect(metadata.id).toBe("orders");
    expect(server.stdout).toContain(`"port":${grpcPort}`);
    expect(server.stdout).toContain("ignoring daprd flags that do not apply to workflowd: --placement-host-address, --scheduler-host-address, --resources-path, --app-port");
    // --enable-metrics=false: nothing listens on the metrics port.
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
    await server.start("echo", "e-1", 1);
    expect((await server.waitTerminal("e-1")).runtimeStatus).toBe("COMPLETED");
  });

  it("DAPR_HTTP_PORT=abc exits non-zero with a clear message", async () => {
    const server = await processes.spawn({ cwd: processes.tempDir(), env: { DAPR_HTTP_PORT: "abc" }, label: "bad port" });
    await expectStartFailure(server, /^workflowd failed to start: --port \(DAPR_HTTP_PORT\) 'abc' \(from DAPR_HTTP_PORT\) is not an integer from 0 to 65535; give a port number/);
  });

  it("--port out of range exits non-zero with a clear message", async () => {
    const server = await processes.spawn({ cwd: processes.tempDir(), args: ["--port", "70000"], label: "port range" });
    await expectStartFailure(server, /--port \(DAPR_HTTP_PORT\) '70000' \(from --port\) is not an integer from 0 to 65535/);
  });

  it("--max-body-size=lots exits non-zero with a clear message", async () => {
    const server = await processes.spawn({ cwd: processes.tempDir(), args: ["--max-body-size=lots"], label: "bad body size" });
    await expectStartFailure(server, /max-body-size.*'lots'/);
  });

  it("WORKFLOWD_ACTIVITY_LEASE_MS=0 exits non-zero with a clear message", async () => {
    const server = await processes.spawn({ cwd: processes.tempDir(), env: { WORKFLOWD_ACTIVITY_LEASE_MS: "0" }, label: "bad lease" });
    await expectStartFailure(server, /--activity-lease-ms \(WORKFLOWD_ACTIVITY_LEASE_MS\) '0' \(from WORKFLOWD_ACTIVITY_LEASE_MS\) is not an integer from 1/);
  });

  it("an unknown flag exits non-zero with a clear message", async () => {
    const server = await processes.spawn({ cwd: processes.tempDir(), args: ["--no-such-flag"], label: "unknown flag" });
    await expectStartFailure(server, /no-such-flag/);
  });

  it("a workflows module whose default export is not a function exits non-zero with a clear message", async () => {
    const dir = processes.tempDir();
    const server = await processes.spawn({
      cwd: dir,
      env: { WORKFLOWD_WORKFLOWS: join(fixturesDir, "not-a-function.mjs"), WORKFLOWD_DB: join(dir, "wf.db") },
      label: "bad module",
    });
    await expectStartFailure(server, /not-a-function\.mjs must export a default function/);
  });

  it("a workflows module that does not exist exits non-zero with a message naming it", async () => {
    const dir = processes.tempDir();
    const server = await processes.spawn({
      cwd: dir,
      env: { WORKFLOWD_WORKFLOWS: join(dir, "missing-workflows.mjs"), WORKFLOWD_DB: join(dir, "wf.db") },
      label: "missing module",
    });
    await expectStartFailure(server, /missing-workflows\.mjs/);
  });

  it("a port already in use exits non-zero with a clear message", async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
    try {
      const dir = processes.tempDir();
      const server = await processes.spawn({ port, env: { WORKFLOWD_DB: join(dir, "wf.db"), LOG_LEVEL: "warn" }, label: "port in use" });
      await expectStartFailure(server, new RegExp(`--port \\(DAPR_HTTP_PORT\\) ${port}: cannot listen on the HTTP port at .* \\(another process listens on it\\); choose another port`));
      const grpc = await processes.spawn({ env: { WORKFLOWD_DB: join(dir, "wf2.db"), DAPR_GRPC_PORT: String(port), LOG_LEVEL: "warn" }, label: "gRPC port in use" });
      await expectStartFailure(grpc, new RegExp(`--grpc-port \\(DAPR_GRPC_PORT\\) ${port}: cannot listen on the gRPC port`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("a database path under a file exits non-zero naming the setting, the path and the cause", async () => {
    const dir = processes.tempDir();
    writeFileSync(join(dir, "afile"), "");
    const server = await processes.spawn({ env: { WORKFLOWD_DB: join(dir, "afile", "wf.db") }, label: "db under a file" });
    await expectStartFailure(server, /--db \(WORKFLOWD_DB\) '.*afile\/wf\.db': cannot create its directory '.*afile' \(a file is in the way\)/);
  });

  it("a database path that cannot be opened (a directory) exits non-zero with a clear message", async () => {
    const dir = processes.tempDir();
    const server = await processes.spawn({ env: { WORKFLOWD_DB: dir, LOG_LEVEL: "warn" }, label: "db is a directory" });
    const escaped = dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    await expectStartFailure(server, new RegExp(`failed to start: cannot open database '${escaped}': unable to open database`));
  });

  it("DAPR_API_TOKEN guards the workflow API but not the health check", async () => {
    const dir = processes.tempDir();
    const server = await processes.spawn({
      env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: join(dir, "wf.db"), DAPR_API_TOKEN: "s3cret", LOG_LEVEL: "warn" },
      label: "api token",
    });
    await server.waitHealthy();
    const url = `${server.baseUrl}/v1.0/workflows/dapr/echo/start?instanceID=tok-1`;
    const init = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify("hi") };
    expect((await fetch(url, init)).status, "without the token").toBe(401);
    expect((await fetch(url, { ...init, headers: { ...init.headers, "dapr-api-token": "wrong" } })).status, "with a wrong token").toBe(401);
    expect((await fetch(url, { ...init, headers: { ...init.headers, "dapr-api-token": "s3cret" } })).status, "with the token").toBe(202);
  });

  it("WORKFLOWD_MAX_BODY=1Ki answers a 2 KiB start body with 413 and still accepts a small one", async () => {
    const dir = processes.tempDir();
    const server = await processes.spawn({
      env: { WORKFLOWD_WORKFLOWS: fixtureWorkflows, WORKFLOWD_DB: join(dir, "wf.db"), WORKFLOWD_MAX_BODY: "1Ki", LOG_LEVEL: "warn" },
      label: "1Ki body",
    });
    await server.waitHealthy();

    const big = await server.startWorkflow("echo", "too-big", "x".repeat(2048));
    expect(big.status, await big.clone().text()).toBe(413);
    expect(await server.get("too-big"), "an instance was created from a rejected body").toBeUndefined();

    const small = await server.startWorkflow("echo", "small", "y".repeat(900));
    expect(small.status, await small.clone().text()).toBe(202);
    expect(outputOf(await server.waitTerminal("small"))).toBe("Y".repeat(900));
  });
});
