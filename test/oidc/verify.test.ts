/**
 * Subject-token verification against real loopback issuers with real keys:
 * ATTACKS.md items 1–8 as a table of named cases with the expected reason,
 * the order of the checks, and what a verified token carries.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactEncrypt, generateKeyPair } from 'jose';
import { IssuerConfig } from '../../exchange-service/src/config.ts';
import { LatchkeyError, type Reason } from '../../exchange-service/src/errors.ts';
import { createTokenVerifier, type TokenVerifier } from '../../exchange-service/src/oidc/verify.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';

const AUDIENCE = 'http://127.0.0.1:8080';
const NOW_MS = Date.UTC(2026, 10, 23, 10, 0, 0);
const NOW = NOW_MS / 1000;

/** Replaces one of a token's three segments. */
function withSegment(token: string, index: number, segment: string): string {
  const parts = token.split('.');
  parts[index] = segment;
  return parts.join('.');
}

/** The same bytes spelt with non-zero trailing bits: decodes identically, but is not canonical. */
function nonCanonical(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(segment.at(-1) ?? 'A');
  return segment.slice(0, -1) + alphabet.charAt(last + 1);
}

/** A loopback server that only counts requests: keys headers may point at it, and it must stay at 0. */
async function startBystander(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/keys.json`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Case {
  name: string;
  token: () => Promise<string> | string;
  reason: Reason;
  /** What the description must say (checks the case failed for the intended reason). */
  says?: RegExp;
}

describe('token verification (ATTACKS.md 1–8)', () => {
  let github: TestIssuer; // kind github: RS256 only
  let other: TestIssuer; // kind generic: RS256, ES256
  let bystander: Awaited<ReturnType<typeof startBystander>>;
  let verifier: TokenVerifier;
  const now = (): number => NOW_MS;

  before(async () => {
    [github, other, bystander] = await Promise.all([
      startTestIssuer({ audience: AUDIENCE, now }),
      startTestIssuer({ audience: AUDIENCE, now, repository: 'acme/other' }),
      startBystander(),
    ]);
    const port = new URL(github.url).port;
    verifier = createTokenVerifier({
      issuers: {
        github: IssuerConfig.parse({ url: github.url }),
        other: IssuerConfig.parse({ url: other.url, kind: 'generic' }),
        // Same host as `github`, spelt with a name: makes the upper-case-host case meaningful.
        named: IssuerConfig.parse({ url: `http://localhost:${port}`, kind: 'generic' }),
      },
      audience: AUDIENCE,
      now,
    });
    // Warm both key sets so the counts below measure only what the cases cause.
    await verifier.verify(await github.sign());
    await verifier.verify(await other.sign());
  });
  after(async () => {
    verifier.close();
    await Promise.all([github.close(), other.close(), bystander.close()]);
  });

  const cases: Case[] = [
    // Size, before anything is decoded.
    { name: 'ATTACKS 18: token over 16 KiB', token: () => 'a'.repeat(16 * 1024 + 1), reason: 'malformed', says: /larger than 16384/ },
    { name: 'ATTACKS 18: 1 MiB token', token: () => `${'eyJ'.repeat(350_000)}.x.y`, reason: 'malformed' },
    { name: 'ATTACKS 18: over 16 KiB only in UTF-8 bytes', token: () => 'é'.repeat(8193), reason: 'malformed' },
    { name: 'ATTACKS 18: oversized and structurally broken: size wins', token: () => '.'.repeat(20_000), reason: 'malformed' },
    // 4. Format.
    { name: 'ATTACKS 4: empty token', token: () => '', reason: 'token_invalid', says: /1 dot-separated/ },
    {
      name: 'ATTACKS 4: two segments',
      token: async () => (await github.sign()).split('.').slice(0, 2).join('.'),
      reason: 'token_invalid',
      says: /2 dot-separated/,
    },
    { name: 'ATTACKS 4: four segments', token: async () => `${await github.sign()}.AAAA`, reason: 'token_invalid', says: /4 dot-separated/ },
    { name: 'ATTACKS 4: five segments (JWE shape)', token: () => 'a.b.c.d.e', reason: 'token_invalid', says: /JWE/ },
    { name: 'ATTACKS 4: a real JWE', token: () => encryptedToken(), reason: 'token_invalid', says: /JWE/ },
    { name: 'ATTACKS 4: JSON-serialised JWS', token: () => github.sign({}, { serialization: 'json' }), reason: 'token_invalid', says: /JSON-serialised/ },
    {
      name: 'ATTACKS 4: padding in a segment',
      token: async () => withSegment(await github.sign(), 2, `${(await github.sign()).split('.')[2]}==`),
      reason: 'token_invalid',
      says: /base64url/,
    },
    {
      name: 'ATTACKS 4: "+" in a segment',
      token: async () => withSegment(await github.sign(), 2, `+${(await github.sign()).split('.')[2]?.slice(1)}`),
      reason: 'token_invalid',
      says: /base64url/,
    },
    {
      name: 'ATTACKS 4: "/" in a segment',
      token: async () => withSegment(await github.sign(), 0, `/${(await github.sign()).split('.')[0]?.slice(1)}`),
      reason: 'token_invalid',
      says: /base64url/,
    },
    { name: 'ATTACKS 4: whitespace in a segment', token: async () => (await github.sign()).replace('.', '.\n'), reason: 'token_invalid', says: /base64url/ },
    {
      name: 'ATTACKS 4: non-canonical base64url signature',
      token: async () => {
        const t = await github.sign();
        return withSegment(t, 2, nonCanonical(t.split('.')[2] ?? ''));
      },
      reason: 'token_invalid',
      says: /canonical/,
    },
    { name: 'ATTACKS 4: empty signature segment', token: async () => withSegment(await github.sign(), 2, ''), reason: 'token_invalid', says: /signature/ },
    {
      name: 'ATTACKS 4: payload is not UTF-8',
      token: () => github.sign({}, { rawPayload: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }),
      reason: 'token_invalid',
      says: /payload is not UTF-8 JSON/,
    },
    {
      name: 'ATTACKS 4: header is not UTF-8',
      token: () => github.sign({}, { rawHeader: Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]) }),
      reason: 'token_invalid',
      says: /header is not UTF-8 JSON/,
    },
    {
      name: 'ATTACKS 4: payload is not JSON',
      token: () => github.sign({}, { rawPayload: 'not json' }),
      reason: 'token_invalid',
      says: /payload is not UTF-8 JSON/,
    },
    { name: 'ATTACKS 4: payload is a JSON array', token: () => github.sign({}, { rawPayload: '[1,2,3]' }), reason: 'token_invalid', says: /not a JSON object/ },
    { name: 'ATTACKS 4: header is JSON null', token: () => github.sign({}, { rawHeader: 'null' }), reason: 'token_invalid', says: /not a JSON object/ },
    { name: 'ATTACKS 4: crit header', token: () => github.sign({}, { header: { crit: ['exp'], exp: NOW + 60 } }), reason: 'token_invalid', says: /crit/ },
    { name: 'ATTACKS 4: b64: false', token: () => github.sign({}, { header: { b64: false, crit: ['b64'] } }), reason: 'token_invalid', says: /crit|b64/ },
    { name: 'ATTACKS 4: b64 without crit', token: () => github.sign({}, { header: { b64: false } }), reason: 'token_invalid', says: /b64/ },
    {
      name: 'ATTACKS 4: nested JWT (cty JWT)',
      token: async () => github.sign({}, { header: { cty: 'JWT' }, rawPayload: await github.sign() }),
      reason: 'token_invalid',
      says: /nested/,
    },
    {
      name: 'ATTACKS 4: nested JWT (cty application/jwt)',
      token: () => github.sign({}, { header: { cty: 'application/JWT' } }),
      reason: 'token_invalid',
      says: /nested/,
    },
    { name: 'ATTACKS 4: enc header in a three-part token', token: () => github.sign({}, { header: { enc: 'A256GCM' } }), reason: 'token_invalid', says: /JWE/ },
    { name: 'ATTACKS 4: no alg', token: () => github.sign({}, { header: { alg: undefined } }), reason: 'token_invalid', says: /no alg/ },
    // 1. Forgery.
    { name: 'ATTACKS 1: alg none', token: () => github.sign({}, { alg: 'none' }), reason: 'token_invalid', says: /alg "none"/ },
    { name: 'ATTACKS 1: alg None', token: () => github.sign({}, { alg: 'None' }), reason: 'token_invalid', says: /alg "none"/ },
    { name: 'ATTACKS 1: alg NONE', token: () => github.sign({}, { alg: 'NONE' }), reason: 'token_invalid', says: /alg "none"/ },
    {
      name: 'ATTACKS 1: alg nOnE with a signature',
      token: async () => withSegment(await github.sign({}, { alg: 'nOnE' }), 2, 'AAAA'),
      reason: 'token_invalid',
      says: /alg "none"/,
    },
    {
      name: 'ATTACKS 1: HS256 keyed with the issuer public key',
      token: () => github.sign({}, { hmacWithPublicKey: true }),
      reason: 'token_invalid',
      says: /"HS256" is not allowed/,
    },
    {
      name: 'ATTACKS 1: HS256 with the public key on a generic issuer',
      token: () => other.sign({}, { hmacWithPublicKey: true, kid: other.kid }),
      reason: 'token_invalid',
      says: /"HS256" is not allowed/,
    },
    {
      name: 'ATTACKS 1: attacker RSA key reusing the real kid',
      token: () => github.sign({}, { key: 'attacker' }),
      reason: 'token_invalid',
      says: /signature does not verify/,
    },
    {
      name: 'ATTACKS 1: corrupted signature',
      token: () => github.sign({}, { corruptSignature: true }),
      reason: 'token_invalid',
      says: /signature does not verify/,
    },
    {
      name: 'ATTACKS 1: payload swapped after signing',
      token: async () => withSegment(await github.sign(), 1, (await github.sign({ ref: 'refs/heads/evil' })).split('.')[1] ?? ''),
      reason: 'token_invalid',
      says: /signature does not verify/,
    },
    {
      name: 'ATTACKS 1: ES256 for a GitHub issuer (RS256 only)',
      token: () => github.sign({}, { alg: 'ES256' }),
      reason: 'token_invalid',
      says: /"ES256" is not allowed/,
    },
    { name: 'ATTACKS 1: RS384 for a GitHub issuer', token: () => github.sign({}, { alg: 'RS384' }), reason: 'token_invalid', says: /"RS384" is not allowed/ },
    {
      name: 'ATTACKS 1: PS256 for a generic issuer (RS256, ES256)',
      token: () => other.sign({}, { alg: 'PS256', kid: other.kid }),
      reason: 'token_invalid',
      says: /"PS256" is not allowed/,
    },
    {
      name: 'ATTACKS 1: ES256 on a generic issuer whose JWKS has no EC key',
      token: () => other.sign({}, { alg: 'ES256', kid: other.kid }),
      reason: 'token_invalid',
      says: /not for ES256/,
    },
    // 2. Key ids.
    { name: 'ATTACKS 2: unknown kid', token: () => github.sign({}, { kid: 'no-such-key' }), reason: 'token_invalid', says: /not a key of its issuer/ },
    { name: 'ATTACKS 2: kid with a path', token: () => github.sign({}, { kid: '../../../etc/passwd' }), reason: 'token_invalid', says: /kid has characters/ },
    { name: 'ATTACKS 2: kid with a quote', token: () => github.sign({}, { kid: 'key"1' }), reason: 'token_invalid', says: /kid has characters/ },
    { name: 'ATTACKS 2: kid with a URL', token: () => github.sign({}, { kid: bystander.url }), reason: 'token_invalid', says: /kid has characters/ },
    { name: 'ATTACKS 2: kid of 257 characters', token: () => github.sign({}, { kid: 'k'.repeat(257) }), reason: 'token_invalid', says: /kid has characters/ },
    { name: 'ATTACKS 2: kid that is a number', token: () => github.sign({}, { header: { kid: 7 } }), reason: 'token_invalid', says: /kid has characters/ },
    { name: 'ATTACKS 2: no kid', token: () => github.sign({}, { header: { kid: undefined } }), reason: 'token_invalid', says: /no kid/ },
    // 3. Keys from elsewhere.
    { name: 'ATTACKS 3: jku header', token: () => github.sign({}, { header: { jku: bystander.url } }), reason: 'token_invalid', says: /"jku"/ },
    { name: 'ATTACKS 3: x5u header', token: () => github.sign({}, { header: { x5u: bystander.url } }), reason: 'token_invalid', says: /"x5u"/ },
    {
      name: 'ATTACKS 3: jwk header (self-signed by the attacker)',
      token: () => github.sign({}, { key: 'attacker', embedJwk: true }),
      reason: 'token_invalid',
      says: /"jwk"/,
    },
    { name: 'ATTACKS 3: x5c header', token: () => github.sign({}, { header: { x5c: ['MIIBszCCAVmgAwIBAgIUQ'] } }), reason: 'token_invalid', says: /"x5c"/ },
    { name: 'ATTACKS 3: x5t header', token: () => github.sign({}, { header: { x5t: 'dGh1bWJwcmludA' } }), reason: 'token_invalid', says: /"x5t"/ },
    // 5. Issuer allow-list (see also the no-fetch test below).
    { name: 'ATTACKS 5: iss with a trailing slash', token: () => github.sign({ iss: `${github.url}/` }), reason: 'issuer_untrusted', says: /is not trusted/ },
    { name: 'ATTACKS 5: iss with https instead of http', token: () => github.sign({ iss: github.url.replace('http:', 'https:') }), reason: 'issuer_untrusted' },
    { name: 'ATTACKS 5: iss with an upper-case scheme', token: () => github.sign({ iss: github.url.replace('http:', 'HTTP:') }), reason: 'issuer_untrusted' },
    {
      name: 'ATTACKS 5: iss with an upper-case host',
      token: () => github.sign({ iss: `http://LOCALHOST:${new URL(github.url).port}` }),
      reason: 'issuer_untrusted',
    },
    { name: 'ATTACKS 5: iss with a trailing space', token: () => github.sign({ iss: `${github.url} ` }), reason: 'issuer_untrusted' },
    {
      name: 'ATTACKS 5: iss github.com (not configured)',
      token: () => github.sign({ iss: 'https://token.actions.githubusercontent.com' }),
      reason: 'issuer_untrusted',
    },
    {
      name: 'ATTACKS 5: iss of an attacker host',
      token: () => github.sign({ iss: 'https://evil.example' }),
      reason: 'issuer_untrusted',
      says: /issuer "https:\/\/evil.example" is not trusted/,
    },
    { name: 'ATTACKS 5: no iss', token: () => github.sign({ iss: undefined }), reason: 'token_invalid', says: /no iss/ },
    { name: 'ATTACKS 5: iss that is an array', token: () => github.sign({ iss: [github.url] }), reason: 'token_invalid', says: /no iss/ },
    // 6. Keys of one issuer, iss of another.
    {
      name: 'ATTACKS 6: signed by issuer A, iss of issuer B',
      token: () => github.sign({ iss: other.url }),
      reason: 'token_invalid',
      says: /not a key of its issuer/,
    },
    {
      name: "ATTACKS 6: signed by issuer A under issuer B's kid",
      token: () => github.sign({ iss: other.url }, { kid: other.kid }),
      reason: 'token_invalid',
      says: /signature does not verify/,
    },
    // 7. Time.
    { name: 'ATTACKS 7: no exp', token: () => github.sign({ exp: undefined }), reason: 'token_invalid', says: /exp claim/ },
    { name: 'ATTACKS 7: no iat', token: () => github.sign({ iat: undefined }), reason: 'token_invalid', says: /iat claim/ },
    { name: 'ATTACKS 7: exp as a string', token: () => github.sign({ exp: String(NOW + 300) }), reason: 'token_invalid', says: /exp claim/ },
    { name: 'ATTACKS 7: exp as a fraction', token: () => github.sign({ exp: NOW + 300.5 }), reason: 'token_invalid', says: /exp claim/ },
    { name: 'ATTACKS 7: exp beyond safe integers', token: () => github.sign({ exp: 2 ** 53 }), reason: 'token_invalid', says: /exp claim/ },
    { name: 'ATTACKS 7: iat as a fraction', token: () => github.sign({ iat: NOW + 0.25 }), reason: 'token_invalid', says: /iat claim/ },
    { name: 'ATTACKS 7: nbf as a string', token: () => github.sign({ nbf: '0' }), reason: 'token_invalid', says: /nbf claim/ },
    { name: 'ATTACKS 7: jti that is a number', token: () => github.sign({ jti: 42 }), reason: 'token_invalid', says: /jti/ },
    { name: 'ATTACKS 7: exp 61 s ago', token: () => github.sign({ exp: NOW - 61, iat: NOW - 400 }), reason: 'token_expired', says: /expired 61 s ago/ },
    { name: 'ATTACKS 7: exp 60 s ago (the leeway ends)', token: () => github.sign({ exp: NOW - 60, iat: NOW - 400 }), reason: 'token_expired' },
    { name: 'ATTACKS 7: exp far in the past', token: () => github.sign({ exp: 1_000_000, iat: 999_000 }), reason: 'token_expired' },
    { name: 'ATTACKS 7: nbf 61 s ahead', token: () => github.sign({ nbf: NOW + 61 }), reason: 'token_expired', says: /nbf/ },
    { name: 'ATTACKS 7: iat 61 s ahead', token: () => github.sign({ iat: NOW + 61 }), reason: 'token_expired', says: /iat/ },
    // 8. Audience.
    { name: 'ATTACKS 8: aud of AWS STS', token: () => github.sign({ aud: 'sts.amazonaws.com' }), reason: 'audience_mismatch', says: /"sts.amazonaws.com"/ },
    { name: 'ATTACKS 8: aud GitHub default (owner URL)', token: () => github.sign({ aud: 'https://github.com/acme' }), reason: 'audience_mismatch' },
    { name: 'ATTACKS 8: aud list with ours first', token: () => github.sign({ aud: [AUDIENCE, 'sts.amazonaws.com'] }), reason: 'audience_mismatch' },
    { name: 'ATTACKS 8: aud list with ours last', token: () => github.sign({ aud: ['sts.amazonaws.com', AUDIENCE] }), reason: 'audience_mismatch' },
    { name: 'ATTACKS 8: aud list of ours twice', token: () => github.sign({ aud: [AUDIENCE, AUDIENCE] }), reason: 'audience_mismatch' },
    { name: 'ATTACKS 8: empty aud list', token: () => github.sign({ aud: [] }), reason: 'audience_mismatch' },
    { name: 'ATTACKS 8: aud with a trailing slash', token: () => github.sign({ aud: `${AUDIENCE}/` }), reason: 'audience_mismatch' },
    { name: 'ATTACKS 8: no aud', token: () => github.sign({ aud: undefined }), reason: 'audience_mismatch', says: /missing/ },
    { name: 'ATTACKS 8: aud that is an object', token: () => github.sign({ aud: { value: AUDIENCE } }), reason: 'audience_mismatch' },
    // Order of checks: structure → iss → signature → time → audience.
    {
      name: 'alg none and an untrusted iss: structure first',
      token: () => github.sign({ iss: 'https://evil.example' }, { alg: 'none' }),
      reason: 'token_invalid',
    },
    {
      name: 'untrusted iss and a bad signature: iss first',
      token: () => github.sign({ iss: 'https://evil.example' }, { key: 'attacker' }),
      reason: 'issuer_untrusted',
    },
    {
      name: 'expired and a bad signature: signature first',
      token: () => github.sign({ exp: NOW - 600, iat: NOW - 900 }, { key: 'attacker' }),
      reason: 'token_invalid',
    },
    {
      name: 'expired and a foreign aud: time first',
      token: () => github.sign({ exp: NOW - 600, iat: NOW - 900, aud: 'sts.amazonaws.com' }),
      reason: 'token_expired',
    },
  ];

  for (const testCase of cases) {
    it(`${testCase.name} → ${testCase.reason}`, async () => {
      const token = await testCase.token();
      const jwks = github.jwksRequests + other.jwksRequests;
      await assert.rejects(verifier.verify(token), (error: unknown) => {
        assert.ok(error instanceof LatchkeyError, `not a LatchkeyError: ${String(error)}`);
        assert.equal(error.reason, testCase.reason, error.message);
        if (testCase.says !== undefined) assert.match(error.message, testCase.says);
        if (token.length > 20) assert.ok(!error.message.includes(token.slice(0, 20)), 'the description quotes the token');
        return true;
      });
      // Only an unknown but well-formed kid may cause (at most) one refetch.
      assert.ok(github.jwksRequests + other.jwksRequests - jwks <= 1);
    });
  }

  it('ATTACKS 3: makes no request to jku/x5u/kid URLs', () => {
    // Runs after the table (node:test runs tests in order).
    assert.equal(bystander.requests(), 0);
  });

  it('ATTACKS 2: rejects malformed kids without any lookup', async () => {
    const before = github.jwksRequests;
    for (const kid of ['../x', 'a b', 'k"', 'k'.repeat(300), '%2e%2e']) {
      await assert.rejects(verifier.verify(await github.sign({}, { kid })), { reason: 'token_invalid' });
    }
    assert.equal(github.jwksRequests, before);
  });

  it('ATTACKS 5: fetches nothing for an untrusted iss', async () => {
    const before = [github.discoveryRequests, github.jwksRequests, other.discoveryRequests, other.jwksRequests];
    for (const iss of [`${github.url}/`, github.url.replace('http:', 'https:'), 'https://evil.example', `${other.url}/.well-known`]) {
      await assert.rejects(verifier.verify(await github.sign({ iss }, { kid: 'fresh-kid-would-trigger-a-fetch' })), { reason: 'issuer_untrusted' });
    }
    assert.deepEqual([github.discoveryRequests, github.jwksRequests, other.discoveryRequests, other.jwksRequests], before);
  });

  const accepted: { name: string; token: () => Promise<string> }[] = [
    { name: 'exp 59 s ago (inside the leeway)', token: () => github.sign({ exp: NOW - 59, iat: NOW - 400 }) },
    { name: 'nbf 60 s ahead', token: () => github.sign({ nbf: NOW + 60 }) },
    { name: 'iat 60 s ahead', token: () => github.sign({ iat: NOW + 60 }) },
    { name: 'no nbf', token: () => github.sign({ nbf: undefined }) },
    { name: 'aud as a one-element list', token: () => github.sign({ aud: [AUDIENCE] }) },
    { name: 'typ absent', token: () => github.sign({}, { header: { typ: undefined } }) },
    { name: 'generic issuer token', token: () => other.sign() },
  ];
  for (const testCase of accepted) {
    it(`accepts: ${testCase.name}`, async () => {
      const verified = await verifier.verify(await testCase.token());
      assert.ok(verified.expiresAt > 0);
    });
  }

  it('returns the issuer name and kind, frozen claims, jti, expiry and the token digest', async () => {
    const token = await github.sign({ jti: 'jti-1', exp: NOW + 123 });
    const verified = await verifier.verify(token);
    assert.equal(verified.issuer, 'github');
    assert.equal(verified.issuerKind, 'github');
    assert.equal(verified.jti, 'jti-1');
    assert.equal(verified.expiresAt, NOW + 123);
    assert.equal(verified.tokenSha256, createHash('sha256').update(token).digest('hex'));
    assert.equal(verified.claims.repository_id, '892341');
    assert.ok(Object.isFrozen(verified.claims));
    const generic = await verifier.verify(await other.sign());
    assert.deepEqual([generic.issuer, generic.issuerKind, generic.claims.repository], ['other', 'generic', 'acme/other']);
  });

  it('uses sha256:<digest of header.payload> as the jti when the token has none', async () => {
    const token = await github.sign({ jti: undefined });
    const verified = await verifier.verify(token);
    const signed = token.slice(0, token.lastIndexOf('.'));
    assert.equal(verified.jti, `sha256:${createHash('sha256').update(signed).digest('hex')}`);
  });

  async function encryptedToken(): Promise<string> {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const claims = new TextEncoder().encode(JSON.stringify(github.claims()));
    return new CompactEncrypt(claims).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: github.kid }).encrypt(publicKey);
  }
});

