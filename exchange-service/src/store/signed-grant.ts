/**
 * Signing a `token` grant's access token for the transaction that commits
 * it (Store `commitSignedGrant`): the SQLite writer thread does it after the
 * jti claim, inside its transaction; the PostgreSQL store just before its
 * one-statement claim. Either way the token's SHA-256 goes into the grant
 * row and the audit record before the record is sealed.
 */
import { createHash } from 'node:crypto';
import { completeJws, type UnsignedJws } from '../jws/sign.ts';
import type { CommitGrantInput } from './store.ts';

/** A credential signed for its commit, and its SHA-256 (hex). */
export interface SignedCredential {
  token: string;
  sha256: string;
}

/** Signs `unsigned` and writes the token's SHA-256 into `input` (its grant row and its record). */
export function signForCommit(input: CommitGrantInput, unsigned: UnsignedJws): SignedCredential {
  const token = completeJws(unsigned);
  const sha256 = createHash('sha256').update(token).digest('hex');
  recordCredentialHash(input, sha256);
  return { token, sha256 };
}

/** Writes a signed credential's SHA-256 into the grant row and the `granted` record of `input`. */
export function recordCredentialHash(input: CommitGrantInput, sha256: string): void {
  if (input.record.grant === null) throw new Error('a granted audit record without its grant');
  input.grant.credential_sha256 = sha256;
  input.record.grant.credential_sha256 = sha256;
}
