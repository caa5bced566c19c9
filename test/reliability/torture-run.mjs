// The crash torture, shared by test/reliability/torture.test.ts (a bounded run in npm test)
// and scripts/torture.mjs (`npm run torture -- --minutes N`).
//
// A real workflowd process (dist/src/main.js) runs the torture fixtures on one SQLite file
// while a driver starts workflows, raises their events (some early, for a later round, so
// they must survive a continue-as-new), and pauses and resumes them at random. At random
// moments the process is SIGKILLed (sometimes before it is even healthy, during recovery)
// and started again on the same file. After every kill the database is checked against the
// invariants of db-invariants.mjs, and every instance's version must have grown with each
// change of its row since the previous check. At the end one last process runs everything to
// completion; every workflow must be COMPLETED with the output model.mjs predicts, and the
// final database must hold nothing unfinished or queued.
//
// A request cut by a kill is "uncertain": it may or may not have been committed. Starts are
// retried (409 then means it was), raises are retried (a duplicate of a round's event is
// harmless: each round waits for its own event name once), pauses are always followed by a
// resume.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkDatabase, readDatabase } from "./db-invariants.mjs";
import { eventPayload, tortureInput, tortureOutput } from "./model.mjs";
import { customStatusOf, outputOf, rng as makeRng, Server, sleep, tortureWorkflows } from "./server-process.mjs";

/**
 * @typedef {object} TortureOptions
 * @property {string} dir               working directory (database, activity log)
 * @property {number} [kills]           bounded mode: stop after this many SIGKILLs
 * @property {number} [minutes]         long mode: keep killing until this much time has passed
 * @property {number} [workflows]       bounded mode: how many workflows to start in all (default 24)
 * @property {number} [activeMax]       long mode: how many unfinished workflows to keep going (default 24)
 * @property {number} [seed]            seed of the random choices (kill times, raises, pauses)
 * @property {number} [finalTimeoutMs]  how long the last run may take to finish everything
 * @property {boolean} [pauses]         pause and resume workflows at random (default true)
 * @property {(line: string) => void} [log]
 */

/**
 * @param {TortureOptions} options
 */
