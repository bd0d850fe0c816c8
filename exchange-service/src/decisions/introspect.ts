/**
 * The introspection decision (RFC 7662, SPEC §3) for `token` grants: a
 * `token` is active, with its claims, only when the JWT verifies against
 * this service's own keys and its grant is neither revoked nor expired.
 * Every call is audited; an active one also records that the grant was
 * used. The caller (a resource server) was authenticated by the edge.
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { AuditRecordBody } from '../audit/record.ts';
import { LatchkeyError } from '../errors.ts';
import type { SigningKeyRing } from '../jws/signing-keys.ts';
import type { Logger } from '../log.ts';
import type { GrantRow, Store } from '../store/store.ts';
import type { RequestContext } from './context.ts';
import { appendGrantAudit, grantDecisionBody, storeCall, type GrantDecision } from './grant-record.ts';

export interface IntrospectDeps {
  store: Store;
  /** The `iss` of the tokens this service issues (its public URL). */
  publicUrl: string;
  signingKeys: () => SigningKeyRing;
  logger: Logger;
  /** Wall clock, ms. */
  now: () => number;
  /** `limits.max_token_bytes`. */
  maxTokenBytes: number;
  onAudit?: ((record: AuditRecordBody) => void) | undefined;
}

/** What one introspection found, before it is audited and answered. */
type Finding = Pick<GrantDecision, 'outcome' | 'reason' | 'grant' | 'accessClaims' | 'target' | 'scope'>;

/** The RFC 7662 §2.2 answer. */
export type IntrospectionResponse = { active: false } | ({ active: true; token_type: 'Bearer'; grant_id: unknown } & Record<string, unknown>);

/** Decides one introspection of `token` (a parameter of the request) and audits it. */
export type Introspect = (params: Readonly<Record<string, string>>, context: RequestContext) => Promise<IntrospectionResponse>;

/** Creates the introspection decision. */
export function createIntrospect(deps: IntrospectDeps): Introspect {
  return async function introspect(params, context) {
    const token = params.token;
    if (token === undefined || token === '') throw new LatchkeyError('malformed', 'missing parameter token');
    if (token.length > deps.maxTokenBytes) throw new LatchkeyError('malformed', `token is larger than ${deps.maxTokenBytes} bytes`);
    const finding = await inspect(deps, token);
    if (finding.outcome === 'active' && finding.grant !== undefined) {
      const grantId = finding.grant.id;
      await storeCall(() => deps.store.markUsed(grantId, Math.floor(deps.now() / 1000)));
    }
    await appendGrantAudit(deps, grantDecisionBody({ ...finding, event: 'introspect', ...context, nowMs: deps.now() }));
    deps.logger.info('introspect', { request_id: context.requestId, outcome: finding.outcome, reason: finding.reason, grant_id: finding.grant?.id ?? null });
    return finding.outcome === 'active' ? activeResponse(finding.accessClaims ?? {}) : { active: false };
  };
}

/** Verifies the JWT with the service's own keys, then checks its grant row. */
async function inspect(deps: IntrospectDeps, token: string): Promise<Finding> {
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, createLocalJWKSet(deps.signingKeys().jwks), {
      issuer: deps.publicUrl,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      requiredClaims: ['jti', 'exp', 'iat'],
      currentDate: new Date(deps.now()),
    }));
  } catch (error) {
    const expired = error instanceof Error && 'code' in error && error.code === 'ERR_JWT_EXPIRED';
    return { outcome: 'inactive', reason: expired ? 'token_expired' : 'token_invalid' };
  }
  const grant = await storeCall(() => deps.store.getGrant(String(claims.jti)));
  const known = { accessClaims: claims, target: typeof claims.aud === 'string' ? claims.aud : undefined, scope: scopeOf(claims) };
  if (grant === undefined) return { ...known, outcome: 'inactive', reason: 'grant_unknown' };
  return { ...known, grant, ...grantState(deps, grant, token) };
}

/** Active only for the very token the grant issued, not revoked, not expired. */
function grantState(deps: IntrospectDeps, grant: GrantRow, token: string): Pick<Finding, 'outcome' | 'reason'> {
  const digest = createHash('sha256').update(token).digest('hex');
  if (grant.kind !== 'token' || grant.credential_sha256 !== digest) return { outcome: 'inactive', reason: 'grant_unknown' };
  if (grant.revoked_at !== null) return { outcome: 'inactive', reason: 'revoked' };
  if (grant.expires_at <= Math.floor(deps.now() / 1000)) return { outcome: 'inactive', reason: 'token_expired' };
  return { outcome: 'active', reason: null };
}

const scopeOf = (claims: JWTPayload): string[] | null => (typeof claims.scope === 'string' ? claims.scope.split(' ') : null);

/** RFC 7662 §2.2 members for an active token. */
function activeResponse(claims: JWTPayload): IntrospectionResponse {
  const response: Record<string, unknown> = { active: true, token_type: 'Bearer' };
  for (const name of ['exp', 'iat', 'scope', 'sub', 'aud', 'client_id', 'iss'] as const) {
    if (claims[name] !== undefined) response[name] = claims[name];
  }
  response.grant_id = claims.jti;
  return response as IntrospectionResponse;
}
