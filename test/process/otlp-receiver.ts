/**
 * A real OTLP trace receiver for the tracing tests: OTLP/HTTP (POST /v1/traces, protobuf) and
 * OTLP/gRPC (opentelemetry.proto.collector.trace.v1.TraceService/Export), decoding what it gets
 * with the OpenTelemetry protocol's own proto files (test/fixtures/otlp-proto), as a collector
 * would. It keeps every span it received, flattened.
 */
import { createServer, type Server as HttpServer } from "node:http";
import { fileURLToPath } from "node:url";
import { loadPackageDefinition, Server as GrpcServer, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import protobuf from "protobufjs";

const protoRoot = fileURLToPath(new URL("../fixtures/otlp-proto/", import.meta.url));
const serviceProto = "opentelemetry/proto/collector/trace/v1/trace_service.proto";

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  serviceName: string;
}

const loadRoot = (): protobuf.Root => {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("/") ? target : `${protoRoot}${target}`);
  return root.loadSync(serviceProto, { keepCase: false });
};

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests received (export calls), by transport. */
  readonly requests = { http: 0, grpc: 0 };
  private readonly requestType = loadRoot().lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
  private http: HttpServer | undefined;
  private grpc: GrpcServer | undefined;

  /** Listens for OTLP/HTTP on a free port; resolves to the port. */
  async listenHttp(): Promise<number> {
    this.http = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        if (request.method !== "POST" || request.url !== "/v1/traces") {
          response.writeHead(404).end();
          return;
        }
        this.requests.http++;
        this.take(this.requestType.toObject(this.requestType.decode(Buffer.concat(chunks)), { longs: String, bytes: Buffer }));
        response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      });
    });
    await new Promise<void>((resolve) => this.http!.listen(0, "127.0.0.1", resolve));
    return (this.http.address() as { port: number }).port;
  }

  /** Listens for OTLP/gRPC on a free port; resolves to the port. */
  async listenGrpc(): Promise<number> {
    const definition = loadPackageDefinition(loadSync(serviceProto, { includeDirs: [protoRoot], longs: String, keepCase: false, defaults: false }));
    const service = (definition as any).opentelemetry.proto.collector.trace.v1.TraceService.service as ServiceDefinition;
    this.grpc = new GrpcServer();
    this.grpc.addService(service, {
      Export: (call: { request: any }, callback: (error: null, response: object) => void) => {
        this.requests.grpc++;
        this.take(call.request);
        callback(null, {});
      },
    });
    return new Promise((resolve, reject) => {
      this.grpc!.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
    });
  }

  async close(): Promise<void> {
    if (this.http) await new Promise((resolve) => this.http!.close(resolve));
    this.grpc?.forceShutdown();
  }

  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  private take(request: any): void {
    for (const resourceSpans of request.resourceSpans ?? []) {
      const serviceName = String(attributesOf(resourceSpans.resource?.attributes)["service.name"] ?? "");
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spans.push({
            traceId: hex(span.traceId),
            spanId: hex(span.spanId),
            parentSpanId: hex(span.parentSpanId),
            name: span.name,
            kind: kindNumber(span.kind),
            startMs: Number(BigInt(span.startTimeUnixNano ?? 0) / 1_000_000n),
            endMs: Number(BigInt(span.endTimeUnixNano ?? 0) / 1_000_000n),
            attributes: attributesOf(span.attributes),
            statusCode: statusNumber(span.status?.code),
            statusMessage: span.status?.message ?? "",
            serviceName,
          });
        }
      }
    }
  }
}

function hex(bytes: Buffer | Uint8Array | undefined): string {
  return bytes && bytes.length > 0 ? Buffer.from(bytes).toString("hex") : "";
}

const kinds = ["SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER"];
function kindNumber(kind: unknown): number {
  return typeof kind === "number" ? kind : Math.max(0, kinds.indexOf(String(kind)));
}

const statuses = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];
function statusNumber(code: unknown): number {
  return typeof code === "number" ? code : Math.max(0, statuses.indexOf(String(code ?? "")));
}

function attributesOf(list: any[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (!value) continue;
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.boolValue ?? value.doubleValue;
  }
  return out;
}
