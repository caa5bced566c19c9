/**
 * The Dockerfile, .dockerignore and deploy/ examples held to the repository. No Docker engine
 * runs here, so this file checks what can be read (every COPY source exists and reaches the
 * build context, the CMD is what the build produces, ports and the database path are the
 * code's defaults, the user is not root) and then replays the build and run steps without
 * Docker (scripts/replay-dockerfile.mjs): the stages are built in an empty temporary folder
 * with the local Node, the CMD is started with the image's ENV, and the API must answer.
 * A file the image forgets to copy fails here.
 *
 * The replay really runs `npm ci`, compiles better-sqlite3 from source and runs the
 * TypeScript build (about 70 s on the 2-core CI machine); the mutation tests below reuse that
 * build stage, as Docker's cache would, and rebuild only the runtime stage.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import {
  imageEnv,
  parseDockerfile,
  readDockerfile,
  readDockerignore,
  replayBuild,
  repoRoot,
  runHealthcheck,
  startImage,
  testPorts,
} from "../../scripts/replay-dockerfile.mjs";
import { loadConfig } from "../../src/config.js";
import { limits } from "../../src/limits.js";

type Instruction = ReturnType<typeof readDockerfile>["stages"][number]["instructions"][number];
type Stage = ReturnType<typeof readDockerfile>["stages"][number];

const dockerfileText = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
const dockerfile = readDockerfile();
const dockerignore = readDockerignore();
const packageJson = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const outDir = (JSON.parse(readFileSync(join(repoRoot, "tsconfig.json"), "utf8")) as { compilerOptions: { outDir: string } }).compilerOptions.outDir;
const defaults = loadConfig([], {});
const finalStage = dockerfile.stages.at(-1)!;

function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

function only(stage: Stage, keyword: string): Instruction {
  const found = all(stage, keyword);
  expect(found, `${keyword} in stage ${stage.name}`).toHaveLength(1);
  return found[0]!;
}

/** The container paths a stage's COPY instructions write (destination, or destination/name). */
function copiedInto(stage: Stage): string[] {
  let workdir = "/";
  const paths: string[] = [];
  for (const instruction of stage.instructions) {
    if (instruction.keyword === "WORKDIR") workdir = posix.resolve(workdir, instruction.text);
    if (instruction.keyword !== "COPY") continue;
    const words = instruction.exec ?? instruction.args;
    const destination = posix.resolve(workdir, words.at(-1)!);
    const sources = words.slice(0, -1);
    for (const source of sources) {
      paths.push(words.at(-1)!.endsWith("/") || sources.length > 1 ? posix.join(destination, posix.basename(source)) : destination);
    }
  }
  return paths;
}

function workdirOf(stage: Stage): string {
  return all(stage, "WORKDIR").reduce((dir, i) => posix.resolve(dir, i.text), "/");
}

const numericUser = /^(\d+)(?::(\d+))?$/;

