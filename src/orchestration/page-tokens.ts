/**
 * Continuation tokens: opaque to callers, signed so that a token we did not issue (edited,
 * made up, from another database) is refused instead of silently starting somewhere else.
 * The key is made once per database (store settings), so tokens survive a restart.
 *
 * A token is `<base64url JSON payload>.<base64url HMAC-SHA256 of it, first 16 bytes>`.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export class PageTokens {
  constructor(private readonly key: string) {}

  issue(payload: readonly (string | number)[]): string {
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `${body}.${this.mac(body).toString("base64url")}`;
  }

  /** The payload of a token we issued; undefined for anything else. */
  read(token: string): unknown[] | undefined {
    const dot = token.indexOf(".");
    if (dot <= 0 || token.length > 4_096) return undefined;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), "base64url");
    const expected = this.mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const payload: unknown = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
      return Array.isArray(payload) ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  private mac(body: string): Buffer {
    return createHmac("sha256", this.key).update(body).digest().subarray(0, 16);
  }
}
