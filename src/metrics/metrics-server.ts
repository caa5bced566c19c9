/**
 * Serves `GET /metrics` in the Prometheus text format on its own port (DAPR_METRICS_PORT,
 * 9090 by default, as daprd), apart from the API so it needs no API token and its traffic
 * does not count as API requests.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export class MetricsServer {
  private readonly server: Server;

  constructor(registry: Registry) {
    this.server = createServer((request, response) => {
      const path = (request.url ?? "").split("?")[0];
      if (path !== "/metrics") {
        response.writeHead(404, { "content-type": "text/plain" }).end("not found; metrics are at /metrics\n");
        return;
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
        return;
      }
      registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": registry.contentType }).end(request.method === "HEAD" ? undefined : text),
        (error: unknown) => response.writeHead(500, { "content-type": "text/plain" }).end(`could not collect metrics: ${(error as Error).message}\n`),
      );
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", (error) => reject(new Error(`metrics port ${port}: ${error.message}`)));
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // A scraper's idle keep-alive connection must not hold the shutdown.
      this.server.closeAllConnections();
    });
  }
}
