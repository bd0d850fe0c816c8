/**
 * The SQLite store's request counters, in memory. A SQLite store serves one
 * process, so that process is the only one counting; counts need no
 * durability (a restart forgets at most one window). Memory is bounded by
 * the keys seen in the windows that have not ended.
 */
import type { RequestCounters } from '../store.ts';

interface Window {
  end: number;
  count: number;
}

/** Counters plus the sweep the store's purge runs. */
export interface MemoryCounters extends RequestCounters {
  /** Forgets windows that ended at or before `nowSeconds`. */
  purge(nowSeconds: number): void;
}

/** Creates empty counters. */
export function createMemoryCounters(): MemoryCounters {
  // Keyed by window start and key together, as the PostgreSQL table is.
  const windows = new Map<string, Window>();
  const slot = (key: string, start: number): string => `${start}\n${key}`;
  let sweptAt = Number.NEGATIVE_INFINITY;
  const sweep = (nowSeconds: number): void => {
    for (const [name, window] of windows) if (window.end <= nowSeconds) windows.delete(name);
    sweptAt = nowSeconds;
  };
  return {
    countRequests(key, windowStartSeconds, windowSeconds) {
      // A new window start means time moved on: sweep once per window, not per request.
      if (windowStartSeconds > sweptAt) sweep(windowStartSeconds);
      const name = slot(key, windowStartSeconds);
      const window = windows.get(name) ?? { end: windowStartSeconds + windowSeconds, count: 0 };
      window.count += 1;
      windows.set(name, window);
      return Promise.resolve(window.count);
    },
    peekRequests(key, windowStartSeconds) {
      return Promise.resolve(windows.get(slot(key, windowStartSeconds))?.count ?? 0);
    },
    purge: sweep,
  };
}
