/**
 * The loopback issuer every test relies on: its discovery document, claims,
 * key rotation and the Actions runtime token endpoint, checked with jose's own
 * remote JWKS client (an independent verifier).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';

describe('test OIDC issuer', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await startTestIssuer({ audience: 'https://latchkey.test', repository: 'octo/app' });
  });
  after(() => issuer.close());

  it('serves discovery naming itself and its JWKS', async () => {
    const doc = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(doc.issuer, issuer.url);
    assert.equal(doc.jwks_uri, `${issuer.url}/.well-known/jwks`);
    assert.equal(issuer.discoveryRequests, 1);
  });

  it('signs GitHub-shaped RS256 tokens that an independent client verifies', async () => {
    const jwks = createRemoteJWKSet(new URL(`${issuer.url}/.well-known/jwks`));
    const { payload, protectedHeader } = await jwtVerify(await issuer.sign(), jwks, { issuer: issuer.url, audience: 'https://latchkey.test' });
    assert.deepEqual(protectedHeader, { alg: 'RS256', typ: 'JWT', kid: issuer.kid });
    assert.equal(payload.repository, 'octo/app');
    assert.equal(payload.repository_owner, 'octo');
    assert.equal(payload.sub, 'repo:octo/app:ref:refs/heads/main');
    assert.equal(payload.job_workflow_ref, 'octo/app/.github/workflows/deploy.yml@refs/heads/main');
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300);
  });

  it('applies claim overrides, removing claims set to undefined', () => {
    const claims = issuer.claims({ ref: 'refs/tags/v1', jti: undefined, extra: true });
    assert.equal(claims.ref, 'refs/tags/v1');
    assert.equal('jti' in claims, false);
    assert.equal(claims.extra, true);
    assert.notEqual(issuer.claims().jti, issuer.claims().jti);
  });

  it('rotates keys, serving old and new, or only new with drop', async () => {
    const first = issuer.kid;
    await issuer.rotate();
    assert.deepEqual(
      issuer.keySet().keys.map((key) => (key as { kid?: string }).kid),
      [issuer.kid, first],
    );
    assert.equal(decodeProtectedHeader(await issuer.sign({}, { key: 'previous' })).kid, first);
    await issuer.rotate({ drop: true });
    assert.equal(issuer.keySet().keys.length, 1);
  });

  const tokenRequests: { name: string; auth: (t: TestIssuer) => string | undefined; query: string; status: number; aud?: string }[] = [
    {
      name: 'right bearer, explicit audience',
      auth: (t) => `Bearer ${t.runtimeToken}`,
      query: '&audience=https%3A%2F%2Fsvc.example',
      status: 200,
      aud: 'https://svc.example',
    },
    { name: 'right bearer, default audience', auth: (t) => `Bearer ${t.runtimeToken}`, query: '', status: 200, aud: 'https://latchkey.test' },
    { name: 'wrong bearer', auth: () => 'Bearer nope', query: '&audience=x', status: 401 },
    { name: 'no bearer', auth: () => undefined, query: '&audience=x', status: 401 },
  ];
  for (const request of tokenRequests) {
    it(`Actions token endpoint: ${request.name} → ${request.status}`, async () => {
      const auth = request.auth(issuer);
      const res = await fetch(`${issuer.actionsTokenUrl}${request.query}`, auth === undefined ? {} : { headers: { authorization: auth } });
      assert.equal(res.status, request.status);
      const body = (await res.json()) as { value?: string };
      if (request.aud !== undefined) assert.equal(decodeJwt(body.value ?? '').aud, request.aud);
      else assert.equal(body.value, undefined);
    });
  }
});
