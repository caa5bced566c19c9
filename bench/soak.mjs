// Steady under overload (issue 14), in one run:
//   reference: 2,000 5-activity chains started over HTTP, 64 in flight, started → all
//     COMPLETED (as bench/http-chains.mjs), and 10,000 chains started together in-process
//     (as bench/chains.mjs): the rates the overload figures are compared with;
//   (a) soak: 64 HTTP clients (their own process) start chains as fast as they are answered
//     for 20 s, then 20 s with no starts: completions/s over the 40 s vs the HTTP reference
//     (target ≥ 80 %), completions/s during the 20 s of starts, and how many were started,
//     completed and left queued at 40 s;
//   (b) drain: a database holding 200,000 started chains that never ran (built once through
//     the engine's own start path by a workflowd with no worker for `benchChain`, cached in
//     the OS temp dir as workflowd-bench-cache/soak-backlog-<n>-v<schema>.db, copied for each
//     run) is opened by workflowd with the in-process runtime: completions/s over the first
//     60 s (or until all are done), counted from before the server is created, vs the
//     10,000 burst (target ≥ 80 %).
// Server: workflowd in this process (file DB in a temp dir, WAL, every commit durable before
// any answer; the store's durability is printed); the raw SQLite ceiling is measured in the
// same run. Checks: every start answered 202 and created
// its instance; every COMPLETED instance has the right output; none FAILED or TERMINATED.
// Instances still queued when a window ends are counted and left unrun (the script does not
// wait for them: at today's rates that would take minutes).
//
//   node bench/soak.mjs [startSeconds=20] [drainSeconds=20] [backlog=200000] [burst=10000] [drainWindowSeconds=60]
//   node bench/soak.mjs --rebuild ...   (build the backlog cache again)
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import Database from "better-sqlite3";
import { createWorkflowd } from "../dist/src/app.js";
import { schemaVersion } from "../dist/src/store/sqlite/migrations.js";
import { measureCeiling, ofCeiling } from "./lib/ceiling.mjs";
import { idOf, outputOf, registerChain, runChains, seedOf } from "./lib/chain.mjs";
import { check, durabilityLine, fmt, header, runScript, sleep, table, tempDir, verdict } from "./lib/common.mjs";
import { httpChainBurst, startOverHttp } from "./lib/http-chains.mjs";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const rebuild = process.argv.includes("--rebuild");
const startSeconds = Number(args[0] ?? 20);
const drainSeconds = Number(args[1] ?? 20);
const backlogCount = Number(args[2] ?? 200_000);
const burstCount = Number(args[3] ?? 10_000);
const drainWindowSeconds = Number(args[4] ?? 60);
const connections = 64;
const httpReferenceCount = 2_000;
const began = performance.now();
const progress = (text) => console.log(`  [${fmt((performance.now() - began) / 1000, 0)} s] ${text}`);

/** Status totals of a workflowd database (the trigger-kept status_counts table: O(1)). */
class Totals {
  constructor(path) {
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    this.stmt = this.db.prepare("SELECT status, n FROM status_counts");
  }
  get() {
    const byStatus = Object.fromEntries(this.stmt.all().map((r) => [r.status, r.n]));
    const n = (s) => byStatus[s] ?? 0;
    return { byStatus, completed: n("COMPLETED"), failed: n("FAILED") + n("TERMINATED"), open: n("PENDING") + n("RUNNING"), total: Object.values(byStatus).reduce((a, b) => a + b, 0) };
  }
  close() {
    this.db.close();
  }
}

/**
 * Checks every instance whose ID starts with `prefix`: exactly `expected` of them, none
 * FAILED or TERMINATED (or any status other than PENDING, RUNNING, COMPLETED), every
 * COMPLETED one with its right output. Returns the counts by status.
 */
