/**
 * Which PostgreSQL failures mean "the store is unavailable" (the service
 * answers 503 store_unavailable and hands out nothing) as opposed to a fault
 * of one write (a constraint), which rejects only that write's caller; and
 * the deadline that turns a database that stopped answering into one.
 */
import { StoreUnavailableError } from '../store.ts';

/**
 * SQLSTATE classes that mean the database cannot serve us now: connection
 * exceptions (08), invalid authorization (28: a rotated password),
 * transaction rollbacks (40: serialization failure, deadlock), insufficient
 * resources (53: disk full, too many connections), operator intervention
 * (57: shutdown, statement timeout, "cannot connect now"), system errors
 * (58: I/O) and internal errors (XX).
 */
const UNAVAILABLE_CLASSES = new Set(['08', '28', '40', '53', '57', '58', 'XX']);

/** Single SQLSTATEs outside those classes that mean the same. */
const UNAVAILABLE_STATES = new Set([
  '3D000', // invalid_catalog_name: the database is gone
  '25006', // read_only_sql_transaction: connected to a standby
  '55000', // object_not_in_prerequisite_state: e.g. the database does not allow connections
  '55P03', // lock_not_available (lock_timeout)
]);

/** Error codes of the driver and of Node's sockets and TLS for a connection that failed or was lost. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ENOENT', // ENOENT: a Unix socket path that does not exist (yet)
]);

interface CodedError extends Error {
  code?: unknown;
  /** Set by Node on socket errors (connect, read, write). */
  syscall?: unknown;
  /** Set by the driver on errors the server sent. */
  severity?: unknown;
}

/** True for errors the server sent (they carry a SQLSTATE and a severity). */
function isServerError(error: CodedError): error is CodedError & { code: string } {
  return typeof error.code === 'string' && typeof error.severity === 'string' && /^[0-9A-Z]{5}$/.test(error.code);
}

/** True when `error` says the database cannot be used now (down, unreachable, timing out, full, shutting down). */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const coded = error as CodedError;
  if (isServerError(coded)) return UNAVAILABLE_CLASSES.has(coded.code.slice(0, 2)) || UNAVAILABLE_STATES.has(coded.code);
  if (typeof coded.code === 'string' && CONNECTION_CODES.has(coded.code)) return true;
  // Any other socket error, and TLS failures (certificate, handshake) while (re)connecting.
  return (
    typeof coded.syscall === 'string' || (typeof coded.code === 'string' && /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(coded.code))
  );
}

/**
 * True for a failure of the connection itself (not a statement the server
 * refused): before a transaction has done anything, retrying it on another
 * connection is safe.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const coded = error as CodedError;
  if (isServerError(coded)) return coded.code === '57P01' || coded.code.startsWith('08');
  return typeof coded.code === 'string' && CONNECTION_CODES.has(coded.code) && coded.code !== 'CONNECTION_ENDED';
}

/** Maps an unavailability error to StoreUnavailableError (keeping the cause); other errors pass through. */
export function toStoreError(error: unknown, what: string): unknown {
  if (error instanceof StoreUnavailableError || !isUnavailable(error)) return error;
  return new StoreUnavailableError(`${what}: ${describe(error as CodedError)}`, { cause: error });
}

/** The message with the SQLSTATE or error code, never the query's parameters (the driver keeps those off the message). */
function describe(error: CodedError): string {
  return typeof error.code === 'string' && !error.message.includes(error.code) ? `${error.message} (${error.code})` : error.message;
}

/** Rejects with StoreUnavailableError if `work` has not settled in `ms` (its late outcome is ignored). */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreUnavailableError(`the database did not answer within ${ms} ms`)), ms);
    timer.unref();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
