/**
 * The HTTP server under the app: listening, the server's own limits
 * (config `limits`), and a close that drains in-flight requests.
 */
import type { AddressInfo } from 'node:net';
import type { Server, ServerOptions as HttpServerOptions } from 'node:http';
import { serve } from '@hono/node-server';
import type { Config } from '../config.ts';

/** The limits the HTTP server itself enforces, before a request reaches the app. */
export type HttpLimits = Pick<Config['limits'], 'request_timeout' | 'headers_timeout' | 'max_header_bytes' | 'max_connections'>;

export interface ListenOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  limits: HttpLimits;
}

export interface ListeningServer {
  /** `http://host:port`, an IPv6 host in brackets. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, and resolves once every connection is closed. */
  close(): Promise<void>;
}

/** Serves `fetch` on `hostname:port`; resolves once listening, rejects if the address cannot be bound. */
export function listen(fetch: Parameters<typeof serve>[0]['fetch'], options: ListenOptions): Promise<ListeningServer> {
  const { hostname, limits } = options;
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port: options.port, serverOptions: httpServerOptions(limits) }) as Server;
    server.maxConnections = limits.max_connections;
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const url = `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
      resolve({ url, port, close: () => drain(server) });
    });
  });
}

/**
 * The HTTP server's own limits (config `limits`): a client that sends its
 * headers or body too slowly gets 408 and is cut off; oversized headers get 431.
 */
export function httpServerOptions(limits: Omit<HttpLimits, 'max_connections'>): HttpServerOptions {
  const requestTimeout = limits.request_timeout * 1000;
  const headersTimeout = Math.min(limits.headers_timeout * 1000, requestTimeout);
  return {
    requestTimeout,
    headersTimeout,
    maxHeaderSize: limits.max_header_bytes,
    // Node checks both timeouts on this interval (default 30 s); a quarter of the shorter keeps the cut-off near the setting.
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(headersTimeout / 4))),
  };
}

/** Closes `server` once its in-flight requests have finished. */
function drain(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    // close() ends only the connections idle right now; one that finishes its request later would
    // stay open until the client's keep-alive ends it, so sweep until every connection is gone.
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}
