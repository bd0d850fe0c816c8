/**
 * Named middleware for every request: a request id, the client's address,
 * and the headers every answer carries. Hono's own `requestId` middleware
 * adopts an `X-Request-Id` the client sends; the audit log records the
 * request id, so here the service always picks it.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';

export interface AppVariables {
  requestId: string;
  clientIp: string | null;
}
export type AppEnv = { Variables: AppVariables };

/** The Node request behind a Hono context on `@hono/node-server`; undefined elsewhere (`app.request()` in tests). */
export const nodeIncoming = (c: Context): IncomingMessage | undefined => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;

/** Sets `requestId` and `clientIp`, and the `Cache-Control: no-store` and `X-Request-Id` headers. */
export const requestContext = (): MiddlewareHandler<AppEnv> =>
  async function requestContext(c, next) {
    const requestId = randomUUID();
    c.set('requestId', requestId);
    c.set('clientIp', nodeIncoming(c)?.socket?.remoteAddress ?? null);
    // Set before the handler builds its response, which takes them in: a header set on a
    // finished response makes Hono rebuild it around a stream, a large cost per request.
    c.header('Cache-Control', 'no-store');
    c.header('X-Request-Id', requestId);
    await next();
  };
