/**
 * The SQL of an instance listing's filter, shared by the stores: a WHERE clause whose shape
 * depends only on which fields are set (so a store may prepare one statement per shape), with
 * the values bound as named parameters (`@name`). The SQL is the subset SQLite and PostgreSQL
 * read alike.
 */
import type { InstanceFilter } from "./store.js";

/**
 * The WHERE clause for a filter's set fields (statuses are applied by the caller). Only the
 * shape depends on the filter; values are bound as the named parameters of `filterParams`.
 */
export function buildFilter(filter: InstanceFilter, hasAfter: boolean): { sql: string } {
  const parts = ["TRUE"];
  if (filter.name !== undefined) parts.push("name = @name");
  if (filter.createdFrom !== undefined) parts.push("created_at >= @created_from");
  // With a position, the position (issued under the same filter) already lies below
  // createdTo; leaving the bound out lets SQLite seek to the position instead of scanning
  // down from createdTo on every page.
  if (filter.createdTo !== undefined && !hasAfter) parts.push("created_at < @created_to");
  if (filter.lastUpdatedFrom !== undefined) parts.push("last_updated_at >= @updated_from");
  if (filter.lastUpdatedTo !== undefined) parts.push("last_updated_at < @updated_to");
  // A literal prefix: a key range (so the primary key finds it), compared as a substring too,
  // so `_` and `%` are plain characters.
  if (filter.instanceIdPrefix !== undefined) {
    parts.push(`instance_id >= @prefix${prefixEnd(filter.instanceIdPrefix) === undefined ? "" : " AND instance_id < @prefix_end"} AND substr(instance_id, 1, length(@prefix)) = @prefix`);
  }
  if (filter.parentInstanceId !== undefined) parts.push("parent_instance_id = @parent");
  if (filter.rootsOnly) {
    parts.push("(parent_instance_id IS NULL OR NOT EXISTS (SELECT 1 FROM instances p WHERE p.instance_id = instances.parent_instance_id))");
  }
  if (hasAfter) parts.push("(created_at, instance_id) < (@after_at, @after_id)");
  return { sql: parts.join(" AND ") };
}

export function filterParams(filter: InstanceFilter): Record<string, string | number> {
  const params: Record<string, string | number> = {};
  if (filter.name !== undefined) params.name = filter.name;
  if (filter.createdFrom !== undefined) params.created_from = filter.createdFrom;
  if (filter.createdTo !== undefined) params.created_to = filter.createdTo; // unused with a position (buildFilter)
  if (filter.lastUpdatedFrom !== undefined) params.updated_from = filter.lastUpdatedFrom;
  if (filter.lastUpdatedTo !== undefined) params.updated_to = filter.lastUpdatedTo;
  if (filter.instanceIdPrefix !== undefined) {
    params.prefix = filter.instanceIdPrefix;
    const end = prefixEnd(filter.instanceIdPrefix);
    if (end !== undefined) params.prefix_end = end;
  }
  if (filter.parentInstanceId !== undefined) params.parent = filter.parentInstanceId;
  return params;
}

/**
 * The least string above every string that starts with `prefix`, in SQLite's order (UTF-8
 * bytes, which is code point order): the prefix with its last code point incremented (a last
 * U+10FFFF is dropped and the one before incremented). Undefined when there is none.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000; // surrogates are not code points of UTF-8
    if (next <= 0x10ffff) return String.fromCodePoint(...points, next);
  }
  return undefined;
}

