/**
 * A long continue-as-new loop: 10,000 generations of one instance on a real database file.
 * Stored history must stay bounded (each generation replaces the last), and nothing is
 * left behind in the inbox or the activity queue.
 */
import Database from "better-sqlite3";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { WorkflowContext } from "../../src/runtime/context.js";
import { harnesses, outputOf, tempDir } from "./helpers.js";

const open = harnesses();
const dirs: (() => void)[] = [];
afterEach(async () => {
  await open.closeAll();
  for (const cleanup of dirs.splice(0)) cleanup();
});

describe("a continue-as-new loop of 10,000 generations", () => {
  it("completes with the right count and keeps the stored history bounded", async () => {
    const dir = tempDir();
    dirs.push(dir.cleanup);
    const dbPath = join(dir.path, "loop.db");
    async function* countdown(ctx: WorkflowContext, n: number): AsyncGenerator<unknown, string, any> {
      if (n === 0) return "done";
      if (n % 1000 === 0) ctx.setCustomStatus(`at ${n}`);
      ctx.continueAsNew(n - 1);
    }
    const app = await open.create({ dbPath, workflows: (r) => r.registerWorkflow(countdown) });
    const id = await app.startJson("countdown", 10_000, "loop");
    const state = await app.waitFor(id, (s) => s.runtimeStatus === "COMPLETED", 100_000);
    expect(outputOf(state)).toBe("done");

    const db = new Database(dbPath, { readonly: true });
    try {
      const historyRows = (db.prepare("SELECT count(*) AS n FROM history WHERE instance_id = ?").get(id) as { n: number }).n;
      expect(historyRows, "history rows of the last generation").toBeLessThanOrEqual(5);
      expect((db.prepare("SELECT count(*) AS n FROM history").get() as { n: number }).n).toBe(historyRows);
      expect((db.prepare("SELECT count(*) AS n FROM inbox").get() as { n: number }).n).toBe(0);
      expect((db.prepare("SELECT count(*) AS n FROM activities").get() as { n: number }).n).toBe(0);
    } finally {
      db.close();
    }
  }, 120_000);
});
