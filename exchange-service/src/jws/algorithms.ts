/**
 * The JWS signature algorithms subject tokens may use (RFC 7518 §3, RFC 8037
 * §3.1), checked with node:crypto's synchronous `verify` against public
 * KeyObjects that the JWKS cache imports once per fetch. This is the hot path
 * of every exchange: one `crypto.verify` call, no WebCrypto promise round trip.
 *
 * Which key an algorithm may use is decided here too, so that a key imported
 * for one family (RSA, a NIST curve, Ed25519) is never handed to another.
 */
import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import { LatchkeyError } from '../errors.ts';

/** A JWK's key family: `kty`, plus `crv` for curve keys. */
type KeyFamily = 'RSA' | 'EC:P-256' | 'EC:P-384' | 'EC:P-521' | 'OKP:Ed25519';

interface AlgorithmSpec {
  family: KeyFamily;
  /** node:crypto digest; null for EdDSA, whose hash is part of Ed25519. */
  digest: 'sha256' | 'sha384' | 'sha512' | null;
  /** How node:crypto is told the padding or signature encoding. */
  keyInput: (key: KeyObject) => KeyObject | VerifyKeyObjectInput;
  /** Exact signature length where the algorithm fixes one: ECDSA r‖s (RFC 7518 §3.4), Ed25519. */
  signatureBytes: number | undefined;
}

const pkcs1 = (key: KeyObject): KeyObject => key;
// RFC 7518 §3.5: the salt is as long as the digest, and MGF1 uses the same hash (node's default).
const pss = (key: KeyObject): VerifyKeyObjectInput => ({ key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
// JWS carries ECDSA signatures as fixed-length r‖s, not DER.
const p1363 = (key: KeyObject): VerifyKeyObjectInput => ({ key, dsaEncoding: 'ieee-p1363' });

/** A Map, not an object literal: `alg` comes from the token, and must never find `constructor` or `__proto__`. */
const ALGORITHMS: ReadonlyMap<string, AlgorithmSpec> = new Map<string, AlgorithmSpec>([
  ['RS256', { family: 'RSA', digest: 'sha256', keyInput: pkcs1, signatureBytes: undefined }],
  ['RS384', { family: 'RSA', digest: 'sha384', keyInput: pkcs1, signatureBytes: undefined }],
  ['RS512', { family: 'RSA', digest: 'sha512', keyInput: pkcs1, signatureBytes: undefined }],
  ['PS256', { family: 'RSA', digest: 'sha256', keyInput: pss, signatureBytes: undefined }],
  ['PS384', { family: 'RSA', digest: 'sha384', keyInput: pss, signatureBytes: undefined }],
  ['PS512', { family: 'RSA', digest: 'sha512', keyInput: pss, signatureBytes: undefined }],
  ['ES256', { family: 'EC:P-256', digest: 'sha256', keyInput: p1363, signatureBytes: 64 }],
  ['ES384', { family: 'EC:P-384', digest: 'sha384', keyInput: p1363, signatureBytes: 96 }],
  ['ES512', { family: 'EC:P-521', digest: 'sha512', keyInput: p1363, signatureBytes: 132 }],
  ['EdDSA', { family: 'OKP:Ed25519', digest: null, keyInput: pkcs1, signatureBytes: 64 }],
]);

/** node:crypto's names for the NIST curves. */
const CURVE_NAMES: Readonly<Record<string, string>> = { 'EC:P-256': 'prime256v1', 'EC:P-384': 'secp384r1', 'EC:P-521': 'secp521r1' };

/** RFC 7518 §3.3: RSA keys of at least 2048 bits. */
export const MIN_RSA_BITS = 2048;

/** The family of a JWK (`RSA`, `EC:P-256`, …), whatever its members hold. */
function familyOf(jwk: JsonWebKey): string {
  return jwk.kty === 'RSA' ? 'RSA' : `${String(jwk.kty)}:${String(jwk.crv)}`;
}

/** The algorithms, among `allowed`, that a JWK of this type and `alg` member may verify. */
export function algorithmsForKey(jwk: JsonWebKey, allowed: readonly string[]): string[] {
  const family = familyOf(jwk);
  return allowed.filter((alg) => ALGORITHMS.get(alg)?.family === family && (jwk.alg === undefined || jwk.alg === alg));
}

/**
 * Imports a public JWK as a KeyObject, or undefined when it is unusable:
 * malformed, a point off its curve, not of the family its `kty`/`crv` claim,
 * or RSA under 2048 bits. The caller has already refused private and
 * symmetric keys and keys for other uses.
 */
export function importPublicJwk(jwk: JsonWebKey): KeyObject | undefined {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return undefined;
  }
  const family = familyOf(jwk);
  const details = key.asymmetricKeyDetails ?? {};
  if (key.type !== 'public') return undefined;
  if (family === 'RSA') return key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS ? key : undefined;
  if (family === 'OKP:Ed25519') return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  const curve = CURVE_NAMES[family];
  return curve !== undefined && key.asymmetricKeyType === 'ec' && details.namedCurve === curve ? key : undefined;
}

/**
 * Checks a JWS signature over `signingInput` (the ASCII of `header.payload`)
 * with `key`, which must have been imported for `alg`'s family. The check
 * runs right here, on the calling thread: an RS256 verify costs about 20 µs,
 * less than handing it to libuv's thread pool and back, whose thread wake-ups
 * cost more than the check on a small machine (bench/: CPU per exchange).
 * Throws LatchkeyError `token_invalid`: a signature of the wrong length for
 * `alg`, one that does not verify, or one that cannot be checked at all.
 */
export function checkJwsSignature(alg: string, key: KeyObject, signingInput: Uint8Array, signature: Uint8Array): void {
  const spec = ALGORITHMS.get(alg);
  if (spec === undefined) throw new LatchkeyError('token_invalid', 'token algorithm is not supported');
  if (spec.signatureBytes !== undefined && signature.byteLength !== spec.signatureBytes) {
    throw new LatchkeyError('token_invalid', `token signature has ${signature.byteLength} bytes; ${alg} signatures have ${spec.signatureBytes}`);
  }
  let valid: boolean;
  try {
    valid = verify(spec.digest, signingInput, spec.keyInput(key), signature);
  } catch (error) {
    throw new LatchkeyError('token_invalid', 'token signature cannot be checked', {
      logDetail: error instanceof Error ? error.message : 'verification failed',
    });
  }
  if (!valid) throw new LatchkeyError('token_invalid', 'token signature does not verify');
}
