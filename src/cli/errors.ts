/**
 * The three ways a CLI command fails, each with its exit code, so `main.ts` maps an error to
 * one line on stderr and a code without knowing which command threw it.
 */

/** Exit codes: scripts tell "the server said no" from "I typed it wrong" from "nobody answered". */
export const exitCodes = {
  ok: 0,
  serverError: 1,
  usage: 2,
  unreachable: 3,
} as const;

/** Wrong command line: unknown command or flag, missing argument, bad value. Exit 2. */
export class UsageError extends Error {
  /** `command` names the command whose `--help` the hint points to (none: the top level). */
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

/** The server answered with an error status. Exit 1. */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    /** Dapr's `errorCode`, or undefined when the body was not Dapr's error shape (a proxy, a 401). */
    readonly errorCode: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** No answer: connection refused, DNS failure, time-out. Exit 3. */
export class UnreachableError extends Error {}
