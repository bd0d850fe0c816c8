/**
 * An issuer's key set as the verifier holds it: a JWKS document validated and
 * imported once (node:crypto KeyObjects by `kid` and algorithm, so verifying
 * is one synchronous `crypto.verify`), and the lookup of one key in it. Both
 * the fetched and the static key sets use these, so they refuse alike.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { LatchkeyError } from '../errors.ts';
import { algorithmsForKey, importPublicJwk } from '../jws/algorithms.ts';
import { JwksFetchError } from './jwks-fetch.ts';

/** Key ids we look up: RFC 3986 unreserved characters, at most 256 of them. Anything else is rejected unseen. */
export const KID_PATTERN = /^[A-Za-z0-9._~-]{1,256}$/;

/** One kid's keys: algorithm → imported public key (one KeyObject per JWK, shared by the algorithms it serves). */
export type KeyEntry = ReadonlyMap<string, KeyObject>;

/** kid → algorithm → imported public key. */
export type KeyMap = ReadonlyMap<string, KeyEntry>;

/** Throws `token_invalid` for a kid we would never look up, before any fetch it could trigger. */
export function checkKid(kid: string): void {
  if (!KID_PATTERN.test(kid)) throw new LatchkeyError('token_invalid', 'token kid has characters outside [A-Za-z0-9._~-] or is too long');
}

/** The `token_invalid` error for a kid the issuer does not publish. */
export function unknownKid(kid: string): LatchkeyError {
  return new LatchkeyError('token_invalid', `token kid "${kid}" is not a key of its issuer`);
}

/** The key of `entry` for `alg`, or `token_invalid` when the issuer's key with that kid does not serve `alg`. */
export function keyForAlgorithm(entry: KeyEntry, kid: string, alg: string, issuer: string): KeyObject {
  const key = entry.get(alg);
  if (key === undefined) throw new LatchkeyError('token_invalid', `key "${kid}" of issuer "${issuer}" is not for ${alg}`);
  return key;
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
