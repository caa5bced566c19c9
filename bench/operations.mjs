// Operations at scale (issue 12): a database of 1,000,000 instances of mixed statuses, a real
// workflowd process (`node dist/src/main.js`) on a copy of it, and over HTTP (one keep-alive
// connection, sequential requests, after warm-up):
//   1. list pages of 100: status (RUNNING or FAILED) + createdFrom (a varying instant), the
//      follow-up pages through continuationToken, a name filter, three statuses, no filter;
//   2. counts by status (countOnly=true), without a filter and with createdFrom;
//   3. a 1,002-event history read with pageSize=1000 (finished instances are not in the
//      server's hot cache: every read is a read from SQLite);
//   4. a bulk purge of ~100,000 finished instances (DELETE ... status=COMPLETED&createdTo=<cutoff>,
//      repeated while isComplete is false) while 8 clients start a trivial workflow as fast as
//      they are answered, with a baseline of the same start load just before the purge.
// Beside each figure: the same InstanceQueries call in-process on the same file in the same
// run (no HTTP: the ceiling), and the query plans of the statements the store ran.
//
//   node bench/operations.mjs [instances=1000000] [--rebuild]
//
// The database is built by direct SQL inserts into the real schema (migrations from dist/),
// every row a copy of what the store wrote for a real instance run in-process first (one of
// each kind: completed 1-activity workflows under three names, a parent with a child, a failed
// activity, a waiting workflow left RUNNING, one terminated and one suspended, and a
// 333-activity batch with 1,002 events), with its own IDs and timestamps. Mix by instance:
// 70 % COMPLETED (10 % of all in parent/child pairs), 15 % FAILED, 5 % TERMINATED, 7 % RUNNING,
// 3 % SUSPENDED (no PENDING: an instance is PENDING only until its first turn, and a copied
// PENDING row without its queued start would be a state the server never writes), created_at
// uniform over 30 days; 20 batch instances created in the last 2 days. The build is cached in
// the OS temp dir (workflowd-bench-cache/operations-*) keyed by count, schema version and row
// shapes; every run measures a fresh copy of it (the purge deletes from the copy).
import { fork } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";

const DAY = 86_400_000;
const selfPath = fileURLToPath(import.meta.url);

// -- the start load: this script again, in its own process (--start-load) -----------------------

/**
 * `connections` loops, each POSTing a start as soon as the previous one is answered, on
 * keep-alive sockets. The parent names the phase over IPC; each request's latency is filed
 * under the phase it began in. On {stop}, finishes the requests in flight and sends the results.
 */
async function startLoad([port, connections, prefix]) {
  const agent = new Agent({ keepAlive: true, maxSockets: Number(connections) });
  let phase = "warm-up";
  let stopping = false;
  let sent = 0;
  const latencies = {};
  const codes = {};
  const errors = [];
  process.on("message", (message) => {
    if (message.phase) phase = message.phase;
    if (message.stop) stopping = true;
  });
  const post = (path) =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: Number(port), path, method: "POST", agent, headers: { "content-type": "application/json" } },
        (res) => {
          res.resume();
          res.once("end", () => resolve(res.statusCode));
        },
      );
      req.once("error", reject);
      req.end('"ping"');
    });
  const loop = async () => {
    while (!stopping) {
      const id = `${prefix}${sent++}`;
      const at = phase;
      const t0 = performance.now();
      try {
        const status = await post(`/v1.0/workflows/dapr/opsNoop/start?instanceID=${id}`);
        (latencies[at] ??= []).push(performance.now() - t0);
        codes[status] = (codes[status] ?? 0) + 1;
      } catch (error) {
        errors.push(String(error));
        if (errors.length > 20) stopping = true;
      }
    }
  };
  process.send({ ready: true });
  await Promise.all(Array.from({ length: Number(connections) }, loop));
  agent.destroy();
  process.send({ done: true, latencies, codes, sent, errors: errors.slice(0, 5) }, () => process.disconnect());
}

if (process.argv[2] === "--start-load") {
  await startLoad(process.argv.slice(3));
} else {
  await main();
}

