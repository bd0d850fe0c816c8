/**
 * Group commit for the SQLite store: writes submitted in one event-loop turn
 * run in ONE `BEGIN IMMEDIATE … COMMIT`, so one fsync covers them all, and
 * each caller's promise settles only after COMMIT returned. The chain head
 * is read inside the write transaction, so processes sharing the file stay
 * on one chain.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { canonicalize } from '../audit/jcs.ts';
import { GENESIS_HASH, sealRecord } from '../audit/chain.ts';
import type { AuditRecordBody } from '../audit/record.ts';
import type { Logger } from '../log.ts';
import { StoreUnavailableError, type StoredAuditRecord } from './store.ts';

/** What a write job can do inside the batch transaction. */
export interface BatchContext {
  /** Seals `body` onto the chain head and inserts it. */
  append(body: AuditRecordBody): StoredAuditRecord;
}

/**
 * One caller's write. `atomic` jobs run inside a SAVEPOINT: if they throw
 * (a replayed jti, a constraint), only their own writes are undone and only
 * their caller is rejected. Errors meaning the store itself failed abort the
 * whole batch.
 */
export interface WriteJob<T> {
  atomic: boolean;
  run(context: BatchContext): T;
}

export interface BatchWriter {
  submit<T>(job: WriteJob<T>): Promise<T>;
  /** Runs everything queued now, then refuses further writes. */
  close(): void;
}

export interface BatchWriterOptions {
  db: DatabaseSync;
  logger: Logger;
  /** Most jobs per transaction; a longer queue commits in several. */
  maxBatch: number;
}

interface Pending {
  job: WriteJob<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface ChainHead {
  seq: number;
  hash: string;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

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

/** Creates the group-commit writer over an open read-write database. */
export function createBatchWriter(options: BatchWriterOptions): BatchWriter {
  const { db, logger, maxBatch } = options;
  const sql = prepare(db);
  const queue: Pending[] = [];
  let scheduled = false;
  let closed = false;

  const flush = (): void => {
    scheduled = false;
    while (queue.length > 0) runBatch(db, sql, queue.splice(0, maxBatch), logger);
  };

  return {
    submit<T>(job: WriteJob<T>): Promise<T> {
      if (closed) return Promise.reject(new StoreUnavailableError('the store is closed'));
      return new Promise<T>((resolve, reject) => {
        queue.push({ job, resolve: resolve as (value: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    close() {
      flush();
      closed = true;
    },
  };
}

interface BatchStatements {
  begin: StatementSync;
  commit: StatementSync;
  savepoint: StatementSync;
  release: StatementSync;
  rollbackTo: StatementSync;
  head: StatementSync;
  insertAudit: StatementSync;
}

function prepare(db: DatabaseSync): BatchStatements {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    savepoint: db.prepare('SAVEPOINT job'),
    release: db.prepare('RELEASE job'),
    rollbackTo: db.prepare('ROLLBACK TO job'),
    head: db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
    insertAudit: db.prepare('INSERT INTO audit (seq, id, time, hash, prev_hash, record) VALUES (?, ?, ?, ?, ?, ?)'),
  };
}

function runBatch(db: DatabaseSync, sql: BatchStatements, batch: Pending[], logger: Logger): void {
  let outcomes: Outcome[];
  try {
    outcomes = runTransaction(sql, batch);
  } catch (error) {
    rollbackQuietly(db);
    const failure = toStoreError(error, 'the store could not commit');
    const reported = failure instanceof StoreUnavailableError ? failure : new StoreUnavailableError('the store could not commit', { cause: error });
    logger.error('store batch failed; nothing in it was written', { writes: batch.length, error });
    for (const pending of batch) pending.reject(reported);
    return;
  }
  batch.forEach((pending, index) => {
    const outcome = outcomes[index];
    if (outcome?.ok) pending.resolve(outcome.value);
    else pending.reject(outcome?.error);
  });
}

function runTransaction(sql: BatchStatements, batch: Pending[]): Outcome[] {
  sql.begin.run();
  const row = sql.head.get();
  const head: ChainHead = row === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(row.seq), hash: String(row.hash) };
  const context: BatchContext = {
    append(body) {
      const sealed = sealRecord(head.hash, body);
      const seq = head.seq + 1;
      sql.insertAudit.run(seq, sealed.id, sealed.time, sealed.hash, sealed.prev_hash, canonicalize(sealed));
      head.seq = seq;
      head.hash = sealed.hash;
      return { ...sealed, seq };
    },
  };
  const outcomes = batch.map((pending) => runJob(sql, pending.job, context, head));
  sql.commit.run();
  return outcomes;
}

function runJob(sql: BatchStatements, job: WriteJob<unknown>, context: BatchContext, head: ChainHead): Outcome {
  const saved = { ...head };
  if (job.atomic) sql.savepoint.run();
  try {
    const value = job.run(context);
    if (job.atomic) sql.release.run();
    return { ok: true, value };
  } catch (error) {
    if (isUnavailable(error)) throw error;
    if (job.atomic) {
      sql.rollbackTo.run();
      sql.release.run();
    }
    Object.assign(head, saved);
    return { ok: false, error };
  }
}

function rollbackQuietly(db: DatabaseSync): void {
  try {
    if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
  } catch {
    // The transaction is gone already (SQLite rolls back itself on some I/O errors).
  }
}
