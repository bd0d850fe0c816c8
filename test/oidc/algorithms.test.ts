/**
 * Every signature algorithm end to end, against keys served by a real
 * loopback JWKS: tokens of each algorithm verify; signatures of the wrong
 * length, encoding, padding or digest, and keys of the wrong family, are
 * `token_invalid`. Then the key-import rules for non-RSA keys and key sizes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { IssuerConfig } from '../../exchange-service/src/config.ts';
import { LatchkeyError, type Reason } from '../../exchange-service/src/errors.ts';
import { importKeySet } from '../../exchange-service/src/oidc/jwks.ts';
import { createTokenVerifier, type TokenVerifier } from '../../exchange-service/src/oidc/verify.ts';
import {
  ALL_ALGORITHMS,
  createImpostor,
  createTestKeys,
  mintToken,
  serveJwks,
  testClaims,
  type Algorithm,
  type JwksServer,
  type MintOptions,
  type TestKey,
} from './alg-keys.ts';

const AUDIENCE = 'http://127.0.0.1:8080';
const NOW_MS = Date.UTC(2026, 10, 23, 10, 0, 0);
const NOW = NOW_MS / 1000;

/** ECDSA r‖s with the halves swapped. */
const swapHalves = (signature: Buffer): Buffer => Buffer.concat([signature.subarray(signature.length / 2), signature.subarray(0, signature.length / 2)]);

