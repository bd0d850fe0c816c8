/**
 * createApp(deps): the HTTP surface (SPEC §3). Mounts the edge's middleware
 * and routes, and the one onError that turns every error into RFC 6749
 * §5.2 JSON through the reason table; no I/O at import.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { LatchkeyError } from './errors.ts';
import type { Logger } from './log.ts';
import { answerFor } from './http/reasons.ts';
import { requestContext, type AppEnv } from './http/request-context.ts';
import { devIssuerRoutes, type DevIssuerDeps } from './http/routes/dev-issuer.ts';
import { healthRoutes, type HealthDeps } from './http/routes/health.ts';
import { introspectRoutes, type IntrospectRouteDeps } from './http/routes/introspect.ts';
import { revokeRoutes, type RevokeRouteDeps } from './http/routes/revoke.ts';
import { tokenRoutes, type TokenRouteDeps } from './http/routes/token.ts';
import { wellKnownRoutes, type WellKnownDeps } from './http/routes/well-known.ts';

export interface AppDeps extends TokenRouteDeps, WellKnownDeps, HealthDeps {
  logger: Logger;
  /** Present only under `serve --dev`: the dev issuer's discovery and JWKS. */
  devIssuer?: DevIssuerDeps | undefined;
  /** `POST /revoke` (RFC 7009). */
  revocation: Omit<RevokeRouteDeps, 'limits'>;
  /** `POST /introspect` (RFC 7662); answers 404 while `introspection.bearer` is unset. */
  introspection: Omit<IntrospectRouteDeps, 'limits' | 'logger'>;
}

/** Builds the Hono app from its dependencies. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(requestContext());
  app.route('/', tokenRoutes(deps));
  app.route('/', wellKnownRoutes(deps));
  app.route('/', healthRoutes(deps));
  app.route('/', revokeRoutes({ ...deps.revocation, limits: deps.limits }));
  app.route('/', introspectRoutes({ ...deps.introspection, limits: deps.limits, logger: deps.logger }));
  if (deps.devIssuer !== undefined) app.route('/dev/oidc', devIssuerRoutes(deps.devIssuer));
  app.notFound((c) => {
    throw new LatchkeyError('not_found', `no route for ${c.req.method} ${c.req.path}`);
  });
  app.onError((error, c) => answerError(deps.logger, error, c));
  return app;
}

/** The one place an error becomes a response: status, `error` and headers from the reason table; an unknown error's text never leaves. */
function answerError(logger: Logger, error: Error, c: Context<AppEnv>): Response {
  const requestId = c.get('requestId') ?? randomUUID();
  const known = error instanceof LatchkeyError ? error : new LatchkeyError('internal', 'internal error', { cause: error });
  if (!(error instanceof LatchkeyError)) logger.error('unhandled error', { request_id: requestId, path: c.req.path, error });
  const answer = answerFor(known);
  if (answer.retryAfter !== undefined) c.header('Retry-After', String(answer.retryAfter));
  if (known.reason === 'unauthorized') c.header('WWW-Authenticate', bearerChallenge(c));
  c.header('Cache-Control', 'no-store');
  c.header('X-Request-Id', requestId);
  return c.json({ error: answer.error, error_description: known.message, reason: known.reason, request_id: requestId }, answer.status);
}

/** RFC 6750 §3: no `error` when no credentials were sent, `invalid_token` when they were. */
const bearerChallenge = (c: Context<AppEnv>): string =>
  c.req.header('authorization') === undefined ? 'Bearer realm="latchkey"' : 'Bearer realm="latchkey", error="invalid_token"';
