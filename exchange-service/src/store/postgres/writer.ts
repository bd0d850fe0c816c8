/**
 * The PostgreSQL store's chain writes (audit appends and grant commits),
 * with group commit: writes queue up, and one transaction at a time per
 * store takes the queue, locks the chain head row (`SELECT … FOR UPDATE` on
 * latchkey_audit_head), applies each write in order and commits once. The
 * row lock serialises appenders across replicas, so many writers extend
 * one chain; a batch shares one lock wait and one WAL flush.
 *
 * A replay or a record that cannot be sealed rejects only its caller (no
 * statement ran for it). A statement that fails aborts the transaction:
 * the batch is then retried one write per transaction, so only the faulty
 * write fails. Lost connections and timeouts reject the batch with
 * StoreUnavailableError; a transaction that lost its connection before
 * COMMIT was sent wrote nothing and is tried again on another connection.
 */
import type postgres from 'postgres';
import { sealRecordWithText } from '../../audit/chain.ts';
import type { AuditRecordBody } from '../../audit/record.ts';
import { isConnectionLoss, isUnavailable, toStoreError, withDeadline } from './errors.ts';
import { encodeNullable, encodeText } from './rows.ts';
import { newerSchemaError, SCHEMA_VERSION } from './schema.ts';
import { ReplayError, StoreUnavailableError, type CommitGrantInput, type StoredAuditRecord } from '../store.ts';

/** Tries of a batch whose connection turned out to be dead (one failure per dropped pooled connection). */
const BATCH_TRIES = 3;

/** One write that extends the chain. */
export type ChainWrite = { op: 'append'; body: AuditRecordBody } | { op: 'grant'; input: CommitGrantInput; nowSeconds: number };

export interface ChainWriter {
  /** Queues the write; resolves with the stored record once its transaction committed. */
  write(request: ChainWrite): Promise<StoredAuditRecord>;
  /** Resolves when every write queued so far has settled. */
  drain(): Promise<void>;
}

export interface ChainWriterOptions {
  sql: postgres.Sql;
  /** Most writes per transaction. */
  maxBatch: number;
  /** Longest a transaction may take before its callers get StoreUnavailableError (the network may hang where the server cannot time out). */
  deadlineMs: number;
}

interface Pending {
  request: ChainWrite;
  resolve(record: StoredAuditRecord): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; record: StoredAuditRecord } | { ok: false; error: unknown };

interface Head {
  seq: number;
  hash: string;
}

