/**
 * An in-process name shadows an SDK app's: when an SDK app is connected and the in-process
 * runtime takes a workflow or activity name, workflowd says so once per name (the SDKs do not
 * announce their names, so the shadowing itself cannot be seen).
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fixtureWorkflows } from "../process/harness.js";
import { useGrpcTest, waitWorkers } from "./helpers.js";

const t = useGrpcTest();

describe("in-process names beside SDK apps", () => {
  it("logs once per name that the in-process runtime takes while an SDK app is connected", async () => {
    const wd = await t.workflowd({ WORKFLOWD_WORKFLOWS: fixtureWorkflows, LOG_LEVEL: "warn" });
    // Without an SDK app, nothing to say.
    await wd.server.start("echo", "alone", 1);
    await wd.server.waitTerminal("alone");
    expect(wd.server.stdout).not.toContain("runs, not a connected SDK app's");
    await t.runtime(wd);
    await waitWorkers(wd.server, (n) => n >= 1, "an SDK worker");
    for (const id of ["beside-1", "beside-2"]) {
      await wd.server.start("echo", id, 1);
      await wd.server.waitTerminal(id);
    }
    const lines = wd.server.stdout.split("\n").filter((l) => l.includes("runs, not a connected SDK app's"));
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual([
      "the in-process workflow 'echo' runs, not a connected SDK app's workflow of that name: the workflows module registers it; rename one, or start workflowd with --workflows none",
      "the in-process activity 'shout' runs, not a connected SDK app's activity of that name: the workflows module registers it; rename one, or start workflowd with --workflows none",
    ]);
  });
});
