/**
 * Audit records for decisions about an existing grant (`revoke`,
 * `introspect`): the grant they touch, the identity that asked, and one
 * append that turns store trouble into `store_unavailable` so the caller retries.
 */
import { buildAuditBody } from '../audit/build.ts';
import { identityFromClaims, type AuditGrant, type AuditOutcome, type AuditRecordBody } from '../audit/record.ts';
import { storeUnavailable } from '../errors.ts';
import type { VerifiedToken } from '../oidc/verify.ts';
import type { GrantRow, Store } from '../store/store.ts';

/** Where a grant decision's record goes: the store, then the optional `audit.stdout` stream. */
export interface GrantAuditSink {
  store: Store;
  /** Called with every committed record (the `audit.stdout` stream). */
  onAudit?: ((record: AuditRecordBody) => void) | undefined;
}

export interface GrantDecision {
  event: 'revoke' | 'introspect';
  outcome: AuditOutcome;
  reason: string | null;
  requestId: string;
  clientIp: string | null;
  nowMs: number;
  /** The grant the decision is about, when one was found. */
  grant?: GrantRow | undefined;
  /** What the grant row does not hold (for token grants: the access token's `aud` and `scope`). */
  target?: string | undefined;
  scope?: string[] | null | undefined;
  /** A verified subject token (revoke by grant id). */
  token?: VerifiedToken | undefined;
  /** Verified claims of an access token this service issued (introspection, revoke by token). */
  accessClaims?: Readonly<Record<string, unknown>> | undefined;
}

/** Builds the record body for a revoke or introspect decision. */
export function grantDecisionBody(decision: GrantDecision): AuditRecordBody {
  const body = buildAuditBody({
    event: decision.event,
    outcome: decision.outcome,
    reason: decision.reason,
    requestId: decision.requestId,
    clientIp: decision.clientIp,
    nowMs: decision.nowMs,
    token: decision.token,
    policySetVersion: null,
  });
  const { grant, accessClaims } = decision;
  if (decision.token === undefined && accessClaims !== undefined) {
    Object.assign(body, identityFromClaims(accessClaims));
    body.subject = typeof accessClaims.sub === 'string' ? accessClaims.sub : null;
  }
  if (grant !== undefined) {
    body.policy = grant.policy;
    body.issuer ??= grant.issuer;
    body.subject ??= grant.subject;
    body.grant = auditGrantOf(grant, decision.target, decision.scope);
  }
  return body;
}

/**
 * The record's `grant` from a stored row. The row keeps no target or scope;
 * they are filled when the caller knows them, else empty / null.
 */
function auditGrantOf(grant: GrantRow, target: string | undefined, scope: string[] | null | undefined): AuditGrant {
  return {
    id: grant.id,
    kind: grant.kind,
    target: target ?? '',
    scope: scope ?? null,
    ttl: grant.expires_at - grant.issued_at,
    expires_at: new Date(grant.expires_at * 1000).toISOString(),
    session_name: null,
    credential_sha256: grant.credential_sha256,
    access_key_id: null,
  };
}

/** Appends the record; a store that cannot commit is `store_unavailable`. */
export async function appendGrantAudit(sink: GrantAuditSink, body: AuditRecordBody): Promise<void> {
  const committed = await storeCall(() => sink.store.appendAudit(body));
  sink.onAudit?.(committed);
}

/** Runs a store call; any failure is `store_unavailable` (the caller may retry). */
export async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw storeUnavailable(error);
  }
}