/** Creates the writer; it holds no connection while idle. */
export function createChainWriter(options: ChainWriterOptions): ChainWriter {
  const queue: Pending[] = [];
  let running: Promise<void> | undefined;
  const idle: Array<() => void> = [];

  const kick = (): void => {
    if (running !== undefined) return;
    if (queue.length === 0) {
      for (const done of idle.splice(0)) done();
      return;
    }
    running = (async () => {
      while (queue.length > 0) await commitBatch(options, queue.splice(0, options.maxBatch));
    })().finally(() => {
      running = undefined;
      kick();
    });
  };

  return {
    write(request) {
      return new Promise<StoredAuditRecord>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        kick();
      });
    },
    drain() {
      if (running === undefined && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}

async function commitBatch(options: ChainWriterOptions, batch: Pending[]): Promise<void> {
  let outcomes: Outcome[];
  try {
    outcomes = await withDeadline(runBatch(options.sql, batch), options.deadlineMs);
  } catch (error) {
    if (batch.length > 1 && !isUnavailable(error)) {
      // One write's statement failed and aborted the transaction: find it by committing each alone.
      for (const pending of batch) await commitBatch(options, [pending]);
      return;
    }
    const failure = toStoreError(error, 'the audit store could not commit');
    for (const pending of batch) pending.reject(failure);
    return;
  }
  outcomes.forEach((outcome, index) => {
    const pending = batch[index] as Pending;
    if (outcome.ok) pending.resolve(outcome.record);
    else pending.reject(outcome.error);
  });
}

/** One transaction over the batch; tried again if the connection was lost before COMMIT was sent. */
async function runBatch(sql: postgres.Sql, batch: Pending[]): Promise<Outcome[]> {
  for (let attempt = 1; ; attempt += 1) {
    let committing = false;
    try {
      return await sql.begin(async (tx) => {
        const outcomes = await applyBatch(tx, batch);
        committing = true;
        return outcomes;
      });
    } catch (error) {
      // Before COMMIT, a lost connection means the server rolled the transaction back: nothing was written.
      if (attempt < BATCH_TRIES && !committing && isConnectionLoss(error)) continue;
      throw error;
    }
  }
}

async function applyBatch(tx: postgres.TransactionSql, batch: Pending[]): Promise<Outcome[]> {
  const [row] = await tx`
    SELECT h.seq, h.hash, (SELECT max(version) FROM latchkey_schema_migrations) AS version
    FROM latchkey_audit_head h WHERE h.singleton FOR UPDATE`;
  if (row === undefined) throw new StoreUnavailableError('the audit chain head row is missing (not a latchkey store?)');
  if (Number(row.version) > SCHEMA_VERSION) {
    // A newer latchkey migrated the database under this replica: stop writing rather than write an old shape.
    const cause = newerSchemaError(Number(row.version), 'database');
    throw new StoreUnavailableError(cause.message, { cause });
  }
  const head: Head = { seq: Number(row.seq), hash: String(row.hash) };
  const start = head.seq;
  const outcomes: Outcome[] = [];
  for (const pending of batch) outcomes.push(await applyOne(tx, pending.request, head));
  if (head.seq !== start) await tx`UPDATE latchkey_audit_head SET seq = ${head.seq}, hash = ${head.hash} WHERE singleton`;
  return outcomes;
}

/** Applies one write, advancing `head` if it appended. Statement failures throw (aborting the batch); other failures are this write's outcome. */
async function applyOne(tx: postgres.TransactionSql, request: ChainWrite, head: Head): Promise<Outcome> {
  const body = request.op === 'append' ? request.body : request.input.record;
  let record: StoredAuditRecord;
  let text: string;
  try {
    const sealed = sealRecordWithText(head.hash, body);
    record = { ...sealed.record, seq: head.seq + 1 };
    text = sealed.text;
  } catch (error) {
    return { ok: false, error };
  }
  if (request.op === 'append') {
    await tx`
      INSERT INTO latchkey_audit (seq, id, time, hash, prev_hash, record)
      VALUES (${record.seq}, ${encodeText(record.id)}, ${encodeText(record.time)}, ${record.hash}, ${record.prev_hash}, ${text})`;
  } else if (!(await insertGrant(tx, request.input, request.nowSeconds, record, text))) {
    return { ok: false, error: new ReplayError('this subject token was already exchanged') };
  }
  head.seq = record.seq;
  head.hash = record.hash;
  return { ok: true, record };
}

/**
 * Claims the jti and, only if the claim succeeded, inserts the grant and its
 * record: one statement. A claim succeeds for a new claim, or when the same
 * claim was made before and its token has expired. Resolves false for a replay (nothing written).
 */
async function insertGrant(
  tx: postgres.TransactionSql,
  input: CommitGrantInput,
  nowSeconds: number,
  record: StoredAuditRecord,
  text: string,
): Promise<boolean> {
  const g = input.grant;
  const [row] = await tx`
    WITH claim AS (
      INSERT INTO latchkey_jti (expires_at, issuer, jti)
      VALUES (${input.jtiExpiresAt}::bigint, ${encodeText(input.issuer)}, ${encodeText(input.jti)})
      ON CONFLICT (expires_at, issuer, jti) DO UPDATE SET expires_at = excluded.expires_at
      WHERE latchkey_jti.expires_at < ${nowSeconds}::bigint
      RETURNING 1
    ), granted AS (
      INSERT INTO latchkey_grants (id, policy, kind, issuer, subject, repository_id, run_id, run_attempt,
                                   credential_sha256, issued_at, expires_at, revoked_at, last_used_at)
      SELECT ${encodeText(g.id)}::text, ${encodeText(g.policy)}::text, ${g.kind}::text, ${encodeText(g.issuer)}::text,
             ${encodeNullable(g.subject)}::text, ${encodeNullable(g.repository_id)}::text, ${encodeNullable(g.run_id)}::text,
             ${encodeNullable(g.run_attempt)}::text, ${encodeNullable(g.credential_sha256)}::text, ${g.issued_at}::bigint,
             ${g.expires_at}::bigint, ${g.revoked_at}::bigint, ${g.last_used_at}::bigint
      WHERE EXISTS (SELECT 1 FROM claim)
    ), appended AS (
      INSERT INTO latchkey_audit (seq, id, time, hash, prev_hash, record)
      SELECT ${record.seq}::bigint, ${encodeText(record.id)}::text, ${encodeText(record.time)}::text,
             ${record.hash}::text, ${record.prev_hash}::text, ${text}::text
      WHERE EXISTS (SELECT 1 FROM claim)
    )
    SELECT count(*)::int AS claimed FROM claim`;
  return Number(row?.claimed) > 0;
}
