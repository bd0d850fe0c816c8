/**
 * The store's writes as the writer thread runs them inside a group-commit
 * transaction (sqlite-batch.ts): sealing audit records onto the chain head
 * (JCS + SHA-256, off the main thread), claiming jtis, signing `token`
 * grants' access tokens (signed-grant.ts), inserting grants,
 * revoking, marking use, purging expired claims.
 */
import type { DatabaseSync } from 'node:sqlite';
import { GENESIS_HASH, sealRecordWithText } from '../../audit/chain.ts';
import type { AuditRecordBody } from '../../audit/record.ts';
import type { UnsignedJws } from '../../jws/sign.ts';
import type { GrantPosition, SealedPosition, WriteRequest } from './protocol.ts';
import { signForCommit } from '../signed-grant.ts';
import { ReplayError, type CommitGrantInput } from '../store.ts';

/** The last record of the chain (seq 0 and the genesis hash before the first). */
export interface ChainHead {
  seq: number;
  hash: string;
}

export interface Writes {
  /** Reads the chain head; call it inside the write transaction, so other processes cannot fork the chain. */
  readHead(): ChainHead;
  /** Runs one request in the open transaction, advancing `head` when it appends a record. */
  apply(request: WriteRequest, head: ChainHead): unknown;
}

/** A claim succeeds when the row is new, or when the same claim's token has expired. */
export const CLAIM_SQL =
  'INSERT INTO jti (expires_at, issuer, jti) VALUES (?, ?, ?) ' +
  'ON CONFLICT (expires_at, issuer, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE jti.expires_at < ?';
/** Forgets the claims of expired tokens: the front of the claims' key. */
export const PURGE_CLAIMS_SQL = 'DELETE FROM jti WHERE expires_at < ?';

/** Prepares the write statements on the writer's connection. */
export function createWrites(db: DatabaseSync): Writes {
  const sql = {
    head: db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1'),
    insertAudit: db.prepare('INSERT INTO audit (seq, id, time, hash, prev_hash, record) VALUES (?, ?, ?, ?, ?, ?)'),
    claimJti: db.prepare(CLAIM_SQL),
    insertGrant: db.prepare(
      'INSERT INTO grants (id, policy, kind, issuer, subject, repository_id, run_id, run_attempt, credential_sha256, ' +
        'issued_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    revoke: db.prepare('UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    use: db.prepare('UPDATE grants SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?'),
    purge: db.prepare(PURGE_CLAIMS_SQL),
  };

  const append = (body: AuditRecordBody, head: ChainHead): SealedPosition => {
    const { record: sealed, text } = sealRecordWithText(head.hash, body);
    const seq = head.seq + 1;
    sql.insertAudit.run(seq, sealed.id, sealed.time, sealed.hash, sealed.prev_hash, text);
    head.seq = seq;
    head.hash = sealed.hash;
    const position: SealedPosition = { seq, hash: sealed.hash, prev_hash: sealed.prev_hash };
    if (!isWellFormedDeep(body)) {
      const { prev_hash: _prev, hash: _hash, ...stored } = sealed;
      position.rewritten = stored;
    }
    return position;
  };

  const grant = (input: CommitGrantInput, nowSeconds: number, head: ChainHead, unsigned: UnsignedJws | undefined): GrantPosition => {
    const claimed = sql.claimJti.run(input.jtiExpiresAt, input.issuer, input.jti, nowSeconds);
    if (Number(claimed.changes) === 0) throw new ReplayError('this subject token was already exchanged');
    // Signed after the claim, so a replay costs no signature; its hash goes into the row and the record.
    const signed = unsigned === undefined ? undefined : signForCommit(input, unsigned);
    const g = input.grant;
    sql.insertGrant.run(
      g.id,
      g.policy,
      g.kind,
      g.issuer,
      g.subject,
      g.repository_id,
      g.run_id,
      g.run_attempt,
      g.credential_sha256,
      g.issued_at,
      g.expires_at,
      g.revoked_at,
      g.last_used_at,
    );
    const position: GrantPosition = append(input.record, head);
    if (signed !== undefined) position.signed = signed;
    return position;
  };

  return {
    readHead() {
      const row = sql.head.get();
      return row === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: Number(row.seq), hash: String(row.hash) };
    },
    apply(request, head) {
      switch (request.op) {
        case 'append':
          return append(request.body, head);
        case 'grant':
          return grant(request.input, request.nowSeconds, head, request.unsigned);
        case 'revoke':
          return Number(sql.revoke.run(request.at, request.grantId).changes) > 0;
        case 'use':
          sql.use.run(request.at, request.grantId);
          return undefined;
        case 'purge':
          return Number(sql.purge.run(request.nowSeconds).changes);
      }
    },
  };
}

/** True when no string (value or member name) in `value` holds a lone surrogate, i.e. sealing stored it unchanged. */
function isWellFormedDeep(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed();
  if (Array.isArray(value)) return value.every(isWellFormedDeep);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(([name, member]) => name.isWellFormed() && isWellFormedDeep(member));
  }
  return true;
}
