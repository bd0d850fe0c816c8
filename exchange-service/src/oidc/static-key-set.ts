/**
 * The key set of an issuer whose keys are configured locally (the service's
 * own dev issuer): imported on first use, never fetched, never refreshed.
 */
import type { KeyObject } from 'node:crypto';
import { LatchkeyError } from '../errors.ts';
import { checkKid, importKeySet, keyForAlgorithm, unknownKid, type KeyMap } from './jwk-set.ts';
import type { JwksCache, JwksCacheOptions } from './jwks-contract.ts';

/** What a static key set needs of {@link JwksCacheOptions}. */
export type StaticKeySetOptions = Pick<JwksCacheOptions, 'issuer' | 'algorithms'> & Required<Pick<JwksCacheOptions, 'staticKeys'>>;

/** A {@link JwksCache} over local keys. An unusable key set is the operator's fault: `internal`, not the caller's. */
export class StaticKeySet implements JwksCache {
  readonly #options: StaticKeySetOptions;
  /** The one import, shared by concurrent first lookups; a failed import stays failed. */
  #imported: Promise<KeyMap> | undefined;
  /** The imported keys once the import succeeded, so later lookups await nothing and allocate nothing. */
  #keys: KeyMap | undefined;

  constructor(options: StaticKeySetOptions) {
    this.#options = options;
  }

  /** The key with this `kid` for `alg`; `token_invalid` for a kid not in the set (or not for `alg`). */
  async getKey(kid: string, alg: string): Promise<KeyObject> {
    checkKid(kid);
    const entry = (this.#keys ?? (await this.#import())).get(kid);
    if (entry === undefined) throw unknownKid(kid);
    return keyForAlgorithm(entry, kid, alg, this.#options.issuer);
  }

  /** Nothing to fetch: the local keys are always fresh. */
  refresh(): Promise<boolean> {
    return Promise.resolve(true);
  }

  /** Nothing runs in the background. */
  close(): void {}

  async #import(): Promise<KeyMap> {
    this.#imported ??= importKeySet(this.#options.staticKeys, this.#options.algorithms);
    this.#keys = await this.#imported.catch(staticKeyError);
    return this.#keys;
  }
}

function staticKeyError(error: unknown): never {
  throw new LatchkeyError('internal', 'internal error', { logDetail: `static key set unusable: ${(error as Error).message}` });
}
