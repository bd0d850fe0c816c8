/**
 * POST /token over real HTTP: every row of SPEC §3's error table that applies
 * to `token` grants, the success shape, and the issued JWT checked against
 * the service's own JWKS.
 */
import { TokenResponse } from '../../../exchange-service/src/grants/token-response.ts';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startTestService, exchangeParams, BASIC_POLICY, type TestService } from '../../support/service.ts';

const JUSTIFIED = BASIC_POLICY.replace('ttl:', 'justification: required\nttl:');

describe('POST /token', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ policies: { 'webapp/read': BASIC_POLICY, 'webapp/justified': JUSTIFIED } });
  });
  after(() => svc.close());

  it('grants a token for a matching subject, verifiable against /.well-known/jwks.json', async () => {
    const token = await svc.issuer.sign();
    const res = await svc.post('/token', exchangeParams(token, 'webapp/read'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const shape = TokenResponse.safeParse(res.body);
    assert.ok(shape.success, `the answer is not the TokenResponse schema: ${shape.success ? '' : JSON.stringify(shape.error.issues)}`);
    assert.equal(res.body.issued_token_type, 'urn:ietf:params:oauth:token-type:jwt');
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.expires_in, 600);
    assert.equal(res.body.policy, 'webapp/read');
    assert.match(String(res.body.expires_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const jwt = String(res.body.access_token);
    assert.equal(decodeProtectedHeader(jwt).typ, 'at+jwt');
    const jwks = createRemoteJWKSet(new URL(`${svc.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(jwt, jwks, { issuer: 'https://latchkey.test', audience: 'https://internal.example', typ: 'at+jwt' });
    assert.equal(payload.client_id, 'webapp/read');
    assert.equal(payload.scope, 'artifacts:read artifacts:write');
    assert.equal(payload.jti, res.body.grant_id);
    assert.equal(payload.sub, 'repo:acme/webapp:ref:refs/heads/main');
    assert.equal(payload.repository, 'acme/webapp');
    assert.equal(payload.repository_id, '892341');
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 600);
  });

  it('accepts JSON bodies with the same names', async () => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'), { json: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  it('narrows scope and ttl on request', async () => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read', { scope: 'artifacts:read', ttl: '60' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.expires_in, 60);
    assert.equal(res.body.scope, 'artifacts:read');
  });

  const cases: Array<{ name: string; status: number; error: string; reason: string; params: () => Promise<Record<string, string>> }> = [
    {
      name: 'missing subject_token',
      status: 400,
      error: 'invalid_request',
      reason: 'malformed',
      params: async () => {
        const p = exchangeParams('x', 'webapp/read');
        delete (p as Partial<typeof p>).subject_token;
        return p;
      },
    },
    {
      name: 'unknown subject_token_type',
      status: 400,
      error: 'invalid_request',
      reason: 'malformed',
      params: async () => exchangeParams(await svc.issuer.sign(), 'webapp/read', { subject_token_type: 'urn:x' }),
    },
    {
      name: 'ATTACKS 18: token over 16 KiB',
      status: 400,
      error: 'invalid_request',
      reason: 'malformed',
      params: async () => exchangeParams('a'.repeat(17 * 1024), 'webapp/read'),
    },
    {
      name: 'other grant type',
      status: 400,
      error: 'unsupported_grant_type',
      reason: 'grant_type',
      params: async () => exchangeParams(await svc.issuer.sign(), 'webapp/read', { grant_type: 'client_credentials' }),
    },
    {
      name: 'unparsable token',
      status: 400,
      error: 'invalid_request',
      reason: 'token_invalid',
      params: async () => exchangeParams('not.a.jwt', 'webapp/read'),
    },
    {
      name: 'token signed by an attacker key',
      status: 400,
      error: 'invalid_request',
      reason: 'token_invalid',
      params: async () => exchangeParams(await svc.issuer.sign({}, { key: 'attacker' }), 'webapp/read'),
    },
    {
      name: 'expired token',
      status: 400,
      error: 'invalid_request',
      reason: 'token_expired',
      params: async () =>
        exchangeParams(await svc.issuer.sign({ exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 900 }), 'webapp/read'),
    },
    {
      name: 'untrusted issuer',
      status: 400,
      error: 'invalid_request',
      reason: 'issuer_untrusted',
      params: async () => exchangeParams(await svc.issuer.sign({ iss: `${svc.issuer.url}/` }), 'webapp/read'),
    },
    {
      name: 'another audience',
      status: 400,
      error: 'invalid_request',
      reason: 'audience_mismatch',
      params: async () => exchangeParams(await svc.issuer.sign({ aud: 'sts.amazonaws.com' }), 'webapp/read'),
    },
    {
      name: 'no such policy',
      status: 400,
      error: 'invalid_target',
      reason: 'policy_unknown',
      params: async () => exchangeParams(await svc.issuer.sign(), 'webapp/nope'),
    },
    {
      name: 'subject does not satisfy the policy',
      status: 400,
      error: 'invalid_request',
      reason: 'policy_denied',
      params: async () => exchangeParams(await svc.issuer.sign({ ref: 'refs/heads/dev' }), 'webapp/read'),
    },
    {
      name: 'ATTACKS 17: ttl beyond the policy max',
      status: 400,
      error: 'invalid_request',
      reason: 'ttl_exceeded',
      params: async () => exchangeParams(await svc.issuer.sign(), 'webapp/read', { ttl: '7200' }),
    },
    {
      name: 'ATTACKS 17: scope beyond the policy',
      status: 400,
      error: 'invalid_scope',
      reason: 'scope_exceeded',
      params: async () => exchangeParams(await svc.issuer.sign(), 'webapp/read', { scope: 'artifacts:read admin' }),
    },
    {
      name: 'ATTACKS 17: requested token type of another kind',
      status: 400,
      error: 'invalid_request',
      reason: 'token_type',
      params: async () => exchangeParams(await svc.issuer.sign(), 'webapp/read', { requested_token_type: 'urn:latchkey:token-type:aws-credentials' }),
    },
    {
      name: 'ATTACKS 17: justification missing',
      status: 400,
      error: 'invalid_request',
      reason: 'justification_required',
      params: async () => exchangeParams(await svc.issuer.sign(), 'webapp/justified'),
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.reason}`, async () => {
      const res = await svc.post('/token', await c.params());
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      assert.equal(res.body.error, c.error);
      assert.equal(res.body.reason, c.reason);
      assert.equal(typeof res.body.error_description, 'string');
      assert.equal(typeof res.body.request_id, 'string');
      assert.equal(res.headers.get('cache-control'), 'no-store');
    });
  }

  it('names the failed condition with the token value, never the policy value', async () => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign({ ref: 'refs/heads/dev' }), 'webapp/read'));
    assert.match(String(res.body.error_description), /refs\/heads\/dev/);
    assert.doesNotMatch(String(res.body.error_description), /refs\/heads\/main/);
  });

  it('grants with a justification and records it', async () => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/justified', { justification: 'CHG-1234' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const record = svc.audit
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((r) => (r.grant as { id?: string } | null)?.id === res.body.grant_id);
    assert.equal(record?.justification, 'CHG-1234');
  });

  it('ATTACKS 9: refuses a replayed token, also when sent concurrently', async () => {
    const token = await svc.issuer.sign();
    const results = await Promise.all(Array.from({ length: 8 }, () => svc.post('/token', exchangeParams(token, 'webapp/read'))));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    for (const r of results.filter((r) => r.status !== 200)) assert.equal(r.body.reason, 'token_replayed');
  });

  // Once exchanged, a token is refused as replayed before anything about a policy (the table's order),
  // whether the replay would otherwise be granted, denied, unknown or over a limit.
  const replays: Array<{ name: string; audience: string; extra?: Record<string, string> }> = [
    { name: 'the same policy again', audience: 'webapp/read' },
    { name: 'a policy that does not exist', audience: 'webapp/nothing-here' },
    { name: 'a policy whose conditions it fails', audience: 'webapp/justified', extra: { ttl: '99999' } },
    { name: 'a request over the policy’s limits', audience: 'webapp/read', extra: { scope: 'admin' } },
  ];
  for (const replay of replays) {
    it(`ATTACKS 9: refuses a replayed token as token_replayed when sent to ${replay.name}`, async () => {
      const token = await svc.issuer.sign();
      const first = await svc.post('/token', exchangeParams(token, 'webapp/read'));
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const again = await svc.post('/token', exchangeParams(token, replay.audience, replay.extra));
      assert.equal(again.status, 400);
      assert.equal(again.body.reason, 'token_replayed', JSON.stringify(again.body));
    });
  }

  it('refuses a repeated form parameter', async () => {
    const token = await svc.issuer.sign();
    const body = `${new URLSearchParams(exchangeParams(token, 'webapp/read')).toString()}&audience=webapp%2Fother`;
    const res = await fetch(`${svc.url}/token`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { reason: string }).reason, 'malformed');
  });

  it('refuses a repeated JSON parameter', async () => {
    const token = await svc.issuer.sign();
    const body = `${JSON.stringify(exchangeParams(token, 'webapp/read')).slice(0, -1)},"audience":"other"}`;
    const res = await fetch(`${svc.url}/token`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(((await res.json()) as { reason: string }).reason, 'malformed');
  });

  it('ATTACKS 18: refuses a body over 64 KiB, declared or chunked or with a lying Content-Length', async () => {
    const big = 'x'.repeat(70 * 1024);
    const declared = await fetch(`${svc.url}/token`, { method: 'POST', body: `a=${big}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { reason: string }).reason, 'malformed');
    const chunked = await rawRequest(
      svc.url,
      `POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${(70 * 1024).toString(16)}\r\n${big}\r\n0\r\n\r\n`,
    );
    assert.match(chunked, /^HTTP\/1\.1 413/);
    assert.match(chunked, /"reason":"malformed"/);
    const lying = await rawRequest(
      svc.url,
      `POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\nConnection: close\r\n\r\n${big}`,
    );
    // Node reads exactly Content-Length bytes as the body; the rest is a malformed next request.
    assert.match(lying, /^HTTP\/1\.1 400/);
  });

  it('answers JSON 404 for unknown routes', async () => {
    const res = await fetch(`${svc.url}/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  it('serves RFC 8414 metadata', async () => {
    const meta = (await (await fetch(`${svc.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    assert.equal(meta.issuer, 'https://latchkey.test');
    assert.equal(meta.token_endpoint, 'https://latchkey.test/token');
    assert.equal(meta.jwks_uri, 'https://latchkey.test/.well-known/jwks.json');
    assert.deepEqual(meta.grant_types_supported, ['urn:ietf:params:oauth:grant-type:token-exchange']);
  });

  it('ATTACKS 25: never writes a token or an issued credential to a log or audit line', async () => {
    const token = await svc.issuer.sign();
    const res = await svc.post('/token', exchangeParams(token, 'webapp/read'));
    assert.equal(res.status, 200);
    const all = [...svc.logs, ...svc.audit].join('\n');
    assert.ok(svc.logs.length > 0 && svc.audit.length > 0);
    assert.doesNotMatch(all, /eyJ[A-Za-z0-9_-]{10,}/);
    assert.ok(!all.includes(String(res.body.access_token)));
  });
});

describe('POST /token upstream and limits', () => {
  it('ATTACKS 29: answers 503 upstream_unavailable when the JWKS is down and no keys are warm', async () => {
    const svc = await startTestService();
    try {
      svc.issuer.mode = 'down';
      const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
      assert.equal(res.status, 503);
      assert.equal(res.body.error, 'temporarily_unavailable');
      assert.equal(res.body.reason, 'upstream_unavailable');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    } finally {
      await svc.close();
    }
  });

  it('ATTACKS 22: rate-limits per repository with Retry-After, leaving other repositories alone', async () => {
    const svc = await startTestService({ config: { limits: { per_repository_per_minute: 2 } } });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'))).status, 200);
      const limited = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error, 'slow_down');
      assert.equal(limited.body.reason, 'rate_limited');
      assert.ok(Number(limited.headers.get('retry-after')) >= 1);
      const other = await svc.post('/token', exchangeParams(await svc.issuer.sign({ repository: 'acme/other', repository_id: '1' }), 'webapp/read'));
      assert.equal(other.body.reason, 'policy_denied', 'another repository is not rate limited');
    } finally {
      await svc.close();
    }
  });

  it('ATTACKS 22: counts failed verifications against the client IP, not a repository', async () => {
    const svc = await startTestService({ config: { limits: { per_client_ip_per_minute: 3 } } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await svc.post('/token', exchangeParams('bad.token.x', 'webapp/read'))).body.reason, 'token_invalid');
      const limited = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
      assert.equal(limited.status, 429);
      assert.equal(limited.body.reason, 'rate_limited');
    } finally {
      await svc.close();
    }
  });
});

/** Sends raw bytes over a socket and returns the whole response text. */
function rawRequest(base: string, payload: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('close', () => resolve(data));
    socket.on('error', (error) => (data ? resolve(data) : reject(error)));
    socket.write(payload);
  });
}

describe('POST /token across issuers (ATTACKS.md 16)', () => {
  it("ATTACKS 16: answers policy_unknown when a policy of one issuer is asked for with the other issuer's token", async () => {
    const { startTestIssuer } = await import('../../support/oidc-issuer.ts');
    const github = await startTestIssuer({ audience: 'https://latchkey.test' });
    const ghes = await startTestIssuer({ audience: 'https://latchkey.test' });
    const ghesPolicy = BASIC_POLICY.replace('issuer: github', 'issuer: ghes');
    const both = await startTestService({
      policies: { 'webapp/read': BASIC_POLICY, 'webapp/ghes': ghesPolicy },
      config: { issuers: { github: { url: github.url }, ghes: { url: ghes.url } } },
      issuer: github,
    });
    try {
      const cross1 = await both.post('/token', exchangeParams(await github.sign(), 'webapp/ghes'));
      assert.equal(cross1.body.reason, 'policy_unknown');
      const cross2 = await both.post('/token', exchangeParams(await ghes.sign(), 'webapp/read'));
      assert.equal(cross2.body.reason, 'policy_unknown');
      const own = await both.post('/token', exchangeParams(await ghes.sign(), 'webapp/ghes'));
      assert.equal(own.status, 200, JSON.stringify(own.body));
    } finally {
      await both.close();
      await github.close();
      await ghes.close();
    }
  });
});

describe('POST /token service settings', () => {
  it('refuses owners outside trust.owners before any policy work, case-insensitively inside it', async () => {
    const svc = await startTestService({ config: { trust: { owners: ['ACME'] } } });
    try {
      const stranger = await svc.post('/token', exchangeParams(await svc.issuer.sign({ repository_owner: 'evil', repository: 'evil/webapp' }), 'webapp/nope'));
      assert.equal(stranger.body.reason, 'policy_denied', 'refused before the policy lookup (not policy_unknown)');
      assert.match(String(stranger.body.error_description), /owner "?evil"? is not trusted/);
      const member = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
      assert.equal(member.status, 200, JSON.stringify(member.body));
    } finally {
      await svc.close();
    }
  });

  const modes: Array<{ mode: 'full' | 'none'; shows: RegExp; hides?: RegExp }> = [
    { mode: 'full', shows: /refs\/heads\/dev.*expected "refs\/heads\/main"/ },
    { mode: 'none', shows: /does not satisfy the policy/, hides: /refs\/heads/ },
  ];
  for (const c of modes) {
    it(`explain_denials: ${c.mode}`, async () => {
      const svc = await startTestService({ config: { explain_denials: c.mode } });
      try {
        const res = await svc.post('/token', exchangeParams(await svc.issuer.sign({ ref: 'refs/heads/dev' }), 'webapp/read'));
        assert.equal(res.body.reason, 'policy_denied');
        assert.match(String(res.body.error_description), c.shows);
        if (c.hides) assert.doesNotMatch(String(res.body.error_description), c.hides);
      } finally {
        await svc.close();
      }
    });
  }
});
