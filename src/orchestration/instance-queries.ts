/**
 * Read-only operations over many instances: list (filtered, newest first, paged), counts by
 * status, and one instance's history a page at a time. The HTTP API, the gRPC service and
 * (over HTTP) the CLI and the console are thin transports over these.
 *
 * Paging is keyset paging: a token names the position after the page's last item, so a
 * listing neither repeats nor skips instances that existed when it began while others are
 * created, progress or are purged meanwhile (new ones sort ahead of the position). The order
 * key is the creation time of the current execution: a continue-as-new moves an instance to
 * the front, as it would in a fresh listing.
 */
import { createHash } from "node:crypto";
import type { HistoryEvent } from "../engine/history.js";
import type { RuntimeStatus } from "../engine/state.js";
import type { InstanceFilter, InstanceRecord, WorkflowStore } from "../store/store.js";
import { PageTokens } from "./page-tokens.js";

export type { InstanceFilter };

export interface InstancePage {
  instances: InstanceRecord[];
  /** Present when more may follow. */
  continuationToken: string | undefined;
}

export interface HistoryPage {
  events: HistoryEvent[];
  continuationToken: string | undefined;
}

/** Why a token was refused (the transports answer a malformed request). */
export type TokenProblem = { kind: "bad-token"; message: string };

export class InstanceQueries {
  /** Read from the store at the first use. */
  private signer: Promise<PageTokens> | undefined;

  constructor(private readonly store: WorkflowStore) {}

  private tokens(): Promise<PageTokens> {
    this.signer ??= this.store.pageTokenKey().then((key) => new PageTokens(key));
    // A failed read is tried again at the next use.
    this.signer.catch(() => (this.signer = undefined));
    return this.signer;
  }

  async list(filter: InstanceFilter, pageSize: number, continuationToken: string | undefined): Promise<InstancePage | TokenProblem> {
    const tokens = await this.tokens();
    const digest = filterDigest(filter);
    let after: { createdAt: number; instanceId: string } | undefined;
    if (continuationToken) {
      const payload = tokens.read(continuationToken);
      const [kind, createdAt, instanceId, forFilter] = payload ?? [];
      if (kind !== "list" || typeof createdAt !== "number" || typeof instanceId !== "string") {
        return { kind: "bad-token", message: "continuationToken is not one this server issued for a listing" };
      }
      if (forFilter !== digest) return { kind: "bad-token", message: "continuationToken was issued for a listing with other filters" };
      after = { createdAt, instanceId };
    }
    // One more than asked tells whether another page exists, so the last page has no token.
    const rows = await this.store.listInstances(filter, after, pageSize + 1);
    const instances = rows.slice(0, pageSize);
    const last = instances.at(-1);
    return {
      instances,
      continuationToken: rows.length > pageSize && last ? tokens.issue(["list", last.createdAt, last.instanceId, digest]) : undefined,
    };
  }

  counts(filter: InstanceFilter): Promise<Partial<Record<RuntimeStatus, number>>> {
    return this.store.countInstances(filter);
  }

  /** Undefined for an unknown instance. */
  async history(instanceId: string, pageSize: number, continuationToken: string | undefined): Promise<HistoryPage | TokenProblem | undefined> {
    const tokens = await this.tokens();
    let from = 0;
    let issuedFor: unknown;
    if (continuationToken) {
      const [kind, forInstance, executionId, position] = tokens.read(continuationToken) ?? [];
      if (kind !== "history" || forInstance !== instanceId || typeof position !== "number") {
        return { kind: "bad-token", message: "continuationToken is not one this server issued for this instance's history" };
      }
      from = position;
      issuedFor = executionId;
    }
    // One read: the page carries the execution it belongs to.
    const page = await this.store.historyPage(instanceId, from, pageSize);
    if (!page) return undefined;
    if (continuationToken && issuedFor !== page.executionId) {
      return { kind: "bad-token", message: "the instance continued as new since continuationToken was issued; read its history from the start" };
    }
    const next = from + page.events.length;
    return {
      events: page.events,
      continuationToken: next < page.length ? tokens.issue(["history", instanceId, page.executionId, next]) : undefined,
    };
  }
}

/** Identifies a filter's values, so a token is used only with the filters it was issued for. */
function filterDigest(filter: InstanceFilter): string {
  const normalized = Object.entries({ ...filter, statuses: filter.statuses ? [...new Set(filter.statuses)].sort() : undefined })
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return createHash("sha256").update(JSON.stringify(normalized)).digest("base64url").slice(0, 12);
}
