/**
 * The CLI's entry: pick the command from argv, parse its flags, run it against the server,
 * and turn every failure into one line on stderr and an exit code (never a stack trace).
 * `src/main.ts` calls `runCli` when `isCliCommand(argv[0])`; otherwise it starts the server.
 */
import { version } from "../version.js";
import type { CommandContext, CommandSpec } from "./command.js";
import { historyCommand } from "./commands/history.js";
import { getCommand, listCommand } from "./commands/instances.js";
import { raiseCommand, resumeCommand, rewindCommand, startCommand, suspendCommand, terminateCommand } from "./commands/lifecycle.js";
import { purgeCommand } from "./commands/purge.js";
import { rerunCommand } from "./commands/rerun.js";
import { exitCodes, ServerError, UnreachableError, UsageError } from "./errors.js";
import { commandHelp, topLevelHelp } from "./help.js";
import { HttpClient, resolveTarget } from "./http-client.js";
import { parseCommandLine } from "./parse.js";
import { WorkflowsApi } from "./workflows-api.js";

/** In the order `workflowd --help` lists them. */
export const commands: readonly CommandSpec[] = [
  listCommand,
  getCommand,
  historyCommand,
  startCommand,
  raiseCommand,
  suspendCommand,
  resumeCommand,
  terminateCommand,
  purgeCommand,
  rerunCommand,
  rewindCommand,
];

/** `dapr workflow list` habits: `workflowd workflow list` and `workflowd wf list` work too. */
const groupWords = new Set(["workflow", "wf"]);
const helpWords = new Set(["help", "--help", "-h"]);
const versionWords = new Set(["version", "--version"]);

function findCommand(name: string): CommandSpec | undefined {
  return commands.find((command) => command.name === name || command.aliases?.includes(name));
}

/**
 * Whether argv's first word belongs to the CLI rather than to the server, which takes only
 * flags: any word (an unknown one gets "unknown command" here rather than the server's
 * complaint about an argument), and the help and version flags.
 */
export function isCliCommand(word: string | undefined): boolean {
  return word !== undefined && (!word.startsWith("-") || helpWords.has(word) || versionWords.has(word));
}

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs one CLI invocation (argv without node and the script) and returns the exit code. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo = processIo): Promise<number> {
  if (io === processIo) stopQuietlyWhenThePipeCloses();
  try {
    return await dispatch(groupWords.has(argv[0] ?? "") ? argv.slice(1) : argv, env, io);
  } catch (error) {
    return report(error, io);
  }
}

async function dispatch(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  const [word, ...rest] = argv;
  if (word === undefined || helpWords.has(word)) {
    const topic = rest[0];
    if (word !== undefined && topic !== undefined) {
      const spec = findCommand(topic);
      if (!spec) throw new UsageError(`unknown command '${topic}'`);
      io.stdout(commandHelp(spec));
    } else {
      io.stdout(await topLevelHelp(commands));
    }
    return exitCodes.ok;
  }
  if (versionWords.has(word)) {
    io.stdout(`workflowd ${version}\n`);
    return exitCodes.ok;
  }
  const spec = findCommand(word);
  if (!spec) throw new UsageError(`unknown command '${word}' (the commands: ${commands.map((c) => c.name).join(", ")}, backup)`);
  // --help wins over everything else on the line, even flags that would not parse.
  const beforeTerminator = rest.indexOf("--") === -1 ? rest : rest.slice(0, rest.indexOf("--"));
  if (beforeTerminator.some((arg) => arg === "--help" || arg === "-h")) {
    io.stdout(commandHelp(spec));
    return exitCodes.ok;
  }
  const parsed = parseCommandLine(spec, rest, word);
  let api: WorkflowsApi | undefined;
  const context: CommandContext = {
    invokedAs: word,
    positionals: parsed.positionals,
    string: (name) => {
      const value = parsed.values.get(name);
      return Array.isArray(value) ? value[0] : undefined;
    },
    strings: (name) => {
      const value = parsed.values.get(name);
      return Array.isArray(value) ? value : [];
    },
    flag: (name) => parsed.values.get(name) === true,
    output: parsed.output,
    get api() {
      api ??= new WorkflowsApi(new HttpClient(resolveTarget(context.string("address"), env), env.DAPR_API_TOKEN || undefined));
      return api;
    },
    now: new Date(),
    print: io.stdout,
    note: (line) => io.stderr(`${line}\n`),
  };
  try {
    await spec.run(context);
  } catch (error) {
    // A bad flag value found while running still points at this command's help.
    if (error instanceof UsageError && error.command === undefined) throw new UsageError(error.message, spec.name);
    throw error;
  }
  return exitCodes.ok;
}

/**
 * A reader that stops early (`workflowd list | head`) closes the pipe, and the next write
 * fails with EPIPE: end quietly, as other command-line tools do, rather than with Node's
 * "Unhandled 'error' event" and a stack trace.
 */
function stopQuietlyWhenThePipeCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => process.exit(error.code === "EPIPE" ? exitCodes.ok : exitCodes.serverError));
  }
}

function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    const help = error.command ? `workflowd ${error.command} --help` : "workflowd --help";
    io.stderr(`error: ${error.message}\nRun '${help}' for usage.\n`);
    return exitCodes.usage;
  }
  if (error instanceof ServerError) {
    const what = error.errorCode ? `${error.errorCode}: ${error.message}` : error.message;
    const hint = error.status === 401 ? " (set DAPR_API_TOKEN to the server's API token)" : "";
    io.stderr(`error: ${what} (HTTP ${error.status})${hint}\n`);
    return exitCodes.serverError;
  }
  if (error instanceof UnreachableError) {
    io.stderr(`error: ${error.message}\n`);
    return exitCodes.unreachable;
  }
  // A bug in the CLI itself: still one line, no stack.
  io.stderr(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return exitCodes.serverError;
}
