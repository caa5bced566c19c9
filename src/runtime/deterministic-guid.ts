/**
 * Name-based UUIDs (RFC 9562 version 5, SHA-1) for WorkflowContext.newGuid: the same name
 * always gives the same UUID, so a workflow that replays gets the IDs it got the first time.
 */
import { createHash } from "node:crypto";

/** A fixed namespace for workflowd's workflow GUIDs (itself a random UUID). */
const namespace = Buffer.from("6f1c3a52-8d0e-4f7b-9a63-2b4e5d7c9f10".replaceAll("-", ""), "hex");

export function uuidV5(name: string): string {
  const hash = createHash("sha1").update(namespace).update(name, "utf8").digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
