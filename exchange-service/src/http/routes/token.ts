/**
 * `POST /token` (RFC 8693): read and parse the body at the edge, then hand
 * the typed request to the exchange; one log line per request.
 */
import { Hono } from 'hono';
import { LatchkeyError } from '../../errors.ts';
import { parseTokenRequest } from '../../decisions/exchange-request.ts';
import type { Exchange } from '../../decisions/exchange.ts';
import type { Logger } from '../../log.ts';
import { readBodyCapped } from '../body.ts';
import { parseParameters } from '../params.ts';
import { answerFor } from '../reasons.ts';
import { nodeIncoming, type AppEnv } from '../request-context.ts';

export interface TokenRouteDeps {
  exchange: Exchange;
  logger: Logger;
  limits: { max_body_bytes: number; max_token_bytes: number };
}

/** The `/token` route. */
export function tokenRoutes(deps: TokenRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post('/token', async (c) => {
    const requestId = c.get('requestId');
    const started = performance.now();
    try {
      const body = await readBodyCapped(c.req.raw, deps.limits.max_body_bytes, nodeIncoming(c));
      const params = parseParameters(body, c.req.header('content-type') ?? null);
      const request = parseTokenRequest(params, deps.limits.max_token_bytes);
      const response = await deps.exchange(request, { requestId, clientIp: c.get('clientIp') });
      // Grants are in the audit log already; the operator log carries them at debug level only.
      deps.logger.debug('exchange', { request_id: requestId, status: 200, policy: response.policy, grant_id: response.grant_id, ms: elapsed(started) });
      return c.json(response);
    } catch (error) {
      if (error instanceof LatchkeyError) {
        deps.logger.info('exchange', {
          request_id: requestId,
          status: answerFor(error).status,
          reason: error.reason,
          ms: elapsed(started),
          ...(error.logDetail !== undefined ? { detail: error.logDetail } : {}),
        });
      }
      throw error;
    }
  });
  return app;
}

const elapsed = (started: number): number => Math.round((performance.now() - started) * 100) / 100;
