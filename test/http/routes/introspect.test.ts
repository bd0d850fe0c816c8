/**
 * POST /introspect (RFC 7662) over real HTTP: the bearer secret, the active
 * answer's members, every way a token is inactive (revoked, expired, forged,
 * unknown), the `last_used_at` it records and the audit record of each call.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createPrivateKey, sign } from 'node:crypto';
import { exportJWK, generateKeyPair, decodeProtectedHeader } from 'jose';
import { startTestService, exchangeParams, type TestService } from '../../support/service.ts';

const BEARER = 'introspection-secret-0123456789';
const auth = { authorization: `Bearer ${BEARER}` };

describe('POST /introspect', () => {
  let svc: TestService;
  /** Added to the service's clock (ms), to let grants expire without waiting. */
  let clockOffset = 0;
  before(async () => {
    svc = await startTestService({ config: { introspection: { bearer: BEARER } }, now: () => Date.now() + clockOffset });
  });
  after(() => svc.close());

  const grant = async (extra: Record<string, string> = {}): Promise<{ accessToken: string; grantId: string }> => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read', extra));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return { accessToken: String(res.body.access_token), grantId: String(res.body.grant_id) };
  };
  const introspect = (token: string, headers: Record<string, string> = auth) => svc.post('/introspect', { token }, { headers });
  const lastUsedAt = (grantId: string): number | null => {
    const db = new DatabaseSync(join(svc.dir, 'data', 'latchkey.db'), { readOnly: true });
    try {
      const row = db.prepare('SELECT last_used_at FROM grants WHERE id = ?').get(grantId);
      return row === undefined || row.last_used_at === null ? null : Number(row.last_used_at);
    } finally {
      db.close();
    }
  };
  const introspectRecord = (requestId: string | null): Record<string, unknown> | undefined =>
    svc.audit.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r.event === 'introspect' && r.request_id === requestId);

  it('answers active with the RFC 7662 members, records the use, audits it', async () => {
    const { accessToken, grantId } = await grant({ scope: 'artifacts:read' });
    assert.equal(lastUsedAt(grantId), null);
    const res = await introspect(accessToken);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = res.body;
    assert.equal(body.active, true);
    assert.equal(body.grant_id, grantId);
    assert.equal(body.scope, 'artifacts:read');
    assert.equal(body.sub, 'repo:acme/webapp:ref:refs/heads/main');
    assert.equal(body.aud, 'https://internal.example');
    assert.equal(body.client_id, 'webapp/read');
    assert.equal(body.iss, 'https://latchkey.test');
    assert.equal(body.token_type, 'Bearer');
    assert.equal(Number(body.exp) - Number(body.iat), 600);
    assert.ok(lastUsedAt(grantId) !== null, 'last_used_at is set');
    const record = introspectRecord(res.headers.get('x-request-id'));
    assert.equal(record?.outcome, 'active');
    assert.equal(record?.reason, null);
    assert.equal(record?.policy, 'webapp/read');
    assert.equal(record?.repository, 'acme/webapp');
    assert.equal((record?.grant as Record<string, unknown> | undefined)?.id, grantId);
    assert.deepEqual((record?.grant as Record<string, unknown> | undefined)?.scope, ['artifacts:read']);
    assert.ok(!JSON.stringify(record).includes(accessToken));
  });

  // Every inactive answer is exactly { active: false } (RFC 7662 §2.2), with the reason only in the audit record.
  const inactive: Array<{ name: string; reason: string; token: () => Promise<string>; after?: () => void }> = [
    {
      name: 'revoked grant',
      reason: 'revoked',
      token: async () => {
        const { accessToken } = await grant();
        assert.equal((await svc.post('/revoke', { token: accessToken })).status, 200);
        return accessToken;
      },
    },
    {
      name: 'expired grant',
      reason: 'token_expired',
      token: async () => {
        const { accessToken } = await grant({ ttl: '60' });
        clockOffset = 120_000;
        return accessToken;
      },
      after: () => {
        clockOffset = 0;
      },
    },
    { name: 'token signed by another key under the service kid', reason: 'token_invalid', token: async () => forge((await grant()).accessToken) },
    { name: 'token with a widened scope under the original signature', reason: 'token_invalid', token: async () => tamper((await grant()).accessToken) },
    { name: 'not a JWT', reason: 'token_invalid', token: async () => 'opaque-token' },
    { name: 'the subject token of a job (another issuer, not at+jwt)', reason: 'token_invalid', token: () => svc.issuer.sign() },
  ];
  for (const c of inactive) {
    it(`${c.name} → { active: false }, audited inactive (${c.reason})`, async () => {
      try {
        const res = await introspect(await c.token());
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body, { active: false });
        const record = introspectRecord(res.headers.get('x-request-id'));
        assert.equal(record?.outcome, 'inactive');
        assert.equal(record?.reason, c.reason);
      } finally {
        c.after?.();
      }
    });
  }

  it('does not record a use of a revoked grant', async () => {
    const { accessToken, grantId } = await grant();
    await svc.post('/revoke', { token: accessToken });
    assert.deepEqual((await introspect(accessToken)).body, { active: false });
    assert.equal(lastUsedAt(grantId), null);
  });

  const unauthorised: Array<{ name: string; headers: Record<string, string>; challenge: RegExp }> = [
    { name: 'no Authorization header', headers: {}, challenge: /^Bearer realm="latchkey"$/ },
    { name: 'a wrong secret', headers: { authorization: 'Bearer not-the-secret' }, challenge: /error="invalid_token"/ },
    { name: 'the secret with one character more', headers: { authorization: `Bearer ${BEARER}x` }, challenge: /error="invalid_token"/ },
    { name: 'a prefix of the secret', headers: { authorization: `Bearer ${BEARER.slice(0, 8)}` }, challenge: /error="invalid_token"/ },
    {
      name: 'the secret as Basic credentials',
      headers: { authorization: `Basic ${Buffer.from(`x:${BEARER}`).toString('base64')}` },
      challenge: /error="invalid_token"/,
    },
    { name: 'an empty bearer', headers: { authorization: 'Bearer ' }, challenge: /error="invalid_token"/ },
  ];
  for (const c of unauthorised) {
    it(`${c.name} → 401 invalid_token, nothing looked up`, async () => {
      const { accessToken, grantId } = await grant();
      const res = await introspect(accessToken, c.headers);
      assert.equal(res.status, 401);
      assert.equal(res.body.error, 'invalid_token');
      assert.equal(res.body.reason, 'unauthorized');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(typeof res.body.request_id, 'string');
      assert.match(res.headers.get('www-authenticate') ?? '', c.challenge);
      assert.equal(res.body.active, undefined);
      assert.equal(lastUsedAt(grantId), null);
    });
  }

  it('missing token parameter → 400 malformed', async () => {
    const res = await svc.post('/introspect', { token_type_hint: 'access_token' }, { headers: auth });
    assert.equal(res.status, 400);
    assert.equal(res.body.reason, 'malformed');
  });
});

describe('POST /introspect without introspection.bearer', () => {
  it('answers 404: the endpoint is off', async () => {
    const svc = await startTestService();
    try {
      const res = await svc.post('/introspect', { token: 'x' }, { headers: { authorization: 'Bearer null' } });
      assert.equal(res.status, 404);
      assert.equal(res.body.error, 'not_found');
      assert.equal(res.body.reason, 'not_found');
    } finally {
      await svc.close();
    }
  });
});

/** Re-signs the token's header and payload with a fresh P-256 key, keeping the service's kid. */
async function forge(jwt: string): Promise<string> {
  const [header, payload] = jwt.split('.');
  assert.equal(decodeProtectedHeader(jwt).alg, 'ES256');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const key = createPrivateKey({ key: (await exportJWK(privateKey)) as import('node:crypto').JsonWebKey, format: 'jwk' });
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' });
  return `${header}.${payload}.${signature.toString('base64url')}`;
}

/** Changes the payload (scope widened) while keeping the original signature. */
function tamper(jwt: string): string {
  const [header, payload, signature] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  claims.scope = 'artifacts:read artifacts:write admin';
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}
