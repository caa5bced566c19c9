/**
 * Helpers for the CLI tests: run the built binary (`node dist/src/main.js <command>`) as a
 * real child process, and share one real server per test file (spawned with the process
 * tests' ServerProcess on a free port, with a temp SQLite file and the CLI fixtures).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { freePort, mainJs, ServerProcess } from "../process/harness.js";
import { serverEnvNames } from "../process/server-env.mjs";

export const cliFixtures = fileURLToPath(new URL("./fixtures/workflows.mjs", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What the CLI reads; a run never inherits the test runner's values. */
const clientEnvNames = ["DAPR_HTTP_PORT", "DAPR_HTTP_ENDPOINT", "DAPR_API_TOKEN"];

/**
 * Runs `workflowd <args>` to completion. `env` is added to a clean environment. With
 * `closeStdoutEarly`, the reading end of stdout is closed after the first chunk, as
 * `workflowd ... | head -1` does.
 */
export function cli(args: readonly string[], env: Record<string, string> = {}, stdin?: string, closeStdoutEarly = false): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [...serverEnvNames, ...clientEnvNames]) delete childEnv[name];
  Object.assign(childEnv, env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (closeStdoutEarly) child.stdout.destroy();
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? "");
  });
}

/** A port nothing listens on (it was free a moment ago). */
export { freePort };

export interface SharedServer {
  readonly server: ServerProcess;
  /** `workflowd <args>` against this server (DAPR_HTTP_PORT set), plus `env`. */
  run(args: readonly string[], env?: Record<string, string>, stdin?: string, closeStdoutEarly?: boolean): Promise<CliResult>;
}

/**
 * One server for the whole file: started before the first test, killed after the last; its
 * output is printed when a test fails. `env` is added to the server's environment.
 */
export function useSharedServer(env: Record<string, string> = {}): SharedServer {
  let server: ServerProcess | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "workflowd-cli-"));
    const port = await freePort();
    const serverEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const name of [...serverEnvNames, ...clientEnvNames]) delete serverEnv[name];
    Object.assign(serverEnv, {
      DAPR_HTTP_PORT: String(port),
      DAPR_GRPC_PORT: "0",
      DAPR_METRICS_PORT: "0",
      WORKFLOWD_HOST: "127.0.0.1",
      WORKFLOWD_DB: join(dir, "workflowd.db"),
      WORKFLOWD_WORKFLOWS: cliFixtures,
      LOG_LEVEL: "warn",
      ...env,
    });
    const child = spawn(process.execPath, [mainJs], { env: serverEnv, stdio: ["ignore", "pipe", "pipe"] });
    server = new ServerProcess(child, port, "shared server");
    // Generous: on a loaded machine (three test files at once on two cores) a start-up can
    // take several seconds. The hook's own limit is 30 s.
    await server.waitHealthy(25_000);
  });

  beforeEach((context) => {
    context.onTestFailed(() => {
      if (server) console.error(server.dump());
    });
  });

  afterAll(async () => {
    await server?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return {
    get server() {
      if (!server) throw new Error("the shared server is not started yet");
      return server;
    },
    run(args, extraEnv = {}, stdin, closeStdoutEarly) {
      return cli(args, { DAPR_HTTP_PORT: String(this.server.port), ...extraEnv }, stdin, closeStdoutEarly);
    },
  };
}

/**
 * A table the CLI printed, as one record per row keyed by the column headers. Columns are
 * found where the header names start (they are separated by two or more spaces), so empty
 * cells are read as "".
 */
export function parseTable(stdout: string): { headers: string[]; rows: Record<string, string>[] } {
  const [header = "", ...lines] = stdout.replace(/\n$/, "").split("\n");
  const columns = [...header.matchAll(/\S+(?: \S+)*/g)].map((match) => ({ name: match[0], start: match.index }));
  const rows = lines.map((line) => Object.fromEntries(columns.map((column, i) => [
    column.name,
    line.slice(column.start, columns[i + 1]?.start ?? line.length).trim(),
  ])));
  return { headers: columns.map((column) => column.name), rows };
}