export async function runTorture(options) {
  const began = Date.now();
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = makeRng(seed);
  const log = options.log ?? (() => {});
  const bounded = options.minutes === undefined;
  const killTarget = bounded ? options.kills ?? 20 : Number.POSITIVE_INFINITY;
  const deadline = bounded ? Number.POSITIVE_INFINITY : began + options.minutes * 60_000;
  const totalWorkflows = bounded ? options.workflows ?? 24 : Number.POSITIVE_INFINITY;
  const activeMax = options.activeMax ?? 24;
  const pauses = options.pauses ?? true;
  const dbPath = join(options.dir, "torture.db");
  const activityLog = join(options.dir, "activities.log");
  const env = {
    WORKFLOWD_DB: dbPath,
    WORKFLOWD_WORKFLOWS: tortureWorkflows,
    TORTURE_LOG: activityLog,
    TORTURE_DELAY_MS: "30",
    LOG_LEVEL: "warn",
  };

  const report = {
    seed,
    mode: bounded ? `bounded (${killTarget} kills, ${totalWorkflows} workflows)` : `long (${options.minutes} min)`,
    durationMs: 0,
    kills: 0,
    killsBeforeHealthy: 0,
    killsSurvived: 0,
    invariantChecks: 0,
    /** Kills after which there was no database file to check yet (the server died before creating it). */
    killsBeforeDatabase: 0,
    workflowsStarted: 0,
    workflowsCompleted: 0,
    roundsCompleted: 0,
    instancesInDatabase: 0,
    eventsRaised: 0,
    eventsRaisedEarly: 0,
    pauses: 0,
    uncertain: { start: 0, raise: 0, pause: 0, resume: 0 },
    activityRuns: 0,
    activityReruns: 0,
    lost: 0,
    wrongOutputs: 0,
    /** @type {string[]} */
    problems: [],
    /** Output of the server processes when something went wrong. */
    dumps: "",
  };

  /** @type {Map<string, Workload>} */
  const workloads = new Map();
  let nextIndex = 0;
  const newWorkload = () => {
    const index = nextIndex++;
    const wseed = 1 + ((seed + index * 7919) % 100_000);
    const w = new Workload(`t${index}-${wseed}`, wseed, 2 + ((wseed >> 2) % 3));
    workloads.set(w.id, w);
    return w;
  };
  const active = () => [...workloads.values()].filter((w) => !w.completed);
  const problem = (text) => {
    if (report.problems.length < 200) report.problems.push(text);
    log(`PROBLEM: ${text}`);
  };

  /** One tick of the driver against `server`. `finishing`: no new starts or pauses; raise everything due. */
  const tick = async (server, { finishing, tickNo }) => {
    const jobs = [];
    // Starts: new ones, and the uncertain ones again.
    if (!finishing) {
      const unfinished = active().length;
      const wantMore = bounded ? workloads.size < totalWorkflows : unfinished < activeMax;
      // Bounded: spread the starts over the first ~80% of the kills (about ten ticks per
      // run), so kills land in every phase of every kind of work.
      const chance = bounded ? Math.min(1, totalWorkflows / (killTarget * 6)) : 0.5;
      if (wantMore && rand.chance(chance)) newWorkload();
    }
    for (const w of workloads.values()) {
      if (w.started === true || w.busy) continue;
      jobs.push(w.run(async () => {
        try {
          const res = await server.start("torture", w.id, tortureInput(w.seed, w.rounds));
          if (res.status === 202 || (res.status === 409 && w.started === "uncertain")) {
            if (w.started !== true) report.workflowsStarted++;
            w.started = true;
          } else {
            problem(`start ${w.id} answered ${res.status}: ${res.text}`);
            w.started = true; // do not hammer
            w.broken = true;
          }
        } catch {
          if (w.started !== "uncertain") report.uncertain.start++;
          w.started = "uncertain";
        }
      }));
    }

    const running = active().filter((w) => w.started === true && !w.broken);
    // Poll statuses every other tick.
    if (tickNo % 2 === 0) {
      for (const w of running) {
        if (w.busy) continue;
        jobs.push(w.run(async () => {
          let res;
          try {
            res = await server.get(w.id);
          } catch {
            return;
          }
          if (res.status !== 200) return problem(`GET ${w.id} answered ${res.status}: ${res.text}`);
          const state = res.json;
          w.status = state.runtimeStatus;
          w.custom = customStatusOf(state);
          if (state.runtimeStatus === "COMPLETED") {
            w.completed = true;
            report.workflowsCompleted++;
            report.roundsCompleted += w.rounds;
            const expected = tortureOutput(w.seed, w.rounds);
            const actual = outputOf(state);
            if (JSON.stringify(actual) !== JSON.stringify(expected)) {
              report.wrongOutputs++;
              problem(`${w.id} completed with ${JSON.stringify(actual)}, the model predicts ${JSON.stringify(expected)}`);
            }
          } else if (state.runtimeStatus === "FAILED" || state.runtimeStatus === "TERMINATED") {
            w.completed = true;
            w.broken = true;
            problem(`${w.id} ended ${state.runtimeStatus}: ${JSON.stringify(state.properties)}`);
          }
        }));
      }
    }

    // Raises: the next round's event when the workflow waits for it, or early at random.
    for (const w of running) {
      if (w.busy || w.completed || w.nextRound >= w.rounds) continue;
      const round = w.nextRound;
      const awaiting = w.custom === `await go-${round}`;
      const early = !awaiting && rand.chance(finishing ? 0.5 : 0.04);
      if (!awaiting && !early && !w.raiseUncertain) continue;
      jobs.push(w.run(async () => {
        try {
          const res = await server.raise(w.id, `go-${round}`, eventPayload(w.seed, round));
          if (res.status !== 202) return problem(`raise go-${round} at ${w.id} answered ${res.status}: ${res.text}`);
          report.eventsRaised++;
          if (early) report.eventsRaisedEarly++;
          w.raiseUncertain = false;
          w.nextRound = round + 1;
        } catch {
          if (!w.raiseUncertain) report.uncertain.raise++;
          w.raiseUncertain = true;
        }
      }));
    }

    // Pause at random; resume a while later (and always before the end).
    for (const w of running) {
      if (w.busy || w.completed) continue;
      if (w.paused && (finishing || Date.now() >= w.resumeAt)) {
        jobs.push(w.run(async () => {
          try {
            const res = await server.command(w.id, "resume");
            if (res.status !== 202) return problem(`resume ${w.id} answered ${res.status}: ${res.text}`);
            w.paused = false;
          } catch {
            report.uncertain.resume++;
          }
        }));
      } else if (pauses && !w.paused && !finishing && rand.chance(0.03)) {
        jobs.push(w.run(async () => {
          w.paused = true; // even if the answer is lost: resume later either way
          w.resumeAt = Date.now() + rand.int(200, 1200);
          try {
            const res = await server.command(w.id, "pause");
            if (res.status !== 202) return problem(`pause ${w.id} answered ${res.status}: ${res.text}`);
            report.pauses++;
          } catch {
            report.uncertain.pause++;
          }
        }));
      }
    }
    await Promise.allSettled(jobs);
  };

  /** Runs ticks against `server` until `stop()` says so. */
  const drive = async (server, finishing, shouldStop) => {
    for (let tickNo = 0; !shouldStop(); tickNo++) {
      await tick(server, { finishing, tickNo });
      await sleep(40);
    }
  };

  const servers = [];
  /** Each instance's version, history length, status and execution at the last check. */
  const seen = new Map();
  const checkNow = (label) => {
    let data;
    try {
      data = readDatabase(dbPath);
    } catch (error) {
      if (!existsSync(dbPath)) {
        report.killsBeforeDatabase++; // killed before the database was created
        return;
      }
      problem(`${label}: cannot read the database: ${error.message}`);
      return;
    }
    const result = checkDatabase(data);
    report.invariantChecks++;
    for (const text of result.problems) problem(`${label}: ${text}`);
    // Versions only grow, and every change of an instance's row comes with a higher version;
    // root instances never disappear (nothing is purged here). A child re-created under the
    // same ID by its parent's next round (a new execution) starts over at version 1, and the
    // old child's own children are deleted with it.
    const now = new Map(data.instances.map((row) => [row.instance_id, row]));
    for (const [id, before] of seen) {
      const row = now.get(id);
      if (!row) {
        if (before.root) problem(`${label}: instance ${id} disappeared`);
        continue;
      }
      if (row.parent_instance_id !== null && row.execution_id !== before.execution_id) continue;
      if (row.version < before.version) problem(`${label}: ${id} version went back from ${before.version} to ${row.version}`);
      const changed = row.history_length !== before.history_length || row.status !== before.status || row.execution_id !== before.execution_id;
      if (changed && row.version === before.version) problem(`${label}: ${id} changed (${before.status}/${before.history_length} -> ${row.status}/${row.history_length}) without a new version`);
    }
    for (const [id, row] of now) {
      seen.set(id, { version: row.version, history_length: row.history_length, status: row.status, execution_id: row.execution_id, root: row.parent_instance_id === null });
    }
  };

  /**
   * The port a fresh server gets is one that was free a moment before; another program can
   * take it first. Such a start (exit 1, EADDRINUSE) is no finding: start again elsewhere.
   */
  const portTaken = (server) => server.exit?.code === 1 && server.stderr.includes("EADDRINUSE");
  let portRetries = 0;
  const spawn = async (label) => {
    const server = await Server.spawn({ env, label });
    servers.push(server);
    if (servers.length > 4) servers.shift(); // dead ones; only the last few are dumped
    return server;
  };
  const spawnHealthy = async (label) => {
    for (;;) {
      const server = await spawn(label);
      try {
        await server.waitHealthy();
        return server;
      } catch (error) {
        await server.exited.catch(() => {});
        if (!portTaken(server) || ++portRetries > 20) throw error;
      }
    }
  };

  try {
    // -- the kill loop
    for (let cycle = 1; report.kills < killTarget && Date.now() < deadline; cycle++) {
      const beforeHealthy = rand.chance(0.25);
      let stop = false;
      let driving = Promise.resolve();
      let server;
      if (beforeHealthy) {
        server = await spawn(`torture run ${cycle}`);
        await sleep(rand.int(30, 700));
        if (portTaken(server) && ++portRetries <= 20) continue;
      } else {
        server = await spawnHealthy(`torture run ${cycle}`);
        driving = drive(server, false, () => stop);
        await sleep(rand.int(200, 1400));
      }
      const healthyAtKill = await isHealthy(server);
      const exit = await server.kill();
      stop = true;
      await driving;
      if (exit.signal !== "SIGKILL") problem(`run ${cycle} ended ${JSON.stringify(exit)} before the kill: ${server.stderr.slice(-2000)}`);
      report.kills++;
      if (!healthyAtKill) report.killsBeforeHealthy++;
      checkNow(`after kill ${report.kills}`);
      log(`kill ${report.kills}${healthyAtKill ? "" : " (before healthy)"}: ${workloads.size} workflows, ${report.workflowsCompleted} completed, ${report.problems.length} problems`);
      if (report.problems.length > 0) break;
      report.killsSurvived = report.kills;
    }

    // -- the last run: everything must finish
    if (report.problems.length === 0) {
      const server = await spawnHealthy("torture final run");
      if (bounded) while (workloads.size < totalWorkflows) newWorkload();
      const finalDeadline = Date.now() + (options.finalTimeoutMs ?? 60_000);
      await drive(server, true, () => active().length === 0 || Date.now() > finalDeadline || report.problems.length > 0);
      const left = active();
      if (left.length > 0) {
        report.lost += left.length;
        problem(`${left.length} workflows not COMPLETED after the last restart: ${left.slice(0, 10).map((w) => `${w.id}=${w.status ?? "?"} (${w.custom ?? ""}, next round ${w.nextRound}/${w.rounds})`).join(", ")}`);
      }
      const exit = await server.stop();
      if (exit.code !== 0) problem(`the final run exited ${JSON.stringify(exit)} on SIGTERM`);

      const data = readDatabase(dbPath);
      const final = checkDatabase(data, { final: true });
      report.invariantChecks++;
      for (const text of final.problems) problem(`final database: ${text}`);
      report.instancesInDatabase = final.stats.instances;
      // Roots are exactly the started workflows; every other instance is a child (its
      // parent's existence is one of the invariants). How many children a workflow has
      // depends on the flaky activity's retries (each shifts the child's action ID).
      const roots = data.instances.filter((row) => row.parent_instance_id === null).map((row) => row.instance_id);
      const strangers = roots.filter((id) => !workloads.has(id));
      if (strangers.length > 0) problem(`the database holds roots nobody started: ${strangers.slice(0, 10).join(", ")}`);
      if (roots.length !== workloads.size) problem(`the database holds ${roots.length} root instances, ${workloads.size} were started`);
      // The stored outputs as well, not only what GET said.
      const rows = new Map(data.instances.map((row) => [row.instance_id, row]));
      for (const w of workloads.values()) {
        const row = rows.get(w.id);
        const expected = JSON.stringify(tortureOutput(w.seed, w.rounds));
        if (!row) { report.lost++; problem(`${w.id} is not in the database`); continue; }
        if (row.status !== "COMPLETED" || JSON.stringify(JSON.parse(row.output ?? "null")) !== expected) {
          problem(`${w.id} stored ${row.status} ${row.output}, expected COMPLETED ${expected}`);
        }
      }
    }
  } catch (error) {
    problem(`the torture run itself failed: ${error instanceof Error ? error.stack : String(error)}`);
  } finally {
    await Promise.allSettled(servers.map((s) => s.kill()));
    report.durationMs = Date.now() - began;
    const runs = existsSync(activityLog) ? readFileSync(activityLog, "utf8").split("\n").filter(Boolean) : [];
    report.activityRuns = runs.length;
    report.activityReruns = runs.filter((line) => Number(line.split(" ")[3]) > 1).length;
    if (report.problems.length > 0) report.dumps = servers.slice(-3).map((s) => s.dump()).join("\n");
  }
  return report;
}

