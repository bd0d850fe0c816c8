/**
 * Fixed-window request counters (per repository, per client IP). In-process:
 * a single instance counts exactly; replicas each count their own share until
 * the counters move into the shared store (SPEC §8).
 */

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (for `Retry-After`). */
  retryAfter: number;
}

export interface RateLimiter {
  /** Counts one request for `key` and says whether it is within the limit. */
  hit(key: string): RateDecision;
  /** Says whether `key` is already over the limit, without counting. */
  peek(key: string): RateDecision;
}

export interface RateLimiterOptions {
  /** Requests allowed per window; 0 disables the limit. */
  limit: number;
  windowMs?: number;
  now?: () => number;
}

/** Creates a limiter whose memory is bounded by the keys seen in one window. */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const windowMs = options.windowMs ?? 60_000;
  const now = options.now ?? Date.now;
  let windowStart = 0;
  let counts = new Map<string, number>();

  const roll = (): number => {
    const t = now();
    const start = t - (t % windowMs);
    if (start !== windowStart) {
      windowStart = start;
      counts = new Map();
    }
    return Math.max(1, Math.ceil((start + windowMs - t) / 1000));
  };

  return {
    hit(key) {
      const retryAfter = roll();
      if (options.limit === 0) return { allowed: true, retryAfter };
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      return { allowed: count <= options.limit, retryAfter };
    },
    peek(key) {
      const retryAfter = roll();
      if (options.limit === 0) return { allowed: true, retryAfter };
      return { allowed: (counts.get(key) ?? 0) < options.limit, retryAfter };
    },
  };
}
