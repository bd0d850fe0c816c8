/**
 * The store's reads as prepared statements over one connection: the main
 * thread's read-only connection for files, the writer thread's connection
 * for `:memory:`. Each is one autocommit statement, so under WAL it sees
 * every transaction committed before it started, and never blocks a writer.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { GrantRow, JtiClaim } from '../store.ts';

/** One stored audit row, text not yet parsed (parsing, and refusing damaged text, is the caller's). */
export interface AuditRow {
  seq: number;
  text: string;
}

/** The synchronous reads; each throws node:sqlite's error when the database fails. */
export interface Reads {
  isReplayed(claim: JtiClaim, nowSeconds: number): boolean;
  getGrant(id: string): GrantRow | undefined;
  findGrantByCredential(credentialSha256: string): GrantRow | undefined;
  auditPage(afterSeq: number, size: number): AuditRow[];
  ping(): void;
}

/** The name of one read. */
export type ReadQuery = keyof Reads;

/** The replay pre-check: one claim, by its whole key. */
export const FIND_CLAIM_SQL = 'SELECT 1 AS found FROM jti WHERE expires_at = ? AND issuer = ? AND jti = ? AND expires_at >= ?';
/** An opaque credential's grant; the condition matches the partial index grants_opaque_credential (store.ts: token grants are found by id). */
export const GRANT_BY_CREDENTIAL_SQL = "SELECT * FROM grants WHERE credential_sha256 = ? AND kind <> 'token' ORDER BY issued_at DESC LIMIT 1";

/** Prepares the reads on `db`. */
export function createReads(db: DatabaseSync): Reads {
  const findJti = db.prepare(FIND_CLAIM_SQL);
  const getGrant = db.prepare('SELECT * FROM grants WHERE id = ?');
  const grantByCredential = db.prepare(GRANT_BY_CREDENTIAL_SQL);
  const page = db.prepare('SELECT seq, record FROM audit WHERE seq > ? ORDER BY seq LIMIT ?');
  const ping = db.prepare('SELECT count(*) AS tables FROM sqlite_schema');
  return {
    isReplayed: (claim, nowSeconds) => findJti.get(claim.jtiExpiresAt, claim.issuer, claim.jti, nowSeconds) !== undefined,
    getGrant: (id) => toGrantRow(getGrant.get(id)),
    findGrantByCredential: (digest) => toGrantRow(grantByCredential.get(digest)),
    auditPage: (afterSeq, size) => page.all(afterSeq, size).map((row) => ({ seq: Number(row.seq), text: String(row.record) })),
    ping: () => void ping.get(),
  };
}

/** Runs the read named `query` with wire-delivered arguments (the writer thread serving `:memory:` reads). */
export function runRead(reads: Reads, query: ReadQuery, args: unknown[]): unknown {
  // The arguments were typed by the main thread's caller; across postMessage only their shape survives.
  const read = reads[query] as (...values: unknown[]) => unknown;
  return read(...args);
}

function toGrantRow(row: Record<string, unknown> | undefined): GrantRow | undefined {
  if (row === undefined) return undefined;
  const text = (value: unknown): string | null => (value === null ? null : String(value));
  const time = (value: unknown): number | null => (value === null ? null : Number(value));
  return {
    id: String(row.id),
    policy: String(row.policy),
    kind: String(row.kind) as GrantRow['kind'],
    issuer: String(row.issuer),
    subject: text(row.subject),
    repository_id: text(row.repository_id),
    run_id: text(row.run_id),
    run_attempt: text(row.run_attempt),
    credential_sha256: text(row.credential_sha256),
    issued_at: Number(row.issued_at),
    expires_at: Number(row.expires_at),
    revoked_at: time(row.revoked_at),
    last_used_at: time(row.last_used_at),
  };
}
