#!/usr/bin/env node
/**
 * Replays the Dockerfile without Docker: builds its stages in an empty temporary folder with
 * the local Node, then starts its CMD the way the image would run it. No Docker engine runs
 * on our machines, so this is what catches a file the image forgets to copy, a RUN step that
 * cannot work, or a CMD that points at nothing. test/container/dockerfile.test.ts uses it;
 * by hand: `node scripts/replay-dockerfile.mjs [--keep]` (builds, starts, probes, stops).
 *
 * How each part is replayed:
 * - Build context: the repository minus what .dockerignore excludes, copied to <work>/context.
 * - FROM: each stage gets an empty root folder, <work>/stages/<name>; every container path
 *   maps into it (/app -> <root>/app). The base image is not fetched: the local Node and npm
 *   stand in for the image's (the local Node may be another major version than the image's;
 *   the addon is compiled for whichever Node runs the build, as in the image).
 * - COPY: from the context, or --from an earlier stage's root, with Docker's rules (a
 *   directory's contents are copied; symlinks are kept as they are).
 * - RUN (shell form, commands joined by &&): npm, npx and node run for real in the stage's
 *   WORKDIR; mkdir, rm and chown act on the mapped paths (chown only when we are root);
 *   apt-get is skipped, the machine's own toolchain standing in for the image's packages.
 *   Any other command fails the replay rather than being skipped silently.
 * - WORKDIR, ENV, USER, VOLUME, EXPOSE, HEALTHCHECK and CMD are recorded.
 * - Start: the final stage's exec-form CMD, in its WORKDIR, with only the image's ENV (values
 *   that are absolute paths mapped into the stage root) plus PATH, and when we are root, as
 *   the image's numeric USER: the stage folders belong to root, as in the image, so a
 *   missing `chown` of the volume fails here as it would in a container.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerfileParser } from "dockerfile-ast";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url));

// -- reading the Dockerfile and .dockerignore -------------------------------------------

/**
 * @typedef {{ keyword: string, line: number, text: string, args: string[], flags: Record<string, string | null>,
 *   exec: string[] | undefined, properties: [string, string][] }} Instruction
 * @typedef {{ name: string, image: string, instructions: Instruction[] }} Stage
 */

