/**
 * The audit record (SPEC §5): one per decision, every field always present
 * (null when unknown), hash-chained by `chain.ts`. Claim text is carried as
 * plain JSON string data, so nothing a token says can shape the record.
 */

import { claimText } from '../policy/model/claims.ts';
/** What a `granted` exchange handed out; never the credential itself, only its SHA-256. */
export interface AuditGrant {
  id: string;
  kind: 'token' | 'aws' | 'github';
  /** The role ARN, audience or repositories the credential is for. */
  target: string;
  scope: string[] | null;
  /** Granted lifetime in seconds. */
  ttl: number;
  /** ISO 8601 instant the credential expires. */
  expires_at: string;
  session_name: string | null;
  credential_sha256: string | null;
  access_key_id: string | null;
}

export type AuditEvent = 'exchange' | 'revoke' | 'introspect';
export type AuditOutcome = 'granted' | 'denied' | 'failed' | 'revoked' | 'active' | 'inactive';

/** The identity claims copied into every record, in the SPEC's order. */
export const IDENTITY_CLAIMS = [
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'ref',
  'sha',
  'workflow_ref',
  'job_workflow_ref',
  'environment',
  'event_name',
  'run_id',
  'run_attempt',
  'actor',
  'actor_id',
  'runner_environment',
] as const;

/** One of {@link IDENTITY_CLAIMS}. */
export type IdentityClaim = (typeof IDENTITY_CLAIMS)[number];

/** The identity-claim fields of a record: one string (or null) per claim. */
export type AuditIdentity = { [K in IdentityClaim]: string | null };

/** A record as the service builds it, before it is chained. */
export interface AuditRecordBody extends AuditIdentity {
  id: string;
  /** ISO 8601 instant of the decision. */
  time: string;
  event: AuditEvent;
  outcome: AuditOutcome;
  /** The SPEC §3 reason code for denials and failures; null when granted. */
  reason: string | null;
  request_id: string;
  client_ip: string | null;
  policy: string | null;
  /** SHA-256 of the policy file. */
  policy_digest: string | null;
  policy_set_version: string | null;
  issuer: string | null;
  subject: string | null;
  jti: string | null;
  subject_token_sha256: string | null;
  grant: AuditGrant | null;
  justification: string | null;
}

/** A chained record: `hash` = hex(sha256(prev_hash + "\n" + JCS(record without hash))). */
export interface AuditRecord extends AuditRecordBody {
  prev_hash: string;
  hash: string;
}

/**
 * Builds the identity fields of a body from verified claims: copies only
 * string/number/boolean identity claims as strings (objects/arrays → null),
 * so claim text is stored as data.
 */
export function identityFromClaims(claims: Readonly<Record<string, unknown>>): AuditIdentity {
  const identity = {} as AuditIdentity;
  for (const name of IDENTITY_CLAIMS) {
    identity[name] = Object.hasOwn(claims, name) ? claimText(claims[name]) : null;
  }
  return identity;
}