describe("Dockerfile", () => {
  it("builds in stages on one Node LTS slim image (the addon compiled in the build stage must match the runtime's Node)", () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const images = new Set(dockerfile.stages.map((s) => s.image));
    expect([...images], "every stage on the same base image").toHaveLength(1);
    const match = /^node:(\d+)-slim$/.exec(finalStage.image);
    expect(match, finalStage.image).not.toBeNull();
    const major = Number(match![1]);
    expect(major % 2, "an LTS line (even major)").toBe(0);
    expect(major).toBeGreaterThanOrEqual(Number(/\d+/.exec(packageJson.engines.node)![0]));
  });

  it("copies from the build context only files the repository has, that .dockerignore lets through", () => {
    const fromContext = dockerfile.stages.flatMap((stage) => all(stage, "COPY").filter((i) => !i.flags.from));
    expect(fromContext.length).toBeGreaterThan(0);
    const tracked = existsSync(join(repoRoot, ".git"))
      ? new Set(execFileSync("git", ["ls-files"], { cwd: repoRoot, encoding: "utf8" }).split("\n"))
      : undefined;
    for (const copy of fromContext) {
      for (const source of (copy.exec ?? copy.args).slice(0, -1)) {
        const where = `line ${copy.line}: COPY ${source}`;
        expect(existsSync(join(repoRoot, source)), `${where}: exists`).toBe(true);
        expect(dockerignore.isIgnored(posix.normalize(source)), `${where}: excluded by .dockerignore`).toBe(false);
        // In a clean clone (CI) only committed files exist.
        if (tracked) expect([...tracked].some((f) => f === source || f.startsWith(`${source}/`)), `${where}: tracked by git`).toBe(true);
      }
    }
  });

  it("copies from an earlier stage only what that stage copied in or its RUN steps produce", () => {
    for (const [index, stage] of dockerfile.stages.entries()) {
      for (const copy of all(stage, "COPY").filter((i) => i.flags.from)) {
        const from = dockerfile.stages.slice(0, index).find((s) => s.name === copy.flags.from);
        expect(from, `line ${copy.line}: --from=${copy.flags.from} is an earlier stage`).toBeDefined();
        const runs = all(from!, "RUN").map((r) => r.text);
        const workdir = workdirOf(from!);
        const produced = new Set(copiedInto(from!));
        // node_modules comes from `npm ci`, the compiled output from `npm run build` (tsc's outDir).
        if (runs.some((r) => /\bnpm ci\b/.test(r))) produced.add(posix.join(workdir, "node_modules"));
        if (runs.some((r) => /\bnpm run build\b/.test(r)) && packageJson.scripts.build?.startsWith("tsc")) produced.add(posix.join(workdir, outDir));
        for (const source of (copy.exec ?? copy.args).slice(0, -1)) {
          expect([...produced], `line ${copy.line}: ${source} from stage ${from!.name}`).toContain(posix.resolve("/", source));
        }
      }
    }
  });

  it("runs what `npm run build` produces, as `npm start` does but without the examples, in exec form so SIGTERM reaches Node", () => {
    const cmd = only(finalStage, "CMD");
    expect(cmd.exec, "exec-form CMD").toBeDefined();
    const [program, entry, ...rest] = cmd.exec!;
    expect(program).toBe("node");
    expect(rest).toEqual([]);
    // npm start adds only the examples as its default workflows; the image runs none unless asked.
    expect(`node ${entry} --default-workflows examples`).toBe(packageJson.scripts.start);
    expect(packageJson.bin.workflowd).toBe(entry);
    expect(entry!.startsWith(`${outDir}/`), `${entry} is under tsconfig's outDir`).toBe(true);
    expect(existsSync(join(repoRoot, entry!)), `${entry} exists after npm run build`).toBe(true);
    expect(existsSync(join(repoRoot, entry!.slice(outDir.length + 1).replace(/\.js$/, ".ts"))), "its source").toBe(true);
    expect(all(finalStage, "ENTRYPOINT")).toEqual([]);
  });

  it("exposes exactly the ports workflowd listens on by default (HTTP, gRPC, metrics)", () => {
    const exposed = all(finalStage, "EXPOSE").flatMap((i) => i.args).map((p) => Number(p.replace(/\/tcp$/, "")));
    expect(exposed.sort()).toEqual([defaults.port, defaults.grpcPort, defaults.metricsPort].sort());
    expect([defaults.port, defaults.grpcPort, defaults.metricsPort]).toEqual([3500, 50001, 9090]);
  });

  it("keeps the database on the volume, in a folder the image's user owns", () => {
    const env = Object.fromEntries(all(finalStage, "ENV").flatMap((i) => i.properties));
    const dbPath = env.WORKFLOWD_DB;
    expect(dbPath).toBeDefined();
    expect(loadConfig([], { WORKFLOWD_DB: dbPath }).dbPath, "the variable the code reads").toBe(dbPath);
    const volumes = all(finalStage, "VOLUME").flatMap((i) => i.exec ?? i.args);
    expect(volumes).toContain(posix.dirname(dbPath!));
    const [, uid, gid] = numericUser.exec(only(finalStage, "USER").text) ?? [];
    const chowns = all(finalStage, "RUN").filter((r) => r.text.includes(`chown ${uid}:${gid ?? uid} ${posix.dirname(dbPath!)}`));
    expect(chowns, "the volume's folder is chowned to the USER before VOLUME").toHaveLength(1);
    expect(chowns[0]!.line).toBeLessThan(all(finalStage, "VOLUME")[0]!.line);
  });

  it("runs as a non-root, numeric user (Kubernetes' runAsNonRoot can only verify a number)", () => {
    const user = only(finalStage, "USER").text;
    const ids = numericUser.exec(user);
    expect(ids, `USER ${user}`).not.toBeNull();
    expect(Number(ids![1])).toBeGreaterThan(0);
    expect(Number(ids![2] ?? ids![1])).toBeGreaterThan(0);
  });

  it("checks health with Node (slim images have no curl) against /v1.0/healthz on the HTTP port", () => {
    const healthcheck = only(finalStage, "HEALTHCHECK");
    const command = /^CMD\s+(.*)$/s.exec(healthcheck.text)?.[1];
    const exec = JSON.parse(command ?? "null") as string[] | null;
    expect(exec?.[0]).toBe("node");
    const script = exec!.join(" ");
    expect(script).toContain("/v1.0/healthz");
    expect(script).toContain("127.0.0.1");
    // It follows DAPR_HTTP_PORT when the port is changed, and defaults to the code's default.
    expect(script).toContain("process.env.DAPR_HTTP_PORT");
    expect(script).toContain(String(defaults.port));
    expect(Object.keys(healthcheck.flags)).toEqual(expect.arrayContaining(["interval", "timeout", "retries"]));
  });

  it("keeps local state and the host's build out of the context (.dockerignore)", () => {
    for (const path of [".git/HEAD", "node_modules/fastify/package.json", "dist/src/main.js", "data/workflowd.db", "workflowd.db", "sub/dir/x.db-wal"]) {
      expect(dockerignore.isIgnored(path), path).toBe(true);
    }
    for (const path of ["package.json", "package-lock.json", "tsconfig.json", "src/main.ts", "examples/index.ts"]) {
      expect(dockerignore.isIgnored(path), path).toBe(false);
    }
  });
});

