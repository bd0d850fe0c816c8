/**
 * A per-issuer JWKS cache (SPEC §3 "JWKS"; ATTACKS.md 19, 21, 29, 30): the
 * contract the verifier uses and the factory that picks its implementation.
 *
 * - Keys are fetched on first use, imported once per fetch (node:crypto
 *   KeyObjects by `kid` and algorithm, so verifying is one synchronous
 *   `crypto.verify`) and refreshed in the background.
 * - Concurrent requests share one fetch (single-flight).
 * - An unknown `kid` triggers at most one refetch per cooldown (30 s), so a
 *   flood of random kids costs at most one fetch; a key rotated in is found
 *   by the first refetch after it appears.
 * - A failed fetch (timeout, non-200, redirect, over 256 KiB, bad JSON, no
 *   usable key) stores nothing: the last good keys stay trusted until
 *   `jwks_stale_max` after the last success; cold or stale → 503.
 * - A static key set (the service's own dev issuer) is never fetched.
 *
 * The fetched cache is `jwks-cache.ts`, the static one `static-key-set.ts`,
 * the import and lookup both share `jwk-set.ts`.
 */
import type { KeyObject } from 'node:crypto';
import type { IssuerConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { RemoteJwksCache } from './jwks-cache.ts';
import { StaticKeySet } from './static-key-set.ts';

export { importKeySet, KID_PATTERN } from './jwk-set.ts';

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

/** Creates the cache for one issuer: static when `staticKeys` is given, else fetched. Nothing is fetched until a key is asked for. */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const { staticKeys } = options;
  return staticKeys !== undefined ? new StaticKeySet({ issuer: options.issuer, algorithms: options.algorithms, staticKeys }) : new RemoteJwksCache(options);
}
