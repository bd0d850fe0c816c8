/**
 * POST /revoke over real HTTP against the real service (SQLite store,
 * loopback issuer): both RFC 7009 forms, the same-run check of the grant-id
 * form, the 400s, and the audit record every decision leaves. "Revoked" is
 * proven by the grant row and by introspection answering inactive.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { startTestService, exchangeParams, type TestService } from '../../support/service.ts';

const BEARER = 'introspection-secret-for-revoke-tests';

describe('POST /revoke', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ config: { introspection: { bearer: BEARER } } });
  });
  after(() => svc.close());

  /** A fresh token grant for the issuer's default run. */
  const grant = async (): Promise<{ accessToken: string; grantId: string }> => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return { accessToken: String(res.body.access_token), grantId: String(res.body.grant_id) };
  };
  const active = async (accessToken: string): Promise<boolean> => {
    const res = await svc.post('/introspect', { token: accessToken }, { headers: { authorization: `Bearer ${BEARER}` } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.active === true;
  };
  const revokedAt = (grantId: string): number | null => {
    const db = new DatabaseSync(join(svc.dir, 'data', 'latchkey.db'), { readOnly: true });
    try {
      const row = db.prepare('SELECT revoked_at FROM grants WHERE id = ?').get(grantId);
      return row?.revoked_at === null || row === undefined ? null : Number(row.revoked_at);
    } finally {
      db.close();
    }
  };
  /** The revoke records written by the request with this id. */
  const revokeRecord = (requestId: string | null): Record<string, unknown> | undefined =>
    svc.audit.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r.event === 'revoke' && r.request_id === requestId);

  it('revokes by access token: 200 {}, the grant row revoked, introspection inactive, audited', async () => {
    const { accessToken, grantId } = await grant();
    assert.equal(await active(accessToken), true);
    const res = await svc.post('/revoke', { token: accessToken });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.notEqual(revokedAt(grantId), null);
    assert.equal(await active(accessToken), false);
    const record = revokeRecord(res.headers.get('x-request-id'));
    assert.equal(record?.outcome, 'revoked');
    assert.equal(record?.reason, null);
    assert.equal(record?.policy, 'webapp/read');
    const auditGrant = record?.grant as Record<string, unknown>;
    assert.equal(auditGrant.id, grantId);
    assert.equal(auditGrant.kind, 'token');
    assert.equal(auditGrant.target, 'https://internal.example');
    assert.equal(record?.repository, 'acme/webapp', 'identity from the revoked token');
    assert.equal(record?.subject, 'repo:acme/webapp:ref:refs/heads/main');
    assert.ok(!JSON.stringify(record).includes(accessToken), 'the audit record holds no credential');
  });

  it('accepts a JSON body, and a second revoke is still 200 and audited as already revoked', async () => {
    const { accessToken } = await grant();
    const first = await svc.post('/revoke', { token: accessToken, token_type_hint: 'access_token' }, { json: true });
    assert.equal(first.status, 200);
    const second = await svc.post('/revoke', { token: accessToken });
    assert.equal(second.status, 200);
    assert.equal(revokeRecord(second.headers.get('x-request-id'))?.reason, 'already_revoked');
  });

  it('answers 200 for a token it never issued, and audits the attempt', async () => {
    const res = await svc.post('/revoke', { token: 'never-issued' });
    assert.equal(res.status, 200);
    const record = revokeRecord(res.headers.get('x-request-id'));
    assert.equal(record?.outcome, 'denied');
    assert.equal(record?.reason, 'grant_unknown');
  });

  it('a JWT that names a real grant in its jti but is not the token issued revokes nothing (grant_unknown)', async () => {
    const { accessToken, grantId } = await grant();
    const [header, payload] = accessToken.split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(64, 7).toString('base64url')}`; // same claims, another signature
    const res = await svc.post('/revoke', { token: forged });
    assert.equal(res.status, 200);
    assert.equal(revokeRecord(res.headers.get('x-request-id'))?.reason, 'grant_unknown');
    assert.equal(revokedAt(grantId), null, 'the grant it names stays active');
    assert.equal(await active(accessToken), true);
  });

  // Form 2: grant id plus a fresh OIDC token. Each case signs a token with these claim overrides.
  const runCases: Array<{ name: string; claims: Record<string, unknown>; revoked: boolean; outcome: string; reason: string | null }> = [
    { name: 'same run, fresh token', claims: {}, revoked: true, outcome: 'revoked', reason: null },
    {
      name: 'same run, another job of it (other sha and workflow)',
      claims: { sha: 'f'.repeat(40), job_workflow_ref: 'acme/webapp/.github/workflows/other.yml@refs/heads/main' },
      revoked: true,
      outcome: 'revoked',
      reason: null,
    },
    { name: 'another run of the repository', claims: { run_id: '999' }, revoked: false, outcome: 'denied', reason: 'run_mismatch' },
    { name: 'a re-run (another attempt) of the run', claims: { run_attempt: '2' }, revoked: false, outcome: 'denied', reason: 'run_mismatch' },
    {
      name: 'another repository with the same run id',
      claims: { repository: 'acme/other', repository_id: '7' },
      revoked: false,
      outcome: 'denied',
      reason: 'run_mismatch',
    },
    { name: 'a token without run claims', claims: { run_id: undefined, run_attempt: undefined }, revoked: false, outcome: 'denied', reason: 'run_mismatch' },
  ];
  for (const c of runCases) {
    it(`grant-id form: ${c.name} → 200, ${c.revoked ? 'revoked' : `not revoked (${c.reason})`}`, async () => {
      const { accessToken, grantId } = await grant();
      const res = await svc.post('/revoke', { token: grantId, token_type_hint: 'grant_id', subject_token: await svc.issuer.sign(c.claims) });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, {});
      assert.equal(revokedAt(grantId) !== null, c.revoked);
      assert.equal(await active(accessToken), !c.revoked);
      const record = revokeRecord(res.headers.get('x-request-id'));
      assert.equal(record?.outcome, c.outcome);
      assert.equal(record?.reason, c.reason);
      assert.equal((record?.grant as { id?: string } | null)?.id, grantId);
      assert.equal(record?.issuer, 'github');
      assert.equal(record?.run_id, c.claims.run_id === undefined && 'run_id' in c.claims ? null : (c.claims.run_id ?? '1234567890'));
    });
  }

  it('grant-id form: an unknown grant id → 200, audited as grant_unknown', async () => {
    const res = await svc.post('/revoke', {
      token: '00000000-0000-4000-8000-000000000000',
      token_type_hint: 'grant_id',
      subject_token: await svc.issuer.sign(),
    });
    assert.equal(res.status, 200);
    assert.equal(revokeRecord(res.headers.get('x-request-id'))?.reason, 'grant_unknown');
  });

  // A subject token that does not verify: 400 with the verifier's reason, nothing revoked, a denial audited.
  const badTokens: Array<{ name: string; reason: string; token: () => Promise<string> }> = [
    { name: 'signed by an attacker key', reason: 'token_invalid', token: () => svc.issuer.sign({}, { key: 'attacker' }) },
    { name: 'not a JWT', reason: 'token_invalid', token: async () => 'not.a.jwt' },
    {
      name: 'expired',
      reason: 'token_expired',
      token: () => svc.issuer.sign({ exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 900 }),
    },
    { name: 'for another audience', reason: 'audience_mismatch', token: () => svc.issuer.sign({ aud: 'sts.amazonaws.com' }) },
    { name: 'from an untrusted issuer', reason: 'issuer_untrusted', token: () => svc.issuer.sign({ iss: 'https://evil.example' }) },
  ];
  for (const c of badTokens) {
    it(`grant-id form: subject token ${c.name} → 400 ${c.reason}, not revoked`, async () => {
      const { grantId } = await grant();
      const res = await svc.post('/revoke', { token: grantId, token_type_hint: 'grant_id', subject_token: await c.token() });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.error, 'invalid_request');
      assert.equal(res.body.reason, c.reason);
      assert.equal(revokedAt(grantId), null);
      const record = revokeRecord(String(res.body.request_id));
      assert.equal(record?.outcome, 'denied');
      assert.equal(record?.reason, c.reason);
    });
  }

  const malformed: Array<{ name: string; send: () => Promise<Response> }> = [
    {
      name: 'no token',
      send: () =>
        fetch(`${svc.url}/revoke`, { method: 'POST', body: 'token_type_hint=access_token', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    },
    {
      name: 'grant_id hint without subject_token',
      send: () =>
        fetch(`${svc.url}/revoke`, {
          method: 'POST',
          body: 'token=abc&token_type_hint=grant_id',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
    },
    {
      name: 'a repeated parameter',
      send: () => fetch(`${svc.url}/revoke`, { method: 'POST', body: 'token=a&token=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    },
    { name: 'text/plain body', send: () => fetch(`${svc.url}/revoke`, { method: 'POST', body: 'token=abc', headers: { 'content-type': 'text/plain' } }) },
  ];
  for (const c of malformed) {
    it(`${c.name} → 400 malformed`, async () => {
      const res = await c.send();
      assert.equal(res.status, 400);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.error, 'invalid_request');
      assert.equal(body.reason, 'malformed');
    });
  }

  it('RFC 8414 metadata names the revocation endpoint', async () => {
    const meta = (await (await fetch(`${svc.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    assert.equal(meta.revocation_endpoint, 'https://latchkey.test/revoke');
  });
});
