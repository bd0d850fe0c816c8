/**
 * `POST /revoke` (RFC 7009): parse at the edge, let the decision revoke and
 * audit, and answer 200 with `{}` whether or not anything was revoked
 * (RFC 7009 §2.2: the answer reveals nothing).
 */
import { Hono } from 'hono';
import { parseRevokeRequest, type Revoke } from '../../decisions/revoke.ts';
import { readBodyCapped } from '../body.ts';
import { parseParameters } from '../params.ts';
import { nodeIncoming, type AppEnv } from '../request-context.ts';

export interface RevokeRouteDeps {
  revoke: Revoke;
  limits: { max_body_bytes: number; max_token_bytes: number };
}

/** The `/revoke` route. */
export function revokeRoutes(deps: RevokeRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/revoke', async (c) => {
    const body = await readBodyCapped(c.req.raw, deps.limits.max_body_bytes, nodeIncoming(c));
    const request = parseRevokeRequest(parseParameters(body, c.req.header('content-type') ?? null), deps.limits.max_token_bytes);
    await deps.revoke(request, { requestId: c.get('requestId'), clientIp: c.get('clientIp') });
    return c.json({});
  });
  return app;
}
