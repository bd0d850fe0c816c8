/**
 * Builds audit record bodies from what a decision knows (request, verified
 * token, policy), so every route fills the SPEC §5 fields the same way.
 */
import { randomUUID } from 'node:crypto';
import { identityFromClaims, type AuditEvent, type AuditOutcome, type AuditRecordBody } from './record.ts';
import type { VerifiedToken } from '../oidc/verify.ts';
import { claimText } from '../policy/model/claims.ts';

export interface AuditContext {
  event: AuditEvent;
  outcome: AuditOutcome;
  reason: string | null;
  requestId: string;
  clientIp: string | null;
  /** Decision time, epoch ms. */
  nowMs: number;
  token?: VerifiedToken | undefined;
  policy?: { name: string; digest: string } | undefined;
  policySetVersion: string | null;
  justification?: string | null | undefined;
}

/** A record body with every field present (null when unknown) and no grant. */
export function buildAuditBody(context: AuditContext): AuditRecordBody {
  const claims = context.token?.claims ?? {};
  return {
    id: randomUUID(),
    time: new Date(context.nowMs).toISOString(),
    event: context.event,
    outcome: context.outcome,
    reason: context.reason,
    request_id: context.requestId,
    client_ip: context.clientIp,
    policy: context.policy?.name ?? null,
    policy_digest: context.policy?.digest ?? null,
    policy_set_version: context.policySetVersion,
    issuer: context.token?.issuer ?? null,
    subject: claimText(claims.sub),
    ...identityFromClaims(claims),
    jti: context.token?.jti ?? null,
    subject_token_sha256: context.token?.tokenSha256 ?? null,
    grant: null,
    justification: context.justification ?? null,
  };
}
