/**
 * Group commit, run by the writer thread: every write queued while the
 * previous COMMIT (and its fsync) was in progress goes into ONE
 * `BEGIN IMMEDIATE … COMMIT`, so one fsync covers them all, and each write
 * is answered only after that COMMIT returned. The chain head is read
 * inside the write transaction, so processes sharing the file stay on one
 * chain.
 *
 * The WAL is checkpointed here too, after every {@link CHECKPOINT_EVERY}
 * writes and only once their answers are on their way: SQLite's own
 * automatic checkpoint runs inside the COMMIT that crosses its threshold, so
 * the writes of that transaction would wait for the copy into the database
 * file and its fsync (the slowest commits under load, bench/). Small, regular
 * checkpoints also keep the WAL short and reused from its start.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Logger } from '../../log.ts';
import { isUnavailable, toStoreError } from './errors.ts';
import { toWire, type Settlement, type WriteRequest } from './protocol.ts';
import { createWrites, type ChainHead, type Writes } from './writes.ts';
import { ReplayError, StoreUnavailableError } from '../store.ts';

/** Writes between two checkpoints (each writes a few WAL frames; SQLite's own default is 1,000 frames). */
export const CHECKPOINT_EVERY = 32;

/** A write waiting for the next transaction, with the id its answer carries. */
export interface QueuedWrite {
  id: number;
  request: WriteRequest;
}

export interface BatchWriter {
  /** Queues a write; its answer goes to `settle` after the COMMIT that holds it. */
  submit(write: QueuedWrite): void;
  /** Commits everything queued, now (before closing). */
  drain(): void;
}

export interface BatchWriterOptions {
  db: DatabaseSync;
  logger: Logger;
  /** Most writes per transaction; a longer queue commits in several. */
  maxBatch: number;
  /** Receives the answers of one transaction, in queue order. */
  settle(settlements: Settlement[]): void;
}

/** Creates the group-commit writer over the writer thread's read-write connection. */
export function createBatchWriter(options: BatchWriterOptions): BatchWriter {
  const { db, logger, maxBatch, settle } = options;
  const sql = { ...prepareTransaction(db), writes: createWrites(db) };
  const queue: QueuedWrite[] = [];
  let scheduled = false;

  let sinceCheckpoint = 0;
  const commitNext = (): void => {
    const batch = queue.splice(0, maxBatch);
    settle(runBatch(db, sql, batch, logger));
    sinceCheckpoint += batch.length;
    if (sinceCheckpoint >= CHECKPOINT_EVERY) {
      sinceCheckpoint = 0;
      checkpoint(sql, logger);
    }
  };
  // One batch per turn: writes that arrived during this COMMIT are received
  // before the next turn's batch starts, so they join it.
  const flush = (): void => {
    scheduled = false;
    if (queue.length > 0) commitNext();
    schedule();
  };
  const schedule = (): void => {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    submit(write) {
      queue.push(write);
      schedule();
    },
    drain() {
      while (queue.length > 0) commitNext();
    },
  };
}

interface TransactionStatements {
  begin: StatementSync;
  commit: StatementSync;
  savepoint: StatementSync;
  release: StatementSync;
  rollbackTo: StatementSync;
  checkpoint: StatementSync;
  writes: Writes;
}

function prepareTransaction(db: DatabaseSync): Omit<TransactionStatements, 'writes'> {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    savepoint: db.prepare('SAVEPOINT job'),
    release: db.prepare('RELEASE job'),
    rollbackTo: db.prepare('ROLLBACK TO job'),
    // PASSIVE: copy what no reader still needs, without waiting for readers or other writers.
    checkpoint: db.prepare('PRAGMA wal_checkpoint(PASSIVE)'),
  };
}

/** A failed checkpoint loses nothing (the frames stay in the WAL for the next one); it is logged. */
function checkpoint(sql: TransactionStatements, logger: Logger): void {
  try {
    sql.checkpoint.get();
  } catch (error) {
    logger.warn('WAL checkpoint failed; the next one will retry', { error });
  }
}

function runBatch(db: DatabaseSync, sql: TransactionStatements, batch: QueuedWrite[], logger: Logger): Settlement[] {
  try {
    return runBatchOnce(db, sql, batch);
  } catch (error) {
    rollbackQuietly(db);
    const failure = toStoreError(error, 'the store could not commit');
    const reported = failure instanceof StoreUnavailableError ? failure : new StoreUnavailableError('the store could not commit', { cause: error });
    logger.error('store batch failed; nothing in it was written', { writes: batch.length, error });
    const wire = toWire(reported);
    return batch.map(({ id }) => ({ id, ok: false, error: wire }));
  }
}

function runBatchOnce(db: DatabaseSync, sql: TransactionStatements, batch: QueuedWrite[]): Settlement[] {
  const fast = runTransaction(sql, batch, false);
  if (fast !== RETRY_CAREFULLY) return fast;
  rollbackQuietly(db);
  return runTransaction(sql, batch, true) as Settlement[];
}

/** A grant failed after its first write: the batch is rolled back and run again, each grant in a SAVEPOINT. */
const RETRY_CAREFULLY = Symbol('retry with savepoints');

function runTransaction(sql: TransactionStatements, batch: QueuedWrite[], careful: boolean): Settlement[] | typeof RETRY_CAREFULLY {
  sql.begin.run();
  const head = sql.writes.readHead();
  const settlements: Settlement[] = [];
  for (const write of batch) {
    const settlement = runJob(sql, write, head, careful);
    if (settlement === RETRY_CAREFULLY) return RETRY_CAREFULLY;
    settlements.push(settlement);
  }
  sql.commit.run();
  return settlements;
}

/**
 * Runs one write. Errors meaning the store itself failed abort the batch;
 * any other failure rejects only this write's caller, with nothing of it
 * left in the transaction:
 * - First pass (`careful` false, the common case), no SAVEPOINT. A grant
 *   claims its jti first, so a replay is refused before it has written
 *   anything; any other failure of a grant may leave some of its writes
 *   behind, and asks for the whole batch to be run again carefully. Other
 *   writes are one statement each, which SQLite undoes on its own.
 * - Careful pass: each grant inside a SAVEPOINT, rolled back to on failure.
 */
function runJob(sql: TransactionStatements, write: QueuedWrite, head: ChainHead, careful: boolean): Settlement | typeof RETRY_CAREFULLY {
  const saved = { ...head };
  const grant = write.request.op === 'grant';
  const atomic = careful && grant;
  if (atomic) sql.savepoint.run();
  try {
    const value = sql.writes.apply(write.request, head);
    if (atomic) sql.release.run();
    return { id: write.id, ok: true, value };
  } catch (error) {
    if (isUnavailable(error)) throw error;
    if (grant && !careful && !(error instanceof ReplayError)) return RETRY_CAREFULLY;
    if (atomic) {
      sql.rollbackTo.run();
      sql.release.run();
    }
    Object.assign(head, saved);
    return { id: write.id, ok: false, error: toWire(error) };
  }
}

function rollbackQuietly(db: DatabaseSync): void {
  try {
    if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
  } catch {
    // The transaction is gone already (SQLite rolls back itself on some I/O errors).
  }
}