describe("deploy/", () => {
  it("docker-compose.yaml: workflowd shares the app's network namespace and keeps /data on a named volume", () => {
    const compose = parse(readFileSync(join(repoRoot, "deploy/docker-compose.yaml"), "utf8")) as Record<string, any>;
    const workflowd = compose.services.workflowd;
    const appName = /^service:(.+)$/.exec(workflowd.network_mode)?.[1];
    expect(appName, "network_mode: service:<app>").toBeDefined();
    const app = compose.services[appName!];
    expect(app, `service ${appName}`).toBeDefined();
    expect(existsSync(join(repoRoot, "deploy", workflowd.build.context, workflowd.build.dockerfile ?? "Dockerfile"))).toBe(true);
    const [volume, mountPoint] = (workflowd.volumes as string[])[0]!.split(":");
    expect(mountPoint).toBe(posix.dirname(Object.fromEntries(all(finalStage, "ENV").flatMap((i) => i.properties)).WORKFLOWD_DB!));
    expect(Object.keys(compose.volumes)).toContain(volume);
    // Ports belong to the namespace's owner: they are published on the app.
    const published = (app.ports as string[]).map((p) => Number(p.split(":").at(-1)));
    expect(published.sort()).toEqual([defaults.port, defaults.grpcPort, defaults.metricsPort].sort());
    expect(workflowd.ports, "a service in another's namespace cannot publish ports").toBeUndefined();
    expect(Number.parseInt(workflowd.stop_grace_period, 10) * 1000).toBeGreaterThan(limits.shutdownGraceMsDefault);
    // Compose reads `$` in values as its own variables: a lone one breaks `docker compose up`.
    const strings = (value: unknown): string[] =>
      typeof value === "string" ? [value] : value && typeof value === "object" ? Object.values(value).flatMap(strings) : [];
    for (const text of strings(compose)) expect(text.replace(/\$\$/g, ""), text).not.toContain("$");
  });

  it("kubernetes.yaml: a one-replica Deployment with workflowd as a sidecar, probes, a PVC, resources and the optional token", () => {
    const documents = parseAllDocuments(readFileSync(join(repoRoot, "deploy/kubernetes.yaml"), "utf8"));
    for (const document of documents) expect(document.errors).toEqual([]);
    const objects = documents.map((d) => d.toJS() as Record<string, any>);
    const deployment = objects.find((o) => o.kind === "Deployment")!;
    expect(deployment.spec.replicas, "one workflowd per database file").toBe(1);
    expect(deployment.spec.strategy.type, "no two pods on the volume during an update").toBe("Recreate");
    const pod = deployment.spec.template.spec;
    const containers = [...(pod.initContainers ?? []), ...pod.containers];
    const workflowd = containers.find((c) => c.name === "workflowd");
    expect(workflowd).toBeDefined();
    expect(containers.length, "workflowd runs beside an app").toBeGreaterThan(1);
    if (pod.initContainers?.includes(workflowd)) expect(workflowd.restartPolicy, "a native sidecar").toBe("Always");
    for (const probe of ["livenessProbe", "readinessProbe"]) {
      expect(workflowd[probe]?.httpGet, probe).toEqual({ path: "/v1.0/healthz", port: defaults.port });
    }
    expect(workflowd.ports.map((p: { containerPort: number }) => p.containerPort).sort()).toEqual([defaults.port, defaults.grpcPort, defaults.metricsPort].sort());
    const dataMount = workflowd.volumeMounts.find((m: { mountPath: string }) => m.mountPath === "/data");
    const volume = pod.volumes.find((v: { name: string }) => v.name === dataMount?.name);
    const claim = objects.find((o) => o.kind === "PersistentVolumeClaim");
    expect(volume?.persistentVolumeClaim?.claimName).toBe(claim?.metadata.name);
    expect(workflowd.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(workflowd.resources.limits).toMatchObject({ memory: expect.any(String) });
    const token = workflowd.env.find((e: { name: string }) => e.name === "DAPR_API_TOKEN");
    expect(token?.valueFrom?.secretKeyRef).toMatchObject({ optional: true });
    const [, uid] = numericUser.exec(only(finalStage, "USER").text) ?? [];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(uid), fsGroup: expect.any(Number) });
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(limits.shutdownGraceMsDefault);
  });

  it("kubernetes-postgres.yaml: three replicas on one PostgreSQL, each naming itself by its pod, the URL from a Secret that names the Service", () => {
    const documents = parseAllDocuments(readFileSync(join(repoRoot, "deploy/kubernetes-postgres.yaml"), "utf8"));
    for (const document of documents) expect(document.errors).toEqual([]);
    const objects = documents.map((d) => d.toJS() as Record<string, any>);
    const deployment = objects.find((o) => o.kind === "Deployment")!;
    expect(deployment.spec.replicas, "several replicas share the database").toBe(3);
    const pod = deployment.spec.template.spec;
    const workflowd = [...(pod.initContainers ?? []), ...pod.containers].find((c) => c.name === "workflowd");
    const env = (name: string) => workflowd.env.find((e: { name: string }) => e.name === name);
    expect(env("WORKFLOWD_REPLICA_ID")?.valueFrom?.fieldRef?.fieldPath, "a replica ID stable across restarts, distinct between pods").toBe("metadata.name");
    const secretRef = env("WORKFLOWD_DB")?.valueFrom?.secretKeyRef;
    const secret = objects.find((o) => o.kind === "Secret" && o.metadata.name === secretRef?.name);
    const url = new URL(secret?.stringData?.[secretRef?.key]);
    expect(url.protocol).toBe("postgres:");
    const service = objects.find((o) => o.kind === "Service");
    expect(url.hostname, "the URL points at the PostgreSQL Service").toBe(service?.metadata.name);
    expect(Number(url.port)).toBe(service?.spec.ports[0].port);
    const postgres = objects.find((o) => o.kind === "StatefulSet")!.spec.template.spec.containers[0];
    const pgEnv = (name: string) => postgres.env.find((e: { name: string }) => e.name === name)?.value;
    expect([pgEnv("POSTGRES_USER"), pgEnv("POSTGRES_PASSWORD"), pgEnv("POSTGRES_DB")]).toEqual([url.username, url.password, url.pathname.slice(1)]);
    for (const probe of ["livenessProbe", "readinessProbe"]) expect(workflowd[probe]?.httpGet, probe).toEqual({ path: "/v1.0/healthz", port: defaults.port });
    expect(pod.volumes.some((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim), "no volume for the database").toBe(false);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(limits.shutdownGraceMsDefault);
  });

  it("docker-compose-multi-app.yaml: two apps on one PostgreSQL, each workflowd with its own app ID and replica ID, both loading the example module that is in the repository", () => {
    const compose = parse(readFileSync(join(repoRoot, "deploy/docker-compose-multi-app.yaml"), "utf8")) as Record<string, any>;
    const apps = ["orders", "shipping"].map((name) => compose.services[name]);
    expect(apps.map((a) => a.environment.APP_ID)).toEqual(["orders", "shipping"]);
    expect(new Set(apps.map((a) => a.environment.WORKFLOWD_REPLICA_ID)).size).toBe(2);
    expect(new Set(apps.map((a) => a.image)).size, "one image for both").toBe(1);
    const url = new URL(apps[0].environment.WORKFLOWD_DB);
    expect(apps[1].environment.WORKFLOWD_DB).toBe(apps[0].environment.WORKFLOWD_DB);
    const postgres = compose.services[url.hostname];
    expect(postgres, "the URL names the PostgreSQL service").toBeDefined();
    expect([postgres.environment.POSTGRES_USER, postgres.environment.POSTGRES_PASSWORD, postgres.environment.POSTGRES_DB]).toEqual([url.username, url.password, url.pathname.slice(1)]);
    for (const a of apps) {
      expect(a.depends_on.postgres.condition).toBe("service_healthy");
      const [source, target] = (a.volumes[0] as string).split(":");
      const module = a.environment.WORKFLOWD_WORKFLOWS as string;
      expect(module.startsWith(`${target}/`)).toBe(true);
      expect(existsSync(join(repoRoot, "deploy", source!, module.slice(target!.length + 1))), module).toBe(true);
    }
    const published = apps.flatMap((a) => (a.ports as string[]).map((p) => p.split(":")[0]));
    expect(new Set(published).size, "no host port published twice").toBe(published.length);
  });
});