async function main() {
  const { createWorkflowd } = await import("../dist/src/app.js");
  const { migrate, schemaVersion } = await import("../dist/src/store/sqlite/migrations.js");
  const { SqliteStore } = await import("../dist/src/store/sqlite/sqlite-store.js");
  const { InstanceQueries } = await import("../dist/src/orchestration/instance-queries.js");
  const { historyEventJson } = await import("../dist/src/protocol/history-json.js");
  const { check, DbView, fmt, freePort, header, percentile, runScript, sleep, spawnWorkflowd, table, tempDir, verdict } = await import("./lib/common.mjs");

  const args = process.argv.slice(2);
  const rebuild = args.includes("--rebuild");
  const count = Number(args.find((a) => !a.startsWith("--")) ?? 1_000_000);
  const repoRootUrl = new URL("../", import.meta.url).href;

  const spanDays = 30;
  const batchInstances = 20;
  const batchActivities = 333; // 1,002 history events
  const treesPerTx = 25_000;
  const n = {
    listFirst: 1_000,
    listFollow: 1_000,
    listOther: 500,
    counts: 200,
    history: 500,
    ceilingList: 300,
    ceilingCounts: 40,
    ceilingHistory: 200,
  };
  const purgeTarget = 100_000;
  const startConnections = 8;
  const baselineSeconds = 10;

  // -- templates: what the store writes for real instances of each kind ---------------------------

  const order = { order: 4711, items: 3, customer: "c-0815" };
  function recordStep(_ctx, input) {
    return `recorded ${JSON.stringify(input)}`;
  }
  function chargeCard(_ctx, input) {
    throw new Error(`card declined for order ${input.order}`);
  }
  async function* oneStep(ctx, input) {
    return yield ctx.callActivity(recordStep, input);
  }
  async function* fulfilOrder(ctx, input) {
    const recorded = yield ctx.callChildWorkflow("processOrder", input);
    return { fulfilled: input.order, recorded };
  }
  async function* chargePayment(ctx, input) {
    yield ctx.callActivity(chargeCard, input);
  }
  async function* awaitApproval(ctx, input) {
    yield ctx.callActivity(recordStep, input);
    return yield ctx.waitForExternalEvent("approval");
  }
  async function* nightlyBatch(ctx, items) {
    let total = 0;
    for (let i = 0; i < items; i++) total += (yield ctx.callActivity(recordStep, i)).length;
    return total;
  }

  // Kinds of instance trees: the template that a kind copies and its share of all instances.
  const kinds = [
    { key: "processOrder", share: 0.25, expect: "COMPLETED" },
    { key: "sendInvoice", share: 0.2, expect: "COMPLETED" },
    { key: "syncInventory", share: 0.15, expect: "COMPLETED" },
    { key: "fulfilOrder", share: 0.1, expect: "COMPLETED" }, // parent + child: 2 instances per tree
    { key: "chargePayment", share: 0.15, expect: "FAILED" },
    { key: "approvalTerminated", share: 0.05, expect: "TERMINATED" },
    { key: "approvalRunning", share: 0.07, expect: "RUNNING" },
    { key: "approvalSuspended", share: 0.03, expect: "SUSPENDED" },
    { key: "nightlyBatch", fixed: batchInstances, expect: "COMPLETED" },
  ];

  /** Runs one instance of each kind in-process; returns each kind's rows as stored (root first). */
  async function captureTemplates() {
    const { dir, cleanup } = tempDir("operations-template");
    try {
      const dbPath = join(dir, "template.db");
      const wd = await createWorkflowd({
        dbPath,
        workflows: (r) =>
          r.registerWorkflowWithName("processOrder", oneStep).registerWorkflowWithName("sendInvoice", oneStep)
            .registerWorkflowWithName("syncInventory", oneStep).registerWorkflow(fulfilOrder).registerWorkflow(chargePayment)
            .registerWorkflow(awaitApproval).registerWorkflow(nightlyBatch).registerActivity(recordStep).registerActivity(chargeCard),
      });
      const ids = Object.fromEntries(kinds.map((k) => [k.key, randomUUID()]));
      const input = JSON.stringify(order);
      const waitFor = async (id, statuses, what) => {
        for (let waited = 0; !statuses.includes((await wd.store.getInstance(id))?.status); waited += 10) {
          check(waited < 30_000, `template ${what}: ${(await wd.store.getInstance(id))?.status} after 30 s`);
          await sleep(10);
        }
      };
      try {
        const s = wd.engine.service;
        for (const name of ["processOrder", "sendInvoice", "syncInventory", "fulfilOrder", "chargePayment"]) await s.start(name, ids[name], input);
        for (const key of ["approvalTerminated", "approvalRunning", "approvalSuspended"]) await s.start("awaitApproval", ids[key], input);
        await s.start("nightlyBatch", ids.nightlyBatch, String(batchActivities));
        for (const k of kinds) await waitFor(ids[k.key], k.key.startsWith("approval") ? ["RUNNING"] : [k.expect], k.key);
        // The waiting ones: their activity done, nothing queued (history: started, scheduled, completed).
        for (const key of ["approvalTerminated", "approvalRunning", "approvalSuspended"]) {
          for (let waited = 0; (await wd.store.getInstance(ids[key])).historyLength < 5; waited += 10) {
            check(waited < 30_000, `template ${key}: its activity did not complete`);
            await sleep(10);
          }
        }
        await sleep(20);
        await s.terminate(ids.approvalTerminated, "order cancelled", true);
        await s.pause(ids.approvalSuspended, "on hold");
        await waitFor(ids.approvalTerminated, ["TERMINATED"], "approvalTerminated");
        await waitFor(ids.approvalSuspended, ["SUSPENDED"], "approvalSuspended");
        for (let waited = 0; Object.values(await wd.store.queueDepths(Date.now())).some((depth) => depth > 0); waited += 10) {
          check(waited < 30_000, `templates: work still queued after 30 s: ${JSON.stringify(await wd.store.queueDepths(Date.now()))}`);
          await sleep(10);
        }
      } finally {
        await wd.app.close();
      }
      const db = new Database(dbPath, { readonly: true });
      try {
        const others = db.prepare("SELECT (SELECT count(*) FROM inbox) AS inbox, (SELECT count(*) FROM activities) AS activities").get();
        check(others.inbox === 0 && others.activities === 0, `the templates left ${JSON.stringify(others)} queued`);
        const instance = db.prepare("SELECT * FROM instances WHERE instance_id = ?");
        const children = db.prepare("SELECT * FROM instances WHERE parent_instance_id = ? ORDER BY instance_id");
        const history = db.prepare("SELECT seq, event FROM history WHERE instance_id = ? ORDER BY seq");
        const templates = {};
        for (const k of kinds) {
          const root = instance.get(ids[k.key]);
          check(root?.status === k.expect, `template ${k.key} is ${root?.status}, expected ${k.expect}`);
          const members = [root, ...children.all(root.instance_id)];
          check(members.length === (k.key === "fulfilOrder" ? 2 : 1), `template ${k.key} has ${members.length} instances`);
          templates[k.key] = members.map((row) => {
            const events = history.all(row.instance_id);
            check(events.length === row.history_length && events.every((e, i) => e.seq === i), `template ${k.key}: history rows do not match history_length`);
            return { instance: row, history: events };
          });
        }
        check(templates.nightlyBatch[0].history.length >= 1_000, `the batch template has ${templates.nightlyBatch[0].history.length} events`);
        check(templates.fulfilOrder[1].instance.status === "COMPLETED", "the child template did not complete");
        return templates;
      } finally {
        db.close();
      }
    } finally {
      cleanup();
    }
  }

  /**
   * A template tree as functions of (ids, executionIds, createdAt): every string equal to one
   * of the tree's instance or execution IDs becomes a slot, and every number within a week
   * of the root's created_at a time slot (an offset kept from the template).
   */
  function compileTree(members) {
    const root = members[0].instance;
    const ids = members.map((m) => m.instance.instance_id);
    const execs = members.map((m) => m.instance.execution_id);
    const base = root.created_at;
    members.slice(1).forEach((m) => check(m.instance.instance_id.startsWith(root.instance_id), `child ID ${m.instance.instance_id} is not derived from its parent's`));
    const marked = [];
    const compile = (text, where) => {
      const out = JSON.stringify(JSON.parse(text), (_key, value) => {
        if (typeof value === "string") {
          if (ids.includes(value)) return `@@@I${ids.indexOf(value)}@@@`;
          if (execs.includes(value)) return `@@@E${execs.indexOf(value)}@@@`;
        }
        if (typeof value === "number" && Math.abs(value - base) < 7 * DAY) return `@@@T${value - base}@@@`;
        return value;
      });
      for (const s of [...ids, ...execs]) check(!out.includes(s), `${where}: an ID remains inside a value: ${out.slice(0, 300)}`);
      marked.push(out);
      const parts = out.split(/"@@@([^@]*)@@@"/);
      return (treeIds, treeExecs, createdAt) => {
        let text = parts[0];
        for (let k = 1; k < parts.length; k += 2) {
          const slot = parts[k];
          const index = Number(slot.slice(1));
          text += (slot[0] === "I" ? JSON.stringify(treeIds[index]) : slot[0] === "E" ? JSON.stringify(treeExecs[index]) : String(createdAt + index)) + parts[k + 1];
        }
        return text;
      };
    };
    const compiled = members.map(({ instance, history }, k) => {
      const where = `template ${root.name} #${k}`;
      const row = { ...instance };
      for (const column of ["input", "output", "custom_status", "failure_details", "workflow_version", "name"]) {
        for (const s of [...ids, ...execs]) check(!String(row[column] ?? "").includes(s), `${where}: column ${column} contains an ID`);
      }
      const parentIndex = instance.parent_instance_id === null ? -1 : ids.indexOf(instance.parent_instance_id);
      check(instance.parent_instance_id === null || parentIndex >= 0, `${where}: parent outside the tree`);
      const offsets = { created: instance.created_at - base, updated: instance.last_updated_at - base };
      marked.push(JSON.stringify({ ...row, instance_id: k, execution_id: k, parent_instance_id: parentIndex, created_at: "T", last_updated_at: "T" }));
      return { row, parentIndex, offsets, events: history.map((h) => compile(h.event, `${where} event #${h.seq}`)) };
    });
    // The compiled tree reproduces the stored rows exactly.
    compiled.forEach((c, k) => c.events.forEach((event, seq) => check(event(ids, execs, base) === members[k].history[seq].event, `template ${root.name} #${k} event #${seq} does not round-trip`)));
    // The shape (for the cache key): without the time offsets (they vary from run to run), the
    // repository's path and the line numbers in stack traces.
    const shape = marked.map((m) =>
      m.replace(/@@@T-?\d+@@@/g, "@@@T@@@").split(repoRootUrl).join("<root>/").replace(/:\d+:\d+\)/g, ":L:C)").replace(/(file:\/\/)?\/[^"\\]*?\/(dist|bench)\//g, "<root>/$2/"));
    return { members: compiled, size: members.length, shape };
  }

  /** Trees of each kind for `count` instances. */
  function planKinds(compiledTrees) {
    const plan = kinds.map((k) => ({ ...k, size: compiledTrees[k.key].size, trees: k.fixed ?? Math.round((k.share * count) / compiledTrees[k.key].size) }));
    const others = plan.filter((p) => p.key !== "processOrder").reduce((sum, p) => sum + p.trees * p.size, 0);
    plan[0].trees = count - others;
    check(plan[0].trees > 0, `${count} instances are too few for the mix`);
    return plan;
  }

  function buildDatabase(path, plan, compiledTrees) {
    const began = performance.now();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = OFF"); // the build only
    db.pragma("cache_size = -2000000"); // the build only (2 GB)
    migrate(db);
    const insertInstance = db.prepare(`
      INSERT INTO instances (instance_id, name, execution_id, status, created_at, last_updated_at, input, output,
                             custom_status, failure_details, parent_instance_id, history_length, version, workflow_version)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const insertHistory = db.prepare("INSERT INTO history (instance_id, seq, event) VALUES (?, ?, ?)");
    const treeCount = plan.reduce((sum, p) => sum + p.trees, 0);
    const kindOf = new Uint8Array(treeCount);
    let at = 0;
    plan.forEach((p, k) => kindOf.fill(k, at, (at += p.trees)));
    for (let i = treeCount - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [kindOf[i], kindOf[j]] = [kindOf[j], kindOf[i]];
    }
    // Random UUIDs inserted in key order (children follow their parent: parent ID + ":0001"),
    // so the primary keys and the history grow at the end; the other indexes fill at random.
    const rootIds = Array.from({ length: treeCount }, () => randomUUID()).sort();
    const spanEnd = Date.now() - 10 * 60_000;
    const spanStart = spanEnd - spanDays * DAY;
    const insertTrees = db.transaction((from, to) => {
      for (let i = from; i < to; i++) {
        const p = plan[kindOf[i]];
        const tree = compiledTrees[p.key];
        const rootId = rootIds[i];
        const createdAt = p.key === "nightlyBatch" ? Math.floor(spanEnd - Math.random() * 2 * DAY) : Math.floor(spanStart + Math.random() * spanDays * DAY);
        const treeIds = tree.members.map((m, k) => (k === 0 ? rootId : rootId + m.row.instance_id.slice(tree.members[0].row.instance_id.length)));
        const treeExecs = tree.members.map(() => randomUUID().replaceAll("-", ""));
        tree.members.forEach((m, k) => {
          const r = m.row;
          insertInstance.run(
            treeIds[k], r.name, treeExecs[k], r.status, createdAt + m.offsets.created, createdAt + m.offsets.updated, r.input, r.output,
            r.custom_status, r.failure_details, m.parentIndex < 0 ? null : treeIds[m.parentIndex], r.history_length, r.version, r.workflow_version,
          );
          for (let seq = 0; seq < m.events.length; seq++) insertHistory.run(treeIds[k], seq, m.events[seq](treeIds, treeExecs, createdAt));
        });
      }
    });
    for (let from = 0; from < treeCount; from += treesPerTx) {
      insertTrees(from, Math.min(treeCount, from + treesPerTx));
      if ((from / treesPerTx) % 8 === 7) console.log(`  ${fmt(Math.min(treeCount, from + treesPerTx))} of ${fmt(treeCount)} trees, ${fmt((performance.now() - began) / 1000)} s`);
    }
    db.pragma("wal_checkpoint(TRUNCATE)");
    const truth = groundTruth(db);
    db.close();
    return { buildMs: performance.now() - began, spanStart, spanEnd, truth };
  }

  function groundTruth(db) {
    return {
      byStatus: Object.fromEntries(db.prepare("SELECT status, count(*) AS n FROM instances GROUP BY status").all().map((r) => [r.status, r.n])),
      instances: db.prepare("SELECT count(*) AS n FROM instances").get().n,
      history: db.prepare("SELECT count(*) AS n FROM history").get().n,
      children: db.prepare("SELECT count(*) AS n FROM instances WHERE parent_instance_id IS NOT NULL").get().n,
      batchIds: db.prepare("SELECT instance_id FROM instances WHERE name = 'nightlyBatch' ORDER BY instance_id").pluck().all(),
      names: Object.fromEntries(db.prepare("SELECT name, count(*) AS n FROM instances GROUP BY name").all().map((r) => [r.name, r.n])),
    };
  }

  // -- HTTP ---------------------------------------------------------------------------------------

  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  function http(port, method, path) {
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path, method, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk) => (body += chunk));
        res.once("end", () => resolve({ status: res.statusCode, body }));
      });
      req.once("error", reject);
      req.end();
    });
  }
  async function timed(port, method, path) {
    const t0 = performance.now();
    const res = await http(port, method, path);
    const ms = performance.now() - t0;
    check(res.status === 200, `${method} ${path} answered ${res.status}: ${res.body.slice(0, 500)}`);
    return { ms, body: JSON.parse(res.body) };
  }

  /** Spawns workflowd on `dbPath`; resolves once GET /v1.0/healthz answers 204. */
  function startServer(dbPath, workflowsModule) {
    return spawnWorkflowd({ dbPath, workflows: workflowsModule, stopTimeoutMs: 30_000 });
  }

  // -- checks of the answers ----------------------------------------------------------------------

  const iso = (ms) => new Date(ms).toISOString();
  const before = (a, b) => a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.instanceID > b.instanceID); // a sorts ahead of b (newest first)

  /** A list page: `size` items (or fewer only when no token), matching the filter, newest first, after `previous`. */
  function checkPage(body, { statuses, from, name, size = 100, previous, label }) {
    const items = body.instances;
    check(Array.isArray(items), `${label}: no instances array: ${JSON.stringify(body).slice(0, 300)}`);
    check(items.length === size, `${label}: ${items.length} instances, expected ${size}`);
    check(typeof body.continuationToken === "string", `${label}: a full page without continuationToken`);
    items.forEach((item, k) => {
      check(!statuses || statuses.includes(item.runtimeStatus), `${label}: ${item.instanceID} is ${item.runtimeStatus}`);
      if (from !== undefined) check(Date.parse(item.createdAt) >= from, `${label}: ${item.instanceID} created ${item.createdAt}, before createdFrom ${iso(from)}`);
      check(name === undefined || item.workflowName === name, `${label}: ${item.instanceID} is a ${item.workflowName}`);
      const ahead = k === 0 ? previous : items[k - 1];
      check(!ahead || before(ahead, item), `${label}: ${item.instanceID} out of order`);
    });
    return items;
  }

  // -- the run ------------------------------------------------------------------------------------

  runScript("operations", async () => {
    header(
      `12. operations at ${fmt(count)} instances`,
      `a real workflowd process (node dist/src/main.js) on a copy of a ${fmt(count)}-instance database (mixed statuses, 30 days); ` +
        "sequential GETs on one keep-alive connection after warm-up; then a bulk purge of ~100,000 finished instances " +
        `during a start load of ${startConnections} clients (each starts the next as soon as one is answered)`,
    );
    const templates = await captureTemplates();
    const compiledTrees = Object.fromEntries(Object.entries(templates).map(([key, members]) => [key, compileTree(members)]));
    const plan = planKinds(compiledTrees);
    const shape = createHash("sha256")
      .update(JSON.stringify({ schemaVersion, spanDays, plan: plan.map((p) => [p.key, p.trees]), shapes: Object.values(compiledTrees).map((t) => t.shape) }))
      .digest("hex")
      .slice(0, 12);

    const cacheDir = join(tmpdir(), "workflowd-bench-cache");
    mkdirSync(cacheDir, { recursive: true });
    const cachePath = join(cacheDir, `operations-${count}-v${schemaVersion}-${shape}.db`);
    const metaPath = `${cachePath}.json`;
    let meta = existsSync(metaPath) && existsSync(cachePath) ? JSON.parse(readFileSync(metaPath, "utf8")) : undefined;
    if (!rebuild && meta?.complete && meta.count === count) {
      console.log(`reused the cached database ${cachePath} (built ${meta.builtAt} in ${fmt(meta.buildMs / 1000, 1)} s; --rebuild to build again)`);
    } else {
      console.log(`building ${fmt(count)} instances into ${cachePath} ...`);
      for (const name of readdirSync(cacheDir)) {
        if (name.startsWith(`operations-${count}-`) && !name.startsWith(basename(cachePath))) rmSync(join(cacheDir, name), { force: true });
      }
      rmSync(metaPath, { force: true });
      const built = buildDatabase(cachePath, plan, compiledTrees);
      meta = { count, complete: true, builtAt: new Date().toISOString(), ...built };
      writeFileSync(metaPath, JSON.stringify(meta));
      console.log(`built in ${fmt(built.buildMs / 1000, 1)} s (cached for the next run)`);
    }
    const { truth, spanStart, spanEnd } = meta;
    const expectedStatus = {};
    for (const p of plan) for (const m of compiledTrees[p.key].members) expectedStatus[m.row.status] = (expectedStatus[m.row.status] ?? 0) + p.trees;
    check(truth.instances === count, `the database has ${truth.instances} instances, expected ${count}`);
    check(JSON.stringify(Object.entries(truth.byStatus).sort()) === JSON.stringify(Object.entries(expectedStatus).sort()), `status counts ${JSON.stringify(truth.byStatus)}, expected ${JSON.stringify(expectedStatus)}`);
    const batchLength = compiledTrees.nightlyBatch.members[0].row.history_length;
    console.log(
      `mix: ${Object.entries(truth.byStatus).map(([s, c]) => `${s} ${fmt(c)} (${fmt((100 * c) / count, 1)} %)`).join(", ")}; ` +
        `${fmt(truth.children)} child instances; names: ${Object.entries(truth.names).map(([s, c]) => `${s} ${fmt(c)}`).join(", ")}; ` +
        `${fmt(truth.history)} history rows; file ${fmt(statSync(cachePath).size / 2 ** 20)} MiB`,
    );

    const { dir, cleanup } = tempDir("operations");
    const cleanups = [cleanup];
    try {
      // A fresh copy: the purge deletes from it.
      const dbPath = join(dir, "operations.db");
      const copyBegan = performance.now();
      check(!existsSync(`${cachePath}-wal`) || statSync(`${cachePath}-wal`).size === 0, "the cached database has a WAL file");
      copyFileSync(cachePath, dbPath);
      console.log(`copied the database in ${fmt((performance.now() - copyBegan) / 1000, 1)} s`);
      const direct = new Database(dbPath, { fileMustExist: true });
      cleanups.unshift(() => direct.close());
      const now = groundTruth(direct);
      check(JSON.stringify(now.byStatus) === JSON.stringify(truth.byStatus) && now.history === truth.history, "the copy differs from the cache");
      const workflowsModule = join(dir, "ops-workflows.mjs");
      writeFileSync(workflowsModule, 'export default (registry) => registry.registerWorkflowWithName("opsNoop", async function* (_ctx, input) { return input; });\n');

      // createdFrom: instants spread over the 30 days (at 1,000,000 each day has ~2,300 RUNNING and ~5,000 FAILED).
      // At least ~700 RUNNING instances (6 pages and some) are created after any of them.
      const recentDays = Math.max(1, Math.ceil(700 / ((truth.byStatus.RUNNING ?? 0) / spanDays)));
      check(recentDays < spanDays - 1, `too few RUNNING instances (${truth.byStatus.RUNNING}) for 6 pages of 100`);
      const randomFrom = () => Math.floor(spanStart + DAY + Math.random() * (spanDays - 1 - recentDays) * DAY);
      const froms = Array.from({ length: n.listFirst + n.listOther * 2 + n.counts }, randomFrom);
      const batchIds = truth.batchIds;

      // The cutoff of the purge: the oldest COMPLETED top-level instances, with their children, ~100,000 in all.
      let cutoff;
      {
        let total = 0;
        const roots = direct.prepare("SELECT instance_id, created_at FROM instances WHERE status = 'COMPLETED' AND parent_instance_id IS NULL ORDER BY created_at");
        const kids = direct.prepare("SELECT count(*) AS n FROM instances WHERE parent_instance_id = ?").pluck();
        for (const r of roots.iterate()) {
          if (total >= Math.min(purgeTarget, Math.floor(count / 10))) {
            cutoff = r.created_at;
            break;
          }
          total += 1 + kids.get(r.instance_id);
        }
      }
      const expectedPurge = direct.prepare(`
        WITH r AS (SELECT instance_id, history_length FROM instances WHERE status = 'COMPLETED' AND parent_instance_id IS NULL AND created_at < @cutoff),
             c AS (SELECT i.history_length FROM instances i JOIN r ON i.parent_instance_id = r.instance_id)
        SELECT (SELECT count(*) FROM r) AS roots, (SELECT count(*) FROM c) AS children,
               (SELECT total(history_length) FROM r) + (SELECT total(history_length) FROM c) AS events`).get({ cutoff });
      const purgeQuery = `status=COMPLETED&createdTo=${iso(cutoff)}`;

      // -- ceiling: the same InstanceQueries calls in-process, no HTTP (before the server starts) --
      const ceiling = {};
      const plans = {};
      {
        const store = new SqliteStore({ path: dbPath, busyTimeoutMs: 5_000, hotHistoriesMax: 10_000 });
        try {
          const queries = new InstanceQueries(store);
          const time = async (fn) => {
            const t0 = performance.now();
            await fn();
            return performance.now() - t0;
          };
          const many = async (k, fn) => {
            for (let i = 0; i < Math.min(50, k); i++) await fn(i); // warm-up
            const times = [];
            for (let i = 0; i < k; i++) times.push(await time(() => fn(i)));
            return times;
          };
          ceiling.listFirst = await many(n.ceilingList, async (i) => check((await queries.list({ statuses: [i % 2 ? "FAILED" : "RUNNING"], createdFrom: froms[i] }, 100, undefined)).instances.length === 100, "ceiling list"));
          const tokens = await Promise.all(Array.from({ length: n.ceilingList }, async (_, i) => (await queries.list({ statuses: ["RUNNING"], createdFrom: froms[i] }, 100, undefined)).continuationToken));
          ceiling.listFollow = await many(n.ceilingList, (i) => queries.list({ statuses: ["RUNNING"], createdFrom: froms[i] }, 100, tokens[i]));
          ceiling.listName = await many(n.ceilingList, (i) => queries.list({ name: "sendInvoice", createdFrom: froms[i] }, 100, undefined));
          ceiling.list3 = await many(n.ceilingList, (i) => queries.list({ statuses: ["FAILED", "TERMINATED", "SUSPENDED"], createdFrom: froms[i] }, 100, undefined));
          ceiling.listAll = await many(n.ceilingList, () => queries.list({}, 100, undefined));
          ceiling.counts = await many(n.ceilingCounts, () => queries.counts({}));
          ceiling.countsFrom = await many(n.ceilingCounts, (i) => queries.counts({ createdFrom: froms[i] }));
          ceiling.history = await many(n.ceilingHistory, async (i) => check((await queries.history(batchIds[i % batchIds.length], 1_000, undefined)).events.length === 1_000, "ceiling history"));
          // The same plus the route's conversion to the protobuf JSON mapping and JSON text (what HTTP adds besides transport).
          ceiling.historyJson = await many(n.ceilingHistory, async (i) => JSON.stringify((await queries.history(batchIds[i % batchIds.length], 1_000, undefined)).events.map(historyEventJson)));
          // The purge's selection (its first batch of 50 top-level matches), timed once; for the plan.
          ceiling.purgeSelect = [await time(() => store.listInstances({ statuses: ["COMPLETED"], createdTo: cutoff, rootsOnly: true }, undefined, 50))];
          await store.listInstances({ statuses: ["COMPLETED"], createdTo: cutoff, rootsOnly: true }, { createdAt: cutoff, instanceId: "z" }, 50);
          // The statements the store prepared for these shapes (its private cache), for EXPLAIN QUERY PLAN.
          const shaped = store.shaped instanceof Map ? [...store.shaped.entries()] : [];
          for (const [key, statement] of shaped) plans[key] = statement.source;
        } finally {
          await store.close();
        }
      }

      // -- the server ------------------------------------------------------------------------------
      const server = await startServer(dbPath, workflowsModule);
      let loadChild;
      try {
        const port = server.port;
        const get = (path) => timed(port, "GET", path);
        console.log(`workflowd up in ${fmt(server.startupMs)} ms`);

        // Warm-up: every query shape.
        for (let i = 0; i < 100; i++) {
          await get(`/v1.0/workflows/dapr?status=RUNNING&createdFrom=${iso(randomFrom())}&pageSize=100`);
          await get(`/v1.0/workflows/dapr?name=syncInventory&createdFrom=${iso(randomFrom())}&pageSize=100`);
          await get(`/v1.0/workflows/dapr?pageSize=100`);
        }

        // 1. list pages.
        const lat = {};
        lat.listFirst = [];
        const firstPages = [];
        for (let i = 0; i < n.listFirst; i++) {
          const status = i % 2 ? "FAILED" : "RUNNING";
          const { ms, body } = await get(`/v1.0/workflows/dapr?status=${status}&createdFrom=${iso(froms[i])}&pageSize=100`);
          lat.listFirst.push(ms);
          const items = checkPage(body, { statuses: [status], from: froms[i], label: `list ${status} from ${iso(froms[i])}` });
          firstPages.push({ status, from: froms[i], token: body.continuationToken, last: items.at(-1), seen: new Set(items.map((x) => x.instanceID)) });
        }
        // Follow-up pages: 5 further pages of 200 of those listings.
        lat.listFollow = [];
        for (const listing of firstPages.slice(0, n.listFollow / 5)) {
          for (let page = 2; page <= 6; page++) {
            const q = `status=${listing.status}&createdFrom=${iso(listing.from)}&pageSize=100&continuationToken=${encodeURIComponent(listing.token)}`;
            const { ms, body } = await get(`/v1.0/workflows/dapr?${q}`);
            lat.listFollow.push(ms);
            const items = checkPage(body, { statuses: [listing.status], from: listing.from, previous: listing.last, label: `list ${listing.status} page ${page}` });
            for (const item of items) {
              check(!listing.seen.has(item.instanceID), `list ${listing.status}: ${item.instanceID} listed twice`);
              listing.seen.add(item.instanceID);
            }
            listing.token = body.continuationToken;
            listing.last = items.at(-1);
          }
        }
        let k = n.listFirst;
        lat.listName = [];
        for (let i = 0; i < n.listOther; i++, k++) {
          const { ms, body } = await get(`/v1.0/workflows/dapr?name=sendInvoice&createdFrom=${iso(froms[k])}&pageSize=100`);
          lat.listName.push(ms);
          checkPage(body, { from: froms[k], name: "sendInvoice", label: "list by name" });
        }
        lat.list3 = [];
        const three = ["FAILED", "TERMINATED", "SUSPENDED"];
        for (let i = 0; i < n.listOther; i++, k++) {
          const { ms, body } = await get(`/v1.0/workflows/dapr?${three.map((s) => `status=${s}`).join("&")}&createdFrom=${iso(froms[k])}&pageSize=100`);
          lat.list3.push(ms);
          checkPage(body, { statuses: three, from: froms[k], label: "list 3 statuses" });
        }
        lat.listAll = [];
        for (let i = 0; i < n.listOther; i++) {
          const { ms, body } = await get("/v1.0/workflows/dapr?pageSize=100");
          lat.listAll.push(ms);
          checkPage(body, { label: "list, no filter" });
        }

        // 2. counts.
        for (let i = 0; i < 10; i++) await get("/v1.0/workflows/dapr?countOnly=true");
        lat.counts = [];
        for (let i = 0; i < n.counts; i++) {
          const { ms, body } = await get("/v1.0/workflows/dapr?countOnly=true");
          lat.counts.push(ms);
          check(JSON.stringify(Object.entries(body.counts).sort()) === JSON.stringify(Object.entries(truth.byStatus).sort()), `counts ${JSON.stringify(body.counts)}, expected ${JSON.stringify(truth.byStatus)}`);
        }
        lat.countsFrom = [];
        const countDirect = direct.prepare("SELECT status, count(*) AS n FROM instances WHERE created_at >= ? GROUP BY status");
        for (let i = 0; i < n.counts; i++, k++) {
          const { ms, body } = await get(`/v1.0/workflows/dapr?countOnly=true&createdFrom=${iso(froms[k])}`);
          lat.countsFrom.push(ms);
          if (i < 3) {
            const want = Object.fromEntries(countDirect.all(froms[k]).map((r) => [r.status, r.n]));
            check(JSON.stringify(Object.entries(body.counts).sort()) === JSON.stringify(Object.entries(want).sort()), `counts from ${iso(froms[k])}: ${JSON.stringify(body.counts)}, expected ${JSON.stringify(want)}`);
          }
        }

        // 3. history: the first read of each batch instance (SQLite's page cache cold for it), then the rest.
        const readHistory = async (id) => {
          const { ms, body } = await get(`/v1.0/workflows/dapr/${id}/history?pageSize=1000`);
          check(body.instanceID === id && body.events.length === 1_000, `history of ${id}: ${body.events?.length} events`);
          check(body.events[1].executionStarted?.name === "nightlyBatch" && body.events[999].eventId !== undefined, `history of ${id}: unexpected events ${JSON.stringify(body.events[1]).slice(0, 200)}`);
          check(typeof body.continuationToken === "string", `history of ${id}: ${batchLength} events but no continuationToken after 1,000`);
          return ms;
        };
        lat.historyFirst = [];
        for (const id of batchIds) lat.historyFirst.push(await readHistory(id));
        lat.history = [];
        for (let i = 0; i < n.history; i++) lat.history.push(await readHistory(batchIds[i % batchIds.length]));

        // 4. the bulk purge under a start load.
        const startPrefix = `ops-start-${randomUUID().slice(0, 8)}-`;
        loadChild = fork(selfPath, ["--start-load", String(port), String(startConnections), startPrefix], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
        const loadDone = new Promise((resolve, reject) => {
          loadChild.on("message", (m) => m.done && resolve(m));
          loadChild.once("exit", (code) => reject(new Error(`the start load exited with ${code} before reporting`)));
        });
        loadDone.catch(() => {});
        await new Promise((resolve) => loadChild.on("message", (m) => m.ready && resolve()));
        await sleep(3_000); // warm-up
        loadChild.send({ phase: "baseline" });
        const baselineBegan = performance.now();
        await sleep(baselineSeconds * 1_000);
        loadChild.send({ phase: "purge" });
        const purgeBegan = performance.now();
        const purgeCalls = [];
        let deleted = 0;
        for (;;) {
          const t0 = performance.now();
          const { body } = await timed(port, "DELETE", `/v1.0/workflows/dapr?${purgeQuery}`);
          purgeCalls.push({ ms: performance.now() - t0, deleted: body.deletedInstanceCount });
          deleted += body.deletedInstanceCount;
          if (body.isComplete) break;
          check(purgeCalls.length < 100, "the purge did not complete in 100 calls");
        }
        const purgeEnded = performance.now();
        loadChild.send({ phase: "after", stop: true });
        const load = await loadDone;
        loadChild = undefined;
        const baselineMs = purgeBegan - baselineBegan;
        const purgeMs = purgeEnded - purgeBegan;

        // The started workflows finish, all with their input as output.
        const started = Object.entries(load.codes).reduce((sum, [, c]) => sum + c, 0);
        check(load.errors.length === 0, `start load errors: ${load.errors.join("; ")}`);
        check(Object.keys(load.codes).every((c) => c === "202"), `starts answered ${JSON.stringify(load.codes)}`);
        const view = new DbView(dbPath);
        try {
          await view.waitFinished(startPrefix, started, { timeoutMs: 120_000, label: "started workflows" });
          view.verifyCompleted(startPrefix, started, () => '"ping"', "started workflows");
        } finally {
          view.close();
        }

        // What the purge removed: exactly the matching trees, with their history.
        const after = groundTruth(direct);
        const startedHistory = direct.prepare("SELECT count(*) AS n FROM history WHERE instance_id >= ? AND instance_id < ?").get(...DbView.range(startPrefix)).n;
        const expectedDeleted = expectedPurge.roots + expectedPurge.children;
        check(deleted === expectedDeleted, `the purge reported ${deleted} deleted, expected ${expectedDeleted} (${expectedPurge.roots} top-level + ${expectedPurge.children} children)`);
        check(after.instances - started === count - expectedDeleted, `${after.instances - started} instances left (besides the ${started} started), expected ${count - expectedDeleted}`);
        check(after.history - startedHistory === truth.history - expectedPurge.events, `${after.history - startedHistory} history rows left, expected ${truth.history - expectedPurge.events}`);
        const leftMatching = direct.prepare("SELECT count(*) AS n FROM instances WHERE status = 'COMPLETED' AND parent_instance_id IS NULL AND created_at < ?").get(cutoff).n;
        check(leftMatching === 0, `${leftMatching} matching instances left after the purge`);
        const { body: countsAfter } = await timed(port, "GET", "/v1.0/workflows/dapr?countOnly=true");
        check(countsAfter.counts.COMPLETED === truth.byStatus.COMPLETED - expectedDeleted + started, `COMPLETED after the purge: ${countsAfter.counts.COMPLETED}`);

        const rssMiB = Number(/VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1]) / 1024;
        await server.stop();

        // -- the figures -------------------------------------------------------------------------
        const p = (values, q) => percentile(values, q);
        const ms = (v) => `${fmt(v, 2)} ms`;
        const row = (what, values, ceil, target) => [
          what, fmt(values.length), ms(p(values, 50)), ms(p(values, 99)), ms(Math.max(...values)),
          ceil ? `${ms(p(ceil, 50))} / ${ms(p(ceil, 99))}` : "", target ?? "",
        ];
        console.log();
        table(
          ["request (over HTTP)", "requests", "p50", "p99", "max", "in-process ceiling p50 / p99", "target"],
          [
            row("list: status=RUNNING|FAILED + createdFrom, first page of 100", lat.listFirst, ceiling.listFirst, "p99 ≤ 20 ms"),
            row("list: the same, follow-up pages 2–6 (continuationToken)", lat.listFollow, ceiling.listFollow, "p99 ≤ 20 ms"),
            row("list: name=sendInvoice + createdFrom", lat.listName, ceiling.listName),
            row("list: 3 statuses (FAILED, TERMINATED, SUSPENDED) + createdFrom", lat.list3, ceiling.list3),
            row("list: no filter", lat.listAll, ceiling.listAll),
            row("counts by status (countOnly=true), no filter", lat.counts, ceiling.counts, "≤ 50 ms"),
            row("counts by status, createdFrom", lat.countsFrom, ceiling.countsFrom),
            row(`history, ${fmt(batchLength)}-event instance, pageSize=1000: first read of each of ${batchIds.length}`, lat.historyFirst),
            row("history, pageSize=1000: the reads after", lat.history, ceiling.history, "p99 ≤ 20 ms"),
          ],
        );
        console.log(`(in-process ceiling: the route's one InstanceQueries call on the same file in this run, before the server started; no HTTP, no JSON; ${n.ceilingList} / ${n.ceilingCounts} / ${n.ceilingHistory} calls)`);
        console.log(`(history in-process with the route's conversion of each event (historyEventJson) and JSON.stringify: p50 ${ms(p(ceiling.historyJson, 50))}, p99 ${ms(p(ceiling.historyJson, 99))})`);

        const baseline = load.latencies.baseline ?? [];
        const during = load.latencies.purge ?? [];
        console.log();
        table(
          ["bulk purge under a start load", "value"],
          [
            ["filter", `${purgeQuery} (${fmt(expectedPurge.roots)} top-level + ${fmt(expectedPurge.children)} children, ${fmt(expectedPurge.events)} history rows)`],
            ["purge wall time", `${fmt(purgeMs / 1000, 1)} s in ${purgeCalls.length} DELETE calls (${purgeCalls.map((c) => `${fmt(c.ms / 1000, 1)} s`).join(", ")})`],
            ["instances purged", `${fmt(deleted)} (${fmt(deleted / (purgeMs / 1000))} instances/s)`],
            [`starts/s, ${startConnections} clients: before (${fmt(baselineMs / 1000, 1)} s) / during`, `${fmt(baseline.length / (baselineMs / 1000))} / ${fmt(during.length / (purgeMs / 1000))}`],
            ["start p50: before / during", `${ms(p(baseline, 50))} / ${ms(p(during, 50))}`],
            ["start p99: before / during", `${ms(p(baseline, 99))} / ${ms(p(during, 99))}`],
            ["start max: before / during", `${ms(Math.max(...baseline))} / ${ms(Math.max(...during))}`],
            ["checked", `${fmt(started)} starts, all COMPLETED with their input; the purge removed exactly the matching trees and their history; counts after agree`],
            ["server", `start-up ${fmt(server.startupMs)} ms, RSS at the end ${fmt(rssMiB)} MiB`],
          ],
        );

        console.log("\nquery plans (EXPLAIN QUERY PLAN of the statements the store prepared for these calls):");
        const planDb = new Database(dbPath, { readonly: true, fileMustExist: true });
        try {
          for (const [key, sql] of Object.entries(plans)) {
            const params = Object.fromEntries([...sql.matchAll(/@(\w+)/g)].map(([, name]) => [name, name === "limit" ? 100 : name.startsWith("after_id") || name === "status" || name === "name" ? "x" : 0]));
            const detail = planDb.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params).map((r) => r.detail).join("; ");
            console.log(`  ${key.split(":")[0]} where ${key.slice(key.indexOf(":") + 1)}\n    → ${detail}`);
          }
          if (Object.keys(plans).length === 0) console.log("  (the store's statement cache was not found; no plans)");
        } finally {
          planDb.close();
        }

        const startP99 = p(during, 99);
        console.log();
        table(
          ["figure", "value", "target", ""],
          [
            ["list page of 100, status + createdFrom: p99", ms(p(lat.listFirst, 99)), "≤ 20 ms", verdict(p(lat.listFirst, 99) <= 20)],
            ["… follow-up pages (continuationToken): p99", ms(p(lat.listFollow, 99)), "≤ 20 ms", verdict(p(lat.listFollow, 99) <= 20)],
            ["counts by status: p99 (p50)", `${ms(p(lat.counts, 99))} (${ms(p(lat.counts, 50))})`, "≤ 50 ms", verdict(p(lat.counts, 99) <= 50)],
            [`history of ${fmt(batchLength)} events, page of 1,000: p99`, ms(p(lat.history, 99)), "≤ 20 ms", verdict(p(lat.history, 99) <= 20)],
            [`purge of ${fmt(deleted)} finished instances`, `completed in ${fmt(purgeMs / 1000, 1)} s`, "completes", verdict(deleted === expectedDeleted)],
            ["… start p99 during the purge (before it)", `${ms(startP99)} (${ms(p(baseline, 99))})`, "≤ 100 ms", verdict(startP99 <= 100)],
          ],
        );
        console.log(`(load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
      } catch (error) {
        console.error(`workflowd output:\n${server.output()}`);
        throw error;
      } finally {
        if (loadChild) loadChild.kill();
        await server.stop().catch(() => {});
      }
    } finally {
      for (const fn of cleanups) fn();
    }
  });
}
