/**
 * `introspection.bearer` as a named middleware on Hono's `bearerAuth`; the
 * presented secret and the configured one are compared by their SHA-256
 * digests in constant time, so neither content nor length leaks.
 * Refusals are thrown as `unauthorized` for the one onError to answer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
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
  const expected = sha256(secret);
  return bearerAuth({
    // Digests of equal length compared in constant time: neither the secret's content nor its length leaks.
    verifyToken: (presented) => timingSafeEqual(sha256(presented), expected),
    realm: 'latchkey',
    noAuthenticationHeader: { message: refuse },
    invalidAuthenticationHeader: { message: refuse },
    invalidToken: { message: refuse },
  });
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();