class Workload {
  constructor(id, seed, rounds) {
    this.id = id;
    this.seed = seed;
    this.rounds = rounds;
    /** @type {boolean | "uncertain"} */
    this.started = false;
    this.completed = false;
    this.broken = false;
    this.nextRound = 0;
    this.raiseUncertain = false;
    this.paused = false;
    this.resumeAt = 0;
    this.busy = false;
    /** @type {string | undefined} */
    this.status = undefined;
    /** @type {string | undefined} */
    this.custom = undefined;
  }

  /** Runs one request for this workload at a time. */
  async run(job) {
    this.busy = true;
    try {
      await job();
    } finally {
      this.busy = false;
    }
  }
}

async function isHealthy(server) {
  try {
    const response = await fetch(`${server.baseUrl}/v1.0/healthz`, { signal: AbortSignal.timeout(300) });
    return response.status === 204;
  } catch {
    return false;
  }
}

/** The figures, as lines for a console. */
export function formatReport(report) {
  return [
    `torture ${report.mode}, seed ${report.seed}, ${(report.durationMs / 1000).toFixed(1)} s`,
    `  kills: ${report.kills} (${report.killsBeforeHealthy} before the server was healthy), survived: ${report.killsSurvived}`,
    `  workflows: ${report.workflowsStarted} started, ${report.workflowsCompleted} completed (${report.roundsCompleted} rounds, each continued as new), ` +
      `${report.instancesInDatabase} instances with children; lost: ${report.lost}, wrong outputs: ${report.wrongOutputs}`,
    `  events raised: ${report.eventsRaised} (${report.eventsRaisedEarly} early, for a later round); pauses: ${report.pauses}`,
    `  requests cut by a kill: start ${report.uncertain.start}, raise ${report.uncertain.raise}, pause ${report.uncertain.pause}, resume ${report.uncertain.resume}`,
    `  activity runs: ${report.activityRuns} (${report.activityReruns} re-runs after a kill: at-least-once)`,
    `  database invariant checks: ${report.invariantChecks} (none after ${report.killsBeforeDatabase} kills that came before the database existed), problems: ${report.problems.length}`,
    ...report.problems.slice(0, 30).map((p) => `    - ${p}`),
  ].join("\n");
}
