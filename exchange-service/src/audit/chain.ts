/**
 * The audit hash chain (SPEC §5):
 * `hash = hex(sha256(prev_hash + "\n" + JCS(record without hash)))`, the
 * first record's `prev_hash` being 64 zeros. Anyone with SHA-256 and an
 * RFC 8785 library can recompute it without latchkey.
 */
import { createHash } from 'node:crypto';
import { canonicalize, canonicalMembers } from './jcs.ts';
import type { AuditRecord, AuditRecordBody } from './record.ts';

/** The `prev_hash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** A record as the store returns it: its position in the chain alongside it. */
export type SequencedRecord = AuditRecord & { seq: number };

/** Hex SHA-256 of `prevHash + "\n" + JCS(body with prev_hash)`: the record's `hash`. */
export function chainHash(prevHash: string, body: AuditRecordBody): string {
  return linkHash(prevHash, canonicalize({ ...body, prev_hash: prevHash }));
}

/** The chain's link: hex SHA-256 of `prevHash + "\n" + canonical`, the canonical text of the record without `hash`. */
function linkHash(prevHash: string, canonical: string): string {
  return createHash('sha256').update(`${prevHash}\n${canonical}`, 'utf8').digest('hex');
}

/**
 * Chains `body` after `prevHash`. The result is a fresh copy with every
 * string made well-formed (a lone surrogate, which JCS refuses, becomes
 * U+FFFD), so any text a request carries can be recorded.
 */
export function sealRecord(prevHash: string, body: AuditRecordBody): AuditRecord {
  return sealRecordWithText(prevHash, body).record;
}

/**
 * {@link sealRecord}, plus the sealed record's canonical text (what the
 * stores keep), from one canonicalisation: the hashed text is the record
 * without `hash`, and the stored text is the same members with `hash` put in
 * its place in the order.
 */
export function sealRecordWithText(prevHash: string, body: AuditRecordBody): { record: AuditRecord; text: string } {
  const clean = wellFormedCopy(body) as AuditRecordBody;
  const unsealed: Record<string, unknown> = { ...clean, prev_hash: prevHash };
  delete unsealed.hash;
  const members = canonicalMembers(unsealed);
  const asObject = (): string => `{${members.map(([, text]) => text).join(',')}}`;
  const hash = linkHash(prevHash, asObject());
  const at = members.findIndex(([name]) => name > 'hash');
  members.splice(at === -1 ? members.length : at, 0, ['hash', `"hash":"${hash}"`]);
  return { record: { ...clean, prev_hash: prevHash, hash }, text: asObject() };
}

/** Outcome of {@link verifyChain}; `count` is the number of intact records before any bad one. */
export type ChainVerdict = { ok: true; count: number; head: string } | { ok: false; count: number; seq: number; id: string; problem: string };

/** A fault found in one record. */
export interface ChainProblem {
  seq: number;
  id: string;
  problem: string;
}

/** Checks records one at a time (for streamed reads); stops at the first problem. */
export interface ChainVerifier {
  /** Checks the next record in seq order; returns its problem, if any. */
  push(record: SequencedRecord): ChainProblem | undefined;
  /** The verdict over everything pushed so far. */
  verdict(): ChainVerdict;
}

/** Creates an incremental verifier starting at the genesis record. */
export function createChainVerifier(): ChainVerifier {
  let count = 0;
  let previous: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH };
  let failure: ChainProblem | undefined;
  return {
    push(record) {
      if (failure !== undefined) return failure;
      const problem = findProblem(record, previous);
      if (problem !== undefined) {
        failure = { seq: record.seq, id: typeof record.id === 'string' ? record.id : String(record.id), problem };
        return failure;
      }
      count += 1;
      previous = { seq: record.seq, hash: record.hash };
      return undefined;
    },
    verdict() {
      return failure === undefined ? { ok: true, count, head: previous.hash } : { ok: false, count, ...failure };
    },
  };
}

/**
 * Recomputes the chain over records in seq order: detects edited records
 * (hash), deleted, inserted and reordered ones (prev_hash linkage and seq
 * continuity), and names the first bad record. A truncated tail leaves no
 * trace in the chain itself; that needs a signed checkpoint kept elsewhere.
 */
export function verifyChain(records: Iterable<SequencedRecord>): ChainVerdict {
  const verifier = createChainVerifier();
  for (const record of records) {
    if (verifier.push(record) !== undefined) break;
  }
  return verifier.verdict();
}

function findProblem(record: SequencedRecord, previous: { seq: number; hash: string }): string | undefined {
  const expectedSeq = previous.seq + 1;
  if (record.seq !== expectedSeq) {
    return record.seq > expectedSeq
      ? `seq ${record.seq} follows seq ${previous.seq}: ${record.seq - expectedSeq} record(s) missing`
      : `seq ${record.seq} is out of order (expected seq ${expectedSeq})`;
  }
  if (record.prev_hash !== previous.hash) {
    return previous.seq === 0
      ? 'prev_hash of the first record is not the genesis hash (64 zeros)'
      : `prev_hash does not match the hash of seq ${previous.seq} (a record was inserted, deleted or moved)`;
  }
  const { hash, seq: _seq, ...rest } = record;
  let recomputed: string;
  try {
    recomputed = chainHash(record.prev_hash, rest);
  } catch (error) {
    return `record cannot be canonicalised: ${(error as Error).message}`;
  }
  if (hash !== recomputed) return "hash does not match the record's contents (the record was edited)";
  return undefined;
}

/** Deep copy of JSON data with lone surrogates replaced, so JCS accepts every string. */
function wellFormedCopy(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  if (Array.isArray(value)) return value.map(wellFormedCopy);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [name, member] of Object.entries(value)) copy[name.toWellFormed()] = wellFormedCopy(member);
    return copy;
  }
  return value;
}