describe('signature algorithms (RS*, PS*, ES*, EdDSA)', () => {
  let keys: Map<string, TestKey>;
  let jwks: JwksServer;
  let verifier: TokenVerifier;
  let other: TokenVerifier;

  before(async () => {
    keys = createTestKeys();
    jwks = await serveJwks([...keys.values()].map((key) => key.jwk));
    verifier = createTokenVerifier({
      issuers: { ci: IssuerConfig.parse({ url: jwks.url, kind: 'generic', algorithms: [...ALL_ALGORITHMS], jwks_url: jwks.jwksUrl }) },
      audience: AUDIENCE,
      now: () => NOW_MS,
    });
    // The same keys behind an issuer that allows only ES256: the allow-list wins over the keys.
    other = createTokenVerifier({
      issuers: { narrow: IssuerConfig.parse({ url: jwks.url, kind: 'generic', algorithms: ['ES256'], jwks_url: jwks.jwksUrl }) },
      audience: AUDIENCE,
      now: () => NOW_MS,
    });
  });
  after(async () => {
    verifier.close();
    other.close();
    await jwks.close();
  });

  const token = (alg: Algorithm, options: MintOptions = {}, claims: Record<string, unknown> = {}): string =>
    mintToken(keys, alg, testClaims(jwks.url, AUDIENCE, NOW, claims), options);

  for (const alg of ALL_ALGORITHMS) {
    it(`accepts a ${alg} token signed by the published key`, async () => {
      const verified = await verifier.verify(token(alg, {}, { jti: `jti-${alg}` }));
      assert.deepEqual([verified.issuer, verified.jti, verified.claims.repository], ['ci', `jti-${alg}`, 'acme/webapp']);
    });
  }

  it('imports each key once: one JWKS fetch serves every algorithm', () => {
    assert.equal(jwks.requests(), 1);
  });

  const rejected: { name: string; token: () => string; reason: Reason; says: RegExp; verifier?: () => TokenVerifier }[] = [
    // Lengths fixed by the algorithm (ECDSA r‖s, RFC 7518 §3.4; Ed25519, RFC 8032).
    {
      name: 'ES256 signature one byte short',
      token: () => token('ES256', { tamper: (s) => s.subarray(1) }),
      reason: 'token_invalid',
      says: /63 bytes; ES256 signatures have 64/,
    },
    {
      name: 'ES256 signature one byte long',
      token: () => token('ES256', { tamper: (s) => Buffer.concat([s, Buffer.of(0)]) }),
      reason: 'token_invalid',
      says: /65 bytes; ES256 signatures have 64/,
    },
    {
      name: 'ES256 signature with a leading zero byte',
      token: () => token('ES256', { tamper: (s) => Buffer.concat([Buffer.of(0), s]) }),
      reason: 'token_invalid',
      says: /65 bytes/,
    },
    {
      name: 'ES256 signature in DER (ASN.1) form',
      token: () => token('ES256', { dsaEncoding: 'der' }),
      reason: 'token_invalid',
      says: /bytes; ES256 signatures have 64/,
    },
    {
      name: 'ES384 signature of ES256 length',
      token: () => token('ES384', { tamper: (s) => s.subarray(0, 64) }),
      reason: 'token_invalid',
      says: /64 bytes; ES384 signatures have 96/,
    },
    {
      name: 'ES512 signature of 131 bytes',
      token: () => token('ES512', { tamper: (s) => s.subarray(1) }),
      reason: 'token_invalid',
      says: /131 bytes; ES512 signatures have 132/,
    },
    {
      name: 'EdDSA signature one byte short',
      token: () => token('EdDSA', { tamper: (s) => s.subarray(1) }),
      reason: 'token_invalid',
      says: /63 bytes; EdDSA signatures have 64/,
    },
    { name: 'RS256 signature one byte short', token: () => token('RS256', { tamper: (s) => s.subarray(1) }), reason: 'token_invalid', says: /does not verify/ },
    // Right length, wrong content.
    {
      name: 'ES256 signature of 64 zero bytes',
      token: () => token('ES256', { tamper: () => Buffer.alloc(64) }),
      reason: 'token_invalid',
      says: /does not verify/,
    },
    { name: 'ES256 signature with r and s swapped', token: () => token('ES256', { tamper: swapHalves }), reason: 'token_invalid', says: /does not verify/ },
    { name: 'ES256 signed over a SHA-384 digest', token: () => token('ES256', { digest: 'sha384' }), reason: 'token_invalid', says: /does not verify/ },
    {
      name: 'EdDSA signature with one bit flipped',
      token: () => token('EdDSA', { tamper: (s) => Buffer.from(s.map((byte, i) => (i === 10 ? byte ^ 1 : byte))) }),
      reason: 'token_invalid',
      says: /does not verify/,
    },
    // RSA padding and digest must be the ones the header names.
    { name: 'PS256 with a zero-length salt', token: () => token('PS256', { saltLength: 0 }), reason: 'token_invalid', says: /does not verify/ },
    { name: 'PS256 with a 64-byte salt', token: () => token('PS256', { saltLength: 64 }), reason: 'token_invalid', says: /does not verify/ },
    {
      name: 'PS384 signed over a SHA-256 digest',
      token: () => token('PS384', { digest: 'sha256', saltLength: 48 }),
      reason: 'token_invalid',
      says: /does not verify/,
    },
    { name: 'RS512 signed over a SHA-256 digest', token: () => token('RS512', { digest: 'sha256' }), reason: 'token_invalid', says: /does not verify/ },
    {
      name: 'PS256 header over an RS256 signature',
      token: () => {
        const rs = token('RS256').split('.');
        const ps = token('PS256').split('.');
        return `${ps[0]}.${ps[1]}.${rs[2]}`;
      },
      reason: 'token_invalid',
      says: /does not verify/,
    },
    // Keys: only the issuer's, only of the family the algorithm needs.
    {
      name: 'ES256 by an unpublished P-256 key under the real kid',
      token: () => token('ES256', { key: createImpostor('ec-p256') }),
      reason: 'token_invalid',
      says: /does not verify/,
    },
    {
      name: 'EdDSA by an unpublished Ed25519 key under the real kid',
      token: () => token('EdDSA', { key: createImpostor('ed25519') }),
      reason: 'token_invalid',
      says: /does not verify/,
    },
    {
      name: 'ES256 header naming the P-384 key',
      token: () => token('ES256', { kid: 'ec-p384' }),
      reason: 'token_invalid',
      says: /key "ec-p384" .* is not for ES256/,
    },
    { name: 'EdDSA header naming the RSA key', token: () => token('EdDSA', { kid: 'rsa' }), reason: 'token_invalid', says: /key "rsa" .* is not for EdDSA/ },
    {
      name: 'RS256 header naming the Ed25519 key',
      token: () => token('RS256', { kid: 'ed25519' }),
      reason: 'token_invalid',
      says: /key "ed25519" .* is not for RS256/,
    },
    { name: 'ES384 header naming the P-256 key', token: () => token('ES384', { kid: 'ec-p256' }), reason: 'token_invalid', says: /is not for ES384/ },
    // The issuer's allow-list comes first, whatever keys it publishes.
    { name: 'EdDSA for an ES256-only issuer', token: () => token('EdDSA'), reason: 'token_invalid', says: /"EdDSA" is not allowed/, verifier: () => other },
    { name: 'PS256 for an ES256-only issuer', token: () => token('PS256'), reason: 'token_invalid', says: /"PS256" is not allowed/, verifier: () => other },
    // Order: signature before time.
    {
      name: 'expired ES256 with a short signature: signature first',
      token: () => token('ES256', { tamper: (s) => s.subarray(2) }, { exp: NOW - 600, iat: NOW - 900 }),
      reason: 'token_invalid',
      says: /62 bytes/,
    },
    {
      name: 'expired EdDSA with a good signature',
      token: () => token('EdDSA', {}, { exp: NOW - 600, iat: NOW - 900 }),
      reason: 'token_expired',
      says: /expired/,
    },
  ];

  for (const testCase of rejected) {
    it(`${testCase.name} → ${testCase.reason}`, async () => {
      const subject = testCase.token();
      await assert.rejects((testCase.verifier?.() ?? verifier).verify(subject), (error: unknown) => {
        assert.ok(error instanceof LatchkeyError, `not a LatchkeyError: ${String(error)}`);
        assert.equal(error.reason, testCase.reason, error.message);
        assert.match(error.message, testCase.says);
        return true;
      });
    });
  }

  it('an ES256-only issuer still accepts ES256', async () => {
    assert.equal((await other.verify(token('ES256'))).issuer, 'narrow');
  });
});

