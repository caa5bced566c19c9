/**
 * One command's argv → positionals and option values, with node:util's parseArgs. Aliases
 * are folded into their canonical option, `dapr workflow` flags workflowd ignores are
 * dropped and the ones it cannot honour refused, and every parseArgs error becomes a
 * one-line UsageError.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { commonCompat, commonOptions, outputOption, type CommandSpec, type OutputFormat } from "./command.js";
import { UsageError } from "./errors.js";

export interface ParsedCommandLine {
  positionals: string[];
  /** By canonical name: every value of a string option, or true for a boolean flag. */
  values: Map<string, string[] | true>;
  output: OutputFormat;
}

type ParseOptions = NonNullable<ParseArgsConfig["options"]>;

/** Where each accepted spelling goes: an option's canonical name, or a compat flag. */
interface Route {
  canonical: string;
  kind: "option" | "ignored" | "refused";
  reason?: string;
}

export function parseCommandLine(spec: CommandSpec, argv: readonly string[], invokedAs: string): ParsedCommandLine {
  const options: ParseOptions = {};
  const routes = new Map<string, Route>();
  const allOptions = { ...spec.options, ...commonOptions, ...(spec.outputs ? { output: outputOption(spec.outputs) } : {}) };
  for (const [name, option] of Object.entries(allOptions)) {
    // Every string option is parsed as repeatable, so "given twice" can be reported rather
    // than the last value silently winning.
    const parsed = { type: option.type, ...(option.type === "string" ? { multiple: true } : {}) } as const;
    options[name] = { ...parsed, ...(option.short ? { short: option.short } : {}) };
    routes.set(name, { canonical: name, kind: "option" });
    for (const alias of option.aliases ?? []) {
      const short = option.aliasShorts?.[alias];
      options[alias] = { ...parsed, ...(short ? { short } : {}) };
      routes.set(alias, { canonical: name, kind: "option" });
    }
  }
  for (const [name, compat] of Object.entries({ ...commonCompat, ...spec.compat })) {
    options[name] = { type: compat.type, ...(compat.type === "string" ? { multiple: true } : {}), ...(compat.short ? { short: compat.short } : {}) };
    routes.set(name, { canonical: name, kind: compat.ignored ? "ignored" : "refused", reason: compat.reason });
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error, spec, invokedAs), spec.name);
  }

  const values = new Map<string, string[] | true>();
  for (const [given, value] of Object.entries(parsed.values)) {
    const route = routes.get(given)!;
    if (route.kind === "ignored") continue;
    if (route.kind === "refused") throw new UsageError(`${flagName(given, options)} is not supported by workflowd: ${route.reason}`, spec.name);
    if (value === true) {
      values.set(route.canonical, true);
    } else if (Array.isArray(value)) {
      const previous = values.get(route.canonical);
      values.set(route.canonical, [...(Array.isArray(previous) ? previous : []), ...(value as string[])]);
    }
  }
  for (const [name, value] of values) {
    const option = allOptions[name as keyof typeof allOptions];
    if (Array.isArray(value) && value.length > 1 && !option?.multiple) {
      throw new UsageError(`--${name}${option?.aliases?.length ? ` (or ${option.aliases.map((a) => `--${a}`).join(", ")})` : ""} was given more than once`, spec.name);
    }
  }

  const { positionals } = parsed;
  if (positionals.length < spec.positionals.min) {
    throw new UsageError(`'${invokedAs}' needs ${spec.positionals.min === 1 ? "an argument" : `${spec.positionals.min} arguments`}: workflowd ${spec.usage[0]}`, spec.name);
  }
  if (positionals.length > spec.positionals.max) {
    const extra = positionals.slice(spec.positionals.max).map((p) => `'${p}'`).join(" ");
    throw new UsageError(`'${invokedAs}' takes ${spec.positionals.max === 0 ? "no arguments" : `at most ${spec.positionals.max}`}; unexpected ${extra}`, spec.name);
  }

  return { positionals, values, output: outputFormat(spec, values.get("output")) };
}

function outputFormat(spec: CommandSpec, value: string[] | true | undefined): OutputFormat {
  if (!Array.isArray(value)) return "table";
  const given = value[0]!.toLowerCase();
  // `short` is `dapr workflow`'s name for its default table.
  const format = given === "short" ? "table" : given;
  if (format === "yaml") throw new UsageError("-o yaml is not supported; use -o json", spec.name);
  if (!spec.outputs?.includes(format as OutputFormat)) {
    throw new UsageError(`--output: '${value[0]}' is not one of ${spec.outputs?.join(", ")}`, spec.name);
  }
  return format as OutputFormat;
}

/** `-o, --output` for an option's help and messages. */
function flagName(name: string, options: ParseOptions): string {
  const short = options[name]?.short;
  return short ? `-${short}/--${name}` : `--${name}`;
}

/** parseArgs' messages are long and mention JavaScript; say the same in one CLI line. */
function describeParseError(error: unknown, spec: CommandSpec, invokedAs: string): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const option = /Option '([^']+)'|Unknown option '([^']+)'/.exec(message);
  const name = option?.[2] ?? option?.[1]?.replace(/ <value>$/, "");
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    if (!spec.outputs && (name === "-o" || name === "--output")) {
      return `'${invokedAs}' has no -o/--output: the server answers it with an empty body, so there is nothing to format (the exit code tells success)`;
    }
    return `unknown flag '${name ?? message}' for 'workflowd ${invokedAs}'`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/argument missing/.test(message)) return `${name} needs a value`;
    if (/does not take an argument/.test(message)) return `${name} is a switch and takes no value`;
    if (/ambiguous/.test(message)) return `${name} needs a value; to give one that starts with '-', write ${name?.split(", ").pop()}=<value>`;
  }
  return message.split(/\.\s/)[0]!;
}
