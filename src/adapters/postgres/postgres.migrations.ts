import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import postgres from 'postgres';
import { CLIENT_OPTIONS, LOCK } from './postgres.db.js';
import { OutageSafeDialect } from './postgres.driver.js';
import { guarded } from './postgres.errors.js';

/**
 * Schema migrations, applied in order by name and recorded in `mediaflow_migration`.
 * Never edit a released migration: add a new one. The columns follow the SQLite schema
 * (src/adapters/sqlite/sqlite.db.ts) with PostgreSQL types: jsonb, timestamptz, boolean.
 */
const MIGRATIONS: Record<string, string> = {
  '001_jobs': `
    CREATE TABLE jobs (
      seq bigserial PRIMARY KEY,
      id text NOT NULL UNIQUE,
      processor text NOT NULL,
      processor_version text NOT NULL,
      params jsonb NOT NULL,
      input jsonb NOT NULL,
      input_sha256 text,
      status text NOT NULL CHECK (status IN ('queued','running','succeeded','failed','canceled')),
      progress double precision NOT NULL DEFAULT 0,
      stage text,
      priority integer NOT NULL DEFAULT 0,
      attempts integer NOT NULL DEFAULT 0,
      max_attempts integer NOT NULL DEFAULT 1,
      error jsonb,
      result jsonb,
      dedup_key text,
      idempotency_key text UNIQUE,
      request_fingerprint text,
      meta jsonb NOT NULL DEFAULT '{}',
      meta_name text,
      webhook text,
      cancel_requested boolean NOT NULL DEFAULT false,
      solo boolean NOT NULL DEFAULT false,
      run_at timestamptz NOT NULL DEFAULT now(),
      lease_owner text,
      lease_token text,
      lease_expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz
    );
    CREATE INDEX jobs_queue ON jobs (status, run_at, priority DESC, seq);
    CREATE INDEX jobs_lease ON jobs (lease_owner) WHERE lease_owner IS NOT NULL;
    CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at) WHERE status = 'running';
    CREATE INDEX jobs_dedup ON jobs (dedup_key) WHERE dedup_key IS NOT NULL;
    CREATE INDEX jobs_input ON jobs (input_sha256) WHERE input_sha256 IS NOT NULL;
    CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
    CREATE INDEX jobs_meta_name ON jobs (meta_name) WHERE meta_name IS NOT NULL;
    CREATE TABLE job_outputs (
      job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      name text NOT NULL,
      size bigint NOT NULL,
      mime text NOT NULL,
      sha256 text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, name)
    );
    CREATE INDEX job_outputs_sha ON job_outputs (sha256);
    CREATE TABLE events (
      id bigserial PRIMARY KEY,
      job_id text NOT NULL,
      data jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX events_created ON events (created_at);
  `,
  // Seed 003's main server kept `image_results(filename, status, degree, created_at)`; its jobs
  // are orientation jobs made by POST /upload, so the table is a view over them, always current.
  // created_at keeps SQLite's datetime() text form (UTC, 'YYYY-MM-DD HH:MM:SS') so both backends answer alike.
  '002_image_results': `
    CREATE VIEW image_results AS
      SELECT meta_name AS filename,
        CASE status WHEN 'succeeded' THEN 'completed' WHEN 'failed' THEN 'error' WHEN 'canceled' THEN 'error' ELSE 'processing' END AS status,
        CASE status WHEN 'succeeded' THEN (result->>'degree')::double precision END AS degree,
        to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS created_at
      FROM jobs
      WHERE processor = 'orientation' AND meta->>'source' = 'compat:seed003';
  `,
  // Chains: a job may take its input from another job's output and wait ('waiting') for it;
  // live workers for GET /v1/workers.
  '003_chains_workers': `
    ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
    ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('waiting','queued','running','succeeded','failed','canceled'));
    ALTER TABLE jobs ADD COLUMN upstream_job text, ADD COLUMN upstream_output text;
    CREATE INDEX jobs_upstream ON jobs (upstream_job) WHERE upstream_job IS NOT NULL;
    CREATE TABLE workers (
      id text PRIMARY KEY,
      node text NOT NULL,
      pid integer NOT NULL,
      processors jsonb NOT NULL,
      running jsonb NOT NULL,
      started_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL DEFAULT now()
    );
  `,
  // The webhook outbox: a job's `done` event, whichever statement wrote it, adds a delivery in
  // its own transaction when the job has a webhook (a trigger, so no path that ends a job can miss it).
  '004_webhook_outbox': `
    CREATE TABLE webhook_deliveries (
      id bigserial PRIMARY KEY,
      event_id bigint NOT NULL UNIQUE,
      job_id text NOT NULL,
      url text NOT NULL,
      event jsonb NOT NULL,
      body text,
      attempts integer NOT NULL DEFAULT 0,
      next_at timestamptz NOT NULL DEFAULT now(),
      claimed_by text,
      claimed_until timestamptz,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at);
    CREATE FUNCTION mediaflow_webhook_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO webhook_deliveries (event_id, job_id, url, event)
        SELECT NEW.id, j.id, j.webhook, NEW.data FROM jobs j WHERE j.id = NEW.job_id AND j.webhook IS NOT NULL;
      RETURN NULL;
    END $$;
    CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
      FOR EACH ROW WHEN (NEW.data->>'type' = 'done') EXECUTE FUNCTION mediaflow_webhook_outbox();
  `,
  // Event positions handed out at commit (postgres.events.ts explains why): a deferred trigger takes
  // the events lock and numbers the transaction's events just before its commit record is written.
  // Earlier events keep their ids as positions.
  '005_event_positions': `
    CREATE SEQUENCE events_pos_seq;
    ALTER TABLE events ADD COLUMN pos bigint;
    UPDATE events SET pos = id;
    SELECT setval('events_pos_seq', coalesce((SELECT max(id) FROM events), 0) + 1, false);
    CREATE UNIQUE INDEX events_pos ON events (pos);
    CREATE FUNCTION mediaflow_event_position() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock(${LOCK.events}, 0);
      UPDATE events SET pos = nextval('events_pos_seq') WHERE id = NEW.id;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER events_position AFTER INSERT ON events
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mediaflow_event_position();
  `,
};

