/**
 * createApp(deps): the HTTP surface (SPEC §3). Routes and one onError that
 * turns every error into RFC 6749 §5.2 JSON; no I/O at import.
 */
import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { IncomingMessage } from 'node:http';
import { LatchkeyError } from './errors.ts';
import type { Logger } from './log.ts';
import { tokenRoutes, type TokenRouteDeps } from './http/routes/token.ts';
import { wellKnownRoutes, type WellKnownDeps } from './http/routes/well-known.ts';
import { healthRoutes, type HealthDeps } from './http/routes/health.ts';
import { devIssuerRoutes, type DevIssuerDeps } from './http/routes/dev-issuer.ts';
import { revokeRoutes, type RevokeRouteDeps } from './decisions/revoke.ts';
import { introspectRoutes, type IntrospectRouteDeps } from './decisions/introspect.ts';

export interface AppVariables {
  requestId: string;
  clientIp: string | null;
}
export type AppEnv = { Variables: AppVariables };

export interface AppDeps extends TokenRouteDeps, WellKnownDeps, HealthDeps {
  logger: Logger;
  /** Present only under `serve --dev`: the dev issuer's discovery and JWKS. */
  devIssuer?: DevIssuerDeps | undefined;
  /** `POST /revoke` (RFC 7009). */
  revocation: RevokeRouteDeps;
  /** `POST /introspect` (RFC 7662); answers 404 while `introspection.bearer` is unset. */
  introspection: IntrospectRouteDeps;
}

/** Builds the Hono app from its dependencies. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    c.set('clientIp', incoming?.socket?.remoteAddress ?? null);
    // Set before the handler builds its response, which takes them in: a header set on a
    // finished response makes Hono rebuild it around a stream, a large cost per request.
    c.header('Cache-Control', 'no-store');
    c.header('X-Request-Id', requestId);
    await next();
  });
  app.route('/', tokenRoutes(deps));
  app.route('/', wellKnownRoutes(deps));
  app.route('/', healthRoutes(deps));
  app.route('/', revokeRoutes(deps.revocation));
  app.route('/', introspectRoutes(deps.introspection));
  if (deps.devIssuer !== undefined) app.route('/dev/oidc', devIssuerRoutes(deps.devIssuer));
  app.notFound((c) => c.json({ error: 'not_found', error_description: `no route for ${c.req.method} ${c.req.path}`, request_id: c.get('requestId') }, 404));
  app.onError((error, c) => {
    const requestId = c.get('requestId') ?? randomUUID();
    const known = error instanceof LatchkeyError ? error : new LatchkeyError('internal', 'internal error', { cause: error });
    if (!(error instanceof LatchkeyError)) deps.logger.error('unhandled error', { request_id: requestId, path: c.req.path, error });
    if (known.retryAfter !== undefined) c.header('Retry-After', String(known.retryAfter));
    c.header('Cache-Control', 'no-store');
    c.header('X-Request-Id', requestId);
    return c.json(
      { error: known.error, error_description: known.message, reason: known.reason, request_id: requestId },
      known.status,
    );
  });
  return app;
}
