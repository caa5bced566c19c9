/**
 * A test client of the CURRENT durabletask protocol, generated at run time from the vendored
 * proto (`proto/`), that behaves like today's Python and Go SDKs: it announces capabilities on
 * GetWorkItems, echoes each work item's completionToken, completes turns with
 * CompleteWorkflowTask (or the older CompleteOrchestratorTask), reports a workflow version,
 * sends taskExecutionIds and exact Timestamps. The tests script each turn explicitly, so they
 * can check what the SDKs rely on byte for byte.
 */
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { loaderOptions, protoFile } from "../../src/protocol/proto.js";
import { eventually } from "../process/harness.js";

const definition = loadPackageDefinition(loadSync(protoFile, loaderOptions));
const Service = definition.TaskHubSidecarService as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
  options: object,
) => Client;

export type CurrentClient = Client & Record<string, any>;

export function currentClient(grpcPort: number): CurrentClient {
  return new Service(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), {
    "grpc.primary_user_agent": "grpc-python/1.66 (test client)",
  }) as CurrentClient;
}

/** A unary call of the current proto; rejects with the ServiceError. */
export function rpc<T = any>(client: CurrentClient, method: string, request: object, deadlineMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, new Metadata(), { deadline: Date.now() + deadlineMs }, (error: ServiceError | null, response: T) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}

/** WORKER_CAPABILITY_STATEFUL_HISTORY */
export const STATEFUL_HISTORY = 2;

/** One GetWorkItems stream, collecting work items as they arrive. */
export class WorkStream {
  readonly items: any[] = [];
  ended = false;
  error: ServiceError | undefined;
  private readonly stream: any;
  private taken = 0;

  constructor(client: CurrentClient, capabilities: number[] = []) {
    this.stream = client.GetWorkItems({ capabilities }, new Metadata());
    this.stream.on("data", (item: any) => this.items.push(item));
    this.stream.on("error", (error: ServiceError) => (this.error = error));
    this.stream.on("end", () => (this.ended = true));
  }

  /** The next work item not taken yet. */
  async next(timeoutMs = 10_000): Promise<any> {
    const item = await eventually("a work item", () => {
      if (this.error) throw new Error(`stream failed: ${this.error.message}`);
      return this.items[this.taken] ?? `${this.items.length} item(s), ${this.taken} taken`;
    }, timeoutMs, 10);
    this.taken++;
    return item;
  }

  /** True when no further item arrives within `ms`. */
  async quiet(ms: number): Promise<boolean> {
    const before = this.items.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.items.length === before;
  }

  cancel(): void {
    this.stream.cancel();
  }
}

/** Seconds + nanos of a Timestamp as the wire carries them. */
export const ts = (seconds: number, nanos = 0) => ({ seconds, nanos });

/** The member set in a history event (the oneof's virtual field). */
export const kindOf = (event: any): string => event.eventType;
