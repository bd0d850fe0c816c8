/**
 * The fetched key set of one issuer (SPEC §3 "JWKS"; ATTACKS.md 19, 21, 29,
 * 30): what to trust, when to fetch, and how often an unknown kid may make us.
 * The rules themselves are listed in `jwks.ts`, the module callers import.
 */
import type { KeyObject } from 'node:crypto';
import { LatchkeyError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { checkKid, importKeySet, keyForAlgorithm, unknownKid, type KeyEntry, type KeyMap } from './jwk-set.ts';
import { DEFAULT_MAX_JWKS_BYTES, discoverJwksUri, fetchJsonBounded, type FetchLimits } from './jwks-fetch.ts';
import type { JwksCache, JwksCacheOptions } from './jwks-contract.ts';

/** A {@link JwksCache} over an issuer's published JWKS. Nothing is fetched until a key is asked for. */
export class RemoteJwksCache implements JwksCache {
  readonly #options: JwksCacheOptions;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #staleMaxMs: number;
  readonly #refreshIntervalMs: number;
  readonly #kidCooldownMs: number;
  readonly #failureBackoffMs: number;
  readonly #closer = new AbortController();
  readonly #limits: FetchLimits;

  /** The last good key set and when it was fetched; a failed fetch replaces neither. */
  #keys: KeyMap | undefined;
  #fetchedAt: number | undefined;
  #failedAt: number | undefined;
  /** Why the last fetch failed, for the operator log of the 503 it causes. */
  #lastError = '';
  #kidRefetchAllowedAt = 0;
  /** The fetch in flight, shared by every caller (single-flight). */
  #inflight: Promise<boolean> | undefined;
  /** Configured, or discovered and kept until a fetch fails. */
  #jwksUri: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: JwksCacheOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger ?? silentLogger;
    this.#staleMaxMs = options.config.jwks_stale_max * 1000;
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 10 * 60_000;
    this.#kidCooldownMs = options.kidCooldownMs ?? 30_000;
    this.#failureBackoffMs = options.failureBackoffMs ?? 1_000;
    this.#limits = {
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs: options.config.jwks_timeout * 1000,
      maxBytes: options.maxBytes ?? DEFAULT_MAX_JWKS_BYTES,
      signal: this.#closer.signal,
    };
    this.#jwksUri = options.config.jwks_url;
  }

  /** See {@link JwksCache.getKey}. With warm keys and a known kid this awaits nothing of its own. */
  async getKey(kid: string, alg: string): Promise<KeyObject> {
    checkKid(kid);
    const time = this.#now();
    const keys = this.#trustedKeys(time) ?? (await this.#fetchTrustedKeys(time));
    const entry = keys.get(kid) ?? (await this.#refetchFor(kid));
    return keyForAlgorithm(entry, kid, alg, this.#options.issuer);
  }

  /** See {@link JwksCache.refresh}. */
  refresh(): Promise<boolean> {
    this.#inflight ??= this.#fetchKeys().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** See {@link JwksCache.close}. */
  close(): void {
    clearInterval(this.#timer);
    this.#closer.abort();
  }

  /**
   * The stale-keys window: the last good keys while younger than
   * `jwks_stale_max`, else undefined. Keys due for refresh are still served
   * while a background refresh runs, so a slow issuer never slows a request.
   */
  #trustedKeys(time: number): KeyMap | undefined {
    const keys = this.#keys;
    const fetchedAt = this.#fetchedAt;
    if (keys === undefined || fetchedAt === undefined || time - fetchedAt > this.#staleMaxMs) return undefined;
    if (time - fetchedAt >= this.#refreshIntervalMs && !this.#inBackoff(time)) void this.refresh();
    return keys;
  }

  /** Cold or stale: fetch now, or `upstream_unavailable` at once while a recent failure's back-off lasts. */
  async #fetchTrustedKeys(time: number): Promise<KeyMap> {
    if (this.#inflight === undefined && this.#inBackoff(time)) throw this.#unavailable();
    if (!(await this.refresh()) || this.#keys === undefined) throw this.#unavailable();
    return this.#keys;
  }

  #inBackoff(time: number): boolean {
    return this.#failedAt !== undefined && time - this.#failedAt < this.#failureBackoffMs;
  }

  /**
   * A kid we do not know may have just been rotated in, so it may refetch, but
   * only once per cooldown: a flood of random kids costs one fetch. Joining a
   * fetch already in flight is free.
   */
  async #refetchFor(kid: string): Promise<KeyEntry> {
    if (this.#inflight === undefined) {
      if (this.#now() < this.#kidRefetchAllowedAt) throw unknownKid(kid);
      this.#kidRefetchAllowedAt = this.#now() + this.#kidCooldownMs;
    }
    const ok = await this.refresh();
    const found = this.#keys?.get(kid);
    if (found !== undefined) return found;
    if (!ok) throw this.#unavailable();
    throw unknownKid(kid);
  }

  /** One fetch (discovery first when needed); true when fresh keys were stored. Never throws. */
  async #fetchKeys(): Promise<boolean> {
    this.#startTimer();
    try {
      const keys = await this.#loadKeySet();
      const fetchedAt = this.#now();
      this.#keys = keys;
      this.#fetchedAt = fetchedAt;
      this.#failedAt = undefined;
      this.#lastError = '';
      this.#options.onFetch?.(this.#options.issuer, 'ok');
      return true;
    } catch (error) {
      this.#recordFailure(error);
      return false;
    }
  }

  async #loadKeySet(): Promise<KeyMap> {
    this.#jwksUri ??= await discoverJwksUri(this.#options.config.url, this.#limits);
    return importKeySet(await fetchJsonBounded(this.#jwksUri, this.#limits), this.#options.algorithms);
  }

  /** Keeps the last good keys; starts the back-off and, for a discovered URL, rediscovers next time. */
  #recordFailure(error: unknown): void {
    this.#failedAt = this.#now();
    this.#lastError = error instanceof Error ? error.message : 'JWKS fetch failed';
    if (this.#options.config.jwks_url === undefined) this.#jwksUri = undefined;
    this.#options.onFetch?.(this.#options.issuer, 'error');
    this.#logger.warn('JWKS fetch failed', { issuer: this.#options.issuer, error: this.#lastError });
  }

  /** The background refresh, started by the first fetch; unref'd so it never keeps the process alive. */
  #startTimer(): void {
    if (this.#timer !== undefined || this.#closer.signal.aborted) return;
    this.#timer = setInterval(() => void this.refresh(), this.#refreshIntervalMs);
    this.#timer.unref();
  }

  #unavailable(): LatchkeyError {
    return new LatchkeyError('upstream_unavailable', `the signing keys of issuer "${this.#options.issuer}" cannot be fetched`, {
      logDetail: this.#lastError || 'no key set fetched yet',
    });
  }
}
