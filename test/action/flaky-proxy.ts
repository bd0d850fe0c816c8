/**
 * A loopback HTTP proxy in front of the real service that can answer the
 * first N requests of a path itself (503 with `Retry-After`, as a service
 * whose upstream is down would), and counts every
 * request per path. The rest are forwarded unchanged.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FlakyProxy {
  url: string;
  /** Requests seen per path (including the failed ones). */
  readonly counts: Map<string, number>;
  /** The next `times` requests to `path` get `status` (JSON error body, `Retry-After: retryAfter`). */
  failNext(path: string, times: number, status?: number, retryAfter?: string): void;
  /** Forgets the counts and any failures not yet served. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts the proxy; `target` is the service's base URL. */
export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const failures = new Map<string, { times: number; status: number; retryAfter: string }>();
  const proxy: FlakyProxy = {
    url: '',
    counts: new Map(),
    failNext(path, times, status = 503, retryAfter = '0') {
      failures.set(path, { times, status, retryAfter });
    },
    reset() {
      proxy.counts.clear();
      failures.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    proxy.counts.set(path, (proxy.counts.get(path) ?? 0) + 1);
    const failure = failures.get(path);
    if (failure !== undefined && failure.times > 0) {
      failure.times -= 1;
      req.resume();
      res.writeHead(failure.status, { 'content-type': 'application/json', 'retry-after': failure.retryAfter });
      return void res.end(
        JSON.stringify({
          error: 'temporarily_unavailable',
          error_description: 'the STS endpoint is unavailable',
          reason: 'upstream_unavailable',
          request_id: 'proxy',
        }),
      );
    }
    forward(target, req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

async function forward(target: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string' && name !== 'host' && name !== 'connection' && name !== 'content-length') headers.set(name, value);
  }
  const upstream = await fetch(`${target}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
    ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
  });
  const body = Buffer.from(await upstream.arrayBuffer());
  const out: Record<string, string> = {};
  upstream.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection' && name !== 'content-encoding') out[name] = value;
  });
  res.writeHead(upstream.status, out).end(body);
}

/** The URL of a loopback port that was just free: nothing listens there (connection refused). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
