/**
 * `POST /revoke` (RFC 7009, SPEC §3). Two forms:
 *
 * - `token` = a credential this service issued: a `token` grant's JWT is
 *   found by its `jti` (the grant id), an opaque credential (`aws`,
 *   `github`) by its SHA-256; either way its SHA-256 must be the grant's;
 * - `token` = a grant id with `token_type_hint=grant_id`, plus `subject_token`
 *   = a fresh OIDC token of the same workflow run (same issuer,
 *   `repository_id`, `run_id` and `run_attempt` as the grant), so the
 *   Action's post step can revoke without keeping a secret in step state.
 *
 * Every well-formed request answers 200 whether or not anything was revoked
 * (RFC 7009 §2.2: the answer reveals nothing); a subject token that does not
 * verify is refused with the verifier's reason. Every decision is audited.
 */
import { createHash } from 'node:crypto';
import { decodeJwt, type JWTPayload } from 'jose';
import * as z from 'zod';
import type { AuditRecordBody } from '../audit/record.ts';
import { LatchkeyError, isFailure } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { TokenVerifier, VerifiedToken } from '../oidc/verify.ts';
import { claimText } from '../policy/model/claims.ts';
import type { GrantRow, Store } from '../store/store.ts';
import type { RequestContext } from './context.ts';
import { appendGrantAudit, grantDecisionBody, storeCall, type GrantDecision } from './grant-record.ts';

export interface RevokeDeps {
  store: Store;
  verifier: TokenVerifier;
  logger: Logger;
  /** Wall clock, ms. */
  now: () => number;
  onAudit?: ((record: AuditRecordBody) => void) | undefined;
}

/** The `/revoke` parameters (RFC 7009 §2.1, plus the grant-id form). */
export const RevokeRequest = z.object({
  token: z.string().min(1),
  token_type_hint: z.string().max(64).optional(),
  subject_token: z.string().min(1).optional(),
});
export type RevokeRequest = z.infer<typeof RevokeRequest>;

/** The identity claims that tie a subject token to the run a grant was issued to. */
const RUN_CLAIMS = ['repository_id', 'run_id', 'run_attempt'] as const;

/** What one revoke request decided, before it is audited. */
type Outcome = Pick<GrantDecision, 'outcome' | 'reason' | 'grant' | 'token' | 'target' | 'scope' | 'accessClaims'>;

/** Decides one parsed `/revoke` request and audits it; the answer reveals nothing (RFC 7009 §2.2). */
export type Revoke = (request: RevokeRequest, context: RequestContext) => Promise<void>;

/** Creates the revoke decision. */
export function createRevoke(deps: RevokeDeps): Revoke {
  return async function revoke(request, context) {
    const audit = async (outcome: Outcome): Promise<void> => {
      await appendGrantAudit(deps, grantDecisionBody({ ...outcome, event: 'revoke', ...context, nowMs: deps.now() }));
      deps.logger.info('revoke', { request_id: context.requestId, outcome: outcome.outcome, reason: outcome.reason, grant_id: outcome.grant?.id ?? null });
    };
    let outcome: Outcome;
    try {
      outcome = request.token_type_hint === 'grant_id' ? await revokeByGrantId(deps, request) : await revokeByToken(deps, request.token);
    } catch (error) {
      // A subject token that does not verify is refused and audited as a denial.
      if (error instanceof LatchkeyError && !isFailure(error.reason)) await audit({ outcome: 'denied', reason: error.reason });
      throw error;
    }
    await audit(outcome);
  };
}

/** Validates the parameters; the grant-id form needs a subject token. */
export function parseRevokeRequest(params: Record<string, string>, maxTokenBytes: number): RevokeRequest {
  const result = RevokeRequest.safeParse(params);
  if (!result.success) {
    const field = result.error.issues[0]?.path.join('.') ?? 'body';
    throw new LatchkeyError('malformed', params[field] === undefined ? `missing parameter ${field}` : `invalid ${field}`);
  }
  const request = result.data;
  if (request.token.length > maxTokenBytes) throw new LatchkeyError('malformed', `token is larger than ${maxTokenBytes} bytes`);
  if (request.token_type_hint === 'grant_id' && request.subject_token === undefined) {
    throw new LatchkeyError('malformed', 'token_type_hint=grant_id needs subject_token: a fresh OIDC token of the same run');
  }
  return request;
}

/** Form 1: whoever holds an issued credential may revoke it. */
async function revokeByToken(deps: RevokeDeps, token: string): Promise<Outcome> {
  const digest = createHash('sha256').update(token).digest('hex');
  const claims = unverifiedClaims(token);
  const grant = await storeCall(() => findIssuedGrant(deps.store, claims, digest));
  if (grant === undefined) return { outcome: 'denied', reason: 'grant_unknown' };
  return { ...(await markRevoked(deps, grant)), ...(grant.kind === 'token' && claims !== undefined ? accessTokenFacts(claims) : {}) };
}

/**
 * The grant that issued the token: a JWT names its grant in `jti`, and
 * anything else is looked up by its SHA-256 among opaque credentials.
 * Either way the token's SHA-256 must be the grant's, so claims read
 * without verifying can name a grant but never revoke another token's.
 */
async function findIssuedGrant(store: Store, claims: JWTPayload | undefined, digest: string): Promise<GrantRow | undefined> {
  if (typeof claims?.jti === 'string') {
    const grant = await store.getGrant(claims.jti);
    if (grant !== undefined && grant.kind === 'token' && grant.credential_sha256 === digest) return grant;
  }
  return store.findGrantByCredential(digest);
}

/** A JWT's claims, unverified; undefined for anything else (an opaque credential). */
function unverifiedClaims(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

/** Form 2: a fresh OIDC token of the same run proves the caller is that run. */
async function revokeByGrantId(deps: RevokeDeps, request: RevokeRequest): Promise<Outcome> {
  // Throws LatchkeyError with the verifier's reason, before anything is looked up.
  const token = await deps.verifier.verify(request.subject_token ?? '');
  const grant = await storeCall(() => deps.store.getGrant(request.token));
  if (grant === undefined) return { outcome: 'denied', reason: 'grant_unknown', token };
  if (!sameRun(grant, token)) return { outcome: 'denied', reason: 'run_mismatch', token, grant };
  return { ...(await markRevoked(deps, grant)), token };
}

/** True when the token comes from the issuer and run the grant was issued to. */
function sameRun(grant: GrantRow, token: VerifiedToken): boolean {
  if (token.issuer !== grant.issuer) return false;
  return RUN_CLAIMS.every((name) => {
    const expected = grant[name];
    return expected !== null && claimText(token.claims[name]) === expected;
  });
}

async function markRevoked(deps: RevokeDeps, grant: GrantRow): Promise<Outcome> {
  const changed = await storeCall(() => deps.store.markRevoked(grant.id, Math.floor(deps.now() / 1000)));
  return { outcome: 'revoked', reason: changed ? null : 'already_revoked', grant };
}

/**
 * For a `token` grant revoked by its JWT: its claims (identity, audience,
 * scope) for the audit record. Read without verifying: the token's SHA-256
 * matched the grant's, so it is the very token this service issued.
 */
function accessTokenFacts(claims: JWTPayload): Pick<Outcome, 'target' | 'scope' | 'accessClaims'> {
  const target = typeof claims.aud === 'string' ? claims.aud : undefined;
  const scope = typeof claims.scope === 'string' ? claims.scope.split(' ') : null;
  return { target, scope, accessClaims: claims };
}
