/**
 * Payload conventions, as the Dapr SDKs apply them: values travel as JSON text; an absent or
 * empty payload is `undefined`; text that is not JSON (a start body sent as plain text)
 * reaches the code as that string.
 */
import type { FailureDetails } from "../engine/history.js";
import { TaskFailedError } from "./task.js";

export function serialize(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

export function deserialize(text: string | undefined): unknown {
  if (text === undefined || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * What a thrown value becomes in history: the error's type name, message and stack. A task
 * failure that the workflow did not catch keeps the activity's (or child's) own failure as
 * `innerFailure`, and its stack after "Caused by:", so the report shows where it was thrown.
 */
export function failureOf(error: unknown): FailureDetails {
  if (!(error instanceof Error)) return { errorType: typeof error, errorMessage: String(error) };
  const details: FailureDetails = {
    errorType: error.name && error.name !== "Error" ? error.name : error.constructor?.name || "Error",
    errorMessage: error.message || String(error),
    stackTrace: error.stack,
  };
  if (error instanceof TaskFailedError) {
    const inner = error.details;
    details.innerFailure = inner;
    details.stackTrace = [error.stack, `Caused by: ${inner.stackTrace ?? `${inner.errorType}: ${inner.errorMessage}`}`].join("\n");
  }
  return details;
}
