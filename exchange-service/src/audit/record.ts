/**
 * The audit record (SPEC §5): one per decision, every field always present
 * (null when unknown), hash-chained by `chain.ts`. Claim text is carried as
 * plain JSON string data, so nothing a token says can shape the record.
 */

import * as z from 'zod';
import { claimText } from '../policy/model/claims.ts';
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

const nullableText = z.string().nullable();

/** What a `granted` exchange handed out; never the credential itself, only its SHA-256. */
export const AuditGrant = z.strictObject({
  id: z.string(),
  kind: z.enum(['token', 'aws', 'github']),
  /** The role ARN, audience or repositories the credential is for. */
  target: z.string(),
  scope: z.array(z.string()).nullable(),
  /** Granted lifetime in seconds. */
  ttl: z.number(),
  /** ISO 8601 instant the credential expires. */
  expires_at: z.string(),
  session_name: nullableText,
  credential_sha256: nullableText,
  access_key_id: nullableText,
});
export type AuditGrant = z.infer<typeof AuditGrant>;

export const AuditEvent = z.enum(['exchange', 'revoke', 'introspect']);
export type AuditEvent = z.infer<typeof AuditEvent>;
export const AuditOutcome = z.enum(['granted', 'denied', 'failed', 'revoked', 'active', 'inactive']);
export type AuditOutcome = z.infer<typeof AuditOutcome>;

/** The identity-claim fields of a record: one string (or null) per claim. */
const AuditIdentity = z.object(Object.fromEntries(IDENTITY_CLAIMS.map((name) => [name, nullableText])) as { [K in IdentityClaim]: typeof nullableText });
export type AuditIdentity = z.infer<typeof AuditIdentity>;

/** A record as the service builds it, before it is chained (SPEC §5). */
export const AuditRecordBody = AuditIdentity.extend({
  id: z.string(),
  /** ISO 8601 instant of the decision. */
  time: z.string(),
  event: AuditEvent,
  outcome: AuditOutcome,
  /** The SPEC §3 reason code for denials and failures; null when granted. */
  reason: nullableText,
  request_id: z.string(),
  client_ip: nullableText,
  policy: nullableText,
  /** SHA-256 of the policy file. */
  policy_digest: nullableText,
  policy_set_version: nullableText,
  issuer: nullableText,
  subject: nullableText,
  jti: nullableText,
  subject_token_sha256: nullableText,
  grant: AuditGrant.nullable(),
  justification: nullableText,
});
export type AuditRecordBody = z.infer<typeof AuditRecordBody>;

/**
 * A chained record as stored: `hash` = hex(sha256(prev_hash + "\n" +
 * JCS(record without hash))). Read back through this schema; members it
 * does not know are kept, not dropped, so an added member still breaks the
 * hash instead of vanishing from what is checked.
 */
export const AuditRecord = z.looseObject({ ...AuditRecordBody.shape, prev_hash: z.string(), hash: z.string() });
export type AuditRecord = z.infer<typeof AuditRecord>;

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
