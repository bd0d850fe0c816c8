/**
 * The service's own signing keys (ES256 for `token` grants), kept as private
 * JWKs in `signing.keys_dir`, created on first start with mode 0600.
 * Replicas share the folder, so every replica publishes the same JWKS.
 */
import { mkdir, readdir, readFile, rename, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, createPrivateKey, type KeyObject, type JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  /** The same private key for node:crypto's synchronous signing (the hot path). */
  keyObject: KeyObject;
  /** The public half as published in the JWKS. */
  publicJwk: JWK;
}

export interface SigningKeyRing {
  /** The key new tokens are signed with (the newest file). */
  active: SigningKey;
  /** Every public key, for `/.well-known/jwks.json` (old keys stay until their tokens expire). */
  jwks: { keys: JWK[] };
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

/** The public members of a JWK plus its identity (`kid`, `alg`, `use`). */
export function toPublicJwk(jwk: JWK, kid: string, alg: string): JWK {
  const pub: JWK = { kid, alg, use: 'sig' };
  for (const member of PUBLIC_MEMBERS) {
    const value = jwk[member];
    if (typeof value === 'string') pub[member] = value;
  }
  return pub;
}

/** Writes a file atomically (temp + rename) with owner-only permissions. */
async function writePrivateFile(path: string, contents: string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, contents, { mode: 0o600, flag: 'wx' });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

/** Generates a key pair and stores its private JWK as `<prefix><kid>.json`; `kid` is the RFC 7638 thumbprint. */
export async function createKeyFile(dir: string, alg: 'ES256' | 'RS256', fileName?: string): Promise<SigningKey> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const stored = { ...jwk, kid, alg, created_at: new Date().toISOString() };
  await writePrivateFile(join(dir, fileName ?? `signing-${kid}.json`), `${JSON.stringify(stored, null, 2)}\n`);
  return importKey(stored);
}

/** Imports a stored private JWK file's contents. */
async function importKey(stored: JWK & { created_at?: string }): Promise<SigningKey> {
  const kid = stored.kid ?? (await calculateJwkThumbprint(stored));
  const alg = stored.alg ?? 'ES256';
  const privateKey = (await importJWK(stored, alg)) as CryptoKey;
  const keyObject = createPrivateKey({ key: stored as NodeJsonWebKey, format: 'jwk' });
  return { kid, alg, privateKey, keyObject, publicJwk: toPublicJwk(stored, kid, alg) };
}

/** Reads one key file, or undefined when it does not exist. */
export async function readKeyFile(path: string): Promise<SigningKey | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return importKey(JSON.parse(text) as JWK);
}

/** Loads every `signing-*.json` key in `dir`, creating one when there is none. */
export async function loadSigningKeys(dir: string): Promise<SigningKeyRing> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = (await readdir(dir)).filter((name) => name.startsWith('signing-') && name.endsWith('.json'));
  const loaded: Array<{ key: SigningKey; created: string }> = [];
  for (const name of files) {
    const stored = JSON.parse(await readFile(join(dir, name), 'utf8')) as JWK & { created_at?: string };
    loaded.push({ key: await importKey(stored), created: stored.created_at ?? '' });
  }
  if (loaded.length === 0) {
    const key = await createKeyFile(dir, 'ES256');
    return { active: key, jwks: { keys: [key.publicJwk] } };
  }
  loaded.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.key.kid.localeCompare(b.key.kid)));
  const active = (loaded.at(-1) as { key: SigningKey }).key;
  return { active, jwks: { keys: loaded.map(({ key }) => key.publicJwk) } };
}