/** The Dockerfile as stages of plain instructions (dockerfile-ast does the parsing). */
export function parseDockerfile(text) {
  /** @type {Stage[]} */
  const stages = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    const keyword = instruction.getKeyword();
    const line = instruction.getRange().start.line + 1;
    if (keyword === "FROM") {
      const [image, as, name] = instruction.getArguments().map((a) => a.getValue());
      if (!image || (as !== undefined && (as.toUpperCase() !== "AS" || !name))) throw new Error(`line ${line}: cannot read FROM`);
      stages.push({ name: name ?? String(stages.length), image, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`line ${line}: ${keyword} before the first FROM is not supported`);
    const text = (instruction.getArgumentsContent() ?? "").trim();
    const flags = Object.fromEntries(("getFlags" in instruction ? instruction.getFlags() : []).map((f) => [f.getName(), f.getValue()]));
    const properties = "getProperties" in instruction ? instruction.getProperties().map((p) => [p.getName(), p.getValue() ?? ""]) : [];
    stage.instructions.push({ keyword, line, text, args: text.split(/\s+/).filter(Boolean), flags, exec: execForm(text), properties });
  }
  if (stages.length === 0) throw new Error("the Dockerfile has no FROM");
  return { stages };
}

export function readDockerfile(root = repoRoot) {
  return parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"));
}

/** Docker's rule: the exec form is a JSON array of strings; anything else is the shell form. */
function execForm(text) {
  if (!text.startsWith("[")) return undefined;
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * .dockerignore as Docker applies it: patterns relative to the context root with `*`, `?`
 * and `**`; a pattern that matches a directory excludes everything under it; `!` re-includes;
 * the last matching pattern wins.
 */
export function parseDockerignore(text) {
  const rules = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((line) => {
    const negate = line.startsWith("!");
    const pattern = posix.normalize((negate ? line.slice(1) : line).trim()).replace(/^\/+|\/+$/g, "");
    return { pattern, negate, regex: globToRegExp(pattern) };
  });
  return {
    rules,
    /** Whether a path relative to the context root (with `/`) is left out of the context. */
    isIgnored(path) {
      const parts = path.split("/").filter(Boolean);
      const selfAndParents = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
      let ignored = false;
      for (const rule of rules) {
        if (selfAndParents.some((p) => rule.regex.test(p))) ignored = !rule.negate;
      }
      return ignored;
    },
  };
}

export function readDockerignore(root = repoRoot) {
  const file = join(root, ".dockerignore");
  return parseDockerignore(existsSync(file) ? readFileSync(file, "utf8") : "");
}

function globToRegExp(glob) {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      i++;
      if (glob[i + 1] === "/") {
        i++;
        source += "(?:.*/)?";
      } else {
        source += ".*";
      }
    } else if (c === "*") {
      source += "[^/]*";
    } else if (c === "?") {
      source += "[^/]";
    } else {
      source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

// -- replaying the build ----------------------------------------------------------------

/**
 * @typedef {{ stage: string, root: string, workdir: string, env: Record<string, string>, user: string | undefined,
 *   volumes: string[], exposed: string[], healthcheck: { flags: Record<string, string | null>, exec?: string[], shell?: string } | undefined,
 *   cmd: { exec?: string[], shell?: string } | undefined }} Image
 */

/**
 * Builds every stage into `workDir` and returns the final stage as an image to start.
 * `cache` (a Map kept by the caller) reuses the root of a stage whose instructions and
 * inputs were already built, as Docker's layer cache would; the context is assumed not to
 * change while a cache is kept.
 */
export function replayBuild({ dockerfile = readDockerfile(), root = repoRoot, workDir, cache = new Map(), log = () => {} }) {
  mkdirSync(workDir, { recursive: true });
  // Readable by the image's user when the replay starts the CMD as that user.
  chmodSync(workDir, 0o755);
  const logFile = join(workDir, "replay.log");
  const say = (message) => {
    appendFileSync(logFile, `${message}\n`);
    log(message);
  };

  const contextDir = join(workDir, "context");
  const ignore = readDockerignore(root);
  cpSync(root, contextDir, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => {
      const path = relative(root, source).split(sep).join("/");
      return path === "" || !ignore.isIgnored(path);
    },
  });
  say(`context: ${root} without .dockerignore's patterns -> ${contextDir}`);

  /** @type {Map<string, { root: string, key: string }>} */
  const built = new Map();
  /** @type {Image | undefined} */
  let image;
  for (const stage of dockerfile.stages) {
    const sources = stage.instructions.filter((i) => i.keyword === "COPY" && i.flags.from).map((i) => built.get(i.flags.from ?? "")?.key ?? "?");
    const key = JSON.stringify([stage.image, stage.instructions.map(({ keyword, text, flags }) => [keyword, text, flags]), sources]);
    const cached = cache.get(key);
    const stageRoot = cached ?? join(workDir, "stages", stage.name);
    /** @type {Image} */
    const state = { stage: stage.name, root: stageRoot, workdir: "/", env: {}, user: undefined, volumes: [], exposed: [], healthcheck: undefined, cmd: undefined };
    say(`\n== stage ${stage.name} (FROM ${stage.image}; the local Node stands in)${cached ? `: cached, ${cached}` : ""}`);
    if (!cached) mkdirSync(stageRoot, { recursive: true });
    for (const instruction of stage.instructions) {
      const where = `line ${instruction.line}: ${instruction.keyword} ${instruction.text}`;
      try {
        apply(instruction, state, { contextDir, built, say, execute: !cached });
      } catch (error) {
        throw new Error(`${where}\n  ${error instanceof Error ? error.message : String(error)}\n  (full log: ${logFile})`, { cause: error });
      }
    }
    cache.set(key, stageRoot);
    built.set(stage.name, { root: stageRoot, key });
    image = state;
  }
  return /** @type {Image} */ (image);
}

/** Applies one instruction to a stage. With `execute` false (a cached stage) only its settings are recorded. */
function apply(instruction, state, { contextDir, built, say, execute }) {
  const { keyword, text, args, flags, exec } = instruction;
  switch (keyword) {
    case "WORKDIR":
      state.workdir = posix.resolve(state.workdir, text);
      if (execute) mkdirSync(hostPath(state, state.workdir), { recursive: true });
      return;
    case "ENV":
      for (const [name, value] of instruction.properties) {
        if (value.includes("$")) throw new Error("variable substitution in ENV is not replayed");
        state.env[name] = value;
      }
      return;
    case "USER":
      state.user = text;
      return;
    case "VOLUME":
      state.volumes.push(...(exec ?? args));
      return;
    case "EXPOSE":
      state.exposed.push(...args);
      return;
    case "LABEL":
      return;
    case "HEALTHCHECK": {
      if (text === "NONE") {
        state.healthcheck = undefined;
        return;
      }
      const command = /^CMD\s+(.*)$/s.exec(text)?.[1];
      if (command === undefined) throw new Error("HEALTHCHECK needs CMD or NONE");
      const healthExec = execForm(command);
      state.healthcheck = healthExec ? { flags, exec: healthExec } : { flags, shell: command };
      return;
    }
    case "CMD":
      state.cmd = exec ? { exec } : { shell: text };
      return;
    case "COPY":
      if (execute) copy(instruction, state, contextDir, built, say);
      return;
    case "RUN":
      if (execute) run(instruction, state, say);
      return;
    default:
      throw new Error(`${keyword} is not replayed (scripts/replay-dockerfile.mjs): teach the replay, or do without it`);
  }
}

/** The host path of a container path in a stage. */
function hostPath(state, containerPath) {
  return join(state.root, posix.resolve(state.workdir, containerPath));
}

function copy({ flags, args, exec }, state, contextDir, built, say) {
  for (const flag of Object.keys(flags)) if (flag !== "from") throw new Error(`COPY --${flag} is not replayed`);
  const words = exec ?? args;
  const sources = words.slice(0, -1);
  const destination = words.at(-1);
  if (!destination || sources.length === 0) throw new Error("COPY needs a source and a destination");
  let base = contextDir;
  if (flags.from) {
    const stage = built.get(flags.from);
    if (!stage) throw new Error(`--from=${flags.from} is not an earlier stage of this Dockerfile`);
    base = stage.root;
  }
  const files = sources.flatMap((source) => {
    // --from paths start at the stage's root; context paths must stay inside the context.
    const path = flags.from ? posix.resolve("/", source) : posix.normalize(source);
    if (!flags.from && (path.startsWith("..") || posix.isAbsolute(path))) throw new Error(`${source} is outside the build context`);
    const found = expand(base, path);
    if (found.length === 0) {
      throw new Error(flags.from
        ? `${source} does not exist in stage ${flags.from}`
        : `${source} is not in the build context (missing from the repository, or excluded by .dockerignore)`);
    }
    return found;
  });
  const target = hostPath(state, destination);
  const intoDirectory = destination.endsWith("/") || files.length > 1 || (existsSync(target) && lstatSync(target).isDirectory());
  for (const file of files) {
    const to = lstatSync(file).isDirectory() || !intoDirectory ? target : join(target, basename(file));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(file, to, { recursive: true, verbatimSymlinks: true, force: true });
  }
  say(`COPY ${flags.from ? `--from=${flags.from} ` : ""}${sources.join(" ")} -> ${state.stage}:${posix.resolve(state.workdir, destination)}`);
}

/** The paths a source names: itself, or the matches of a `*`/`?` pattern in its last segment. */
function expand(base, path) {
  const name = posix.basename(path);
  if (!/[*?]/.test(name)) return existsSync(join(base, path)) ? [join(base, path)] : [];
  const directory = join(base, posix.dirname(path));
  if (/[*?]/.test(posix.dirname(path))) throw new Error(`${path}: patterns are replayed in the last path segment only`);
  const regex = globToRegExp(name);
  return existsSync(directory) ? readdirSync(directory).filter((f) => regex.test(f)).map((f) => join(directory, f)) : [];
}

function run({ text, exec }, state, say) {
  if (exec) throw new Error("RUN in exec form is not replayed; use the shell form");
  if (/['"`$;|<>()\\]/.test(text)) throw new Error("RUN with quotes, variables, pipes or redirections is not replayed; keep to plain commands joined by &&");
  for (const command of text.split("&&").map((c) => c.trim().split(/\s+/))) {
    const [program, ...args] = command;
    switch (program) {
      case "npm":
      case "npx":
      case "node": {
        const started = Date.now();
        const result = spawnSync(program === "node" ? process.execPath : program, args, {
          cwd: hostPath(state, state.workdir),
          env: commandEnv(state),
          encoding: "utf8",
          maxBuffer: 64 * 2 ** 20,
        });
        const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
        say(`RUN ${command.join(" ")} (${((Date.now() - started) / 1000).toFixed(1)} s)\n${indent(output)}`);
        if (result.error) throw result.error;
        if (result.status !== 0) throw new Error(`${command.join(" ")} exited ${result.status ?? result.signal}:\n${indent(output.split("\n").slice(-40).join("\n"))}`);
        break;
      }
      case "mkdir": {
        const recursive = args.includes("-p");
        for (const path of args.filter((a) => !a.startsWith("-"))) mkdirSync(hostPath(state, path), { recursive });
        say(`RUN ${command.join(" ")}`);
        break;
      }
      case "rm": {
        const options = args.filter((a) => a.startsWith("-")).join("");
        for (const path of args.filter((a) => !a.startsWith("-"))) {
          const name = posix.resolve(state.workdir, path);
          for (const file of expand(state.root, name)) rmSync(file, { recursive: /r/i.test(options), force: options.includes("f") });
        }
        say(`RUN ${command.join(" ")}`);
        break;
      }
      case "chown": {
        const recursive = args.includes("-R");
        const [owner, ...paths] = args.filter((a) => !a.startsWith("-"));
        const ids = /^(\d+)(?::(\d+))?$/.exec(owner ?? "");
        if (!ids) throw new Error(`chown ${owner}: use numeric uid:gid (user names depend on the base image)`);
        const [uid, gid] = [Number(ids[1]), Number(ids[2] ?? ids[1])];
        if (process.getuid?.() !== 0) {
          say(`RUN ${command.join(" ")}: skipped, only root can change owners`);
          break;
        }
        for (const path of paths) chownTree(hostPath(state, path), uid, gid, recursive);
        say(`RUN ${command.join(" ")}`);
        break;
      }
      case "apt-get":
        say(`RUN ${command.join(" ")}: skipped, this machine's toolchain stands in for the image's packages`);
        break;
      default:
        throw new Error(`RUN ${program} is not replayed: keep RUN steps to npm, npx, node, mkdir, rm, chown and apt-get, or teach the replay`);
    }
  }
}

function chownTree(path, uid, gid, recursive) {
  chownSync(path, uid, gid);
  if (recursive && lstatSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid, true);
}

/**
 * The environment of a replayed command: the stage's ENV (absolute paths mapped into the
 * stage root) and what the local tools need to work (PATH, HOME for npm's cache and config,
 * certificates, proxies), and nothing of ours: no npm_* variables, no NODE_ENV from the test
 * runner, no node_modules/.bin of the repository on the PATH.
 */
function commandEnv(state) {
  const env = {};
  for (const name of ["HOME", "TMPDIR", "LANG", "LC_ALL", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"]) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  env.PATH = cleanPath();
  // The registry is reachable, but the local cache makes the install quick and repeatable.
  env.npm_config_prefer_offline = "true";
  env.npm_config_update_notifier = "false";
  return { ...env, ...imageEnv(state) };
}

function cleanPath() {
  return (process.env.PATH ?? "").split(":").filter((p) => p && !p.includes(`${sep}node_modules${sep}.bin`)).join(":");
}

/** The stage's ENV with values that are absolute container paths mapped into the stage root. */
export function imageEnv(image) {
  return Object.fromEntries(Object.entries(image.env).map(([name, value]) => [name, value.startsWith("/") ? hostPath(image, value) : value]));
}

function indent(text) {
  return text.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
}

// -- running the image ------------------------------------------------------------------

/** The uid/gid to run as: the image's numeric USER when we are root, else ourselves. */
function runAs(image) {
  if (process.getuid?.() !== 0 || !image.user) return {};
  const ids = /^(\d+)(?::(\d+))?$/.exec(image.user);
  if (!ids) throw new Error(`USER ${image.user}: the replay runs numeric users only`);
  return { uid: Number(ids[1]), gid: Number(ids[2] ?? ids[1]) };
}

function runEnv(image, overrides) {
  return { PATH: cleanPath(), ...imageEnv(image), ...overrides };
}

function nodeCommand(exec, what) {
  if (!exec) throw new Error(`${what} must be in exec form (a JSON array), so that signals reach Node`);
  const [program, ...args] = exec;
  if (program !== "node") throw new Error(`${what} runs ${program}; the replay runs node only`);
  return args;
}

/** Starts the image's CMD; `env` adds to (and overrides) the image's ENV. */
export function startImage(image, { env = {} } = {}) {
  const args = nodeCommand(image.cmd?.exec, "CMD");
  return spawn(process.execPath, args, {
    cwd: hostPath(image, image.workdir),
    env: runEnv(image, env),
    stdio: ["ignore", "pipe", "pipe"],
    ...runAs(image),
  });
}

/** Runs the image's HEALTHCHECK command once, as Docker would inside the running container; returns its exit code. */
export function runHealthcheck(image, { env = {} } = {}) {
  const args = nodeCommand(image.healthcheck?.exec, "HEALTHCHECK");
  const timeoutMs = duration(image.healthcheck?.flags.timeout ?? "30s");
  const result = spawnSync(process.execPath, args, {
    cwd: hostPath(image, image.workdir),
    env: runEnv(image, env),
    timeout: timeoutMs + 1000,
    ...runAs(image),
  });
  return result.status;
}

function duration(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`cannot read the duration ${text}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2]];
}

/** A port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Ports for the image's three listeners, and loopback only. */
export async function testPorts() {
  return {
    WORKFLOWD_HOST: "127.0.0.1",
    DAPR_HTTP_PORT: String(await freePort()),
    DAPR_GRPC_PORT: String(await freePort()),
    DAPR_METRICS_PORT: String(await freePort()),
  };
}

// -- by hand ----------------------------------------------------------------------------

async function main() {
  const keep = process.argv.includes("--keep");
  const workDir = mkdtempSync(join(tmpdir(), "workflowd-replay-"));
  const started = Date.now();
  try {
    const image = replayBuild({ workDir, log: (m) => console.log(m) });
    console.log(`\nbuilt in ${((Date.now() - started) / 1000).toFixed(0)} s; starting CMD ${JSON.stringify(image.cmd?.exec)}`);
    const env = await testPorts();
    const child = startImage(image, { env });
    child.stdout.pipe(process.stdout);
    child.stderr.pipe(process.stderr);
    let healthy = false;
    for (let i = 0; i < 100 && !healthy && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      healthy = runHealthcheck(image, { env }) === 0;
    }
    child.kill("SIGTERM");
    const code = await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(child.exitCode)));
    console.log(`\nHEALTHCHECK ${healthy ? "passed" : "FAILED"}; after SIGTERM the CMD exited ${code}`);
    process.exitCode = healthy && code === 0 ? 0 : 1;
  } finally {
    if (keep) console.log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
