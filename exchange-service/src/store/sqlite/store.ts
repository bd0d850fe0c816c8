/**
 * The embedded store on `node:sqlite`: WAL, `synchronous=FULL` (a credential
 * leaves only after its record is durably committed), versioned migrations,
 * and group commit. Request counters (rate limits) are kept in memory
 * (sqlite-counters.ts): one SQLite store serves one process.
 *
 * Writes go to a writer thread (sqlite-writer.ts) that owns the read-write
 * connection, seals the records and commits them in groups, so the fsync
 * and the hashing never block the event loop.
 *
 * Reads stay on this thread, on a read-only connection of their own (WAL
 * lets it read while the writer commits). Measured on the 2-core reference
 * machine (bench/store.bench.ts, and a CPU profile of `npm run bench`), the
 * replay pre-check every exchange makes costs ~5–15 µs here (~35 µs right
 * after a commit, which empties this connection's page cache), where a
 * round trip to the writer thread takes ~45–100 µs when it is idle and
 * 0.15–1.3 ms mean, 2–6 ms p99 while it commits: reads there would wait
 * behind the fsync that moving the writes was meant to hide. `:memory:` has
 * one connection only, so its reads go to the writer thread.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Worker } from 'node:worker_threads';
import type { AuditRecordBody } from '../../audit/record.ts';
import { silentLogger, type Logger } from '../../log.ts';
import { MEMORY, openReadConnection } from './connection.ts';
import { recordCredentialHash } from '../signed-grant.ts';
import { toStoreError } from './errors.ts';
import type { SealedPosition, WriteRequest, WriteResults } from './protocol.ts';
import { createReads, runRead, type ReadQuery, type Reads } from './reads.ts';
import { startSqliteWriter, type SqliteWriter } from './writer-client.ts';
import { createMemoryCounters } from './counters.ts';
import { parseStoredRecord, StoreUnavailableError, type OpenedStore, type StoredAuditRecord } from '../store.ts';

export interface SqliteStoreOptions {
  logger?: Logger;
  /** Clock in epoch milliseconds (like Date.now); decides whether a claimed jti has expired. */
  now?: () => number;
  /**
   * Open without writing anything: no writer thread, no directory, no
   * pragmas that write, no migration (for `audit verify` next to a running
   * service). Writes then reject with StoreUnavailableError.
   */
  readOnly?: boolean;
  /** How long to wait for another process's write lock; default 5000 ms. */
  busyTimeoutMs?: number;
  /** Most writes per group-commit transaction; default 1000. */
  maxBatch?: number;
  /**
   * Called with the writer thread once it has opened the database (a
   * read-only store starts none): to watch it, or, in tests, to stop it and
   * see the store fail closed.
   */
  onWriterThread?: (thread: Worker) => void;
}

/** Where reads run: a connection on this thread, or the writer thread's. */
interface Reader {
  run<Q extends ReadQuery>(query: Q, ...args: Parameters<Reads[Q]>): Promise<ReturnType<Reads[Q]>>;
  close(): void;
}

/** Opens (creating and migrating unless read-only) the SQLite store at `path` (`:memory:` for tests). */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<OpenedStore> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const readOnly = options.readOnly === true;
  let writer: SqliteWriter | undefined;
  let reader: Reader;
  if (readOnly) {
    reader = localReader(openReadConnection(path, { busyTimeoutMs, checkSchema: true }));
  } else {
    writer = await startSqliteWriter({
      path,
      busyTimeoutMs,
      maxBatch: options.maxBatch ?? 1000,
      migratedAt: now(),
      logger,
      onThread: options.onWriterThread,
    });
    try {
      reader = path === MEMORY ? remoteReader(writer) : localReader(openReadConnection(path, { busyTimeoutMs, checkSchema: false }));
    } catch (error) {
      await writer.close();
      throw error;
    }
  }
  logger.info('store opened', { engine: 'sqlite', path, read_only: readOnly });
  return createSqliteStore(reader, writer, now);
}

