/**
 * ReconnectPrimer: the first worker stream of each connection is ended once, and no more
 * than `perHostMax` times per host within the window, so a proxy that opens a fresh
 * connection every time cannot lock an app out.
 */
import { describe, expect, it } from "vitest";
import { ReconnectPrimer } from "../../src/grpc/reconnect-primer.js";

describe("ReconnectPrimer", () => {
  it("ends only the first stream of each connection", () => {
    const primer = new ReconnectPrimer(() => 0);
    expect(primer.shouldEnd("ipv4:127.0.0.1:50000")).toBe(true);
    expect(primer.shouldEnd("ipv4:127.0.0.1:50000")).toBe(false);
    expect(primer.shouldEnd("ipv4:127.0.0.1:50001")).toBe(true);
  });

  it("primes a host at most perHostMax times per window, then again after the window", () => {
    let now = 0;
    const primer = new ReconnectPrimer(() => now, 2, 60_000);
    expect(primer.shouldEnd("ipv4:10.0.0.1:1")).toBe(true);
    expect(primer.shouldEnd("ipv4:10.0.0.1:2")).toBe(true);
    expect(primer.shouldEnd("ipv4:10.0.0.1:3")).toBe(false);
    expect(primer.shouldEnd("ipv4:10.0.0.2:1")).toBe(true);
    now = 60_000;
    expect(primer.shouldEnd("ipv4:10.0.0.1:4")).toBe(true);
  });
});
