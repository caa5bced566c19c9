/**
 * Schema migrations. Each entry is applied once, in order, inside a transaction, and the
 * `schema_version` table records how far a database has come. Never edit a shipped entry:
 * add a new one.
 *
 *   instances   one row per instance; `version` is the optimistic-concurrency token every
 *               write to the row checks and bumps. Columns other than the IDs are derived
 *               from history by the engine's fold and rewritten at every turn.
 *   history     committed history events, numbered per instance from 0.
 *   inbox       new events waiting for a turn. A row is visible (deliverable) once
 *               `visible_at` <= now, which is how timers wait. Rows bound to one
 *               execution carry its `execution_id` (see engine/turn.ts InboxItem).
 *   activities  queued activity work. A row is leased while it runs; an expired or
 *               released lease lets it run again (at-least-once). The row is deleted in the
 *               same transaction that puts its result into the inbox. `scheduled` is
 *               the TaskScheduled event whose protocol fields the request carries.
 *   settings    values made once per database (the continuation-token key).
 *   status_counts  instances per status, kept by triggers on instances.
 */
import type { Database } from "better-sqlite3";

const migrations: readonly string[] = [
  `
  CREATE TABLE instances (
    instance_id        TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    execution_id       TEXT NOT NULL,
    status             TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    last_updated_at    INTEGER NOT NULL,
    input              TEXT,
    output             TEXT,
    custom_status      TEXT,
    failure_details    TEXT,
    parent_instance_id TEXT,
    history_length     INTEGER NOT NULL DEFAULT 0,
    version            INTEGER NOT NULL
  ) STRICT;
  -- Recursive purge and child replacement walk from a parent to its children.
  CREATE INDEX instances_by_parent ON instances (parent_instance_id) WHERE parent_instance_id IS NOT NULL;

  CREATE TABLE history (
    instance_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    event       TEXT NOT NULL,
    -- The key is also a second guard: two writers appending at the same position collide.
    PRIMARY KEY (instance_id, seq)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE inbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id  TEXT NOT NULL,
    visible_at   INTEGER NOT NULL,
    execution_id TEXT,
    event        TEXT NOT NULL
  ) STRICT;
  -- Loading one instance's visible events in delivery order.
  CREATE INDEX inbox_by_instance ON inbox (instance_id, visible_at, seq);
  -- Finding instances with due events (start-up recovery and timer wake-ups) as a range
  -- search that never touches rows not yet due, and the next timer's time.
  CREATE INDEX inbox_by_visible_at ON inbox (visible_at, instance_id);

  CREATE TABLE activities (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id      TEXT NOT NULL,
    execution_id     TEXT NOT NULL,
    task_id          INTEGER NOT NULL,
    name             TEXT NOT NULL,
    input            TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (instance_id, execution_id, task_id)
  ) STRICT;
  -- Claiming work: free rows (NULL sorts first) and expired leases, oldest first.
  CREATE INDEX activities_by_lease ON activities (lease_expires_at, seq);
  -- Deleting an instance's queued work when it finishes or is purged uses the UNIQUE index.
  `,
  `
  -- The current durabletask protocol. An activity's TaskScheduled event (JSON): the request
  -- carries its taskExecutionId, version and trace context to the worker, unchanged on every
  -- redelivery. NULL for rows queued before this migration (they carry none of these).
  ALTER TABLE activities ADD COLUMN scheduled TEXT;
  -- The history the activity receives (history propagation, JSON); NULL when none.
  ALTER TABLE activities ADD COLUMN propagated TEXT;
  -- The orchestration version string of the instance's current execution (GetInstance).
  ALTER TABLE instances ADD COLUMN workflow_version TEXT;
  -- Stalled instances run again when a worker connects: found without a scan.
  CREATE INDEX instances_stalled ON instances (instance_id) WHERE status = 'STALLED';
  `,
  `
  -- Listing instances newest first (keyset paging on created_at, instance_id), also by status
  -- and by name. A turn's UPDATE sets these columns only when they change (statements.ts), so
  -- the indexes cost nothing on most turns.
  CREATE INDEX instances_by_created ON instances (created_at, instance_id);
  CREATE INDEX instances_by_status ON instances (status, created_at, instance_id);
  CREATE INDEX instances_by_name ON instances (name, created_at, instance_id);
  -- Retention and bulk purge: finished instances by when they finished. Partial, so a turn
  -- of a running instance (which moves last_updated_at) never writes it.
  CREATE INDEX instances_finished ON instances (status, last_updated_at)
    WHERE status IN ('COMPLETED', 'FAILED', 'TERMINATED');
  -- Settings made once per database. page_token_key signs continuation tokens, so a token
  -- stays valid across restarts and one we did not issue is recognised.
  CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  INSERT INTO settings (name, value) VALUES ('page_token_key', lower(hex(randomblob(32))));
  `,
  `
  -- Instances by status, kept by triggers, so counts by status read 8 rows instead of
  -- scanning an index of every instance. A turn changes status rarely (statements.ts sets it
  -- only when it changes), so the triggers cost little.
  CREATE TABLE status_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL) STRICT, WITHOUT ROWID;
  INSERT INTO status_counts (status, n) SELECT status, count(*) FROM instances GROUP BY status;
  CREATE TRIGGER status_counts_insert AFTER INSERT ON instances BEGIN
    INSERT INTO status_counts (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER status_counts_delete AFTER DELETE ON instances BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
  END;
  CREATE TRIGGER status_counts_update AFTER UPDATE OF status ON instances WHEN OLD.status <> NEW.status BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO status_counts (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = n + 1;
  END;
  `,
  `
  -- Counts by status for one workflow name (the console's chips under a name filter): an index
  -- range count per status instead of reading every row of the name. Written only when a
  -- listed column changes, like the other listing indexes.
  CREATE INDEX instances_by_name_status ON instances (name, status, created_at);
  `,
  `
  -- Multi-app workflows: the app ID that runs an instance's turns, and an activity's (its
  -- target app, else its instance's). NULL on rows from before: any app runs them.
  ALTER TABLE instances ADD COLUMN app_id TEXT;
  ALTER TABLE activities ADD COLUMN app_id TEXT;
  `,
];

export const schemaVersion = migrations.length;

export function migrate(db: Database): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
  const current = row?.version ?? 0;
  if (current > migrations.length) {
    throw new Error(
      `database schema version ${current} is newer than this workflowd (${migrations.length}); refusing to open it`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.prepare("DELETE FROM schema_version").run();
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(v + 1);
    })();
  }
}
