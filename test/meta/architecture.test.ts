/**
 * The layering, checked from the imports: dependencies point inward (api and grpc →
 * protocol → orchestration → engine and store; the engine does no I/O), and there are no import cycles.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const src = join(root, "src");

function sourceFiles(dir: string, extensions: readonly string[] = [".ts"]): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path, extensions);
    return extensions.some((e) => entry.name.endsWith(e)) ? [path] : [];
  });
}

interface Import {
  specifier: string;
  typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const found: Import[] = [];
  for (const match of text.matchAll(/^\s*(import|export)(\s+type)?[^'"]*?from\s+["']([^"']+)["']/gm)) {
    found.push({ specifier: match[3]!, typeOnly: Boolean(match[2]) });
  }
  for (const match of text.matchAll(/^\s*import\s+["']([^"']+)["']/gm)) found.push({ specifier: match[1]!, typeOnly: false });
  // Dynamic imports (main.ts loads the server's modules only when it runs the server).
  for (const match of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) found.push({ specifier: match[1]!, typeOnly: false });
  return found;
}

/** The layer of a file under src/: its first directory, or the file name for top-level files. */
function layerOf(file: string): string {
  const rel = relative(src, file).split("/");
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, "");
}

function resolveLocal(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  return resolve(dirname(from), specifier).replace(/\.js$/, ".ts");
}

const files = sourceFiles(src);

/** Which layers each layer may import from (besides itself). */
const allowed: Record<string, string[]> = {
  engine: [],
  store: ["engine"],
  orchestration: ["engine", "store", "limits"],
  runtime: ["engine", "orchestration"],
  // The durabletask wire model (the vendored proto, conversions to and from its messages),
  // shared by both transports: gRPC speaks it, the HTTP history route shows it as JSON.
  protocol: ["orchestration", "engine"],
  api: ["orchestration", "engine", "protocol", "limits", "token"],
  grpc: ["orchestration", "engine", "protocol", "limits", "token"],
  // The command-line client talks to a server over HTTP only; it reads the server's flag
  // table for its help text.
  cli: ["config", "version"],
  token: [],
  limits: [],
  version: [],
  config: ["limits", "dapr-configuration", "command-line"],
  // daprd's command-line syntax and flag tables; pure parsing.
  "command-line": [],
  // Reads a Dapr Configuration resource (retention policy, tracing, metrics); pure parsing.
  "dapr-configuration": [],
  app: ["api", "grpc", "metrics", "orchestration", "runtime", "store", "tracing", "dapr-configuration", "limits", "version"],
  metrics: ["orchestration"],
  // OpenTelemetry behind the orchestration layer's tracer interface, configured from spec.tracing.
  tracing: ["orchestration", "engine", "dapr-configuration"],
  index: ["app", "runtime", "engine"],
  // The backup command opens the store directly: it runs no engine and no server.
  backup: ["config", "limits", "store"],
  main: ["app", "backup", "cli", "config", "dapr-configuration", "runtime", "version"],
};

describe("architecture", () => {
  it("knows the layer of every source file", () => {
    for (const file of files) expect(Object.keys(allowed), relative(root, file)).toContain(layerOf(file));
  });

  it.each(files.map((f) => [relative(root, f), f]))("%s imports only from layers it may depend on", (_name, file) => {
    const layer = layerOf(file);
    for (const { specifier } of importsOf(file)) {
      const target = resolveLocal(file, specifier);
      if (!target) continue;
      const targetLayer = layerOf(target);
      if (targetLayer === layer) continue;
      expect(allowed[layer], `${relative(root, file)} imports ${specifier} (${targetLayer})`).toContain(targetLayer);
    }
  });

  it("keeps the engine pure: no node built-ins, no I/O libraries, no clock or randomness", () => {
    for (const file of files.filter((f) => layerOf(f) === "engine")) {
      const text = readFileSync(file, "utf8");
      for (const { specifier } of importsOf(file)) {
        expect(specifier.startsWith("."), `${relative(root, file)} imports ${specifier}`).toBe(true);
      }
      expect(text, relative(root, file)).not.toMatch(/Date\.now\(|new Date\(\)|Math\.random\(|randomUUID|process\./);
    }
  });

  it("keeps OpenTelemetry inside src/tracing (the rest sees the orchestration layer's tracer interface)", () => {
    for (const file of files.filter((f) => layerOf(f) !== "tracing")) {
      for (const { specifier } of importsOf(file)) expect(specifier, relative(root, file)).not.toMatch(/^@opentelemetry\//);
    }
  });

  it("lets the rest see the store only through its interface (store/store.ts); only the composition roots construct one", () => {
    const roots = new Set(["app.ts", "backup.ts"].map((f) => join(src, f)));
    for (const file of files.filter((f) => layerOf(f) !== "store" && !roots.has(f))) {
      for (const { specifier } of importsOf(file)) {
        const target = resolveLocal(file, specifier);
        if (target && layerOf(target) === "store") expect(relative(src, target), relative(root, file)).toBe("store/store.ts");
      }
    }
  });

  it("keeps the web console a client of the public HTTP API: it imports nothing from src/", () => {
    const consoleFiles = sourceFiles(join(root, "console", "src"), [".ts", ".tsx"]);
    expect(consoleFiles.length).toBeGreaterThan(0);
    for (const file of consoleFiles) {
      for (const { specifier } of importsOf(file)) {
        expect(specifier.startsWith(".") ? resolve(dirname(file), specifier) : specifier, relative(root, file)).not.toContain(`${root}/src`);
      }
    }
  });

  it("has no import cycles", () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).flatMap(({ specifier }) => resolveLocal(f, specifier) ?? [])]));
    const state = new Map<string, "visiting" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(src, f)).join(" → "));
        return;
      }
      state.set(file, "visiting");
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
