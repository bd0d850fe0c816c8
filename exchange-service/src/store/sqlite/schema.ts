/**
 * The SQLite schema and its versioned migrations. `PRAGMA user_version` is
 * the version; `schema_migrations` keeps when each step ran. A database
 * newer than this code is refused, never guessed at.
 */
import type { DatabaseSync } from 'node:sqlite';
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
    description: 'audit chain, claimed jtis, grants',
    sql: `
      CREATE TABLE schema_migrations (
        version INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at TEXT NOT NULL
      ) STRICT;
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        time TEXT NOT NULL,
        hash TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        record TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_time ON audit (time);
      CREATE TABLE jti (
        issuer TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (issuer, jti)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX jti_expires_at ON jti (expires_at);
      CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        policy TEXT NOT NULL,
        kind TEXT NOT NULL,
        issuer TEXT NOT NULL,
        subject TEXT,
        repository_id TEXT,
        run_id TEXT,
        run_attempt TEXT,
        credential_sha256 TEXT,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        last_used_at INTEGER
      ) STRICT;
      CREATE INDEX grants_credential_sha256 ON grants (credential_sha256);
    `,
  },
  {
    version: 2,
    description: 'jti claims keyed by expiry first; credential index for opaque credentials only',
    // Both indexes took a random page per grant (a jti, a SHA-256), written to the WAL by
    // every commit and again by every checkpoint. Claims keyed by expiry grow at their end;
    // token grants are found by their JWT's jti, so only aws/github credentials are indexed.
    sql: `
      CREATE TABLE jti_v2 (
        expires_at INTEGER NOT NULL,
        issuer TEXT NOT NULL,
        jti TEXT NOT NULL,
        PRIMARY KEY (expires_at, issuer, jti)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO jti_v2 (expires_at, issuer, jti) SELECT expires_at, issuer, jti FROM jti;
      DROP TABLE jti;
      ALTER TABLE jti_v2 RENAME TO jti;
      DROP INDEX grants_credential_sha256;
      CREATE INDEX grants_opaque_credential ON grants (credential_sha256) WHERE kind <> 'token';
    `,
  },
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Reads `PRAGMA user_version`. */
export function readSchemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get();
  return Number(row?.user_version ?? 0);
}

function refuseNewer(version: number, path: string): void {
  if (version > SCHEMA_VERSION) {
    throw new StoreSchemaError(
      `the store ${path} has schema version ${version}, newer than this latchkey understands (${SCHEMA_VERSION}); ` +
        'run a latchkey release that matches the database',
    );
  }
}

/**
 * Brings the schema up to {@link SCHEMA_VERSION} inside one write
 * transaction (so two processes opening one file cannot both migrate).
 * Throws StoreSchemaError for a newer database.
 */
export function migrate(db: DatabaseSync, path: string, logger: Logger, now: () => number): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const from = readSchemaVersion(db);
    refuseNewer(from, path);
    for (const step of MIGRATIONS) {
      if (step.version <= from) continue;
      db.exec(step.sql);
      // Prepared after the step: the first step creates schema_migrations itself.
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(
        step.version,
        step.description,
        new Date(now()).toISOString(),
      );
      // PRAGMA takes no bound parameters; the version is an integer from this file.
      db.exec(`PRAGMA user_version = ${step.version}`);
    }
    db.exec('COMMIT');
    if (from < SCHEMA_VERSION) logger.info('store schema migrated', { path, from, to: SCHEMA_VERSION });
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/**
 * For read-only opens (audit verify): no migration, only a check that the
 * database is a latchkey store this code can read.
 */
export function checkReadableSchema(db: DatabaseSync, path: string): void {
  const version = readSchemaVersion(db);
  refuseNewer(version, path);
  if (version < 1) throw new StoreSchemaError(`${path} is not a latchkey store (schema version ${version})`);
  if (version < SCHEMA_VERSION) {
    throw new StoreSchemaError(`the store ${path} has schema version ${version}; start the service once to migrate it to ${SCHEMA_VERSION}`);
  }
}
