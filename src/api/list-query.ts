/**
 * The query parameters of the list, counts and bulk-purge routes, parsed strictly: a bad
 * value is a 400 naming the parameter, never a silently wider (or empty) listing.
 */
import { Type } from "@sinclair/typebox";
import { runtimeStatuses, type RuntimeStatus } from "../engine/state.js";
import { limits } from "../limits.js";
import type { InstanceFilter } from "../orchestration/instance-queries.js";
import { apiErrors } from "./errors.js";

const text = (description: string) => Type.Optional(Type.String({ description }));
const time = (description: string) => text(`${description} (RFC 3339, e.g. 2026-11-30T12:00:00Z)`);

/** The filters the three routes share. Values are strings here; `parseFilter` checks them. */
export const FilterQuery = {
  status: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())], {
    description: "runtime status (repeatable: any of them): PENDING, RUNNING, COMPLETED, FAILED, TERMINATED, SUSPENDED, STALLED",
  })),
  name: text("the workflow's name, exactly"),
  createdFrom: time("created at or after"),
  createdTo: time("created before"),
  lastUpdatedFrom: time("last updated at or after"),
  lastUpdatedTo: time("last updated before"),
  instanceIDPrefix: text("instance IDs starting with this literal, case-sensitive text (`_` and `%` are plain characters)"),
  parentInstanceID: text("direct children of this instance"),
};

export const ListQuery = Type.Object({
  ...FilterQuery,
  pageSize: text(`instances per page, 1 to ${limits.listPageSizeMax} (default ${limits.listPageSizeDefault})`),
  continuationToken: text("the previous page's continuationToken"),
  fetchInputsAndOutputs: text("true adds each instance's `properties`, as GET returns them (default false)"),
  countOnly: text("true answers the number of matching instances by status instead of a page (default false)"),
});

export const PurgeQuery = Type.Object(FilterQuery);

export const HistoryQuery = Type.Object({
  pageSize: text(`events per page, 1 to ${limits.historyPageSizeMax} (default ${limits.historyPageSizeDefault})`),
  continuationToken: text("the previous page's continuationToken"),
});

type Query = Record<string, string | string[] | undefined>;

export function parseFilter(query: Query): InstanceFilter {
  const statuses = query.status === undefined ? undefined : [query.status].flat().map((s) => {
    if (!(runtimeStatuses as readonly string[]).includes(s)) {
      throw apiErrors.badParameter("status", `unknown status '${s}'; use ${runtimeStatuses.join(", ")}`);
    }
    return s as RuntimeStatus;
  });
  return {
    statuses,
    name: single(query, "name"),
    createdFrom: instant(query, "createdFrom"),
    createdTo: instant(query, "createdTo"),
    lastUpdatedFrom: instant(query, "lastUpdatedFrom"),
    lastUpdatedTo: instant(query, "lastUpdatedTo"),
    instanceIdPrefix: single(query, "instanceIDPrefix"),
    parentInstanceId: single(query, "parentInstanceID"),
  };
}

export function pageSize(query: Query, fallback: number, max: number): number {
  const value = single(query, "pageSize");
  if (value === undefined) return fallback;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw apiErrors.badParameter("pageSize", `must be an integer from 1 to ${max}, got '${value}'`);
  }
  return Number(value);
}

export function flag(query: Query, name: string): boolean {
  const value = single(query, name);
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw apiErrors.badParameter(name, `must be true or false, got '${value}'`);
}

/** A parameter given at most once. */
export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw apiErrors.badParameter(name, "given more than once");
  return value;
}

const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time as milliseconds since the epoch (finer digits are dropped). */
function instant(query: Query, name: string): number | undefined {
  const value = single(query, name);
  if (value === undefined) return undefined;
  const ms = rfc3339.test(value) ? Date.parse(value.toUpperCase()) : Number.NaN;
  if (Number.isNaN(ms)) throw apiErrors.badParameter(name, `must be an RFC 3339 time such as 2026-11-30T12:00:00Z, got '${value}'`);
  return ms;
}
