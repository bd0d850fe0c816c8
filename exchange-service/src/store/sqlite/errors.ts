/**
 * Which SQLite failures mean "the store is unavailable" (the service answers
 * 503 store_unavailable and hands out nothing), as opposed to a fault of one
 * write (a constraint), which rejects only that write's caller.
 */
import { StoreUnavailableError } from '../store.ts';

/** SQLite primary result codes that mean "the store cannot work right now". */
const UNAVAILABLE_CODES = new Set([
  5, // SQLITE_BUSY
  6, // SQLITE_LOCKED
  7, // SQLITE_NOMEM
  8, // SQLITE_READONLY
  10, // SQLITE_IOERR (and its extended codes)
  11, // SQLITE_CORRUPT
  13, // SQLITE_FULL
  14, // SQLITE_CANTOPEN
  15, // SQLITE_PROTOCOL
  26, // SQLITE_NOTADB
]);

/** True when `error` says the database cannot be used (I/O, full, locked, read-only, closed). */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const { code, errcode } = error as Error & { code?: unknown; errcode?: unknown };
  if (code === 'ERR_INVALID_STATE') return true; // the database handle is closed
  return code === 'ERR_SQLITE_ERROR' && typeof errcode === 'number' && UNAVAILABLE_CODES.has(errcode & 0xff);
}

/** Maps an unavailability error to StoreUnavailableError (keeping the cause); other errors pass through. */
export function toStoreError(error: unknown, what: string): unknown {
  if (error instanceof StoreUnavailableError || !isUnavailable(error)) return error;
  return new StoreUnavailableError(`${what}: ${(error as Error).message}`, { cause: error });
}
