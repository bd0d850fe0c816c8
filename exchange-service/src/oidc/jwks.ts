/**
 * A per-issuer JWKS cache (SPEC §3 "JWKS"; ATTACKS.md 19, 21, 29, 30).
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
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { IssuerConfig } from '../config.ts';
import { LatchkeyError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { DEFAULT_MAX_JWKS_BYTES, discoverJwksUri, fetchJsonBounded, JwksFetchError, type FetchLimits } from './jwks-fetch.ts';
import { algorithmsForKey, importPublicJwk } from '../jws/algorithms.ts';

/** Key ids we look up: RFC 3986 unreserved characters, at most 256 of them. Anything else is rejected unseen. */
export const KID_PATTERN = /^[A-Za-z0-9._~-]{1,256}$/;

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

/** kid → algorithm → imported public key (one KeyObject per JWK, shared by the algorithms it serves). */
type KeyMap = ReadonlyMap<string, ReadonlyMap<string, KeyObject>>;

/** Creates the cache for one issuer. Nothing is fetched until a key is asked for. */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? silentLogger;
  const staleMaxMs = options.config.jwks_stale_max * 1000;
  const refreshIntervalMs = options.refreshIntervalMs ?? 10 * 60_000;
  const kidCooldownMs = options.kidCooldownMs ?? 30_000;
  const failureBackoffMs = options.failureBackoffMs ?? 1_000;
  const closer = new AbortController();
  const limits: FetchLimits = {
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.config.jwks_timeout * 1000,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_JWKS_BYTES,
    signal: closer.signal,
  };
  const state = {
    keys: undefined as KeyMap | undefined,
    fetchedAt: undefined as number | undefined,
    failedAt: undefined as number | undefined,
    lastError: '',
    kidRefetchAllowedAt: 0,
    inflight: undefined as Promise<boolean> | undefined,
    jwksUri: options.config.jwks_url,
    timer: undefined as NodeJS.Timeout | undefined,
  };
  let staticSet: Promise<KeyMap> | undefined;

  const unavailable = (): LatchkeyError =>
    new LatchkeyError('upstream_unavailable', `the signing keys of issuer "${options.issuer}" cannot be fetched`, {
      logDetail: state.lastError || 'no key set fetched yet',
    });

  async function loadKeySet(): Promise<KeyMap> {
    state.jwksUri ??= await discoverJwksUri(options.config.url, limits);
    return importKeySet(await fetchJsonBounded(state.jwksUri, limits), options.algorithms);
  }

  async function runFetch(): Promise<boolean> {
    startTimer();
    try {
      const keys = await loadKeySet();
      Object.assign(state, { keys, fetchedAt: now(), failedAt: undefined, lastError: '' });
      options.onFetch?.(options.issuer, 'ok');
      return true;
    } catch (error) {
      state.failedAt = now();
      state.lastError = error instanceof Error ? error.message : 'JWKS fetch failed';
      if (options.config.jwks_url === undefined) state.jwksUri = undefined; // rediscover next time
      options.onFetch?.(options.issuer, 'error');
      logger.warn('JWKS fetch failed', { issuer: options.issuer, error: state.lastError });
      return false;
    }
  }

  function refresh(): Promise<boolean> {
    if (options.staticKeys !== undefined) return Promise.resolve(true);
    state.inflight ??= runFetch().finally(() => {
      state.inflight = undefined;
    });
    return state.inflight;
  }

  function startTimer(): void {
    if (state.timer !== undefined || closer.signal.aborted) return;
    state.timer = setInterval(() => void refresh(), refreshIntervalMs);
    state.timer.unref();
  }

  /** The keys we may trust right now, fetching when cold or stale. */
  async function trustedKeys(): Promise<KeyMap> {
    const time = now();
    const inBackoff = state.failedAt !== undefined && time - state.failedAt < failureBackoffMs;
    if (state.keys !== undefined && state.fetchedAt !== undefined && time - state.fetchedAt <= staleMaxMs) {
      if (time - state.fetchedAt >= refreshIntervalMs && !inBackoff) void refresh();
      return state.keys;
    }
    if (state.inflight === undefined && inBackoff) throw unavailable();
    if (!(await refresh()) || state.keys === undefined) throw unavailable();
    return state.keys;
  }

  /** One refetch per cooldown for kids we do not know; joining a fetch already in flight is free. */
  async function refetchFor(kid: string): Promise<ReadonlyMap<string, KeyObject>> {
    if (state.inflight === undefined) {
      if (now() < state.kidRefetchAllowedAt) throw unknownKid(kid);
      state.kidRefetchAllowedAt = now() + kidCooldownMs;
    }
    const ok = await refresh();
    const found = state.keys?.get(kid);
    if (found !== undefined) return found;
    if (!ok) throw unavailable();
    throw unknownKid(kid);
  }

  async function getKey(kid: string, alg: string): Promise<KeyObject> {
    if (!KID_PATTERN.test(kid)) throw new LatchkeyError('token_invalid', 'token kid has characters outside [A-Za-z0-9._~-] or is too long');
    let entry: ReadonlyMap<string, KeyObject> | undefined;
    if (options.staticKeys !== undefined) {
      staticSet ??= importKeySet(options.staticKeys, options.algorithms);
      entry = (await staticSet.catch(staticKeyError)).get(kid);
      if (entry === undefined) throw unknownKid(kid);
    } else {
      entry = (await trustedKeys()).get(kid) ?? (await refetchFor(kid));
    }
    const key = entry.get(alg);
    if (key === undefined) throw new LatchkeyError('token_invalid', `key "${kid}" of issuer "${options.issuer}" is not for ${alg}`);
    return key;
  }

  return {
    getKey,
    refresh,
    close(): void {
      clearInterval(state.timer);
      closer.abort();
    },
  };
}