describe('importKeySet: key types and sizes', () => {
  const ALL = [...ALL_ALGORITHMS];
  const publicJwk = (pair: { publicKey: { export(options: { format: 'jwk' }): object } }, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    ...pair.publicKey.export({ format: 'jwk' }),
    kid: 'k1',
    ...extra,
  });
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const ed25519 = generateKeyPairSync('ed25519');
  const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const offCurve = (): Record<string, unknown> => {
    const jwk = publicJwk(p256);
    const y = Buffer.from(String(jwk.y), 'base64url');
    y[y.length - 1] = (y[y.length - 1] ?? 0) ^ 1;
    return { ...jwk, y: y.toString('base64url') };
  };

  const cases: { name: string; key: () => Record<string, unknown>; usable: string[] }[] = [
    { name: 'a P-256 key', key: () => publicJwk(p256), usable: ['ES256'] },
    { name: 'a P-384 key', key: () => publicJwk(p384), usable: ['ES384'] },
    { name: 'a P-521 key', key: () => publicJwk(p521), usable: ['ES512'] },
    { name: 'an Ed25519 key', key: () => publicJwk(ed25519), usable: ['EdDSA'] },
    { name: 'an RSA key without alg', key: () => publicJwk(rsa2048), usable: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] },
    { name: 'an RSA key with alg PS384', key: () => publicJwk(rsa2048, { alg: 'PS384' }), usable: ['PS384'] },
    { name: 'an RSA key with key_ops [verify]', key: () => publicJwk(rsa2048, { alg: 'RS256', key_ops: ['verify'] }), usable: ['RS256'] },
    { name: 'an RSA key of 1024 bits', key: () => publicJwk(generateKeyPairSync('rsa', { modulusLength: 1024 })), usable: [] },
    { name: 'an RSA key of 2047 bits', key: () => publicJwk(generateKeyPairSync('rsa', { modulusLength: 2047 })), usable: [] },
    { name: 'a P-256 key with alg ES384', key: () => publicJwk(p256, { alg: 'ES384' }), usable: [] },
    { name: 'a P-256 key with alg RS256', key: () => publicJwk(p256, { alg: 'RS256' }), usable: [] },
    { name: 'a P-256 point off the curve', key: offCurve, usable: [] },
    { name: 'P-256 coordinates labelled P-384', key: () => publicJwk(p256, { crv: 'P-384' }), usable: [] },
    { name: 'an Ed448 key', key: () => publicJwk(generateKeyPairSync('ed448')), usable: [] },
    { name: 'an X25519 (key agreement) key', key: () => publicJwk(generateKeyPairSync('x25519')), usable: [] },
    { name: 'an Ed25519 key of the wrong length', key: () => publicJwk(ed25519, { x: 'AAAA' }), usable: [] },
    { name: 'an EC private key', key: () => ({ ...p256.privateKey.export({ format: 'jwk' }), kid: 'k1' }), usable: [] },
    { name: 'key_ops [sign]', key: () => publicJwk(p256, { key_ops: ['sign'] }), usable: [] },
    { name: 'key_ops [verify, sign]', key: () => publicJwk(p256, { key_ops: ['verify', 'sign'] }), usable: [] },
    { name: 'key_ops []', key: () => publicJwk(p256, { key_ops: [] }), usable: [] },
    { name: 'key_ops as a string', key: () => publicJwk(p256, { key_ops: 'verify' }), usable: [] },
    { name: 'use enc on an EC key', key: () => publicJwk(p256, { use: 'enc' }), usable: [] },
    { name: 'kty in lower case', key: () => publicJwk(rsa2048, { kty: 'rsa' }), usable: [] },
  ];
  for (const testCase of cases) {
    it(`${testCase.name} → ${testCase.usable.length > 0 ? testCase.usable.join(', ') : 'no usable key'}`, async () => {
      const document = JSON.parse(JSON.stringify({ keys: [testCase.key()] }));
      if (testCase.usable.length === 0) {
        await assert.rejects(importKeySet(document, ALL), /no usable signing key/);
        return;
      }
      const byAlg = (await importKeySet(document, ALL)).get('k1');
      assert.deepEqual([...(byAlg?.keys() ?? [])], testCase.usable);
      // One import per JWK: every algorithm it serves shares the same KeyObject.
      assert.equal(new Set(byAlg?.values()).size, 1);
      assert.equal([...(byAlg?.values() ?? [])][0]?.type, 'public');
    });
  }

  it('imports only the algorithms the issuer allows', async () => {
    const byAlg = (await importKeySet({ keys: [publicJwk(rsa2048)] }, ['PS256', 'ES256'])).get('k1');
    assert.deepEqual([...(byAlg?.keys() ?? [])], ['PS256']);
  });
});
