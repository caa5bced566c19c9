/**
 * Help text, generated from the command declarations and the server's flag table
 * (config.ts `serverFlags`), so it lists exactly what the parsers accept.
 */
import { commonCompat, commonOptions, outputOption, type CommandSpec, type OptionSpec } from "./command.js";

const environment: readonly (readonly [string, string])[] = [
  ["DAPR_HTTP_ENDPOINT", "the server's address, e.g. http://workflowd:3500 (--address wins)"],
  ["DAPR_HTTP_PORT", "the server's port on 127.0.0.1 when neither is set (default 3500)"],
  ["DAPR_API_TOKEN", "sent as the dapr-api-token header; needed when the server has a token"],
];

/**
 * The server's flag table is imported only here, when it is printed: config.ts brings the
 * YAML parser with it, which every other command would load for nothing.
 */
export async function topLevelHelp(commands: readonly CommandSpec[]): Promise<string> {
  const { ignoredFlagNames, serverFlags } = await import("../config.js");
  const lines = [
    "workflowd: the workflow part of the Dapr sidecar in one process, and a client for it.",
    "",
    "Usage:",
    "  workflowd [server flags]             run the server",
    "  workflowd <command> [flags]          talk to a running server over its HTTP API",
    "  workflowd backup <file> [--db path]  copy the server's database while it runs",
    "",
    "Commands:",
    ...columns([
      ...commands.map((command): [string, string] => [
        `${command.name}${command.aliases?.length ? ` (${command.aliases.join(", ")})` : ""}`,
        command.summary,
      ]),
      ["help [command]", "show this help, or a command's"],
      ["version", "print the workflowd version"],
    ]),
    "",
    "Every command takes --help, and --address <url>. Exit codes: 0 success, 1 the server",
    "answered an error, 2 a usage error, 3 the server could not be reached.",
    "`dapr workflow <command> ...` lines work as `workflowd [workflow] <command> ...`.",
    "",
    "Client environment:",
    ...columns(environment),
    "",
    "Server flags (each also read from its environment variable; the flag wins):",
    ...serverFlagLines(serverFlags),
    "",
    "  Flags take daprd's syntax: --flag value, --flag=value, -flag value; booleans alone or =true/=false.",
    "  daprd's flags that do not apply here are accepted and ignored (one info line at start-up):",
    ...wrap(ignoredFlagNames.map((name) => `--${name}`).join(" "), 90).map((line) => `    ${line}`),
  ];
  return lines.join("\n") + "\n";
}

export function commandHelp(spec: CommandSpec): string {
  const options: [string, OptionSpec][] = [
    ...Object.entries(spec.options),
    ...(spec.outputs ? [["output", outputOption(spec.outputs)] as [string, OptionSpec]] : []),
    ...Object.entries(commonOptions),
  ];
  const compat = Object.entries({ ...commonCompat, ...spec.compat });
  const ignored = compat.filter(([, c]) => c.ignored);
  const refused = compat.filter(([, c]) => !c.ignored);
  const lines = [
    spec.summary,
    "",
    "Usage:",
    ...spec.usage.map((usage) => `  workflowd ${usage}`),
    ...(spec.aliases?.length ? ["", `Aliases: ${spec.aliases.join(", ")}`] : []),
    ...(spec.description?.length ? ["", ...spec.description.flatMap((paragraph) => [...wrap(paragraph, 92), ""]).slice(0, -1)] : []),
    "",
    "Flags:",
    ...columns(options.map(([name, option]) => [optionLabel(name, option), optionHelp(option)])),
    "",
    "Accepted for `dapr workflow` compatibility and ignored:",
    ...columns(ignored.map(([name, c]) => [compatLabel(name, c.short, c.type), c.reason])),
    ...(refused.length ? ["", "`dapr workflow` flags refused (exit 2), because workflowd cannot do what they ask:",
      ...columns(refused.map(([name, c]) => [compatLabel(name, c.short, c.type), c.reason]))] : []),
  ];
  return lines.join("\n") + "\n";
}

/** The flag and its variable on one line, what it sets on the next: two names fill the width. */
function serverFlagLines(serverFlags: Readonly<Record<string, { type: string; env: string; help: string }>>): string[] {
  const flags = Object.entries(serverFlags).map(([name, flag]) => [`--${name}${flag.type === "boolean" ? "" : " <value>"}`, flag] as const);
  const width = Math.max(...flags.map(([label]) => label.length));
  return flags.flatMap(([label, flag]) => [`  ${label.padEnd(width)}  ${flag.env}`, ...wrap(flag.help, 90).map((line) => `      ${line}`)]);
}

function optionLabel(name: string, option: OptionSpec): string {
  return `${option.short ? `-${option.short}, ` : "    "}--${name}${option.value ? ` ${option.value}` : ""}`;
}

function optionHelp(option: OptionSpec): string {
  const alias = (name: string) => (option.aliasShorts?.[name] ? `-${option.aliasShorts[name]}/--${name}` : `--${name}`);
  return option.aliases?.length ? `${option.help} (also ${option.aliases.map(alias).join(", ")})` : option.help;
}

function compatLabel(name: string, short: string | undefined, type: string): string {
  return `${short ? `-${short}, ` : "    "}--${name}${type === "string" ? " <value>" : ""}`;
}

/** Two columns: the first padded to its widest entry, the second wrapped beside it. */
function columns(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.min(36, Math.max(0, ...rows.map(([left]) => left.length)));
  return rows.flatMap(([left, right]) => {
    const wrapped = wrap(right, Math.max(40, 100 - width - 4));
    const first = left.length > width ? [`  ${left}`, `  ${" ".repeat(width)}  ${wrapped[0] ?? ""}`] : [`  ${left.padEnd(width)}  ${wrapped[0] ?? ""}`];
    return [...first, ...wrapped.slice(1).map((line) => `  ${" ".repeat(width)}  ${line}`)].map((line) => line.trimEnd());
  });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
