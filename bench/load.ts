/**
 * Load drivers on autocannon: `POST /token` with one pre-minted token per
 * request, and the hello-world `GET /`. Every response is classified; any
 * non-200 (by status and `reason`), connection error or timeout is a failure.
 */
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import type { TokenPool } from './mint.ts';

/** Where and how hard to drive. */
export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
}

/** What one load run measured. */
export interface LoadOutcome {
  /** The measured window in seconds (shorter than asked when the token pool ran out). */
  seconds: number;
  /** 200 responses of the kind driven (granted exchanges, hello-world pages). */
  ok: number;
  /** Failures by `STATUS reason` (or `connection error`, `timeout`), with counts. */
  failures: Map<string, number>;
  /** Latency percentiles of every response, ms. */
  p50: number;
  p99: number;
  /** Set when the pool ran out: the second at which it did. */
  exhaustedAt?: number | undefined;
}

const FORM = 'application/x-www-form-urlencoded';

/** Drives `POST /token`, each request with the next unused body from the pool. */
export async function driveExchanges(options: LoadOptions, pool: TokenPool): Promise<LoadOutcome> {
  const failures = new Map<string, number>();
  let ok = 0;
  let exhaustedAt: number | undefined;
  const started = performance.now();
  let instance: ReturnType<typeof autocannon> | undefined;
  const request: AutocannonRequest = {
    method: 'POST',
    path: '/token',
    // Fresh header objects each time: autocannon writes Content-Length into the one it is given.
    setupRequest: (req): AutocannonRequest => {
      const body = pool.next();
      if (body !== undefined) return { ...req, method: 'POST', path: '/token', headers: { 'content-type': FORM }, body };
      if (exhaustedAt === undefined) {
        exhaustedAt = (performance.now() - started) / 1000;
        instance?.stop();
      }
      // autocannon cannot skip a request; until it stops (≤ 1 s), send a harmless one that is not counted.
      return { ...req, method: 'GET', path: '/healthz', headers: {}, body: '' };
    },
    onResponse: (status, body) => {
      if (status === 200 && body.includes('"access_token"')) ok += 1;
      else if (status !== 200) count(failures, describeFailure(status, body));
    },
  };
  instance = autocannon({ url: options.url, connections: options.connections, duration: options.duration, requests: [request] });
  const result = await run(instance, failures);
  return { ...summarise(result, failures, ok), ...(exhaustedAt !== undefined ? { seconds: exhaustedAt, exhaustedAt } : {}) };
}

/** Drives `GET /` on the hello-world server. */
export async function driveHello(options: LoadOptions): Promise<LoadOutcome> {
  const failures = new Map<string, number>();
  let ok = 0;
  const request: AutocannonRequest = {
    method: 'GET',
    path: '/',
    onResponse: (status, body) => {
      if (status === 200) ok += 1;
      else count(failures, describeFailure(status, body));
    },
  };
  const instance = autocannon({ url: options.url, connections: options.connections, duration: options.duration, requests: [request] });
  return summarise(await run(instance, failures), failures, ok);
}

async function run(instance: ReturnType<typeof autocannon>, failures: Map<string, number>): Promise<AutocannonResult> {
  instance.on('reqError', (error) => count(failures, error.message === 'request timed out' ? 'timeout' : 'connection error'));
  return await instance;
}

function summarise(result: AutocannonResult, failures: Map<string, number>, ok: number): LoadOutcome {
  return { seconds: result.duration, ok, failures, p50: result.latency.p50, p99: result.latency.p99 };
}

/** `400 token_replayed`, from the RFC 6749 error body, or the status alone. */
function describeFailure(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { reason?: unknown; error?: unknown };
    const reason = typeof parsed.reason === 'string' ? parsed.reason : parsed.error;
    return typeof reason === 'string' ? `${status} ${reason}` : `${status}`;
  } catch {
    return `${status} (not JSON)`;
  }
}

function count(tally: Map<string, number>, key: string): void {
  tally.set(key, (tally.get(key) ?? 0) + 1);
}
