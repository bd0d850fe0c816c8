/**
 * Fixed-window request limits (per repository, per client IP), counted in
 * the store's request counters (SPEC §8): in memory for the embedded SQLite
 * store, which serves one process, and in a shared table for PostgreSQL,
 * so replicas behind one load balancer spend one budget between them.
 */
import type { RequestCounters } from '../store/store.ts';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (for `Retry-After`). */
  retryAfter: number;
}

export interface RateLimiter {
  /** Counts one request for `key` and says whether it is within the limit. */
  hit(key: string): Promise<RateDecision>;
  /** Says whether `key` is already over the limit, without counting. */
  peek(key: string): Promise<RateDecision>;
}

export interface RateLimiterOptions {
  /** Requests allowed per window; 0 disables the limit (and the counting). */
  limit: number;
  /** Where the counts live: the store's counters. */
  counters: RequestCounters;
  windowMs?: number;
  now?: () => number;
}

/** Creates a limiter over `counters`; windows start on multiples of `windowMs` since the epoch, on every replica alike. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  const window = (): { start: number; retryAfter: number } => {
    const t = now();
    const start = t - (t % windowMs);
    return { start: start / 1000, retryAfter: Math.max(1, Math.ceil((start + windowMs - t) / 1000)) };
  };

  return {
    async hit(key) {
      const { start, retryAfter } = window();
      if (options.limit === 0) return { allowed: true, retryAfter };
      const count = await options.counters.countRequests(key, start, windowMs / 1000);
      return { allowed: count <= options.limit, retryAfter };
    },
    async peek(key) {
      const { start, retryAfter } = window();
      if (options.limit === 0) return { allowed: true, retryAfter };
      return { allowed: (await options.counters.peekRequests(key, start)) < options.limit, retryAfter };
    },
  };
}