describe('token verification options', () => {
  it('honours a configured algorithm allow-list', async () => {
    const issuer = await startTestIssuer({ audience: AUDIENCE });
    const verifier = createTokenVerifier({
      issuers: { ci: IssuerConfig.parse({ url: issuer.url, kind: 'generic', algorithms: ['RS256', 'PS256'] }) },
      audience: AUDIENCE,
    });
    try {
      assert.equal((await verifier.verify(await issuer.sign())).issuer, 'ci');
      await assert.rejects(verifier.verify(await issuer.sign({}, { alg: 'ES256' })), { reason: 'token_invalid', message: /"ES256" is not allowed/ });
      // The published key says alg RS256, so PS256 may not use it even though the issuer allows PS256.
      await assert.rejects(verifier.verify(await issuer.sign({}, { alg: 'PS256' })), { reason: 'token_invalid', message: /not for PS256/ });
    } finally {
      verifier.close();
      await issuer.close();
    }
  });

  it('uses a key without alg for every allowed algorithm of its type', async () => {
    const issuer = await startTestIssuer({ audience: AUDIENCE });
    const keys = issuer.keySet().keys.map(({ alg: _alg, ...rest }) => rest);
    const verifier = createTokenVerifier({
      issuers: { ci: IssuerConfig.parse({ url: issuer.url, kind: 'generic', algorithms: ['PS256'] }) },
      staticKeys: { ci: { keys } },
      audience: AUDIENCE,
    });
    try {
      assert.equal((await verifier.verify(await issuer.sign({}, { alg: 'PS256' }))).issuer, 'ci');
      await assert.rejects(verifier.verify(await issuer.sign()), { reason: 'token_invalid', message: /"RS256" is not allowed/ });
    } finally {
      verifier.close();
      await issuer.close();
    }
  });

  it('honours maxTokenBytes', async () => {
    const issuer = await startTestIssuer({ audience: AUDIENCE });
    const verifier = createTokenVerifier({ issuers: { github: IssuerConfig.parse({ url: issuer.url }) }, audience: AUDIENCE, maxTokenBytes: 1024 });
    try {
      await assert.rejects(verifier.verify(await issuer.sign({ padding: 'x'.repeat(1024) })), { reason: 'malformed' });
    } finally {
      verifier.close();
      await issuer.close();
    }
  });

  it('verifies with static keys and never fetches them', async () => {
    const issuer = await startTestIssuer({ audience: AUDIENCE });
    issuer.mode = 'down';
    const verifier = createTokenVerifier({
      issuers: { dev: IssuerConfig.parse({ url: issuer.url }) },
      staticKeys: { dev: issuer.keySet() },
      audience: AUDIENCE,
    });
    try {
      assert.equal((await verifier.verify(await issuer.sign())).issuer, 'dev');
      await assert.rejects(verifier.verify(await issuer.sign({}, { kid: 'other-kid' })), { reason: 'token_invalid' });
      await assert.rejects(verifier.verify(await issuer.sign({}, { key: 'attacker' })), { reason: 'token_invalid' });
      assert.deepEqual([issuer.discoveryRequests, issuer.jwksRequests], [0, 0]);
    } finally {
      verifier.close();
      await issuer.close();
    }
  });

  const badSetups: { name: string; options: () => Parameters<typeof createTokenVerifier>[0]; says: RegExp }[] = [
    {
      name: 'two issuers with one url',
      options: () => ({
        issuers: { a: IssuerConfig.parse({ url: 'https://a.example' }), b: IssuerConfig.parse({ url: 'https://a.example' }) },
        audience: AUDIENCE,
      }),
      says: /same url/,
    },
    {
      name: 'static keys for an unknown issuer',
      options: () => ({ issuers: { a: IssuerConfig.parse({ url: 'https://a.example' }) }, staticKeys: { dev: { keys: [] } }, audience: AUDIENCE }),
      says: /unknown issuer "dev"/,
    },
  ];
  for (const setup of badSetups) {
    it(`refuses a bad setup: ${setup.name}`, () => {
      assert.throws(() => createTokenVerifier(setup.options()), setup.says);
    });
  }
});
