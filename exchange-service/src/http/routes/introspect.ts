/**
 * `POST /introspect` (RFC 7662): off (404) until `introspection.bearer` is
 * set; then the caller must present that secret, and the decision answers.
 */
import { Hono } from 'hono';
import type { Introspect } from '../../decisions/introspect.ts';
import { LatchkeyError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { requireBearer } from '../bearer.ts';
import { readBodyCapped } from '../body.ts';
import { parseParameters } from '../params.ts';
import { nodeIncoming, type AppEnv } from '../request-context.ts';

export interface IntrospectRouteDeps {
  introspect: Introspect;
  /** `introspection.bearer`; null turns the endpoint off (404). */
  bearer: string | null;
  logger: Logger;
  limits: { max_body_bytes: number };
}

/** The `/introspect` route. */
export function introspectRoutes(deps: IntrospectRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  if (deps.bearer === null) {
    app.post('/introspect', () => {
      throw new LatchkeyError('not_found', 'introspection is not configured on this service');
    });
    return app;
  }
  app.post('/introspect', requireBearer(deps.bearer, deps.logger), async (c) => {
    const body = await readBodyCapped(c.req.raw, deps.limits.max_body_bytes, nodeIncoming(c));
    const params = parseParameters(body, c.req.header('content-type') ?? null);
    return c.json(await deps.introspect(params, { requestId: c.get('requestId'), clientIp: c.get('clientIp') }));
  });
  return app;
}
