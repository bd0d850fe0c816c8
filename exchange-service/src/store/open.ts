/**
 * Picks the store from the config's `store.url`: `sqlite:PATH` (relative to
 * the working directory; `sqlite::memory:` for tests) or, later,
 * `postgres://…`.
 */
import { resolve } from 'node:path';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite.ts';
import type { Store } from './store.ts';

/** Options for {@link openStore}; engine-specific ones are ignored by engines that have no use for them. */
export type OpenStoreOptions = SqliteStoreOptions;

/** Opens the store named by `url`; throws an Error naming the problem for URLs it cannot serve. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') return openSqliteStore(sqlitePath(url), options);
  if (scheme === 'postgres' || scheme === 'postgresql') {
    throw new Error('PostgreSQL store not available in this build (use a sqlite: store URL)');
  }
  if (scheme === undefined) throw new Error('store URL has no scheme (expected sqlite:PATH or postgres://…)');
  throw new Error(`unsupported store URL scheme "${scheme}:" (expected sqlite:PATH or postgres://…)`);
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
