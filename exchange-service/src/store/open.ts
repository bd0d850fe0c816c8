/**
 * Picks the store from the config's `store.url`: `sqlite:PATH` (relative to
 * the working directory; `sqlite::memory:` for tests) or
 * `postgres://…` / `postgresql://…` (replicas). Also turns the config's
 * `store` section into open options, and runs migrations on their own for
 * `latchkey store migrate`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Config } from '../config.ts';
import { migratePostgresStore, openPostgresStore, type PostgresStoreOptions } from './postgres/store.ts';
import { readSchemaVersion, SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from './sqlite/schema.ts';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/store.ts';
import { StoreUnavailableError, type OpenedStore } from './store.ts';

/** Options for {@link openStore}; engine-specific ones are ignored by engines that have no use for them. */
export type OpenStoreOptions = SqliteStoreOptions & PostgresStoreOptions;

/** Opens the store named by `url`; throws an Error naming the problem for URLs it cannot serve. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const engine = engineOf(url);
  return engine === 'sqlite' ? openSqliteStore(sqlitePath(url), options) : openPostgresStore(url, options);
}

/**
 * Brings the store's schema up to date (what opening does, without
 * serving); resolves to the versions before and after. Throws
 * StoreSchemaError for a store newer than this latchkey.
 */
export async function migrateStore(url: string, options: OpenStoreOptions = {}): Promise<{ from: number; to: number }> {
  if (engineOf(url) === 'postgres') return migratePostgresStore(url, options);
  const path = sqlitePath(url);
  const from = path !== ':memory:' && existsSync(path) ? sqliteVersion(path) : 0;
  await (await openSqliteStore(path, { ...options, readOnly: false })).close();
  return { from, to: SQLITE_SCHEMA_VERSION };
}

/**
 * The open options the config's `store` section asks for (pool, timeouts,
 * TLS; the SQLite store ignores them). Reads `store.tls.ca_file`; throws an
 * Error naming it if it cannot be read.
 */
export function storeOptionsFromConfig(store: Config['store']): PostgresStoreOptions {
  const options: PostgresStoreOptions = {
    poolMax: store.pool.max,
    statementTimeoutMs: store.statement_timeout * 1000,
    connectTimeoutMs: store.connect_timeout * 1000,
  };
  if (!store.tls.enabled) return options;
  let ca: string | undefined;
  if (store.tls.ca_file !== null && engineOf(store.url) === 'postgres') {
    try {
      ca = readFileSync(store.tls.ca_file, 'utf8');
    } catch (error) {
      throw new Error(`store.tls.ca_file: cannot read ${store.tls.ca_file}: ${(error as Error).message}`, { cause: error });
    }
  }
  return { ...options, tls: { rejectUnauthorized: store.tls.reject_unauthorized, ...(ca === undefined ? {} : { ca }) } };
}

function engineOf(url: string): 'sqlite' | 'postgres' {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') return 'sqlite';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === undefined) throw new Error('store URL has no scheme (expected sqlite:PATH or postgres://…)');
  throw new Error(`unsupported store URL scheme "${scheme}:" (expected sqlite:PATH or postgres://…)`);
}

function sqliteVersion(path: string): number {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (error) {
    throw new StoreUnavailableError(`the store ${path} cannot be opened: ${(error as Error).message}`, { cause: error });
  }
  try {
    return readSchemaVersion(db);
  } catch (error) {
    throw new StoreUnavailableError(`the store ${path} cannot be read: ${(error as Error).message}`, { cause: error });
  } finally {
    db.close();
  }
}

/** `sqlite:./data/x.db` → absolute path; `sqlite::memory:` → `:memory:`. */
function sqlitePath(url: string): string {
  const rest = url.slice('sqlite:'.length);
  if (rest === ':memory:') return ':memory:';
  if (rest === '') throw new Error('store URL "sqlite:" names no file (expected sqlite:PATH)');
  // `sqlite://…` means different things to different tools; refuse rather than guess.
  if (rest.startsWith('//')) throw new Error('write SQLite store URLs as sqlite:PATH (e.g. sqlite:./data/latchkey.db or sqlite:/var/lib/latchkey.db)');
  return resolve(rest);
}
