/**
 * What a CLI command is: its names, arguments, flags (with the `dapr workflow` spellings it
 * also accepts) and its run function. Commands are plain data plus `run`, so help text and
 * argument parsing are generated from the same declaration and cannot drift apart.
 */
import type { WorkflowsApi } from "./workflows-api.js";

/** `table` is the default; `wide` adds columns; `ids` prints instance IDs one per line. */
export type OutputFormat = "table" | "wide" | "json" | "ids";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** The value's placeholder in help, e.g. `<json>`. */
  value?: string;
  /** May be given several times (string options only). */
  multiple?: boolean;
  help: string;
  /** Other long names for the same option: the `dapr workflow` spellings. */
  aliases?: readonly string[];
  /** A short letter for an alias, where `dapr workflow` has one and the option's own differs. */
  aliasShorts?: Readonly<Record<string, string>>;
}

/**
 * A `dapr workflow` flag workflowd has no use for. `ignored`: accepted and dropped, because
 * dropping it cannot change what the command does to the server. Otherwise refused with
 * `reason`, because silently ignoring it would do something other than the user asked.
 */
export interface CompatOption {
  type: "string" | "boolean";
  short?: string;
  ignored: boolean;
  reason: string;
}

export interface CommandSpec {
  name: string;
  /** Other names, e.g. `dapr workflow`'s `run` for `start`. */
  aliases?: readonly string[];
  summary: string;
  /** Usage lines after `workflowd `, e.g. `list [flags]`. */
  usage: readonly string[];
  /** Paragraphs printed after the usage. */
  description?: readonly string[];
  positionals: { min: number; max: number };
  options: Readonly<Record<string, OptionSpec>>;
  /** Formats `-o/--output` accepts; none means the command has no output flag. */
  outputs?: readonly OutputFormat[];
  compat?: Readonly<Record<string, CompatOption>>;
  run(context: CommandContext): Promise<void>;
}

export interface CommandContext {
  /** The name the command was called by (an alias included), for messages. */
  invokedAs: string;
  positionals: readonly string[];
  /** A single-valued string option (by its canonical name). */
  string(name: string): string | undefined;
  /** A repeatable string option, every value in order. */
  strings(name: string): string[];
  flag(name: string): boolean;
  output: OutputFormat;
  /** Created on first use, so usage errors are reported before the address is looked at. */
  readonly api: WorkflowsApi;
  now: Date;
  /** Writes to stdout. */
  print(text: string): void;
  /** Writes a line to stderr (notes that are not the command's output). */
  note(line: string): void;
}

/** Options every command takes. */
export const commonOptions: Readonly<Record<string, OptionSpec>> = {
  address: {
    type: "string",
    value: "<url>",
    help: "the workflowd HTTP address: http://host:port, host:port or a port " +
      "(default: DAPR_HTTP_ENDPOINT, else http://127.0.0.1:$DAPR_HTTP_PORT, else port 3500)",
  },
  help: { type: "boolean", short: "h", help: "show this help" },
};

export const outputOption = (formats: readonly OutputFormat[]): OptionSpec => ({
  type: "string",
  short: "o",
  value: "<format>",
  help: `output format: ${formats.join(", ")} (default table${formats.includes("json") ? "; json prints the API's response body" : ""})`,
});

/** `dapr workflow`'s persistent flags: one server, so there is no app or namespace to pick. */
export const commonCompat: Readonly<Record<string, CompatOption>> = {
  "app-id": { type: "string", short: "a", ignored: true, reason: "a workflowd answers for every app's instances on its database" },
  namespace: { type: "string", short: "n", ignored: true, reason: "there are no namespaces" },
  kubernetes: {
    type: "boolean",
    short: "k",
    ignored: false,
    reason: "workflowd is reached over HTTP only; port-forward to it and use --address",
  },
};
