/**
 * Load drivers on autocannon: `POST /token` with one pre-minted token per
 * request, and the hello-world `GET /`. Every response is classified; any
 * non-200 (by status and `reason`), connection error or timeout is a failure.
 * Latency is recorded here in microseconds (autocannon's own histogram keeps
 * whole milliseconds, too coarse for a 1-connection run or a 10% comparison).
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import autocannon, { type AutocannonInstance, type AutocannonRequest, type AutocannonResult } from 'autocannon';
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
  /** Latency percentiles of the counted responses, ms (µs resolution). */
  p50: number;
  p99: number;
  /** Set when the pool ran out: the second at which it did. */
  exhaustedAt?: number | undefined;
  /** The latencies in µs, for {@link combineOutcomes}. */
  latency: RecordableHistogram;
}

const FORM = 'application/x-www-form-urlencoded';

/** `ok` per second over the measured window. */
export const rateOf = (outcome: LoadOutcome): number => outcome.ok / outcome.seconds;

/** Drives `POST /token`, each request with the next unused body from the pool. */
export async function driveExchanges(options: LoadOptions, pool: TokenPool): Promise<LoadOutcome> {
  const failures = new Map<string, number>();
  let ok = 0;
  let exhaustedAt: number | undefined;
  const started = performance.now();
  let instance: AutocannonInstance | undefined;
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
  const latency = recordLatency(instance, () => exhaustedAt === undefined);
  const result = await run(instance, failures);
  return { ...summarise(result, failures, ok, latency), ...(exhaustedAt !== undefined ? { seconds: exhaustedAt, exhaustedAt } : {}) };
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
  const latency = recordLatency(instance, () => true);
  return summarise(await run(instance, failures), failures, ok, latency);
}

/** Records every 200 response's latency in µs while `counting()` holds. */
function recordLatency(instance: AutocannonInstance, counting: () => boolean): RecordableHistogram {
  const histogram = createHistogram();
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200 && counting()) histogram.record(Math.max(1, Math.round(ms * 1000)));
  });
  return histogram;
}

async function run(instance: AutocannonInstance, failures: Map<string, number>): Promise<AutocannonResult> {
  instance.on('reqError', (error) => count(failures, error.message === 'request timed out' ? 'timeout' : 'connection error'));
  return await instance;
}

function summarise(result: AutocannonResult, failures: Map<string, number>, ok: number, latency: RecordableHistogram): LoadOutcome {
  const ms = (percentile: number): number => (latency.count === 0 ? Number.NaN : latency.percentile(percentile) / 1000);
  return { seconds: result.duration, ok, failures, p50: ms(50), p99: ms(99), latency };
}

/** Several runs against the same server as one: windows and counts summed, latencies pooled. */
export function combineOutcomes(outcomes: readonly LoadOutcome[]): LoadOutcome {
  const latency = createHistogram();
  const failures = new Map<string, number>();
  for (const outcome of outcomes) {
    latency.add(outcome.latency);
    for (const [what, n] of outcome.failures) count(failures, what, n);
  }
  const ms = (percentile: number): number => (latency.count === 0 ? Number.NaN : latency.percentile(percentile) / 1000);
  const exhausted = outcomes.filter((outcome) => outcome.exhaustedAt !== undefined);
  return {
    seconds: outcomes.reduce((sum, outcome) => sum + outcome.seconds, 0),
    ok: outcomes.reduce((sum, outcome) => sum + outcome.ok, 0),
    failures, p50: ms(50), p99: ms(99), latency,
    ...(exhausted.length > 0 ? { exhaustedAt: exhausted[0]?.exhaustedAt } : {}),
  };
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

function count(tally: Map<string, number>, key: string, n = 1): void {
  tally.set(key, (tally.get(key) ?? 0) + n);
}