function verifyPartial(path, prefix, expected, label) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const counts = {};
    const problems = [];
    const rows = db.prepare("SELECT instance_id, status, output FROM instances WHERE instance_id >= ? AND instance_id < ?").iterate(prefix, `${prefix}\uffff`);
    let n = 0;
    for (const row of rows) {
      n += 1;
      counts[row.status] = (counts[row.status] ?? 0) + 1;
      if (problems.length >= 5) continue;
      if (row.status === "COMPLETED") {
        if (row.output !== outputOf(row.instance_id)) problems.push(`${row.instance_id} output ${row.output}, expected ${outputOf(row.instance_id)}`);
      } else if (row.status !== "PENDING" && row.status !== "RUNNING") problems.push(`${row.instance_id} is ${row.status}`);
    }
    if (n !== expected) problems.push(`${n} instances found, ${expected} expected`);
    check(problems.length === 0, `${label}: verification failed: ${problems.join("; ")}`);
    return counts;
  } finally {
    db.close();
  }
}

/** Completions recorded at or before `at` (server clock), by the finished index. */
function completedBy(path, at) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT count(*) AS n FROM instances WHERE status = 'COMPLETED' AND last_updated_at <= ?").get(at).n;
  } finally {
    db.close();
  }
}

/**
 * History events written so far for the instances whose IDs start with `prefix`: the work
 * done, finished or not (a completed chain has the burst's history length).
 */
function historyEvents(path, prefix) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT coalesce(sum(history_length), 0) AS n FROM instances WHERE instance_id >= ? AND instance_id < ?").get(prefix, `${prefix}\uffff`).n;
  } finally {
    db.close();
  }
}

