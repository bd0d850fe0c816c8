/**
 * The PostgreSQL store, for running several replicas on one database. Every
 * replica writes the same tables: replay claims are atomic in the database
 * (`INSERT … ON CONFLICT`), the audit chain's head row is locked by each
 * appending transaction (postgres-writer.ts) so the chain stays one chain,
 * and revocations are read from the database on every request, so a revoke
 * on one replica holds on the next request to any other.
 *
 * Failures (connection lost, refused, timing out) reject with
 * StoreUnavailableError; the pool reconnects by itself when the database is
 * back, with nothing to restart. Versioned migrations run at open (under an
 * advisory lock) unless the store is opened read-only.
 */
import type postgres from 'postgres';
import { silentLogger, type Logger } from '../../log.ts';
import { clientTimeouts, createClient, describeUrl, type PostgresClientOptions } from './client.ts';
import { createCalls } from './calls.ts';
import { toStoreError, withDeadline } from './errors.ts';
import { auditPages, counterQueries, grantQueries, ping } from './queries.ts';
import { checkReadableSchema, migrate, SCHEMA_VERSION } from './schema.ts';
import { createChainWriter, type ChainWriter } from './writer.ts';
import { signForCommit } from '../signed-grant.ts';
import type { OpenedStore } from '../store.ts';

export interface PostgresStoreOptions extends PostgresClientOptions {
  logger?: Logger;
  /** Clock in epoch milliseconds (like Date.now); decides whether a claimed jti has expired. */
  now?: () => number;
  /** Open without writing: no migration, writes reject with StoreUnavailableError (for `audit verify`). */
  readOnly?: boolean;
  /** Most chain writes per transaction; default 500. */
  maxBatch?: number;
}

/** Opens the store at `url` (migrating it unless read-only); rejects with StoreUnavailableError or StoreSchemaError. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<OpenedStore> {
  const logger = options.logger ?? silentLogger;
  const readOnly = options.readOnly === true;
  const where = describeUrl(url);
  const sql = createClient(url, options, logger);
  const deadlineMs = operationDeadline(options);
  try {
    if (readOnly) await withDeadline(checkReadableSchema(sql, where), deadlineMs);
    else await withDeadline(migrate(sql, where, logger, options.now ?? Date.now), deadlineMs);
  } catch (error) {
    await sql.end({ timeout: 0 });
    throw toStoreError(error, `the store ${where} cannot be opened`);
  }
  logger.info('store opened', { engine: 'postgres', url: where, read_only: readOnly, schema_version: SCHEMA_VERSION });
  const writer = readOnly ? undefined : createChainWriter({ sql, maxBatch: options.maxBatch ?? 500, deadlineMs });
  return createPostgresStore(sql, writer, { now: options.now ?? Date.now, deadlineMs });
}

/** Runs the migrations without opening a store (`latchkey store migrate`); resolves to the versions before and after. */
export async function migratePostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<{ from: number; to: number }> {
  const logger = options.logger ?? silentLogger;
  const where = describeUrl(url);
  const sql = createClient(url, { ...options, readOnly: false, poolMax: 1 }, logger);
  try {
    return await withDeadline(migrate(sql, where, logger, options.now ?? Date.now), operationDeadline(options));
  } catch (error) {
    throw toStoreError(error, `the store ${where} cannot be migrated`);
  } finally {
    await sql.end({ timeout: 0 });
  }
}

/**
 * The longest one operation may take before it fails as unavailable: a
 * connection may need opening, then a statement may run to its timeout (a
 * chain write's lock wait, then its statements). The server enforces the
 * statement timeout; this covers a network that stops answering.
 */
export function operationDeadline(options: PostgresClientOptions): number {
  const { statementTimeoutMs, connectTimeoutMs } = clientTimeouts(options);
  return connectTimeoutMs + 2 * statementTimeoutMs + 1000;
}

function createPostgresStore(sql: postgres.Sql, writer: ChainWriter | undefined, settings: { now: () => number; deadlineMs: number }): OpenedStore {
  const calls = createCalls(writer, settings.deadlineMs);
  return {
    engine: 'postgres',
    appendAudit: (body) => calls.chain({ op: 'append', body }),
    commitGrant: (input) => calls.chain({ op: 'grant', input, nowSeconds: Math.floor(settings.now() / 1000) }),
    // Signed before the one statement that claims, inserts and appends (postgres-writer.ts): a replay discards it.
    async commitSignedGrant(input, unsigned) {
      const { token } = signForCommit(input, unsigned);
      return { record: await calls.chain({ op: 'grant', input, nowSeconds: Math.floor(settings.now() / 1000) }), credential: token };
    },
    ...grantQueries(sql, calls),
    ...counterQueries(sql, calls),
    readAudit: (options = {}) => auditPages(sql, calls, options),
    ping: () => ping(sql, calls),
    // Later calls are refused at once; calls in flight and queued chain writes finish first. Then nothing is
    // in flight, so the connections end at once (the driver's graceful end can wait forever on a failed one).
    close: () => calls.close(() => sql.end({ timeout: 0 })),
  };
}