/** Collects a started image's output, for assertions and for the failure message. */
function watch(child: ChildProcess) {
  const output = { stdout: "", stderr: "", exit: undefined as number | null | undefined };
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output.stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve((output.exit = code))));
  return { output, exited };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** The Dockerfile's text without one line, which must be there (so a mutation is never a no-op). */
function without(line: string): string {
  expect(dockerfileText.split("\n")).toContain(line);
  return dockerfileText.split("\n").filter((l) => l !== line).join("\n");
}

describe("the Dockerfile replayed without Docker", () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const cache = new Map<string, string>();
  let image: ReturnType<typeof replayBuild>;
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "workflowd-image-"));
    dirs.push(dir);
    return dir;
  };

  beforeAll(() => {
    image = replayBuild({ workDir: tempDir(), cache });
  }, 480_000); // generous: on a loaded 2-core machine the addon alone can take 2 minutes

  afterAll(async () => {
    // Children first (one may still be writing its database), then every folder, each on its own.
    await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((child) => {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      return within(gone, 10_000, "a replayed process to die").catch(() => undefined);
    }));
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch (error) {
        console.warn(`could not remove ${dir}: ${(error as Error).message}`);
      }
    }
  }, 120_000);

  it("leaves the build output and the production dependencies in the image, and no dev dependency", () => {
    const app = join(image.root, workdirOf(finalStage));
    expect(existsSync(join(app, "dist/src/main.js"))).toBe(true);
    expect(existsSync(join(app, "dist/examples/index.js")), "the bundled examples").toBe(true);
    for (const name of Object.keys(packageJson.dependencies)) expect(existsSync(join(app, "node_modules", name, "package.json")), name).toBe(true);
    // Dev-only per the lock file: a dev dependency that a production one also needs (e.g.
    // @types/node under protobufjs) rightly stays.
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.keys(packageJson.devDependencies).filter((name) => lock.packages[`node_modules/${name}`]?.dev === true);
    expect(devOnly).toEqual(expect.arrayContaining(["typescript", "vitest"]));
    for (const name of devOnly) expect(existsSync(join(app, "node_modules", name)), `dev dependency ${name}`).toBe(false);
    expect(existsSync(join(app, "node_modules/better-sqlite3/build/Release/better_sqlite3.node")), "the compiled addon").toBe(true);
    expect(existsSync(join(app, "src")), "TypeScript sources").toBe(false);
  });

  it("starts its CMD as the image's user: the API answers, workflows run, the database is on the volume, SIGTERM exits 0", async () => {
    const ports = await testPorts();
    // The image runs no in-process workflows unless asked: the bundled examples, by name.
    const child = startImage(image, { env: { ...ports, WORKFLOWD_WORKFLOWS: "examples" } });
    children.push(child);
    const { output, exited } = watch(child);
    const base = `http://127.0.0.1:${ports.DAPR_HTTP_PORT}`;
    const dump = () => `stdout:\n${output.stdout}\nstderr:\n${output.stderr}`;

    // The image's own HEALTHCHECK decides when it is up.
    const deadline = Date.now() + 20_000;
    while (runHealthcheck(image, { env: ports }) !== 0) {
      expect(output.exit, `the CMD exited before it was healthy\n${dump()}`).toBeUndefined();
      expect(Date.now() < deadline, `not healthy within 20 s\n${dump()}`).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await fetch(`${base}/v1.0/healthz`)).status).toBe(204);

    const started = await fetch(`${base}/v1.0/workflows/dapr/hello/start?instanceID=image-1`, { method: "POST", body: JSON.stringify("Berlin") });
    expect(started.status, dump()).toBe(202);
    let state: { runtimeStatus?: string; properties?: Record<string, string> } = {};
    for (let i = 0; i < 200 && state.runtimeStatus !== "COMPLETED"; i++) {
      state = (await (await fetch(`${base}/v1.0/workflows/dapr/image-1`)).json()) as typeof state;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(state.runtimeStatus, dump()).toBe("COMPLETED");
    expect(JSON.parse(state.properties!["dapr.workflow.output"]!)).toEqual(["Hello, Tokyo!", "Hello, London!", "Hello, Berlin!"]);

    // The compose example's app, run against the image, gets a workflow through too.
    const compose = parse(readFileSync(join(repoRoot, "deploy/docker-compose.yaml"), "utf8")) as Record<string, any>;
    const [, ...appArgs] = compose.services.app.command as string[];
    const exampleApp = startImage({ ...image, cmd: { exec: ["node", ...appArgs] } }, { env: { DAPR_HTTP_PORT: ports.DAPR_HTTP_PORT } });
    children.push(exampleApp);
    const appRun = watch(exampleApp);
    const line = await within(new Promise<string>((resolve) => {
      exampleApp.stdout?.on("data", () => appRun.output.stdout.includes("\n") && resolve(appRun.output.stdout.split("\n")[0]!));
    }), 15_000, `the compose example's app to print a state (stderr: ${appRun.output.stderr})`);
    exampleApp.kill("SIGKILL");
    expect(JSON.parse(line)).toMatchObject({ workflowName: "hello" });

    const dbFile = imageEnv(image).WORKFLOWD_DB!;
    expect(dbFile.startsWith(join(image.root, "data"))).toBe(true);
    expect(existsSync(dbFile), "the database is where WORKFLOWD_DB says, on the volume").toBe(true);
    if (process.getuid?.() === 0) {
      // As root, the replay ran the CMD as the image's USER: the database is that user's.
      expect(statSync(dbFile).uid).toBe(Number(numericUser.exec(image.user!)![1]));
    }

    child.kill("SIGTERM");
    expect(await within(exited, 15_000, "exit after SIGTERM"), dump()).toBe(0);
    expect(runHealthcheck(image, { env: ports }), "HEALTHCHECK once nothing listens").not.toBe(0);
  });

  it.each([
    ["node_modules", "COPY --from=build /app/node_modules ./node_modules", /ERR_MODULE_NOT_FOUND|Cannot find (package|module)/],
    ["the compiled output", "COPY --from=build /app/dist ./dist", /Cannot find module|ERR_MODULE_NOT_FOUND/],
  ])("fails when the image misses %s (the CMD cannot start)", async (_what, line, message) => {
    const broken = replayBuild({ dockerfile: parseDockerfile(without(line)), workDir: tempDir(), cache });
    const child = startImage(broken, { env: await testPorts() });
    children.push(child);
    const { output, exited } = watch(child);
    expect(await within(exited, 15_000, "the broken image's CMD to exit")).not.toBe(0);
    expect(output.stderr).toMatch(message);
  });

  it("fails on a COPY source that .dockerignore keeps out of the context", () => {
    // In the runtime stage, so the cached build stage is reused.
    const text = dockerfileText.replace("VOLUME /data", "COPY docs ./docs\nVOLUME /data");
    expect(text).not.toBe(dockerfileText);
    expect(() => replayBuild({ dockerfile: parseDockerfile(text), workDir: tempDir(), cache })).toThrow(/docs is not in the build context/);
  });

  it("fails on a RUN step it cannot replay instead of skipping it", () => {
    const text = dockerfileText.replace("VOLUME /data", "RUN curl -fsSL -o /data/seed.db http://127.0.0.1/seed.db\nVOLUME /data");
    expect(text).not.toBe(dockerfileText);
    expect(() => replayBuild({ dockerfile: parseDockerfile(text), workDir: tempDir(), cache })).toThrow(/RUN curl is not replayed/);
  });
});
