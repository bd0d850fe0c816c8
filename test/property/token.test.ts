/**
 * Property tests of subject-token parsing and verification (SPEC §3;
 * ATTACKS.md 1–8): random bytes, random three-segment tokens with random
 * headers and claims, and mutations of valid tokens never grant and never
 * crash. The verifier always rejects with a LatchkeyError whose reason is one
 * of SPEC §3's, with the table's status, and never quotes the token; over
 * HTTP, `POST /token` answers every random body with RFC 6749 JSON, a SPEC
 * reason and its status, never 200 and never 500.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IssuerConfig } from '../../exchange-service/src/config.ts';
import { LatchkeyError, type Reason } from '../../exchange-service/src/errors.ts';
import { REASON_ANSWERS } from '../../exchange-service/src/http/reasons.ts';
import { createTokenVerifier, type TokenVerifier } from '../../exchange-service/src/oidc/verify.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';
import { startTestService, exchangeParams, type TestService } from '../support/service.ts';

const AUDIENCE = 'http://127.0.0.1:8080';
const NOW_MS = Date.UTC(2026, 10, 23, 10, 0, 0);
const NOW = NOW_MS / 1000;

/** What verification may answer for a token that is not a valid one of ours (no JWKS failure is staged here). */
const VERIFY_REASONS = new Set<Reason>(['malformed', 'token_invalid', 'token_expired', 'issuer_untrusted', 'audience_mismatch']);

const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Random text a client could send as a token. */
const randomTokens = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom(...BASE64URL, '.', '=', '+', '/', ' ', '\n'), maxLength: 400 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.array(fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 80 }), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
  fc.integer({ min: 16 * 1024 - 2, max: 17 * 1024 }).map((length) => 'e'.repeat(length)),
);

/** Header members an attacker might try, each optional. */
const headers = (kid: string) =>
  fc.record(
    {
      alg: fc.constantFrom<unknown>('RS256', 'none', 'None', 'HS256', 'ES256', 'PS256', 'rs256', '', 7, null),
      kid: fc.constantFrom<unknown>(kid, 'other', '../x', '', 1, null),
      typ: fc.constantFrom<unknown>('JWT', 'at+jwt', 1),
      crit: fc.constantFrom<unknown>(['exp'], [], 'b64'),
      b64: fc.boolean(),
      jku: fc.constant('http://127.0.0.1:1/keys'),
      jwk: fc.constant({ kty: 'oct', k: 'AAAA' }),
      cty: fc.constantFrom<unknown>('JWT', 'json'),
      enc: fc.constant('A256GCM'),
    },
    { requiredKeys: [] },
  );

/** Claims of the right shape with random members overridden by wrong ones. */
const claimOverrides = (issuerUrl: string) =>
  fc.record(
    {
      iss: fc.constantFrom<unknown>(issuerUrl, `${issuerUrl}/`, 'https://evil.example', [issuerUrl], null),
      aud: fc.constantFrom<unknown>(AUDIENCE, [AUDIENCE, 'x'], 'sts.amazonaws.com', [], null),
      exp: fc.constantFrom<unknown>(NOW + 300, NOW - 3600, String(NOW + 300), NOW + 0.5, 2 ** 53, null),
      iat: fc.constantFrom<unknown>(NOW, NOW + 3600, 'now', -1),
      nbf: fc.constantFrom<unknown>(NOW, NOW + 3600, '0'),
      jti: fc.constantFrom<unknown>('a', 42, ''),
      sub: fc.constantFrom<unknown>('repo:acme/webapp', { nested: true }),
    },
    { requiredKeys: [] },
  );

type Mutation =
  | { op: 'replace' | 'insert'; at: number; char: string }
  | { op: 'delete'; at: number }
  | { op: 'segments'; order: number[] }
  | { op: 'truncate'; at: number };

const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constantFrom('replace' as const, 'insert' as const),
    at: fc.nat(),
    char: fc.constantFrom(...BASE64URL, '.', '=', '+', '/', '%', ' ', '\u00e9', '\u{1F680}'),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('segments' as const), order: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

/** Applies one mutation to a token. */
function mutate(token: string, mutation: Mutation): string {
  const at = 'at' in mutation ? mutation.at % (token.length + 1) : 0;
  switch (mutation.op) {
    case 'replace':
      return token.slice(0, at) + mutation.char + token.slice(at + 1);
    case 'insert':
      return token.slice(0, at) + mutation.char + token.slice(at);
    case 'delete':
      return token.slice(0, at) + token.slice(at + 1);
    case 'truncate':
      return token.slice(0, at);
    case 'segments': {
      const parts = token.split('.');
      return mutation.order.map((index) => parts[index] ?? '').join('.');
    }
  }
}

/** Verification must reject with a SPEC reason, the table's status, and a description that does not quote the token. */
async function assertRefused(verifier: TokenVerifier, token: string): Promise<void> {
  let outcome: unknown;
  try {
    await verifier.verify(token);
    outcome = 'verified';
  } catch (error) {
    outcome = error;
  }
  assert.ok(outcome instanceof LatchkeyError, `not a LatchkeyError: ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : String(outcome)}`);
  assert.ok(VERIFY_REASONS.has(outcome.reason), `reason ${outcome.reason}`);
  if (token.length >= 24) assert.ok(!outcome.message.includes(token.slice(0, 24)), 'the description quotes the token');
}

