/**
 * Every SQL statement of the store, by name. Kept apart from the code that runs them so that
 * `bench/ceiling.mjs` measures the store's very statements, not a copy that can drift.
 */
import type Database from "better-sqlite3";

export const storeSql = {
  ping: "SELECT 1",
  insertInstance: `
    INSERT INTO instances (instance_id, name, execution_id, status, created_at, last_updated_at, input, parent_instance_id, workflow_version, app_id, version)
    VALUES (@instance_id, @name, @execution_id, 'PENDING', @created_at, @created_at, @input, @parent_instance_id, @workflow_version, @app_id, 1)
    ON CONFLICT (instance_id) DO NOTHING`,
  insertFork: `
    INSERT INTO instances (instance_id, name, execution_id, status, created_at, last_updated_at, input, parent_instance_id, workflow_version, app_id, history_length, version)
    VALUES (@instance_id, @name, @execution_id, @status, @created_at, @last_updated_at, @input, NULL, @workflow_version, @app_id, @history_length, 1)
    ON CONFLICT (instance_id) DO NOTHING`,
  getInstance: "SELECT * FROM instances WHERE instance_id = ?",
  getStatus: "SELECT status FROM instances WHERE instance_id = ?",
  getChildren: "SELECT instance_id FROM instances WHERE parent_instance_id = ?",
  listInstanceIds: "SELECT rowid AS position, instance_id FROM instances WHERE rowid > ? ORDER BY rowid LIMIT ?",
  stalledInstances: "SELECT instance_id FROM instances WHERE status = 'STALLED'",
  // Columns that are indexed for listing (name, status, created_at) are set by
  // updateInstanceListed, and only when one of them changes: SQLite rewrites an index entry
  // whenever its column is SET, even to the same value.
  updateInstance: `
    UPDATE instances SET
      execution_id = CASE WHEN @has_state THEN @execution_id ELSE execution_id END,
      last_updated_at = CASE WHEN @has_state THEN @last_updated_at ELSE last_updated_at END,
      input = CASE WHEN @has_state THEN @input ELSE input END,
      output = CASE WHEN @has_state THEN @output ELSE output END,
      failure_details = CASE WHEN @has_state THEN @failure_details ELSE failure_details END,
      workflow_version = CASE WHEN @has_state THEN @workflow_version ELSE workflow_version END,
      custom_status = COALESCE(@custom_status, custom_status),
      history_length = @history_length,
      version = version + 1
    WHERE instance_id = @instance_id AND version = @expected_version`,
  updateInstanceListed: "UPDATE instances SET name = ?, status = ?, created_at = ? WHERE instance_id = ?",
  rewriteInstance: `
    UPDATE instances SET
      name = @name, execution_id = @execution_id, status = @status, created_at = @created_at,
      last_updated_at = @last_updated_at, input = @input, output = NULL, failure_details = NULL,
      workflow_version = @workflow_version, history_length = @history_length, version = version + 1
    WHERE instance_id = @instance_id AND version = @expected_version`,
  pageTokenKey: "SELECT value FROM settings WHERE name = 'page_token_key'",
  statusCounts: "SELECT status, n FROM status_counts WHERE n > 0",
  // Retention: finished instances, oldest first by when they finished, after a
  // (last_updated_at, instance_id) position. The IN repeats the partial index's condition so
  // that SQLite may use instances_finished.
  finishedBefore: `
    SELECT instance_id, last_updated_at FROM instances
    WHERE status IN ('COMPLETED', 'FAILED', 'TERMINATED') AND status = @status AND last_updated_at < @before
      AND (last_updated_at, instance_id) > (@after_at, @after_id)
    ORDER BY last_updated_at, instance_id LIMIT @limit`,
  deleteInstance: "DELETE FROM instances WHERE instance_id = ?",
  getHistory: "SELECT seq, event FROM history WHERE instance_id = ? ORDER BY seq",
  getHistoryPage: "SELECT seq, event FROM history WHERE instance_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
  insertHistory: "INSERT INTO history (instance_id, seq, event) VALUES (?, ?, ?)",
  deleteHistory: "DELETE FROM history WHERE instance_id = ?",
  getInbox: `
    SELECT seq, execution_id, event FROM inbox
    WHERE instance_id = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?`,
  insertInbox: "INSERT INTO inbox (instance_id, visible_at, execution_id, event) VALUES (?, ?, ?, ?)",
  insertInboxIfExists: `
    INSERT INTO inbox (instance_id, visible_at, execution_id, event)
    SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM instances WHERE instance_id = ?)`,
  deleteInbox: "DELETE FROM inbox WHERE seq = ? AND instance_id = ?",
  deleteInboxOf: "DELETE FROM inbox WHERE instance_id = ?",
  // Pinned: without statistics SQLite prefers scanning inbox_by_instance for the DISTINCT.
  dueInstances: "SELECT DISTINCT instance_id FROM inbox INDEXED BY inbox_by_visible_at WHERE visible_at <= ? LIMIT ?",
  dueInstancesBetween: "SELECT DISTINCT instance_id FROM inbox INDEXED BY inbox_by_visible_at WHERE visible_at > ? AND visible_at <= ?",
  nextVisible: "SELECT MIN(visible_at) AS at FROM inbox WHERE visible_at > ?",
  insertActivity: `
    INSERT INTO activities (instance_id, execution_id, task_id, name, input, scheduled, propagated, app_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (instance_id, execution_id, task_id) DO NOTHING`,
  // The same row already leased: the turn that schedules an activity this process runs at once.
  insertLeasedActivity: `
    INSERT INTO activities (instance_id, execution_id, task_id, name, input, scheduled, propagated, app_id, lease_owner, lease_expires_at, attempts)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
    ON CONFLICT (instance_id, execution_id, task_id) DO NOTHING`,
  claimActivities: `
    UPDATE activities SET lease_owner = @owner, lease_expires_at = @expires, attempts = attempts + 1
    WHERE seq IN (
      SELECT seq FROM activities
      WHERE (lease_expires_at IS NULL OR lease_expires_at <= @now)
        AND (@names IS NULL OR name IN (SELECT value FROM json_each(@names)))
        AND (@app IS NULL OR app_id IS NULL OR app_id = @app)
      ORDER BY seq LIMIT @limit)
    RETURNING seq, instance_id, execution_id, task_id, name, input, scheduled, propagated, attempts`,
  getActivity: "SELECT instance_id, execution_id FROM activities WHERE seq = ?",
  activityExists: "SELECT 1 AS present FROM activities WHERE seq = ?",
  deleteActivity: "DELETE FROM activities WHERE seq = ?",
  deleteActivitiesOf: "DELETE FROM activities WHERE instance_id = ?",
  releaseAllLeases: "UPDATE activities SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_expires_at IS NOT NULL",
  releaseLease: "UPDATE activities SET lease_owner = NULL, lease_expires_at = NULL WHERE seq = ? AND lease_owner = ?",
  renewLeases: "UPDATE activities SET lease_expires_at = ? WHERE lease_owner = ?",
  inboxDepths: `
    SELECT (SELECT count(DISTINCT instance_id) FROM inbox WHERE visible_at <= ?) AS ready,
           (SELECT count(*) FROM inbox WHERE visible_at > ?) AS pending`,
  countActivities: "SELECT COUNT(*) AS n FROM activities",
  activityDepths: `
    SELECT sum(lease_expires_at IS NULL OR lease_expires_at <= ?) AS queued,
           sum(lease_expires_at > ?) AS running
    FROM activities`,
  nextLeaseExpiry: "SELECT MIN(lease_expires_at) AS at FROM activities WHERE lease_expires_at IS NOT NULL",
} as const;

/** The store's statements, prepared on one connection. */
export type PreparedStatements = { [Name in keyof typeof storeSql]: Database.Statement };

/** Every statement of `storeSql`, prepared on `db`. */
export function prepareStatements(db: Database.Database): PreparedStatements {
  const entries = Object.entries(storeSql).map(([name, sql]) => [name, db.prepare(sql)]);
  return Object.fromEntries(entries) as PreparedStatements;
}
