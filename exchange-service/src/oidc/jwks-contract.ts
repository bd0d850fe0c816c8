/** The contract of a per-issuer key cache and its options; `jwks.ts` picks the implementation. */
import type { KeyObject } from 'node:crypto';
import type { IssuerConfig } from '../config.ts';
import type { Logger } from '../log.ts';

/** Options of createJwksCache; `config` carries the issuer's URL, jwks_url, jwks_stale_max and jwks_timeout. */
export interface JwksCacheOptions {
  /** The issuer's config name, for logs and metrics. */
  issuer: string;
  config: Pick<IssuerConfig, 'url' | 'jwks_url' | 'jwks_stale_max' | 'jwks_timeout'>;
  /** The issuer's algorithm allow-list: keys are imported for these algorithms only. */
  algorithms: readonly string[];
  /** Local keys: no fetching at all. */
  staticKeys?: { readonly keys: readonly globalThis.JsonWebKey[] };
  fetch?: typeof fetch;
  /** Clock in ms (default Date.now). */
  now?: () => number;
  logger?: Logger;
  /** Called once per fetch attempt (discovery included), for metrics. */
  onFetch?: (issuer: string, outcome: 'ok' | 'error') => void;
  /** Background refresh period in ms (default 10 min). */
  refreshIntervalMs?: number;
  /** Minimum time between refetches caused by unknown kids, in ms (default 30 s). */
  kidCooldownMs?: number;
  /** After a failed fetch, cold/stale lookups answer 503 without refetching for this long, in ms (default 1 s). */
  failureBackoffMs?: number;
  /** Response size cap in bytes (default 256 KiB). */
  maxBytes?: number;
}

/** The keys of one issuer. */
export interface JwksCache {
  /**
   * The key with this `kid` for `alg`. Throws LatchkeyError: `token_invalid` for a kid
   * the issuer does not publish (or not for `alg`), `upstream_unavailable` when
   * no trustworthy key set can be had (cold, or stale beyond `jwks_stale_max`).
   */
  getKey(kid: string, alg: string): Promise<KeyObject>;
  /** Fetches now, sharing any fetch in flight; true when fresh keys were stored. */
  refresh(): Promise<boolean>;
  /** Stops the background refresh and aborts a fetch in flight. */
  close(): void;
}
