/**
 * Opening SQLite connections: the writer's (creates the folder, WAL,
 * `synchronous=FULL`, migrations) and readers' (no writes at all, so a
 * reader can sit next to a running service, as `audit verify` does).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../../log.ts';
import { toStoreError } from './errors.ts';
import { checkReadableSchema, migrate } from './schema.ts';
import { StoreUnavailableError } from '../store.ts';

/** The path that names an in-memory database. */
export const MEMORY = ':memory:';

export interface WriteConnectionOptions {
  busyTimeoutMs: number;
  logger: Logger;
  /** Epoch ms recorded as `applied_at` if this open migrates. */
  migratedAt: number;
}

/** WAL frames (pages) before SQLite checkpoints inside a COMMIT: 10,000 × 4 KiB, about 40 MB of WAL. */
const AUTOCHECKPOINT_BACKSTOP_FRAMES = 10_000;

/** Opens the read-write connection and migrates the schema; throws StoreUnavailableError or StoreSchemaError. */
export function openWriteConnection(path: string, options: WriteConnectionOptions): DatabaseSync {
  if (path !== MEMORY) mkdirSync(dirname(path), { recursive: true });
  const db = connect(path, false, options.busyTimeoutMs);
  try {
    const mode = db.prepare('PRAGMA journal_mode = WAL').get()?.journal_mode;
    if (mode !== 'wal' && path !== MEMORY) {
      options.logger.warn('SQLite WAL mode unavailable; writers will block readers', { path, journal_mode: mode });
    }
    db.exec('PRAGMA synchronous = FULL');
    // The batch writer checkpoints between transactions (sqlite-batch.ts); SQLite's automatic
    // checkpoint, inside a COMMIT, stays only as a backstop should those fall behind.
    db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_BACKSTOP_FRAMES}`);
    migrate(db, path, options.logger, () => options.migratedAt);
    return db;
  } catch (error) {
    db.close();
    throw toStoreError(error, `cannot open SQLite store ${path}`);
  }
}

/**
 * Opens a read-only connection. With `checkSchema` (a store opened only to
 * read) the file must already exist and hold a schema this code reads;
 * without it the caller's writer has just migrated the file.
 */
export function openReadConnection(path: string, options: { busyTimeoutMs: number; checkSchema: boolean }): DatabaseSync {
  if (options.checkSchema && path !== MEMORY && !existsSync(path)) throw new StoreUnavailableError(`no SQLite store at ${path}`);
  const db = connect(path, true, options.busyTimeoutMs);
  try {
    if (options.checkSchema) checkReadableSchema(db, path);
    return db;
  } catch (error) {
    db.close();
    throw toStoreError(error, `cannot open SQLite store ${path}`);
  }
}

function connect(path: string, readOnly: boolean, timeout: number): DatabaseSync {
  try {
    return new DatabaseSync(path, { readOnly, timeout, enableForeignKeyConstraints: true });
  } catch (error) {
    throw new StoreUnavailableError(`cannot open SQLite store ${path}: ${(error as Error).message}`, { cause: error });
  }
}