const provider: MigrationProvider = {
  async getMigrations() {
    return Object.fromEntries(
      Object.entries(MIGRATIONS).map(([name, ddl]): [string, Migration] => [name, { up: async (db) => { await sql.raw(ddl).execute(db); } }]),
    );
  },
};

/**
 * Creates or upgrades the schema (`mediaflow migrate`, and every process at start); returns the
 * names of the migrations applied now. Safe to run from many processes at once: everything,
 * Kysely's own bookkeeping tables included, happens under one session advisory lock on a single
 * connection, so a second process waits and then finds nothing left to do.
 */
export async function migratePostgres(url: string): Promise<string[]> {
  // One connection: the session lock and the migration must share it.
  const client = postgres(url, { ...CLIENT_OPTIONS, max: 1 });
  const db = new Kysely<unknown>({ dialect: new OutageSafeDialect(client) });
  try {
    return await guarded(async () => {
      await client`SELECT pg_advisory_lock(${LOCK.migrate}, 0)`;
      try {
        const migrator = new Migrator({ db, provider, migrationTableName: 'mediaflow_migration', migrationLockTableName: 'mediaflow_migration_lock' });
        const { error, results } = await migrator.migrateToLatest();
        if (error) throw error;
        return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      } finally {
        // A lost connection took the session lock with it: nothing to release then.
        await client`SELECT pg_advisory_unlock(${LOCK.migrate}, 0)`.catch(() => {});
      }
    });
  } finally {
    await db.destroy();
  }
}

/** Names of every migration this version knows (the latest one is the schema version). */
export const POSTGRES_MIGRATIONS = Object.keys(MIGRATIONS);