describe('token verification properties', () => {
  let issuer: TestIssuer;
  let verifier: TokenVerifier;
  let valid: string[];
  before(async () => {
    issuer = await startTestIssuer({ audience: AUDIENCE, now: () => NOW_MS });
    verifier = createTokenVerifier({ issuers: { github: IssuerConfig.parse({ url: issuer.url }) }, audience: AUDIENCE, now: () => NOW_MS });
    valid = await Promise.all([issuer.sign(), issuer.sign({ ref: 'refs/heads/dev' }), issuer.sign({ jti: undefined }), issuer.sign({ aud: [AUDIENCE] })]);
    for (const token of valid) await verifier.verify(token); // warms the keys; each of these is accepted as it is
  });
  after(async () => {
    verifier.close();
    await issuer.close();
  });

  it('ATTACKS 4: random text and bytes never verify and never throw anything but a LatchkeyError with a SPEC reason', async () => {
    await fc.assert(
      fc.asyncProperty(randomTokens, (token) => assertRefused(verifier, token)),
      { numRuns: 400 },
    );
  });

  it('ATTACKS 1: random headers and claims with a signature that is not ours never verify', async () => {
    const tokens = fc
      .tuple(headers(issuer.kid), claimOverrides(issuer.url), fc.uint8Array({ minLength: 0, maxLength: 300 }))
      .map(([header, overrides, signature]) => `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(issuer.claims(overrides)))}.${b64url(signature)}`);
    await fc.assert(
      fc.asyncProperty(tokens, (token) => assertRefused(verifier, token)),
      { numRuns: 300 },
    );
  });

  it('ATTACKS 4: any mutation of a valid token never verifies', async () => {
    const cases = fc.record({ which: fc.nat(), steps: fc.array(mutations, { minLength: 1, maxLength: 3 }) });
    await fc.assert(
      fc.asyncProperty(cases, async ({ which, steps }) => {
        const original = valid[which % valid.length] as string;
        const token = steps.reduce(mutate, original);
        fc.pre(token !== original);
        await assertRefused(verifier, token);
      }),
      { numRuns: 400 },
    );
  });

  it('ATTACKS 1: a valid token with one claim re-encoded after signing never verifies', async () => {
    const cases = fc.record({ which: fc.nat(), overrides: claimOverrides(issuer.url) });
    await fc.assert(
      fc.asyncProperty(cases, async ({ which, overrides }) => {
        const [header, payload, signature] = (valid[which % valid.length] as string).split('.');
        const claims = { ...(JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>), ...overrides };
        const forged = `${header}.${b64url(JSON.stringify(claims))}.${signature}`;
        fc.pre(forged !== valid[which % valid.length]);
        await assertRefused(verifier, forged);
      }),
      { numRuns: 200 },
    );
  });
});

describe('POST /token with random bodies', () => {
  let svc: TestService;
  let token: string;
  before(async () => {
    svc = await startTestService({ config: { limits: { per_client_ip_per_minute: 0, per_repository_per_minute: 0 } } });
    token = await svc.issuer.sign();
  });
  after(() => svc.close());

  const contentTypes = fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'multipart/form-data; boundary=x',
    '',
  );
  const paramValues = (mutated: fc.Arbitrary<string>) =>
    fc.record(
      {
        grant_type: fc.constantFrom('urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials', ''),
        subject_token: fc.oneof(mutated, randomTokens),
        subject_token_type: fc.constantFrom('urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt', 'urn:x'),
        audience: fc.constantFrom('webapp/read', 'webapp/nope', '', '../etc/passwd', 'x'.repeat(600)),
        ttl: fc.constantFrom('60', '0', '-1', '1e3', '99999999', 'abc'),
        scope: fc.string({ maxLength: 30 }),
        requested_token_type: fc.constantFrom('urn:ietf:params:oauth:token-type:jwt', 'urn:x'),
        justification: fc.string({ maxLength: 40 }),
      },
      { requiredKeys: [] },
    );

  it('answers every random body with RFC 6749 JSON, a SPEC reason and its status; never 200, never 500', async () => {
    const mutatedToken = fc.record({ at: fc.nat(), char: fc.constantFrom(...BASE64URL, '.') }).map(({ at, char }) => {
      const index = at % token.length;
      const replaced = token.slice(0, index) + char + token.slice(index + 1);
      return replaced === token ? `${token}x` : replaced;
    });
    const bodies = fc.oneof(
      fc.record({ type: contentTypes, text: fc.string({ unit: 'binary', maxLength: 300 }) }),
      fc.record({ type: contentTypes, text: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null') }),
      fc.record({ type: contentTypes, text: paramValues(mutatedToken).map((params) => new URLSearchParams(params).toString()) }),
      fc.record({ type: contentTypes, text: paramValues(mutatedToken).map((params) => JSON.stringify(params)) }),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async ({ type, text }) => {
        const response = await fetch(`${svc.url}/token`, { method: 'POST', body: text, headers: type === '' ? {} : { 'content-type': type } });
        const body = (await response.json()) as Record<string, unknown>;
        assert.notEqual(response.status, 200, 'a random body was granted');
        assert.ok(Object.hasOwn(REASON_ANSWERS, String(body.reason)), `reason ${String(body.reason)}`);
        const reason = body.reason as Reason;
        assert.notEqual(reason, 'internal', `500 for ${JSON.stringify(text.slice(0, 200))}`);
        assert.equal(body.error, REASON_ANSWERS[reason].error);
        assert.ok(
          response.status === REASON_ANSWERS[reason].status || (reason === 'malformed' && response.status === 413),
          `status ${response.status} for ${reason}`,
        );
        assert.equal(typeof body.error_description, 'string');
        assert.equal(typeof body.request_id, 'string');
        assert.equal(response.headers.get('cache-control'), 'no-store');
      }),
      { numRuns: 120 },
    );
  });

  it('the same service still grants a valid token afterwards', async () => {
    const res = await svc.post('/token', exchangeParams(token, 'webapp/read'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });
});