function unknownKid(kid: string): LatchkeyError {
  return new LatchkeyError('token_invalid', `token kid "${kid}" is not a key of its issuer`);
}

function staticKeyError(error: unknown): never {
  throw new LatchkeyError('internal', 'internal error', { logDetail: `static key set unusable: ${(error as Error).message}` });
}

/**
 * Validates a JWKS document and imports every usable public signing key, once,
 * for each allowed algorithm it fits. Skipped: keys without a valid `kid`,
 * duplicate kids, `use` other than `sig`, `key_ops` other than `["verify"]`,
 * private or symmetric keys, keys whose `alg` is not allowed, malformed keys
 * and RSA keys under 2048 bits. No usable key at all is an error (never cached).
 * Async only to keep the caller's shape; the import itself is synchronous.
 */
export async function importKeySet(document: unknown, algorithms: readonly string[]): Promise<KeyMap> {
  const list = typeof document === 'object' && document !== null ? (document as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(list)) throw new JwksFetchError('key set has no "keys" array');
  const keys = new Map<string, Map<string, KeyObject>>();
  const seen = new Set<string>();
  for (const item of list) {
    const jwk = typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as JsonWebKey) : undefined;
    if (jwk === undefined || typeof jwk.kid !== 'string' || !KID_PATTERN.test(jwk.kid) || seen.has(jwk.kid)) continue;
    seen.add(jwk.kid);
    const imported = importForAlgorithms(jwk, algorithms);
    if (imported.size > 0) keys.set(jwk.kid, imported);
  }
  if (keys.size === 0) throw new JwksFetchError('key set holds no usable signing key');
  return keys;
}

function importForAlgorithms(jwk: JsonWebKey, algorithms: readonly string[]): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  if (!isPublicSigningJwk(jwk)) return out;
  const fitting = algorithmsForKey(jwk, algorithms);
  // Imported once, and only when some allowed algorithm could use it.
  const key = fitting.length > 0 ? importPublicJwk(jwk) : undefined;
  if (key !== undefined) for (const alg of fitting) out.set(alg, key);
  return out;
}

/** A public key meant for signatures: no private or symmetric material, `use` sig and `key_ops` verify when present. */
function isPublicSigningJwk(jwk: JsonWebKey): boolean {
  if ((jwk.use !== undefined && jwk.use !== 'sig') || 'd' in jwk || jwk.kty === 'oct') return false;
  // WebCrypto (and so jose) refuses any other operation on a public signature key, and cannot verify with [].
  const ops = jwk.key_ops;
  return ops === undefined || (Array.isArray(ops) && ops.length === 1 && ops[0] === 'verify');
}
