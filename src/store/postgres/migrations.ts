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
  // 4: the usual commits of many turns (one each of different instances) as one call (see
  // PostgresStore.commitTurn): each write a single set-based statement for all of them, and one
  // WAL flush. A conflict in any turn raises (SQLSTATE WFD01..WFD03) and rolls the whole call
  // back; the store then commits those turns one call each, so only the loser sees it.
  async (client) => {
    await client.query(`
      CREATE FUNCTION workflowd_commit_turns(
        u_instance TEXT[], u_expected BIGINT[], u_has_state BOOLEAN[], u_execution TEXT[], u_last_updated BIGINT[],
        u_input TEXT[], u_output TEXT[], u_failure TEXT[], u_workflow_version TEXT[], u_custom_status TEXT[],
        u_history_length INT[], u_name TEXT[], u_status TEXT[], u_created_at BIGINT[],
        c_instance TEXT[], c_seq BIGINT[],
        t_seq BIGINT[],
        r_instance TEXT[],
        h_instance TEXT[], h_seq INT[], h_event TEXT[],
        a_instance TEXT[], a_execution TEXT[], a_task INT[], a_name TEXT[], a_input TEXT[], a_scheduled TEXT[],
        a_propagated TEXT[], a_app TEXT[], a_lease_owner TEXT[], a_lease_expires BIGINT[],
        b_instance TEXT[], b_visible BIGINT[], b_execution TEXT[], b_event TEXT[],
        f_instance TEXT[])
      RETURNS TABLE (leased_instance TEXT, leased_task INT, leased_seq BIGINT) LANGUAGE plpgsql AS $$
      DECLARE
        n BIGINT;
      BEGIN
        -- Rows locked in one order by every caller, so two calls that share instances (replicas
        -- whose claims lapsed) wait for each other instead of deadlocking.
        PERFORM 1 FROM instances WHERE instance_id = ANY(u_instance) ORDER BY instance_id FOR UPDATE;
        UPDATE instances i SET
          execution_id = CASE WHEN u.has_state THEN u.execution ELSE i.execution_id END,
          last_updated_at = CASE WHEN u.has_state THEN u.last_updated ELSE i.last_updated_at END,
          input = CASE WHEN u.has_state THEN u.input ELSE i.input END,
          output = CASE WHEN u.has_state THEN u.output ELSE i.output END,
          failure_details = CASE WHEN u.has_state THEN u.failure ELSE i.failure_details END,
          workflow_version = CASE WHEN u.has_state THEN u.workflow_version ELSE i.workflow_version END,
          custom_status = COALESCE(u.custom_status, i.custom_status),
          history_length = u.history_length,
          name = CASE WHEN u.has_state THEN u.name ELSE i.name END,
          status = CASE WHEN u.has_state THEN u.status ELSE i.status END,
          created_at = CASE WHEN u.has_state THEN u.created_at ELSE i.created_at END,
          version = i.version + 1
        FROM unnest(u_instance, u_expected, u_has_state, u_execution, u_last_updated, u_input, u_output, u_failure,
                    u_workflow_version, u_custom_status, u_history_length, u_name, u_status, u_created_at)
          AS u(instance, expected, has_state, execution, last_updated, input, output, failure, workflow_version,
               custom_status, history_length, name, status, created_at)
        WHERE i.instance_id = u.instance AND i.version = u.expected;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n <> cardinality(u_instance) THEN
          RAISE EXCEPTION 'instance % changed since it was loaded', array_to_string(u_instance, ', ') USING ERRCODE = 'WFD01';
        END IF;
        DELETE FROM inbox b USING unnest(c_instance, c_seq) AS c(instance, seq) WHERE b.instance_id = c.instance AND b.seq = c.seq;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n <> cardinality(c_seq) THEN
          RAISE EXCEPTION 'inbox of % was consumed by another turn', array_to_string(u_instance, ', ') USING ERRCODE = 'WFD02';
        END IF;
        DELETE FROM activities WHERE seq = ANY(t_seq);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n <> cardinality(t_seq) THEN
          RAISE EXCEPTION 'the result of an activity of % was already recorded', array_to_string(u_instance, ', ') USING ERRCODE = 'WFD03';
        END IF;
        IF cardinality(r_instance) > 0 THEN
          DELETE FROM history WHERE instance_id = ANY(r_instance);
          DELETE FROM activities WHERE instance_id = ANY(r_instance);
        END IF;
        INSERT INTO history (instance_id, seq, event) SELECT * FROM unnest(h_instance, h_seq, h_event);
        RETURN QUERY
          INSERT INTO activities AS x (instance_id, execution_id, task_id, name, input, scheduled, propagated, app_id,
                                       lease_owner, lease_expires_at, attempts)
          SELECT a.instance, a.execution, a.task, a.name, a.input, a.scheduled, a.propagated, a.app,
                 a.lease_owner, a.lease_expires, CASE WHEN a.lease_owner IS NULL THEN 0 ELSE 1 END
          FROM unnest(a_instance, a_execution, a_task, a_name, a_input, a_scheduled, a_propagated, a_app, a_lease_owner, a_lease_expires)
            WITH ORDINALITY AS a(instance, execution, task, name, input, scheduled, propagated, app, lease_owner, lease_expires, i)
          ORDER BY a.i
          ON CONFLICT (instance_id, execution_id, task_id) DO NOTHING
          RETURNING x.instance_id, CASE WHEN x.lease_owner IS NULL THEN NULL ELSE x.task_id END, x.seq;
        INSERT INTO inbox (instance_id, visible_at, execution_id, event)
          SELECT b.instance, b.visible, b.execution, b.event
          FROM unnest(b_instance, b_visible, b_execution, b_event) WITH ORDINALITY AS b(instance, visible, execution, event, i)
          ORDER BY b.i;
        IF cardinality(f_instance) > 0 THEN
          DELETE FROM inbox WHERE instance_id = ANY(f_instance);
          DELETE FROM activities WHERE instance_id = ANY(f_instance);
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
