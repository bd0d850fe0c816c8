/**
 * Load drivers (on bench/http-driver.ts): `POST /token` with one pre-minted
 * token per request, and the hello-world `GET /`. Every response is
 * classified; any non-200 (by status and `reason`), connection error or
 * unreadable response is a failure. Latency is in microseconds.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { drive, type DriveResult } from './http-driver.ts';
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
  /** Failures by `STATUS reason` (or `connection error: …`, `unreadable response`), with counts. */
  failures: Map<string, number>;
  /** Latency percentiles of the counted responses, ms (µs resolution). */
  p50: number;
  p99: number;
  /** Set when the pool ran out: the second at which it did. */
  exhaustedAt?: number | undefined;
  /** The latencies in µs, for {@link combineOutcomes}. */
  latency: RecordableHistogram;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** `ok` per second over the measured window. */
export const rateOf = (outcome: LoadOutcome): number => outcome.ok / outcome.seconds;

/** Drives `POST /token`, each request with the next unused body from the pool, until the duration ends or the pool runs out. */
export async function driveExchanges(options: LoadOptions, pool: TokenPool): Promise<LoadOutcome> {
  const failures = new Map<string, number>();
  let ok = 0;
  const result = await drive({
    ...options,
    next: () => {
      const body = pool.next();
      return body === undefined ? undefined : { method: 'POST', path: '/token', headers: FORM, body };
    },
    onResponse: (status, body) => {
      const text = body();
      if (status === 200 && text.includes('"access_token"')) {
        ok += 1;
        return true;
      }
      count(failures, describeFailure(status, text));
      return false;
    },
  });
  return summarise(result, failures, ok);
}

/** Drives `GET /` on the hello-world server. */
export async function driveHello(options: LoadOptions): Promise<LoadOutcome> {
  const failures = new Map<string, number>();
  let ok = 0;
  const request = { method: 'GET', path: '/' } as const;
  const result = await drive({
    ...options,
    next: () => request,
    onResponse: (status, body) => {
      if (status === 200) {
        ok += 1;
        return true;
      }
      count(failures, describeFailure(status, body()));
      return false;
    },
  });
  return summarise(result, failures, ok);
}

function summarise(result: DriveResult, failures: Map<string, number>, ok: number): LoadOutcome {
  for (const [what, n] of result.errors) count(failures, what, n);
  const { latency } = result;
  const ms = (percentile: number): number => (latency.count === 0 ? Number.NaN : latency.percentile(percentile) / 1000);
  return {
    seconds: result.seconds,
    ok,
    failures,
    p50: ms(50),
    p99: ms(99),
    latency,
    ...(result.exhaustedAt !== undefined ? { exhaustedAt: result.exhaustedAt } : {}),
  };
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
    failures,
    p50: ms(50),
    p99: ms(99),
    latency,
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
