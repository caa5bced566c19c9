/**
 * The API token comparison shared by the HTTP and gRPC servers: constant-time, by comparing
 * fixed-length SHA-256 digests, so neither the token's content nor its length leaks through
 * timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** A check of a presented token against `token`. */
export function tokenMatcher(token: string): (given: unknown) => boolean {
  const expected = digest(token);
  return (given) => typeof given === "string" && timingSafeEqual(digest(given), expected);
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
