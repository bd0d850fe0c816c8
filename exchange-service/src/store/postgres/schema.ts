/**
 * The PostgreSQL schema and its versioned migrations. Tables are prefixed
 * `latchkey_` so the store can share a database; they live in the first
 * schema of the connection's `search_path` (`?search_path=NAME` in the URL
 * picks another). The version is the highest row of
 * `latchkey_schema_migrations`; a database newer than this code is refused,
 * never guessed at. Migrations run in one transaction under an advisory
 * lock, so replicas starting together migrate once.
 */
import type postgres from 'postgres';
import { GENESIS_HASH } from '../../audit/chain.ts';
import type { Logger } from '../../log.ts';
import { StoreSchemaError } from '../store.ts';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** Every schema step, oldest first (exported for the tests that build an older store). */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'audit chain and its head, claimed jtis, grants, request counters',
    sql: `
      CREATE TABLE latchkey_schema_migrations (
        version integer PRIMARY KEY,
        description text NOT NULL,
        applied_at timestamptz NOT NULL
      );
      CREATE TABLE latchkey_audit (
        seq bigint PRIMARY KEY,
        id text NOT NULL,
        time text NOT NULL,
        hash text NOT NULL,
        prev_hash text NOT NULL,
        record text NOT NULL
      );
      CREATE INDEX latchkey_audit_time ON latchkey_audit (time);
      -- One row: the chain's last record. Appenders lock it (SELECT ... FOR UPDATE),
      -- which serialises them across replicas; seq's primary key is the backstop.
      CREATE TABLE latchkey_audit_head (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        seq bigint NOT NULL,
        hash text NOT NULL
      );
      INSERT INTO latchkey_audit_head (singleton, seq, hash) VALUES (true, 0, '${GENESIS_HASH}');
      CREATE TABLE latchkey_jti (
        issuer text NOT NULL,
        jti text NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (issuer, jti)
      );
      CREATE INDEX latchkey_jti_expires_at ON latchkey_jti (expires_at);
      CREATE TABLE latchkey_grants (
        id text PRIMARY KEY,
        policy text NOT NULL,
        kind text NOT NULL,
        issuer text NOT NULL,
        subject text,
        repository_id text,
        run_id text,
        run_attempt text,
        credential_sha256 text,
        issued_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        revoked_at bigint,
        last_used_at bigint
      );
      CREATE INDEX latchkey_grants_credential_sha256 ON latchkey_grants (credential_sha256);
      -- Unlogged: counts need no durability, so counting never waits for a WAL flush
      -- (a crash empties the table, forgetting at most one window).
      CREATE UNLOGGED TABLE latchkey_rate_counters (
        key text NOT NULL,
        window_start bigint NOT NULL,
        window_end bigint NOT NULL,
        count integer NOT NULL,
        PRIMARY KEY (key, window_start)
      );
      CREATE INDEX latchkey_rate_counters_window_end ON latchkey_rate_counters (window_end);
    `,
  },
  {
    version: 2,
    description: 'jti claims keyed by expiry first; credential index for opaque credentials only',
    // As in the SQLite schema: both indexes took a random page per grant, and a page's first
    // change after a checkpoint costs a full-page image in the WAL. Altered in place, so the
    // privileges an operator granted on the tables stay.
    sql: `
      ALTER TABLE latchkey_jti DROP CONSTRAINT latchkey_jti_pkey;
      ALTER TABLE latchkey_jti ADD CONSTRAINT latchkey_jti_pkey PRIMARY KEY (expires_at, issuer, jti);
      DROP INDEX latchkey_jti_expires_at;
      DROP INDEX latchkey_grants_credential_sha256;
      CREATE INDEX latchkey_grants_opaque_credential ON latchkey_grants (credential_sha256) WHERE kind <> 'token';
    `,
  },
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Any value fits: the lock only keeps two migrating replicas apart ("latchkey" in ASCII, as a bigint). */
const MIGRATION_LOCK = 0x6c617463686b6579n;

type Queryable = postgres.Sql | postgres.TransactionSql;

/** The schema version of the database `sql` points at (0: no latchkey tables). */
export async function readSchemaVersion(sql: Queryable): Promise<number> {
  const [found] = await sql`SELECT to_regclass('latchkey_schema_migrations') IS NOT NULL AS present`;
  if (found?.present !== true) return 0;
  const [row] = await sql`SELECT coalesce(max(version), 0) AS version FROM latchkey_schema_migrations`;
  return Number(row?.version ?? 0);
}

/** The refusal for a database written by a newer latchkey. */
export function newerSchemaError(version: number, where: string): StoreSchemaError {
  return new StoreSchemaError(
    `the store ${where} has schema version ${version}, newer than this latchkey understands (${SCHEMA_VERSION}); ` +
      'run a latchkey release that matches the database',
  );
}

/**
 * Brings the schema up to {@link SCHEMA_VERSION} in one transaction under an
 * advisory lock. Throws StoreSchemaError for a newer database; resolves to
 * the versions before and after.
 */
export async function migrate(sql: postgres.Sql, where: string, logger: Logger, now: () => number): Promise<{ from: number; to: number }> {
  const from = await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    const current = await readSchemaVersion(tx);
    if (current > SCHEMA_VERSION) throw newerSchemaError(current, where);
    for (const step of MIGRATIONS) {
      if (step.version <= current) continue;
      await tx.unsafe(step.sql).simple();
      await tx`INSERT INTO latchkey_schema_migrations (version, description, applied_at)
               VALUES (${step.version}, ${step.description}, ${new Date(now()).toISOString()})`;
    }
    return current;
  });
  if (from < SCHEMA_VERSION) logger.info('store schema migrated', { engine: 'postgres', where, from, to: SCHEMA_VERSION });
  return { from, to: SCHEMA_VERSION };
}

/** For read-only opens (audit verify): no migration, only a check that this is a latchkey store this code reads. */
export async function checkReadableSchema(sql: postgres.Sql, where: string): Promise<void> {
  const version = await readSchemaVersion(sql);
  if (version > SCHEMA_VERSION) throw newerSchemaError(version, where);
  if (version < 1) throw new StoreSchemaError(`${where} is not a latchkey store (schema version ${version})`);
  if (version < SCHEMA_VERSION) {
    throw new StoreSchemaError(
      `the store ${where} has schema version ${version}; run \`latchkey store migrate\` (or start the service once) to migrate it to ${SCHEMA_VERSION}`,
    );
  }
}
