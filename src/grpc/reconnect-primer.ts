/**
 * Works around a flaw of the Dapr Node SDK's worker (`@dapr/dapr` 3.18,
 * `task-hub-grpc-worker.js`, `internalRunWorker`): an error on its FIRST GetWorkItems stream
 * is fatal. It retries only once a stream has ended cleanly; so if the sidecar crashes while
 * that first stream is open, the app's worker stops for good and its workflows wait
 * forever, whatever the sidecar does after it restarts.
 *
 * So the first stream of each new client connection is ended cleanly at once. The SDK logs
 * "Stream abruptly closed, will retry the connection...", waits 1–1.5 s, opens a new stream
 * on the same connection, and from then on reconnects after any failure. Cost: about a
 * second at app start-up. A connection is known by its peer address; to rule out a loop
 * (a proxy that opens a new connection each time), an address is primed at most
 * `perHostMax` times within `windowMs`.
 */
export class ReconnectPrimer {
  private readonly primedPeers = new Set<string>();
  private readonly recentByHost = new Map<string, number[]>();

  constructor(
    private readonly clock: () => number,
    private readonly perHostMax = 3,
    private readonly windowMs = 60_000,
    private readonly peersRememberedMax = 10_000,
  ) {}

  /** True when this stream should be ended now (the first from this connection). */
  shouldEnd(peer: string): boolean {
    if (this.primedPeers.has(peer)) return false;
    const host = peer.replace(/:\d+$/, "");
    const now = this.clock();
    const recent = (this.recentByHost.get(host) ?? []).filter((at) => now - at < this.windowMs);
    if (recent.length >= this.perHostMax) {
      this.recentByHost.set(host, recent);
      return false;
    }
    recent.push(now);
    this.recentByHost.set(host, recent);
    this.primedPeers.add(peer);
    if (this.primedPeers.size > this.peersRememberedMax) {
      this.primedPeers.delete(this.primedPeers.values().next().value as string);
    }
    return true;
  }
}
