/**
 * The store the service codes against: audit chain, claimed `jti`s and
 * grants, and request counters for rate limits. Engine-neutral and async,
 * so the embedded SQLite store (one process) and the PostgreSQL store
 * (replicas) pass one conformance suite (test/store/conformance.test.ts).
 * New shared state (pending approvals, say) is a new versioned migration in
 * each engine plus methods here.
 */
import { AuditRecord, type AuditRecordBody } from '../audit/record.ts';
import type { UnsignedJws } from '../jws/sign.ts';

/** One issued grant, as revocation and introspection need it. Times are epoch seconds. */
export interface GrantRow {
  id: string;
  policy: string;
  kind: 'token' | 'aws' | 'github';
  issuer: string;
  subject: string | null;
  repository_id: string | null;
  run_id: string | null;
  run_attempt: string | null;
  credential_sha256: string | null;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

/**
 * What a subject token claims once exchanged: its issuer, `jti` and expiry
 * (epoch seconds; the claim is remembered until then). The expiry is part of
 * the claim's key: a replayed token carries the same `exp`, and keying the
 * claims by expiry first makes every new claim land at the end of the index
 * instead of on a random page (bench/: a third of the WAL's frames).
 */
export interface JtiClaim {
  issuer: string;
  jti: string;
  jtiExpiresAt: number;
}

/** Everything a successful exchange commits in one transaction. */
export interface CommitGrantInput extends JtiClaim {
  grant: GrantRow;
  record: AuditRecordBody;
}

/** A record with its position in the chain (1 for the first). */
export type StoredAuditRecord = AuditRecord & { seq: number };

/** What commitSignedGrant resolves to: the stored record and the credential signed in its transaction. */
export interface SignedGrant {
  record: StoredAuditRecord;
  /** The compact JWS, for the response's `access_token`. */
  credential: string;
}

/** Every engine's store, and every wrapper of one (fault injection, instrumentation), provides all of it, request counters included. */
export interface Store extends RequestCounters {
  readonly engine: 'sqlite' | 'postgres';
  /** Appends one record (denials, failures, revokes, introspections); resolves after it is durably committed. */
  appendAudit(body: AuditRecordBody): Promise<StoredAuditRecord>;
  /**
   * Atomically claims the jti, inserts the grant and appends its `granted`
   * record; durable on resolve. Rejects with ReplayError (and writes nothing)
   * if the same claim (issuer, jti, expiry) was made before and has not expired.
   */
  commitGrant(input: CommitGrantInput): Promise<StoredAuditRecord>;
  /**
   * commitGrant for a credential signed at commit (a `token` grant's JWT;
   * `credential_sha256` is null in `input`): signs `unsigned`
   * (store/signed-grant.ts), records the token's SHA-256 in the grant row and
   * its record, and commits them with the claim. The token is handed back
   * only once all of it is durable; a replay or a failed commit discards it.
   */
  commitSignedGrant(input: CommitGrantInput, unsigned: UnsignedJws): Promise<SignedGrant>;
  /** Cheap pre-check before minting (the atomic check is in commitGrant): true while the same claim is remembered. */
  isReplayed(claim: JtiClaim, nowSeconds: number): Promise<boolean>;
  getGrant(id: string): Promise<GrantRow | undefined>;
  /**
   * The latest grant whose opaque credential (an `aws` session token, a
   * `github` token) has this SHA-256. `token` grants are not searched: their
   * JWT names the grant in its `jti` (getGrant), so they need no index on a
   * random hash.
   */
  findGrantByCredential(credentialSha256: string): Promise<GrantRow | undefined>;
  /** Marks the grant revoked at `at` (epoch s); false if there is no such grant or it was already revoked. */
  markRevoked(id: string, at: number): Promise<boolean>;
  /** Records that the grant was used (introspected) at `at` (epoch s). */
  markUsed(id: string, at: number): Promise<void>;
  /**
   * Records in chain order (seq ascending), streamed in pages. Throws
   * CorruptRecordError for a stored record that is not a JSON object.
   */
  readAudit(options?: { afterSeq?: number; pageSize?: number }): AsyncIterable<StoredAuditRecord>;
  /** Deletes jti rows whose token expired before `nowSeconds` (and request counters of ended windows); resolves to how many jti rows. */
  purgeExpired(nowSeconds: number): Promise<number>;
  /** Resolves if the store can be read; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** Finishes queued writes, then closes; later calls reject with StoreUnavailableError. */
  close(): Promise<void>;
}

/**
 * Fixed-window request counters (rate limits), shared by every replica of a
 * PostgreSQL store. The SQLite store keeps them in memory: it serves one
 * process, which is the only one counting, and they need no durability.
 */
export interface RequestCounters {
  /**
   * Counts one request for `key` in the window that starts at
   * `windowStartSeconds` (epoch s) and lasts `windowSeconds`; resolves to the
   * window's count including this one. A new window starts at zero.
   */
  countRequests(key: string, windowStartSeconds: number, windowSeconds: number): Promise<number>;
  /** The count of `key` in the window starting at `windowStartSeconds`, without counting. */
  peekRequests(key: string, windowStartSeconds: number): Promise<number>;
}

/** What openStore returns: a store, its request counters included. */
export type OpenedStore = Store;

/** The subject token's issuer+jti was already exchanged (SPEC §3 `token_replayed`). */
export class ReplayError extends Error {
  override name = 'ReplayError';
}

/** The store cannot commit (I/O error, disk full, locked, closed): the service answers 503 store_unavailable and hands out no credential. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** The database was written by a newer latchkey (or is not a latchkey store): refused rather than misread. */
export class StoreSchemaError extends Error {
  override name = 'StoreSchemaError';
}

/** A stored audit record that is not a JSON object (tampered or damaged storage). */
export class CorruptRecordError extends Error {
  override name = 'CorruptRecordError';
  readonly seq: number;
  /** The stored text, as found. */
  readonly text: string;

  constructor(seq: number, text: string, message: string) {
    super(message);
    this.seq = seq;
    this.text = text;
  }
}

/** Parses a stored audit record's text through the record schema; throws CorruptRecordError for text that is not a record. */
export function parseStoredRecord(seq: number, text: string): StoredAuditRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CorruptRecordError(seq, text, `audit record seq ${seq} is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CorruptRecordError(seq, text, `audit record seq ${seq} is not a JSON object`);
  }
  const record = AuditRecord.safeParse(parsed);
  if (!record.success) {
    const issue = record.error.issues[0];
    throw new CorruptRecordError(
      seq,
      text,
      `audit record seq ${seq} does not have the record's shape (${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'})`,
    );
  }
  // The record as stored, not zod's copy: a member the schema does not know (even `__proto__`,
  // which zod's output drops) must stay in what the chain hashes, so an added member breaks it.
  // `seq` is the row's; a record that carries its own would have it overwritten unseen.
  if (Object.hasOwn(parsed, 'seq')) throw new CorruptRecordError(seq, text, `audit record seq ${seq} has a seq member of its own`);
  return { ...(parsed as AuditRecord), seq };
}
