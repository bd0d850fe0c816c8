/**
 * `introspection.bearer` as a named middleware on Hono's `bearerAuth`,
 * which compares the presented secret with the configured one by their
 * SHA-256 digests in constant time, so neither content nor length leaks.
 * Refusals are thrown as `unauthorized` for the one onError to answer.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { LatchkeyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AppEnv } from './request-context.ts';

/** Answers `unauthorized` (401, `WWW-Authenticate: Bearer`) unless the request carries `Authorization: Bearer <secret>`. */
export function requireBearer(secret: string, logger: Logger): MiddlewareHandler<AppEnv> {
  const refuse = (c: Context<AppEnv>): never => {
    const missing = c.req.header('authorization') === undefined;
    logger.warn('introspect refused', { request_id: c.get('requestId'), client_ip: c.get('clientIp'), missing_credentials: missing });
    throw new LatchkeyError(
      'unauthorized',
      missing ? 'introspection needs Authorization: Bearer <introspection secret>' : 'the introspection secret is not valid',
    );
  };
  return bearerAuth({
    token: secret,
    realm: 'latchkey',
    noAuthenticationHeader: { message: refuse },
    invalidAuthenticationHeader: { message: refuse },
    invalidToken: { message: refuse },
  });
}
