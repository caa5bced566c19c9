/**
 * The PostgreSQL schema, as migrations: each entry is applied once, in order, in a transaction
 * that holds an advisory lock, so replicas starting together migrate once. `schema_version`
 * records how far a database has come; a database from a newer workflowd is refused. Never
 * edit a shipped entry: add a new one.
 *
 * The tables are SQLite's (see ../sqlite/migrations.ts for what each holds), with PostgreSQL
 * types: times are epoch milliseconds in BIGINT, events JSON text (the codec checks them on
 * the way out), and instance IDs compare byte by byte (COLLATE "C"), as in SQLite, so listing
 * order and prefix ranges are the same in both stores.
 */
import { randomBytes } from "node:crypto";
import type { PoolClient } from "pg";

const migrations: readonly ((client: PoolClient) => Promise<unknown>)[] = [
  async (client) => {
    await client.query(`
      CREATE TABLE instances (
        -- Creation order, for ListInstanceIDs' positions.
        position           BIGSERIAL NOT NULL UNIQUE,
        instance_id        TEXT COLLATE "C" PRIMARY KEY,
        name               TEXT NOT NULL,
        execution_id       TEXT NOT NULL,
        status             TEXT NOT NULL,
        created_at         BIGINT NOT NULL,
        last_updated_at    BIGINT NOT NULL,
        input              TEXT,
        output             TEXT,
        custom_status      TEXT,
        failure_details    TEXT,
        parent_instance_id TEXT COLLATE "C",
        workflow_version   TEXT,
        history_length     INTEGER NOT NULL DEFAULT 0,
        version            INTEGER NOT NULL
      );
      CREATE INDEX instances_by_parent ON instances (parent_instance_id) WHERE parent_instance_id IS NOT NULL;
      CREATE INDEX instances_stalled ON instances (instance_id) WHERE status = 'STALLED';
      CREATE INDEX instances_by_created ON instances (created_at, instance_id);
      CREATE INDEX instances_by_status ON instances (status, created_at, instance_id);
      CREATE INDEX instances_by_name ON instances (name, created_at, instance_id);
      CREATE INDEX instances_finished ON instances (status, last_updated_at, instance_id)
        WHERE status IN ('COMPLETED', 'FAILED', 'TERMINATED');

      CREATE TABLE history (
        instance_id TEXT COLLATE "C" NOT NULL,
        seq         INTEGER NOT NULL,
        event       TEXT NOT NULL,
        PRIMARY KEY (instance_id, seq)
      );

      CREATE TABLE inbox (
        seq          BIGSERIAL PRIMARY KEY,
        instance_id  TEXT COLLATE "C" NOT NULL,
        visible_at   BIGINT NOT NULL,
        execution_id TEXT,
        event        TEXT NOT NULL
      );
      CREATE INDEX inbox_by_instance ON inbox (instance_id, visible_at, seq);
      CREATE INDEX inbox_by_visible_at ON inbox (visible_at, instance_id);

      CREATE TABLE activities (
        seq              BIGSERIAL PRIMARY KEY,
        instance_id      TEXT COLLATE "C" NOT NULL,
        execution_id     TEXT NOT NULL,
        task_id          INTEGER NOT NULL,
        name             TEXT NOT NULL,
        input            TEXT,
        scheduled        TEXT,
        propagated       TEXT,
        lease_owner      TEXT,
        lease_expires_at BIGINT,
        attempts         INTEGER NOT NULL DEFAULT 0,
        UNIQUE (instance_id, execution_id, task_id)
      );
      CREATE INDEX activities_by_lease ON activities (lease_expires_at NULLS FIRST, seq);

      CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    await client.query("INSERT INTO settings (name, value) VALUES ('page_token_key', $1)", [randomBytes(32).toString("hex")]);
  },
  async (client) => {
    await client.query(`
      -- Which replica runs the instance's turns, until when (renewed by its turns):
      -- a turn is run by one replica at a time, and a dead replica's instances are taken over
      -- once its claims expire.
      ALTER TABLE instances ADD COLUMN claim_owner TEXT;
      ALTER TABLE instances ADD COLUMN claim_expires_at BIGINT;
      -- Releasing a stopping replica's claims.
      CREATE INDEX instances_by_claim ON instances (claim_owner) WHERE claim_owner IS NOT NULL;
      -- Jobs one replica at a time does (retention): who leads each, until when.
      CREATE TABLE leaders (task TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at BIGINT NOT NULL);
    `);
  },
  // 3: multi-app workflows, as SQLite's migration 6: the app that runs an instance's turns and
  // an activity (NULL on rows from before: any app runs them).
  async (client) => {
    await client.query(`
      ALTER TABLE instances ADD COLUMN app_id TEXT COLLATE "C";
      ALTER TABLE activities ADD COLUMN app_id TEXT COLLATE "C";
    `);
  },
  // 4: a turn's usual commit as one call (see PostgresStore.commitTurn): one statement, one round
  // trip and one implicit transaction instead of seven statements. A conflict raises (SQLSTATE
  // WFD01..WFD03), which rolls the whole call back.
  async (client) => {
    await client.query(`
      CREATE FUNCTION workflowd_commit_turn(
        p_instance TEXT, p_expected BIGINT,
        p_has_state BOOLEAN, p_execution_id TEXT, p_last_updated BIGINT, p_input TEXT, p_output TEXT, p_failure TEXT,
        p_workflow_version TEXT, p_custom_status TEXT, p_history_length INT, p_name TEXT, p_status TEXT, p_created_at BIGINT,
        p_consumed BIGINT[], p_taken BIGINT[],
        p_replace BOOLEAN, p_history_from INT, p_history TEXT[],
        p_inbox_visible BIGINT[], p_inbox_execution TEXT[], p_inbox_events TEXT[],
        p_act_execution TEXT, p_act_task INT[], p_act_name TEXT[], p_act_input TEXT[], p_act_scheduled TEXT[],
        p_act_propagated TEXT[], p_act_app TEXT[], p_act_leased BOOLEAN[], p_lease_owner TEXT, p_lease_expires BIGINT,
        p_finished BOOLEAN)
      RETURNS TABLE (leased_task INT, leased_seq BIGINT) LANGUAGE plpgsql AS $$
      DECLARE
        n BIGINT;
      BEGIN
        IF p_has_state THEN
          UPDATE instances SET execution_id = p_execution_id, last_updated_at = p_last_updated, input = p_input,
            output = p_output, failure_details = p_failure, workflow_version = p_workflow_version,
            custom_status = COALESCE(p_custom_status, custom_status), history_length = p_history_length,
            name = p_name, status = p_status, created_at = p_created_at, version = version + 1
          WHERE instance_id = p_instance AND version = p_expected;
        ELSE
          UPDATE instances SET custom_status = COALESCE(p_custom_status, custom_status), history_length = p_history_length,
            version = version + 1
          WHERE instance_id = p_instance AND version = p_expected;
        END IF;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'instance ''%'' changed since it was loaded', p_instance USING ERRCODE = 'WFD01';
        END IF;
        IF cardinality(p_consumed) > 0 THEN
          DELETE FROM inbox WHERE instance_id = p_instance AND seq = ANY(p_consumed);
          GET DIAGNOSTICS n = ROW_COUNT;
          IF n <> cardinality(p_consumed) THEN
            RAISE EXCEPTION 'inbox of ''%'' was consumed by another turn', p_instance USING ERRCODE = 'WFD02';
          END IF;
        END IF;
        IF cardinality(p_taken) > 0 THEN
          DELETE FROM activities WHERE seq = ANY(p_taken);
          GET DIAGNOSTICS n = ROW_COUNT;
          IF n <> cardinality(p_taken) THEN
            RAISE EXCEPTION 'the result of an activity of ''%'' was already recorded', p_instance USING ERRCODE = 'WFD03';
          END IF;
        END IF;
        IF p_replace THEN
          DELETE FROM history WHERE instance_id = p_instance;
          DELETE FROM activities WHERE instance_id = p_instance;
        END IF;
        INSERT INTO history (instance_id, seq, event)
          SELECT p_instance, p_history_from + e.i - 1, e.event FROM unnest(p_history) WITH ORDINALITY AS e(event, i);
        RETURN QUERY
          INSERT INTO activities (instance_id, execution_id, task_id, name, input, scheduled, propagated, app_id,
                                  lease_owner, lease_expires_at, attempts)
          SELECT p_instance, p_act_execution, a.task, a.name, a.input, a.scheduled, a.propagated, a.app,
                 CASE WHEN a.leased THEN p_lease_owner END, CASE WHEN a.leased THEN p_lease_expires END,
                 CASE WHEN a.leased THEN 1 ELSE 0 END
          FROM unnest(p_act_task, p_act_name, p_act_input, p_act_scheduled, p_act_propagated, p_act_app, p_act_leased)
            WITH ORDINALITY AS a(task, name, input, scheduled, propagated, app, leased, i)
          ORDER BY a.i
          ON CONFLICT (instance_id, execution_id, task_id) DO NOTHING
          RETURNING CASE WHEN lease_owner IS NOT NULL THEN activities.task_id END, CASE WHEN lease_owner IS NOT NULL THEN activities.seq END;
        INSERT INTO inbox (instance_id, visible_at, execution_id, event)
          SELECT p_instance, b.visible, b.execution, b.event
          FROM unnest(p_inbox_visible, p_inbox_execution, p_inbox_events) WITH ORDINALITY AS b(visible, execution, event, i)
          ORDER BY b.i;
        IF p_finished THEN
          DELETE FROM inbox WHERE instance_id = p_instance;
          DELETE FROM activities WHERE instance_id = p_instance;
        END IF;
      END
      $$;
    `);
  },
];

export const postgresSchemaVersion = migrations.length;

/** Any constant: the advisory lock that serializes migrations across replicas. */
const migrationLock = 0x77666400;

export async function migrate(client: PoolClient, location: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [migrationLock]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = (await client.query<{ version: number }>("SELECT version FROM schema_version")).rows[0];
    const current = row?.version ?? 0;
    if (current > migrations.length) {
      throw new Error(`database '${location}' has schema version ${current}, newer than this workflowd (${migrations.length}); refusing to open it: upgrade workflowd`);
    }
    for (let v = current; v < migrations.length; v++) await migrations[v]!(client);
    if (current < migrations.length) {
      await client.query("DELETE FROM schema_version");
      await client.query("INSERT INTO schema_version (version) VALUES ($1)", [migrations.length]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
