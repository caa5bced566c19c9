/**
 * Works around a flaw of the Dapr Node SDK's worker (`@dapr/dapr` 3.18,
 * `task-hub-grpc-worker.js`, `internalRunWorker`): an error on its FIRST GetWorkItems stream
 * is fatal. It retries only once a stream has ended cleanly; so if the sidecar crashes while
 * that first stream is open, the app's worker stops for good and its workflows wait
 * forever, whatever the sidecar does after it restarts.
 *
 * So the first stream of each connection from that SDK (known by the user agent it sets,
 * `dapr-js-sdk/...`) is ended cleanly once, and then the SDK reconnects after any failure.
 * Without a toll on the connection: the stream serves work from the start, and is ended
 * only once it has been idle for `idleMs` (or `latestMs` after it opened, if the app is busy
 * all along), after being retired so that the items the SDK already holds are still
 * answered. The SDK reconnects 1–1.5 s later; work for it meanwhile waits in workflowd.
 * Until then (at most `latestMs`) a crash of workflowd still stops that app's worker. No other SDK is touched:
 * `@dapr/durabletask-js` sleeps 5 s after a stream ends, and the Python, Go, .NET and Java
 * SDKs retry after any error anyway.
 *
 * A connection is known by its peer address; to rule out a loop (a proxy that opens a new
 * connection each time), an address is primed at most `perHostMax` times within `windowMs`.
 */
export interface PrimerOptions {
  idleMs: number;
  latestMs: number;
  perHostMax: number;
  windowMs: number;
  peersRememberedMax: number;
}

export const primerDefaults: PrimerOptions = { idleMs: 500, latestMs: 10_000, perHostMax: 3, windowMs: 60_000, peersRememberedMax: 10_000 };

/** The SDK whose worker gives up after an error on its first stream. */
const flawedUserAgent = /(^|\s)dapr-js-sdk\//;

export class ReconnectPrimer {
  private readonly primedPeers = new Set<string>();
  private readonly recentByHost = new Map<string, number[]>();
  readonly options: PrimerOptions;

  constructor(private readonly clock: () => number, options: Partial<PrimerOptions> = {}) {
    this.options = { ...primerDefaults, ...options };
  }

  /** True when this stream is to be ended once idle: the first from this connection of the flawed SDK. */
  shouldPrime(peer: string, userAgent: string | undefined): boolean {
    if (!userAgent || !flawedUserAgent.test(userAgent)) return false;
    if (this.primedPeers.has(peer)) return false;
    const host = peer.replace(/:\d+$/, "");
    const now = this.clock();
    const recent = (this.recentByHost.get(host) ?? []).filter((at) => now - at < this.options.windowMs);
    if (recent.length >= this.options.perHostMax) {
      this.recentByHost.set(host, recent);
      return false;
    }
    recent.push(now);
    this.recentByHost.set(host, recent);
    this.primedPeers.add(peer);
    if (this.primedPeers.size > this.options.peersRememberedMax) {
      this.primedPeers.delete(this.primedPeers.values().next().value as string);
    }
    return true;
  }

  /** Whether a primed stream opened at `openedAt` and idle since `idleSince` (undefined: busy) is to be ended now. */
  dueNow(openedAt: number, idleSince: number | undefined): boolean {
    const now = this.clock();
    if (now - openedAt >= this.options.latestMs) return true;
    return idleSince !== undefined && now - Math.max(idleSince, openedAt) >= this.options.idleMs;
  }
}
