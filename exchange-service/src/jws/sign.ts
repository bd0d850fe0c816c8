/**
 * Compact JWS signing with the service's ES256 keys (RFC 7515 §7.1, RFC 7518
 * §3.4 signature form), in two halves: the signing input (header and
 * payload) and the signature over it. A `token` grant's access token is
 * built by the exchange and signed by the store in the transaction that
 * commits its grant (store.ts `commitSignedGrant`): it is handed out only
 * with its audit record committed, a replay or a failed commit discards it,
 * and on SQLite the ~40 µs signature runs on the writer thread instead of
 * the event loop. Signed with node:crypto
 * directly, synchronously: cheaper than a round trip through libuv's pool.
 */
import { sign, type KeyObject } from 'node:crypto';
import { derToP1363 } from './ecdsa-signature.ts';
import type { SigningKey } from './signing-keys.ts';

/** A JWS waiting for its signature: `header.payload` and the ES256 private key to sign it with. */
export interface UnsignedJws {
  signingInput: string;
  /** A KeyObject, so it can cross to a worker thread (postMessage clones it). */
  key: KeyObject;
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The unsigned half of a compact JWS: `alg` and `kid` come from the key. */
export function unsignedJws(
  key: Pick<SigningKey, 'alg' | 'kid' | 'keyObject'>,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): UnsignedJws {
  if (key.alg !== 'ES256') throw new Error(`unsupported signing algorithm ${key.alg}`);
  return { signingInput: `${encode({ ...header, alg: key.alg, kid: key.kid })}.${encode(payload)}`, key: key.keyObject };
}

/** Signs `unsigned` with ES256: the compact serialisation. */
export function completeJws(unsigned: UnsignedJws): string {
  const der = sign('sha256', Buffer.from(unsigned.signingInput), unsigned.key);
  return `${unsigned.signingInput}.${derToP1363(der, 32).toString('base64url')}`;
}

/** Builds and signs a compact JWS in one step (audit checkpoints, tests). */
export function signCompactJwt(key: SigningKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return completeJws(unsignedJws(key, header, payload));
}
