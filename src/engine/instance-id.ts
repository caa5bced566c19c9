/**
 * Instance ID rules, shared by every entry point that creates an instance.
 *
 * daprd checks IDs only when an instance is created by a client (start): UTF-8 byte length
 * first, then the character set (Unicode letters, decimal digits, `_`, `-`). IDs the engine
 * derives for children (`<parent>:0001`) deliberately fall outside that set, and every other
 * operation must reach them, so nothing else validates IDs.
 */

export const instanceIdBytesMax = 64;

const instanceIdPattern = /^[\p{L}\p{Nd}_-]+$/u;

const utf8 = new TextEncoder();

export type InstanceIdProblem = "too-long" | "invalid";

export function checkInstanceId(id: string): InstanceIdProblem | undefined {
  if (utf8.encode(id).length > instanceIdBytesMax) return "too-long";
  if (!instanceIdPattern.test(id)) return "invalid";
  return undefined;
}

/** durabletask's default child ID: the parent ID and the action ID as 4 lowercase hex digits. */
export function childInstanceId(parentInstanceId: string, actionId: number): string {
  return `${parentInstanceId}:${actionId.toString(16).padStart(4, "0")}`;
}
