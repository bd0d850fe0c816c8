/**
 * The public keys `audit verify --checkpoint` checks signatures with: the
 * service's `signing.keys_dir` (its private JWK files, of which only the
 * public members are kept), or a JWK Set from a file or the service's
 * `/.well-known/jwks.json`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import * as z from 'zod';
import { toPublicJwk } from '../jws/signing-keys.ts';

/** A JWK Set. */
export interface KeySet {
  keys: JWK[];
}

/** The keys could not be read; the message says where and why. */
export class KeySetError extends Error {
  override name = 'KeySetError';
}

const JwkSet = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

/** Most bytes read from a JWKS URL or file (the service's own caps a JWKS at 256 KiB too). */
const MAX_JWKS_BYTES = 256 * 1024;

/** Reads the public halves of every `signing-*.json` key in `dir` (never creates one). */
export async function readKeysDir(dir: string): Promise<KeySet> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.startsWith('signing-') && name.endsWith('.json')).sort();
  } catch (error) {
    throw new KeySetError(`cannot read the keys folder ${dir}: ${(error as Error).message}`);
  }
  const keys: JWK[] = [];
  for (const name of names) {
    let stored: JWK;
    try {
      stored = JSON.parse(await readFile(join(dir, name), 'utf8')) as JWK;
    } catch (error) {
      throw new KeySetError(`cannot read the key ${join(dir, name)}: ${(error as Error).message}`);
    }
    // The same kid the service derives when a file carries none (the RFC 7638 thumbprint).
    const kid = typeof stored.kid === 'string' ? stored.kid : await calculateJwkThumbprint(stored);
    keys.push(toPublicJwk(stored, kid, stored.alg ?? 'ES256'));
  }
  if (keys.length === 0) throw new KeySetError(`no signing keys (signing-*.json) in ${dir}`);
  return { keys };
}

export interface ReadJwksOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Reads a JWK Set from an http(s) URL or a file. */
export async function readJwks(source: string, options: ReadJwksOptions = {}): Promise<KeySet> {
  const text = /^https?:\/\//i.test(source) ? await fetchText(source, options) : await readText(source);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeySetError(`${source} is not JSON`);
  }
  const result = JwkSet.safeParse(parsed);
  if (!result.success) throw new KeySetError(`${source} is not a JWK Set ({"keys": [...]})`);
  if (result.data.keys.length === 0) throw new KeySetError(`${source} holds no keys`);
  return { keys: result.data.keys as JWK[] };
}

async function readText(file: string): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    if (text.length > MAX_JWKS_BYTES) throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
    return text;
  } catch (error) {
    throw new KeySetError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

async function fetchText(url: string, options: ReadJwksOptions): Promise<string> {
  const fetchImpl = options.fetch ?? fetch;
  try {
    const response = await fetchImpl(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000), redirect: 'error' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
    return text;
  } catch (error) {
    throw new KeySetError(`cannot fetch ${url}: ${(error as Error).message}`);
  }
}
