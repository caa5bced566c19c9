/**
 * `workflowd backup <file>`: SQLite's online backup of the database a running server is
 * writing to (WAL). The copy must be a consistent snapshot that a second workflowd opens and
 * serves the same instances from, and workflows caught mid-flight must carry on there. The
 * command refuses what would lose or invent data (an existing destination, a missing
 * database) with one line on stderr.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chainOutput, fanOutOutput } from "./expected.js";
import { fixtureWorkflows, outputOf, type ServerProcess, useProcesses } from "./harness.js";

const processes = useProcesses();

interface LogLine {
  msg: string;
  [key: string]: unknown;
}

function logLines(stdout: string): LogLine[] {
  return stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as LogLine);
}

/** Runs `node dist/src/main.js backup ...args` with the given environment and waits for it. */
async function runBackup(args: string[], env: Record<string, string>): Promise<ServerProcess & { code: number | null }> {
  const command = await processes.spawn({ args: ["backup", ...args], env, label: `backup ${args.join(" ")}` });
  const exit = await command.waitExit(30_000);
  expect(exit.signal, "the backup command was killed").toBeNull();
  return Object.assign(command, { code: exit.code });
}

describe("workflowd backup <file>", () => {
  it("copies a database in use into a file a second workflowd serves the same instances from", async () => {
    const dir = processes.tempDir();
    const liveDb = join(dir, "live.db");
    const backupFile = join(dir, "backup.db");
    const serverEnv = { WORKFLOWD_WORKFLOWS: fixtureWorkflows, LOG_LEVEL: "warn", FIXTURE_DELAY_MS: "40" };
    const live = await processes.spawn({ env: { ...serverEnv, WORKFLOWD_DB: liveDb }, label: "live server" });
    await live.waitHealthy();

    // Finished instances: their state is final, so the copy must answer exactly the same.
    const finished = ["chain-1", "chain-2", "fan-1"];
    await live.start("chain", "chain-1", 1);
    await live.start("chain", "chain-2", 2);
    await live.start("fanOut", "fan-1", 3);
    for (const id of finished) await live.waitTerminal(id);
    // A workflow waiting on an hour-long timer: RUNNING in the copy too.
    await live.start("sleeper", "sleeper-1", 3600);
    // Workflows still running while the backup is taken: the server commits their steps
    // concurrently with the copy (the point of an online backup).
    const inFlight = ["busy-1", "busy-2", "busy-3", "busy-4"];
    for (const [i, id] of inFlight.entries()) await live.start("chain", id, 10 + i);

    const backup = await runBackup([backupFile], { WORKFLOWD_DB: liveDb });
    expect(backup.code, `backup exit code; stderr: ${backup.stderr}`).toBe(0);
    expect(backup.stderr).toBe("");
    const written = logLines(backup.stdout).find((l) => l.msg === "backup written");
    expect(written, `stdout: ${backup.stdout}`).toMatchObject({ db: liveDb, destination: backupFile });
    expect(written?.pages).toBeGreaterThan(0);
    expect(existsSync(backupFile)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes("partial")), "temporary files left behind").toEqual([]);
    expect(live.running, "the live server survived the backup").toBe(true);

    // Something that happens after the backup is not in it.
    await live.start("chain", "after-backup", 5);
    expect(outputOf(await live.waitTerminal("after-backup"))).toBe(chainOutput(5));

    const restored = await processes.spawn({ env: { ...serverEnv, WORKFLOWD_DB: backupFile }, label: "server on the backup" });
    await restored.waitHealthy();
    for (const id of finished) {
      const [original, copy] = [await live.get(id), await restored.get(id)];
      expect(copy, id).toEqual(original);
    }
    expect(outputOf(await restored.get("chain-2"))).toBe(chainOutput(2));
    expect(outputOf(await restored.get("fan-1"))).toEqual(fanOutOutput(3));
    expect((await restored.get("sleeper-1"))?.runtimeStatus).toBe("RUNNING");
    expect(await restored.get("after-backup"), "an instance started after the backup").toBeUndefined();
    // The snapshot caught these part-way; the second server carries them on to the same outputs.
    for (const [i, id] of inFlight.entries()) {
      const state = await restored.waitTerminal(id, 20_000);
      expect(state.runtimeStatus, id).toBe("COMPLETED");
      expect(outputOf(state), id).toBe(chainOutput(10 + i));
    }

    expect(await restored.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(await live.stop("SIGTERM")).toEqual({ code: 0, signal: null });
  });

  it("takes the database from --db over WORKFLOWD_DB, as the server does", async () => {
    const dir = processes.tempDir();
    const db = join(dir, "flag.db");
    const server = await processes.spawn({ env: { WORKFLOWD_DB: db, WORKFLOWD_WORKFLOWS: fixtureWorkflows, LOG_LEVEL: "warn" } });
    await server.waitHealthy();
    await server.start("echo", "echo-1", { hello: "backup" });
    await server.waitTerminal("echo-1");

    const backupFile = join(dir, "copy.db");
    const backup = await runBackup([backupFile, "--db", db], { WORKFLOWD_DB: join(dir, "not-this-one.db") });
    expect(backup.code, backup.stderr).toBe(0);
    expect(existsSync(join(dir, "not-this-one.db")), "the env's database was opened").toBe(false);

    await server.stop("SIGTERM");
    const restored = await processes.spawn({ env: { WORKFLOWD_DB: backupFile, WORKFLOWD_WORKFLOWS: fixtureWorkflows, LOG_LEVEL: "warn" } });
    await restored.waitHealthy();
    expect(outputOf(await restored.get("echo-1"))).toEqual({ hello: "backup" });
  });

  it("refuses to overwrite a file, to back up a missing database, or to run without a file name", async () => {
    const dir = processes.tempDir();
    const db = join(dir, "live.db");
    const server = await processes.spawn({ env: { WORKFLOWD_DB: db, WORKFLOWD_WORKFLOWS: "none", LOG_LEVEL: "warn" } });
    await server.waitHealthy();
    await server.stop("SIGTERM");

    const existing = join(dir, "existing.db");
    writeFileSync(existing, "precious");
    const cases: { args: string[]; env: Record<string, string>; message: RegExp }[] = [
      { args: [existing], env: { WORKFLOWD_DB: db }, message: /exists/ },
      { args: [join(dir, "new.db")], env: { WORKFLOWD_DB: join(dir, "missing.db") }, message: /does not exist/ },
      { args: [db], env: { WORKFLOWD_DB: db }, message: /cannot be the database itself/ },
      { args: [], env: { WORKFLOWD_DB: db }, message: /usage: workflowd backup <file>/ },
    ];
    for (const { args, env, message } of cases) {
      const backup = await runBackup(args, env);
      expect(backup.code, `backup ${args.join(" ")}`).toBe(1);
      expect(backup.stderr).toMatch(message);
      expect(backup.stderr.trim().split("\n"), "one line on stderr").toHaveLength(1);
    }
    expect(readFileSync(existing, "utf8"), "the existing file was touched").toBe("precious");
    expect(existsSync(join(dir, "missing.db")), "a missing database was created").toBe(false);
    expect(existsSync(join(dir, "new.db"))).toBe(false);
  });
});