function localReader(db: DatabaseSync): Reader {
  const reads = createReads(db);
  return {
    run(query, ...args) {
      try {
        return Promise.resolve(runRead(reads, query, args) as ReturnType<Reads[typeof query]>);
      } catch (error) {
        return Promise.reject(toStoreError(error, 'the store cannot be read'));
      }
    },
    close: () => db.close(),
  };
}

function remoteReader(writer: SqliteWriter): Reader {
  return { run: (query, ...args) => writer.read(query, args), close: () => {} };
}

function createSqliteStore(reader: Reader, writer: SqliteWriter | undefined, now: () => number): OpenedStore {
  let closing: Promise<void> | undefined;
  const refusal = (): StoreUnavailableError | undefined => {
    if (closing !== undefined) return new StoreUnavailableError('the store is closed');
    if (writer !== undefined && !writer.alive) return new StoreUnavailableError('the store writer thread stopped');
    return undefined;
  };
  const read: Reader['run'] = (query, ...args) => {
    const refused = refusal();
    return refused === undefined ? reader.run(query, ...args) : Promise.reject(refused);
  };
  const write = <R extends WriteRequest>(request: R): Promise<WriteResults[R['op']]> => {
    const refused = refusal() ?? (writer === undefined ? new StoreUnavailableError('the store was opened read-only') : undefined);
    return refused === undefined && writer !== undefined ? writer.write(request) : Promise.reject(refused);
  };
  const counters = createMemoryCounters();
  const count = <T>(work: () => Promise<T>): Promise<T> => {
    const refused = refusal();
    return refused === undefined ? work() : Promise.reject(refused);
  };
  return {
    engine: 'sqlite',
    appendAudit: async (body) => stored(body, await write({ op: 'append', body })),
    commitGrant: async (input) => stored(input.record, await write({ op: 'grant', input, nowSeconds: Math.floor(now() / 1000) })),
    async commitSignedGrant(input, unsigned) {
      const position = await write({ op: 'grant', input, nowSeconds: Math.floor(now() / 1000), unsigned });
      if (position.signed === undefined) throw new StoreUnavailableError('the store writer thread committed a grant without signing its credential');
      // The writer signed its copy of the input: this copy takes the same hash, so the record below is the one sealed.
      recordCredentialHash(input, position.signed.sha256);
      return { record: stored(input.record, position), credential: position.signed.token };
    },
    isReplayed: (claim, nowSeconds) => read('isReplayed', claim, nowSeconds),
    getGrant: (id) => read('getGrant', id),
    findGrantByCredential: (digest) => read('findGrantByCredential', digest),
    markRevoked: (grantId, at) => write({ op: 'revoke', grantId, at }),
    markUsed: (grantId, at) => write({ op: 'use', grantId, at }),
    purgeExpired(nowSeconds) {
      counters.purge(nowSeconds);
      return write({ op: 'purge', nowSeconds });
    },
    countRequests: (key, windowStart, windowSeconds) => count(() => counters.countRequests(key, windowStart, windowSeconds)),
    peekRequests: (key, windowStart) => count(() => counters.peekRequests(key, windowStart)),
    readAudit: (options = {}) => readPages(read, options),
    ping: () => read('ping'),
    close() {
      // Later calls are refused at once; writes already sent are committed before the thread ends.
      closing ??= (async () => {
        reader.close();
        await writer?.close();
      })();
      return closing;
    },
  };
}

/**
 * The record as stored: the caller's body (or, if sealing had to repair it,
 * the copy that was stored) with its chain fields. The body is not echoed
 * back by the writer thread, to keep its answers small.
 */
function stored(body: AuditRecordBody, position: SealedPosition): StoredAuditRecord {
  return { ...(position.rewritten ?? body), prev_hash: position.prev_hash, hash: position.hash, seq: position.seq };
}

async function* readPages(read: Reader['run'], options: { afterSeq?: number; pageSize?: number }): AsyncGenerator<StoredAuditRecord> {
  const size = Math.min(Math.max(Math.trunc(options.pageSize ?? 500), 1), 10_000);
  let after = options.afterSeq ?? 0;
  for (;;) {
    const rows = await read('auditPage', after, size);
    for (const row of rows) {
      yield parseStoredRecord(row.seq, row.text);
      after = row.seq;
    }
    if (rows.length < size) return;
  }
}
