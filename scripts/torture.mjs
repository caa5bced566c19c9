#!/usr/bin/env node
// The long crash torture:
//   npm run torture -- --minutes N [--active K] [--seed S] [--no-pauses] [--keep] [--quiet]
// The same run as test/reliability/torture.test.ts (test/reliability/torture-run.mjs), but
// SIGKILLing the server at random moments until N minutes have passed, keeping K workflows
// going, then running everything to completion and printing the figures. Exits 1 on any
// problem. Needs a built dist/ (`npm run torture` builds first).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatReport, runTorture } from "../test/reliability/torture-run.mjs";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "1" },
    active: { type: "string", default: "24" },
    seed: { type: "string" },
    keep: { type: "boolean", default: false },
    "no-pauses": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  },
});
const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  console.error(`--minutes must be a positive number, got '${values.minutes}'`);
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), "workflowd-torture-"));
console.log(`crash torture for ${minutes} min in ${dir}`);
const report = await runTorture({
  dir,
  minutes,
  activeMax: Number(values.active),
  ...(values.seed ? { seed: Number(values.seed) } : {}),
  finalTimeoutMs: 120_000,
  pauses: !values["no-pauses"],
  log: values.quiet ? undefined : (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`),
});
console.log(formatReport(report));
if (report.problems.length > 0) {
  console.log(report.dumps);
  console.log(`database kept for inspection: ${join(dir, "torture.db")}`);
  process.exit(1);
}
if (values.keep) console.log(`kept: ${dir}`);
else rmSync(dir, { recursive: true, force: true });
