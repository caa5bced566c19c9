/**
 * ReconnectPrimer, with an injected clock: only the `@dapr/dapr` SDK (user agent
 * `dapr-js-sdk/...`) is primed, the first worker stream of each connection once, and no
 * more than `perHostMax` times per host within the window, so a proxy that opens a fresh
 * connection every time cannot lock an app out; a primed stream is due once it has been
 * idle for `idleMs`, or `latestMs` after it opened however busy it is.
 */
import { describe, expect, it } from "vitest";
import { primerDefaults, ReconnectPrimer } from "../../src/grpc/reconnect-primer.js";

// What @dapr/dapr 3.18 sends (grpc-js appends its own agent after the primary one).
const daprJs = "dapr-js-sdk/workflow grpc-node-js/1.14.3";

describe("ReconnectPrimer.shouldPrime", () => {
  it("primes only the @dapr/dapr SDK's user agent", () => {
    const primer = new ReconnectPrimer(() => 0, { perHostMax: 100 });
    expect(primer.shouldPrime("ipv4:127.0.0.1:1", daprJs)).toBe(true);
    expect(primer.shouldPrime("ipv4:127.0.0.1:2", "grpc-node-js/1.14.3 dapr-js-sdk/3.18.0")).toBe(true);
    // @dapr/durabletask-js reconnects by itself; other SDKs retry after any error.
    expect(primer.shouldPrime("ipv4:127.0.0.1:3", "durabletask-js grpc-node-js/1.14.3")).toBe(false);
    expect(primer.shouldPrime("ipv4:127.0.0.1:4", "grpc-python/1.66.1 grpc-c/43.0.0 (linux; chttp2)")).toBe(false);
    expect(primer.shouldPrime("ipv4:127.0.0.1:5", "grpc-go/1.67.1")).toBe(false);
    // The name must start a token and be followed by a slash.
    expect(primer.shouldPrime("ipv4:127.0.0.1:6", "my-dapr-js-sdk/1.0")).toBe(false);
    expect(primer.shouldPrime("ipv4:127.0.0.1:7", "dapr-js-sdk")).toBe(false);
    expect(primer.shouldPrime("ipv4:127.0.0.1:8", "")).toBe(false);
    expect(primer.shouldPrime("ipv4:127.0.0.1:9", undefined)).toBe(false);
  });

  it("primes only the first stream of each connection", () => {
    const primer = new ReconnectPrimer(() => 0);
    expect(primer.shouldPrime("ipv4:127.0.0.1:50000", daprJs)).toBe(true);
    expect(primer.shouldPrime("ipv4:127.0.0.1:50000", daprJs)).toBe(false);
    expect(primer.shouldPrime("ipv4:127.0.0.1:50001", daprJs)).toBe(true);
  });

  it("another SDK's stream neither is primed nor uses up the connection or the host's budget", () => {
    const primer = new ReconnectPrimer(() => 0, { perHostMax: 1 });
    for (let i = 0; i < 3; i++) expect(primer.shouldPrime("ipv4:10.0.0.1:1", "grpc-go/1.67.1")).toBe(false);
    expect(primer.shouldPrime("ipv4:10.0.0.1:1", daprJs)).toBe(true);
  });

  it("primes a host at most perHostMax times per window, then again as the window slides", () => {
    let now = 0;
    const primer = new ReconnectPrimer(() => now, { perHostMax: 2, windowMs: 60_000 });
    expect(primer.shouldPrime("ipv4:10.0.0.1:1", daprJs)).toBe(true);
    now = 10_000;
    expect(primer.shouldPrime("ipv4:10.0.0.1:2", daprJs)).toBe(true);
    expect(primer.shouldPrime("ipv4:10.0.0.1:3", daprJs)).toBe(false);
    // Another host has its own budget.
    expect(primer.shouldPrime("ipv4:10.0.0.2:1", daprJs)).toBe(true);
    // The first priming leaves the window at 60 s: one slot again, and only one.
    now = 59_999;
    expect(primer.shouldPrime("ipv4:10.0.0.1:4", daprJs)).toBe(false);
    now = 60_000;
    expect(primer.shouldPrime("ipv4:10.0.0.1:5", daprJs)).toBe(true);
    expect(primer.shouldPrime("ipv4:10.0.0.1:6", daprJs)).toBe(false);
    // A connection refused for the budget is not marked: it may be primed once there is room.
    now = 70_000;
    expect(primer.shouldPrime("ipv4:10.0.0.1:3", daprJs)).toBe(true);
  });

  it("an IPv6 host is known by its address without the port", () => {
    const primer = new ReconnectPrimer(() => 0, { perHostMax: 1 });
    expect(primer.shouldPrime("ipv6:[::1]:40000", daprJs)).toBe(true);
    expect(primer.shouldPrime("ipv6:[::1]:40001", daprJs)).toBe(false);
    expect(primer.shouldPrime("ipv6:[::2]:40000", daprJs)).toBe(true);
  });

  it("remembers at most peersRememberedMax connections, forgetting the oldest", () => {
    const primer = new ReconnectPrimer(() => 0, { perHostMax: 100, peersRememberedMax: 2 });
    expect(primer.shouldPrime("ipv4:10.0.0.1:1", daprJs)).toBe(true);
    expect(primer.shouldPrime("ipv4:10.0.0.1:2", daprJs)).toBe(true);
    expect(primer.shouldPrime("ipv4:10.0.0.1:3", daprJs)).toBe(true);
    // :1 was forgotten; :2 and :3 are still known.
    expect(primer.shouldPrime("ipv4:10.0.0.1:2", daprJs)).toBe(false);
    expect(primer.shouldPrime("ipv4:10.0.0.1:1", daprJs)).toBe(true);
  });
});

describe("ReconnectPrimer.dueNow", () => {
  it("is due after idleMs of idleness, counted from the later of opening and the last work", () => {
    let now = 1_000;
    const primer = new ReconnectPrimer(() => now, { idleMs: 500, latestMs: 10_000 });
    const openedAt = 1_000;
    // Idle since before it opened (the worker was created first): counted from the opening.
    now = 1_499;
    expect(primer.dueNow(openedAt, 0)).toBe(false);
    now = 1_500;
    expect(primer.dueNow(openedAt, 0)).toBe(true);
    // Idle since 3 000.
    now = 3_499;
    expect(primer.dueNow(openedAt, 3_000)).toBe(false);
    now = 3_500;
    expect(primer.dueNow(openedAt, 3_000)).toBe(true);
  });

  it("a busy stream is not due until latestMs after it opened, then it is however busy", () => {
    let now = 0;
    const primer = new ReconnectPrimer(() => now, { idleMs: 500, latestMs: 10_000 });
    now = 9_999;
    expect(primer.dueNow(0, undefined)).toBe(false);
    // Idle only briefly: not yet.
    expect(primer.dueNow(0, 9_800)).toBe(false);
    now = 10_000;
    expect(primer.dueNow(0, undefined)).toBe(true);
    expect(primer.dueNow(0, 9_999)).toBe(true);
  });

  it("options left out take the defaults; those given replace them", () => {
    expect(new ReconnectPrimer(() => 0).options).toEqual(primerDefaults);
    expect(new ReconnectPrimer(() => 0, { idleMs: 123, perHostMax: 7 }).options).toEqual({ ...primerDefaults, idleMs: 123, perHostMax: 7 });
    // A stream is ended once idle well before it would be ended regardless.
    expect(primerDefaults.idleMs).toBeLessThan(primerDefaults.latestMs);
    expect(primerDefaults.perHostMax).toBeGreaterThanOrEqual(1);
  });
});
