/**
 * `POST /introspect` (RFC 7662, SPEC §3) for `token` grants. A resource
 * server presents the configured `introspection.bearer` secret and a
 * `token`; the answer is `active: true` with the token's claims only when
 * the JWT verifies against this service's own keys and its grant is neither
 * revoked nor expired. Every call is audited; an active one also records
 * that the grant was used.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { AppEnv } from '../app.ts';
import type { AuditRecordBody } from '../audit/record.ts';
import { LatchkeyError } from '../errors.ts';
import type { SigningKeyRing } from '../jws/signing-keys.ts';
import type { Logger } from '../log.ts';
import type { GrantRow, Store } from '../store/store.ts';
import { appendGrantAudit, grantDecisionBody, storeCall, type GrantDecision } from './grant-record.ts';
import { parseParameters, readBodyCapped } from '../http/body.ts';

export interface IntrospectRouteDeps {
  store: Store;
  /** `introspection.bearer`; null turns the endpoint off (404). */
  bearer: string | null;
  /** The `iss` of the tokens this service issues (its public URL). */
  publicUrl: string;
  signingKeys: () => SigningKeyRing;
  logger: Logger;
  /** Wall clock, ms. */
  now: () => number;
  limits: { max_body_bytes: number; max_token_bytes: number };
  onAudit?: ((record: AuditRecordBody) => void) | undefined;
}

/** What one introspection found, before it is audited and answered. */
type Finding = Pick<GrantDecision, 'outcome' | 'reason' | 'grant' | 'accessClaims' | 'target' | 'scope'>;

/** The `/introspect` route. */
export function introspectRoutes(deps: IntrospectRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/introspect', async (c) => {
    if (deps.bearer === null) return c.json({ error: 'not_found', error_description: 'introspection is not configured on this service', request_id: c.get('requestId') }, 404);
    if (!bearerMatches(c.req.header('authorization'), deps.bearer)) return unauthorized(c, deps);
    const body = await readBodyCapped(c.req.raw, deps.limits.max_body_bytes);
    const token = parseParameters(body, c.req.header('content-type') ?? null).token;
    if (token === undefined || token === '') throw new LatchkeyError('malformed', 'missing parameter token');
    if (token.length > deps.limits.max_token_bytes) throw new LatchkeyError('malformed', `token is larger than ${deps.limits.max_token_bytes} bytes`);
    const finding = await inspect(deps, token);
    if (finding.outcome === 'active' && finding.grant !== undefined) {
      const grantId = finding.grant.id;
      await storeCall(() => deps.store.markUsed(grantId, Math.floor(deps.now() / 1000)));
    }
    const requestId = c.get('requestId');
    await appendGrantAudit(deps, grantDecisionBody({ ...finding, event: 'introspect', requestId, clientIp: c.get('clientIp'), nowMs: deps.now() }));
    deps.logger.info('introspect', { request_id: requestId, outcome: finding.outcome, reason: finding.reason, grant_id: finding.grant?.id ?? null });
    return c.json(finding.outcome === 'active' ? activeResponse(finding.accessClaims ?? {}) : { active: false });
  });
  return app;
}

/**
 * Compares the presented bearer with the configured secret in constant time:
 * both are hashed first, so neither the content nor the length leaks.
 */
export function bearerMatches(header: string | undefined, secret: string): boolean {
  const match = /^Bearer ([^\s]+)$/i.exec(header?.trim() ?? '');
  const presented = createHash('sha256').update(match?.[1] ?? '').digest();
  const expected = createHash('sha256').update(secret).digest();
  return timingSafeEqual(presented, expected) && match !== null;
}

function unauthorized(c: Context<AppEnv>, deps: IntrospectRouteDeps): Response {
  const missing = c.req.header('authorization') === undefined;
  deps.logger.warn('introspect refused', { request_id: c.get('requestId'), client_ip: c.get('clientIp'), missing_credentials: missing });
  c.header('WWW-Authenticate', missing ? 'Bearer realm="latchkey"' : 'Bearer realm="latchkey", error="invalid_token"');
  return c.json(
    { error: 'invalid_token', error_description: missing ? 'introspection needs Authorization: Bearer <introspection secret>' : 'the introspection secret is not valid', reason: 'unauthorized', request_id: c.get('requestId') },
    401,
  );
}

/** Verifies the JWT with the service's own keys, then checks its grant row. */
async function inspect(deps: IntrospectRouteDeps, token: string): Promise<Finding> {
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
function grantState(deps: IntrospectRouteDeps, grant: GrantRow, token: string): Pick<Finding, 'outcome' | 'reason'> {
  const digest = createHash('sha256').update(token).digest('hex');
  if (grant.kind !== 'token' || grant.credential_sha256 !== digest) return { outcome: 'inactive', reason: 'grant_unknown' };
  if (grant.revoked_at !== null) return { outcome: 'inactive', reason: 'revoked' };
  if (grant.expires_at <= Math.floor(deps.now() / 1000)) return { outcome: 'inactive', reason: 'token_expired' };
  return { outcome: 'active', reason: null };
}

const scopeOf = (claims: JWTPayload): string[] | null => (typeof claims.scope === 'string' ? claims.scope.split(' ') : null);

/** RFC 7662 §2.2 members for an active token. */
function activeResponse(claims: JWTPayload): Record<string, unknown> {
  const response: Record<string, unknown> = { active: true, token_type: 'Bearer' };
  for (const name of ['exp', 'iat', 'scope', 'sub', 'aud', 'client_id', 'iss'] as const) {
    if (claims[name] !== undefined) response[name] = claims[name];
  }
  response.grant_id = claims.jti;
  return response;
}
