/**
 * The service's signing keys: created on first start (mode 0600, kid = RFC
 * 7638 thumbprint), reused on the next, shared by replicas on one folder.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, jwtVerify, createLocalJWKSet, SignJWT } from 'jose';
import { loadSigningKeys } from '../../exchange-service/src/jws/signing-keys.ts';

describe('loadSigningKeys', () => {
  it('creates an ES256 key with mode 0600 and a thumbprint kid, then reuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'latchkey-keys-'));
    try {
      const first = await loadSigningKeys(join(dir, 'keys'));
      const files = await readdir(join(dir, 'keys'));
      assert.equal(files.length, 1);
      const file = join(dir, 'keys', files[0] as string);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
      assert.equal(stored.kty, 'EC');
      assert.equal(first.active.alg, 'ES256');
      assert.equal(first.active.kid, await calculateJwkThumbprint({ kty: 'EC', crv: stored.crv, x: stored.x, y: stored.y }));
      assert.equal(first.jwks.keys.length, 1);
      assert.equal(first.jwks.keys[0]?.d, undefined, 'the JWKS holds no private member');

      const second = await loadSigningKeys(join(dir, 'keys'));
      assert.equal(second.active.kid, first.active.kid, 'a restart (or another replica) uses the same key');
      const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: second.active.kid }).sign(second.active.privateKey);
      await jwtVerify(jwt, createLocalJWKSet(first.jwks));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
