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
 * The contract is `jwks-contract.ts`, the fetched cache `jwks-cache.ts`, the
 * static one `static-key-set.ts`; the import and lookup both share `jwk-set.ts`.
 */
import type { JwksCache, JwksCacheOptions } from './jwks-contract.ts';
import { RemoteJwksCache } from './jwks-cache.ts';
import { StaticKeySet } from './static-key-set.ts';

export { importKeySet, KID_PATTERN } from './jwk-set.ts';
export type { JwksCache, JwksCacheOptions } from './jwks-contract.ts';

/** Creates the cache for one issuer: static when `staticKeys` is given, else fetched. Nothing is fetched until a key is asked for. */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const { staticKeys } = options;
  return staticKeys !== undefined ? new StaticKeySet({ issuer: options.issuer, algorithms: options.algorithms, staticKeys }) : new RemoteJwksCache(options);
}