/** The cached backlog database: `backlogCount` chains started, none run. Builds it if missing. */
async function backlogCache() {
  const cacheDir = join(tmpdir(), "workflowd-bench-cache");
  mkdirSync(cacheDir, { recursive: true });
  const cachePath = join(cacheDir, `soak-backlog-${backlogCount}-v${schemaVersion}.db`);
  const metaPath = `${cachePath}.json`;
  if (!rebuild && existsSync(cachePath) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, "utf8"));
    progress(`reused the cached backlog ${cachePath} (built ${meta.builtAt} in ${fmt(meta.buildMs / 1000, 1)} s; --rebuild to build again)`);
    return cachePath;
  }
  for (const name of readdirSync(cacheDir)) {
    if (name.startsWith(`soak-backlog-${backlogCount}-`)) rmSync(join(cacheDir, name), { force: true });
  }
  const building = join(cacheDir, `building-${basename(cachePath)}`);
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${building}${suffix}`, { force: true });
  progress(`building a backlog of ${fmt(backlogCount)} started chains into ${cachePath} (no worker serves benchChain, so none runs) ...`);
  const t0 = performance.now();
  const wd = await createWorkflowd({ dbPath: building });
  try {
    const batch = 5_000;
    for (let first = 0; first < backlogCount; first += batch) {
      const starts = [];
      for (let i = first; i < Math.min(backlogCount, first + batch); i++) {
        const id = idOf("backlog-", i);
        starts.push(wd.engine.service.start("benchChain", id, String(seedOf(id))));
      }
      const results = await Promise.all(starts);
      check(results.every((r) => r.kind === "started"), `backlog: a start answered ${JSON.stringify(results.find((r) => r.kind !== "started"))}`);
      if ((first + batch) % 50_000 === 0) progress(`  ${fmt(first + batch)} started`);
    }
  } finally {
    await wd.app.close();
  }
  const totals = new Totals(building);
  const t = totals.get();
  totals.close();
  check(t.byStatus.PENDING === backlogCount && t.total === backlogCount, `backlog: status counts ${JSON.stringify(t.byStatus)}, expected ${backlogCount} PENDING`);
  check(!existsSync(`${building}-wal`) || statSync(`${building}-wal`).size === 0, "the backlog database still has a WAL file");
  const buildMs = performance.now() - t0;
  renameSync(building, cachePath);
  for (const suffix of ["-wal", "-shm", ".lock", ".owner"]) rmSync(`${building}${suffix}`, { force: true });
  writeFileSync(metaPath, JSON.stringify({ builtAt: new Date().toISOString(), buildMs, count: backlogCount, schemaVersion }));
  progress(`built in ${fmt(buildMs / 1000, 1)} s, ${fmt(statSync(cachePath).size / 2 ** 20)} MiB (cached for the next run)`);
  return cachePath;
}

runScript("soak", async () => {
  header(
    "steady under overload: a 20 s start soak and the drain of a backlog",
    `(a) ${connections} HTTP clients (own process) start 5-activity chains unthrottled for ${startSeconds} s, then ${drainSeconds} s without starts; ` +
      `(b) workflowd opens a database of ${fmt(backlogCount)} started, never-run chains and drains it for up to ${drainWindowSeconds} s. ` +
      `References in the same run: ${fmt(httpReferenceCount)} chains over HTTP (${connections} in flight) and ${fmt(burstCount)} chains started together in-process. ` +
      "In-process runtime, file DB in a temp dir",
  );
  const cachePath = await backlogCache();
  const ceiling = measureCeiling();
  progress(ceiling.describe());
  const { dir, cleanup } = tempDir("soak");
  try {
    // -- reference 1: 2,000 chains over HTTP ------------------------------------------------
    let httpRef;
    {
      const dbPath = join(dir, "http-reference.db");
      const wd = await createWorkflowd({ dbPath, workflows: registerChain });
      try {
        progress(durabilityLine(wd.store));
        await wd.app.listen({ host: "127.0.0.1", port: 0 });
        const port = wd.app.server.address().port;
        await httpChainBurst({ port, dbPath, prefix: "warm-", count: 500, connections });
        httpRef = await httpChainBurst({ port, dbPath, prefix: "http-", count: httpReferenceCount, connections });
      } finally {
        await wd.app.close();
      }
      progress(`HTTP reference: ${httpRef.describe()}: ${fmt(httpRef.rate)} chains/s`);
    }

    // -- (a) the soak ----------------------------------------------------------------------
    let soak;
    {
      const dbPath = join(dir, "soak.db");
      const wd = await createWorkflowd({ dbPath, workflows: registerChain });
      const totals = new Totals(dbPath);
      try {
        await wd.app.listen({ host: "127.0.0.1", port: 0 });
        const port = wd.app.server.address().port;
        progress(`soak: ${connections} clients start chains for ${startSeconds} s ...`);
        const wallStart = Date.now();
        const sending = startOverHttp({ port, workflow: "benchChain", prefix: "soak-", connections, seconds: startSeconds });
        let sent;
        let failed;
        sending.then((r) => (sent = r), (error) => (failed = error));
        // Progress every 5 s on the server's totals until the window ends.
        let lastPrint = wallStart;
        for (;;) {
          await sleep(250);
          if (failed) throw failed;
          const now = Date.now();
          if (sent && now >= sent.firstSendAt + (startSeconds + drainSeconds) * 1000) break;
          if (now - lastPrint >= 5_000) {
            lastPrint = now;
            const t = totals.get();
            progress(`soak t=${fmt((now - (sent?.firstSendAt ?? wallStart)) / 1000, 0)} s: ${fmt(t.total)} instances, ${fmt(t.completed)} COMPLETED, ${fmt(t.open)} queued or running${sent ? " (starts over)" : ""}`);
          }
        }
        await sending;
        check(sent.failures === 0, `soak: ${sent.failures} starts failed, e.g. ${sent.failureSample}`);
        const t0 = sent.firstSendAt;
        const windowEnd = t0 + (startSeconds + drainSeconds) * 1000;
        const events40 = historyEvents(dbPath, "soak-");
        const completed40 = completedBy(dbPath, windowEnd);
        const completed20 = completedBy(dbPath, t0 + startSeconds * 1000);
        const counts = verifyPartial(dbPath, "soak-", sent.started, "soak");
        soak = {
          started: sent.started,
          rejected429: sent.rejected429,
          startsSeconds: (sent.lastAnswerAt - t0) / 1000,
          startLatency: sent.latencyMs,
          completed20,
          completed40,
          queued40: sent.started - completed40,
          rateAll: completed40 / (startSeconds + drainSeconds),
          rateDuringStarts: completed20 / startSeconds,
          countsNow: counts,
          events40,
        };
        progress(`soak window over: ${fmt(sent.started)} started, ${fmt(completed40)} COMPLETED within ${startSeconds + drainSeconds} s; closing the server (${fmt(sent.started - (counts.COMPLETED ?? 0))} still queued) ...`);
      } finally {
        totals.close();
        const c0 = performance.now();
        await wd.app.close();
        if (soak) soak.closeSeconds = (performance.now() - c0) / 1000;
      }
    }

    // -- reference 2: 10,000 chains started together in-process ------------------------------
    let burst;
    {
      const dbPath = join(dir, "burst.db");
      const wd = await createWorkflowd({ dbPath, workflows: registerChain });
      try {
        progress(`burst reference: ${fmt(burstCount)} chains started together ...`);
        burst = await runChains(wd, dbPath, { prefix: "burst-", workflowName: "benchChain", count: burstCount, timeoutMs: 120_000 });
        burst.rate = (burst.count * 1000) / burst.elapsedMs;
      } finally {
        await wd.app.close();
      }
      progress(`burst reference: ${fmt(burstCount)} COMPLETED in ${fmt(burst.elapsedMs / 1000, 2)} s: ${fmt(burst.rate)} chains/s`);
    }

    // -- (b) the drain of the backlog -----------------------------------------------------
    let drain;
    {
      const dbPath = join(dir, "backlog.db");
      const c0 = performance.now();
      copyFileSync(cachePath, dbPath);
      progress(`drain: copied the ${fmt(statSync(dbPath).size / 2 ** 20)} MiB backlog in ${fmt((performance.now() - c0) / 1000, 1)} s; opening it with the in-process runtime ...`);
      const totals = new Totals(dbPath);
      check(totals.get().byStatus.PENDING === backlogCount, `the backlog copy holds ${JSON.stringify(totals.get().byStatus)}`);
      const opened = Date.now();
      const wd = await createWorkflowd({ dbPath, workflows: registerChain });
      const startupMs = Date.now() - opened;
      const timeline = [];
      try {
        let last = { at: opened, completed: 0 };
        for (;;) {
          await sleep(1_000);
          const now = Date.now();
          const t = totals.get();
          check(t.failed === 0, `drain: ${t.failed} instances FAILED or TERMINATED: ${JSON.stringify(t.byStatus)}`);
          if (now - last.at >= 10_000 || t.completed >= backlogCount || now - opened >= drainWindowSeconds * 1000) {
            const rate = ((t.completed - last.completed) * 1000) / (now - last.at);
            timeline.push(rate);
            progress(`drain t=${fmt((now - opened) / 1000, 0)} s: ${fmt(t.completed)} of ${fmt(backlogCount)} COMPLETED (${fmt(rate)}/s over the last ${fmt((now - last.at) / 1000, 0)} s), RSS ${fmt(process.memoryUsage().rss / 2 ** 20)} MiB`);
            last = { at: now, completed: t.completed };
          }
          if (t.completed >= backlogCount || now - opened >= drainWindowSeconds * 1000) break;
        }
        const events = historyEvents(dbPath, "backlog-");
        const ended = Math.min(Date.now(), opened + drainWindowSeconds * 1000);
        const completed = completedBy(dbPath, ended);
        const counts = verifyPartial(dbPath, "backlog-", backlogCount, "backlog");
        drain = {
          seconds: (ended - opened) / 1000,
          completed,
          rate: (completed * 1000) / (ended - opened),
          rateAfterStartup: (completed * 1000) / (ended - opened - startupMs),
          startupMs,
          timeline,
          left: backlogCount - (counts.COMPLETED ?? 0),
          counts,
          events,
          rss: process.memoryUsage().rss / 2 ** 20,
        };
        progress(`drain window over; closing the server (${fmt(drain.left)} still queued) ...`);
      } finally {
        totals.close();
        const c1 = performance.now();
        await wd.app.close();
        if (drain) drain.closeSeconds = (performance.now() - c1) / 1000;
      }
    }

    // -- tables -------------------------------------------------------------------------
    const ratioSoak = soak.rateAll / httpRef.rate;
    const ratioDrain = drain.rate / burst.rate;
    const window = startSeconds + drainSeconds;
    table(
      ["figure", "value", "raw SQLite ceiling (chains/s)", "target", ""],
      [
        [`${fmt(httpReferenceCount)} chains started over HTTP (${connections} in flight), started → all COMPLETED`, `${fmt(httpRef.rate)} chains/s (${fmt(httpRef.elapsedMs / 1000, 2)} s)`, ofCeiling(httpRef.rate, ceiling.chainsPerSec), "≥ 1,700/s", verdict(httpRef.rate >= 1700)],
        [`soak: completions/s over the ${window} s (${startSeconds} s of unthrottled starts, ${drainSeconds} s without)`, `${fmt(soak.rateAll)}/s = ${fmt(ratioSoak * 100, 1)} % of the row above`, ofCeiling(soak.rateAll, ceiling.chainsPerSec), "≥ 80 %", verdict(ratioSoak >= 0.8)],
        [`soak: completions/s during the ${startSeconds} s of starts`, `${fmt(soak.rateDuringStarts)}/s`, ofCeiling(soak.rateDuringStarts, ceiling.chainsPerSec), "", ""],
        ["soak: started / COMPLETED / left queued at the window's end", `${fmt(soak.started)} / ${fmt(soak.completed40)} / ${fmt(soak.queued40)} (starts ${fmt(soak.started / soak.startsSeconds)}/s, start p50 ${fmt(soak.startLatency.p50, 1)} ms, p99 ${fmt(soak.startLatency.p99, 1)} ms, ${fmt(soak.rejected429)} × 429)`, "", "", ""],
        [`soak: work done, in chains' worth of history events (read at the window's end)`, `${fmt(soak.events40 / burst.historyLength)} = ${fmt(soak.events40 / burst.historyLength / window)}/s`, "", "", ""],
        [`${fmt(burstCount)} chains started together, in-process`, `${fmt(burst.rate)} chains/s (${fmt(burst.elapsedMs / 1000, 2)} s)`, ofCeiling(burst.rate, ceiling.chainsPerSec), "(≥ 2,500/s: chains.mjs)", ""],
        [`drain of a ${fmt(backlogCount)}-instance backlog, first ${fmt(drain.seconds, 0)} s from opening`, `${fmt(drain.rate)}/s = ${fmt(ratioDrain * 100, 1)} % of the burst rate`, ofCeiling(drain.rate, ceiling.chainsPerSec), "≥ 80 %", verdict(ratioDrain >= 0.8)],
        [`drain: work done, in chains' worth of history events (${burst.historyLength} per chain; read at the window's end)`, `${fmt(drain.events / burst.historyLength)} = ${fmt(drain.events / burst.historyLength / drain.seconds)}/s; instances at the end: ${JSON.stringify(drain.counts)}`, "", "", ""],
        ["drain: per 10 s", drain.timeline.map((r) => fmt(r)).join(" · ") + "/s", "", "", ""],
        ["drain: start-up on the backlog; rate after it; COMPLETED / left queued", `${fmt(drain.startupMs)} ms; ${fmt(drain.rateAfterStartup)}/s; ${fmt(drain.completed)} / ${fmt(drain.left)}`, "", "", ""],
      ],
    );
    console.log(ceiling.describe());
    console.log(
      `server close with the queue left: ${fmt(soak.closeSeconds, 1)} s after the soak, ${fmt(drain.closeSeconds, 1)} s after the drain; RSS at the drain's end ${fmt(drain.rss)} MiB (this process: server and bench). ` +
        `Checked: every start answered 202 and created its instance; every COMPLETED instance has the right output; none FAILED or TERMINATED; ` +
        "instances still queued at a window's end were left unrun.",
    );
  } finally {
    cleanup();
  }
});
