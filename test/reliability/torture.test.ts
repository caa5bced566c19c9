/**
 * The two long tests of the reliability suite, run side by side (it.concurrent) so the suite
 * stays short: one is busy for ~40 s, the other mostly waits for a server's timeouts.
 *
 * 1. Crash torture, bounded: a mixed load (activities, retried flaky activities, durable
 *    timers, children and grandchildren, events raised by the test, some before the round
 *    that waits for them, continue-as-new after every round, pauses and resumes) against a
 *    real workflowd process, SIGKILLed at 20 random moments (some before it is even healthy)
 *    and restarted on the same SQLite file. After every kill the database must satisfy the
 *    invariants of db-invariants.mjs; at the end every workflow must be COMPLETED with the
 *    output the model predicts, and nothing may be left queued. The long mode of the same
 *    run: `npm run torture -- --minutes N` (scripts/torture.mjs).
 *
 * 2. Slow clients against a real server process: a client that sends its headers one byte
 *    every 2 s, one that sends a body that way, one that connects and sends nothing, and an
 *    idle kept-alive connection are all cut off within the server's configured timeouts
 *    (as Node enforces request/headers timeouts: checked every connectionsCheckingInterval,
 *    30 s by default, so the bound is requestTimeout + 30 s).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createWorkflowd } from "../../src/app.js";
// Plain .mjs modules shared with scripts/torture.mjs (no declarations).
// @ts-expect-error -- untyped .mjs
import { formatReport, runTorture } from "./torture-run.mjs";
import { Server } from "./helpers.js";

describe.concurrent("long-running reliability tests", () => {
  it("crash torture: survives 20 SIGKILLs; every workflow COMPLETED with the predicted output; database invariants hold after every kill", async () => {
    const dir = mkdtempSync(join(tmpdir(), "workflowd-torture-"));
    try {
      const seed = process.env.TORTURE_SEED ? Number(process.env.TORTURE_SEED) : undefined;
      const report = await runTorture({ dir, kills: 20, workflows: 30, seed, finalTimeoutMs: 40_000 });
      console.info(formatReport(report));
      if (report.problems.length > 0) console.error(report.dumps);

      expect(report.problems).toEqual([]);
      expect(report.kills).toBe(20);
      expect(report.killsSurvived).toBe(20);
      expect(report.workflowsStarted).toBe(30);
      expect(report.workflowsCompleted).toBe(30);
      expect(report.lost).toBe(0);
      expect(report.wrongOutputs).toBe(0);
      // A check after each kill (none only after a kill that came before the file existed, which
      // only a kill before the server was healthy can) and one at the end.
      expect(report.killsBeforeDatabase).toBeLessThanOrEqual(report.killsBeforeHealthy);
      expect(report.invariantChecks).toBe(report.kills - report.killsBeforeDatabase + 1);
      expect(report.invariantChecks).toBeGreaterThanOrEqual(report.kills - report.killsBeforeHealthy + 1);
      // The kills really hit work in progress: some activity ran again after one.
      expect(report.activityReruns, "no activity ran twice: the kills never hit a leased activity").toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it("slow clients are cut off within the HTTP server's configured timeouts", async () => {
    // The configured values, read from a server built by the same code.
    const local = await createWorkflowd({});
    await local.app.listen({ port: 0, host: "127.0.0.1" });
    const { requestTimeout, headersTimeout, keepAliveTimeout, timeout: idleTimeout } = local.app.server;
    // Node's own default (30 s) when unset; @types/node 20 does not declare the property.
    const connectionsCheckingInterval = (local.app.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval ?? 30_000;
    await local.app.close();
    const requestBound = Math.min(requestTimeout || Infinity, headersTimeout || Infinity) + connectionsCheckingInterval;
    expect(Number.isFinite(requestBound), "no request/headers timeout: a slow client is never cut off").toBe(true);

    const dir = mkdtempSync(join(tmpdir(), "workflowd-slow-"));
    const server = await Server.spawn({ env: { WORKFLOWD_DB: join(dir, "slow.db"), WORKFLOWD_WORKFLOWS: "none" }, label: "slow clients" });
    try {
      await server.waitHealthy();
      const began = Date.now();
      const client = (setup: (socket: Socket) => void) =>
        new Promise<{ afterMs: number; received: string }>((resolve) => {
          const socket = connect(server.port, "127.0.0.1");
          let received = "";
          socket.setEncoding("utf8").on("data", (chunk: string) => (received += chunk));
          socket.on("error", () => {});
          socket.on("close", () => resolve({ afterMs: Date.now() - began, received }));
          socket.on("connect", () => setup(socket));
        });
      const drip = (socket: Socket, text: string) => {
        let i = 0;
        const timer = setInterval(() => {
          if (socket.destroyed || i >= text.length) return clearInterval(timer);
          socket.write(text[i++]!);
        }, 2_000);
        socket.on("close", () => clearInterval(timer));
      };
      const [headers, body, silent, keptAlive] = await Promise.all([
        client((s) => {
          s.write("GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n");
          drip(s, `X-Slow: ${"a".repeat(300)}\r\n\r\n`);
        }),
        client((s) => {
          s.write("POST /v1.0/workflows/dapr/x/raiseEvent/e HTTP/1.1\r\nHost: x\r\nContent-Length: 300\r\n\r\n");
          drip(s, "b".repeat(300));
        }),
        client(() => {}),
        client((s) => s.write("GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n")),
      ]);
      const margin = 5_000;
      console.info(
        `slow clients (server: requestTimeout ${requestTimeout} ms, headersTimeout ${headersTimeout} ms, keepAliveTimeout ${keepAliveTimeout} ms, ` +
        `socket idle timeout ${idleTimeout} ms, checked every ${connectionsCheckingInterval} ms): headers byte by byte cut after ${headers.afterMs} ms, ` +
        `body byte by byte after ${body.afterMs} ms, silent connection after ${silent.afterMs} ms, idle keep-alive after ${keptAlive.afterMs} ms`,
      );
      expect(headers.afterMs, "a client dripping its headers").toBeLessThanOrEqual(requestBound + margin);
      expect(headers.received, "the dripping client was never answered").toMatch(/^HTTP\/1\.1 408/);
      expect(body.afterMs, "a client dripping its body").toBeLessThanOrEqual(requestBound + margin);
      expect(silent.afterMs, "a connection that sends nothing").toBeLessThanOrEqual(Math.min(requestBound, idleTimeout || Infinity) + margin);
      expect(keptAlive.received).toMatch(/^HTTP\/1\.1 204/);
      // Between requests Node times a kept-alive socket out by keepAliveTimeout alone.
      expect(keptAlive.afterMs, "an idle kept-alive connection").toBeLessThanOrEqual(keepAliveTimeout + margin);
    } finally {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
