/**
 * A failing JWKS endpoint seen from the outside: the real service over HTTP
 * with a loopback issuer whose JWKS is down, slow, garbage or rotating
 * (SPEC §3 "JWKS"; ATTACKS.md 19, 21, 29, 30). Each case asserts what the
 * client gets (status, error, reason, Retry-After, no credential) and what
 * the audit log says. The cache's own rules are tested in
 * test/oidc/jwks.test.ts; these prove the service answers by them.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';
import { startTestService, exchangeParams, BASIC_POLICY, type TestResponse, type TestService } from '../support/service.ts';

/** A service and its own issuer, the issuer configured with `issuerConfig`; the clock is the service's. */
interface Rig {
  svc: TestService;
  issuer: TestIssuer;
  clock: { ms: number };
  exchange(claims?: Record<string, unknown>, sign?: Parameters<TestIssuer['sign']>[1]): Promise<TestResponse>;
  close(): Promise<void>;
}

async function startRig(issuerConfig: Record<string, unknown> = {}, limits: Record<string, unknown> = {}): Promise<Rig> {
  const clock = { ms: Date.now() };
  const issuer = await startTestIssuer({ audience: 'https://latchkey.test', now: () => clock.ms });
  const svc = await startTestService({
    issuer,
    now: () => clock.ms,
    config: { issuers: { github: { url: issuer.url, jwks_timeout: '2s', ...issuerConfig } }, limits },
  }).catch(async (error: unknown) => {
    await issuer.close();
    throw error;
  });
  return {
    svc,
    issuer,
    clock,
    exchange: async (claims = {}, sign = {}) => svc.post('/token', exchangeParams(await issuer.sign(claims, sign), 'webapp/read')),
    close: async () => {
      await svc.close();
      await issuer.close();
    },
  };
}

function assertUpstreamUnavailable(res: TestResponse): void {
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.equal(res.body.error, 'temporarily_unavailable');
  assert.equal(res.body.reason, 'upstream_unavailable');
  assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  assert.equal(res.body.access_token, undefined);
}

/** The audit record (from the service's audit stream) of one response. */
function auditOf(rig: Rig, res: TestResponse): Record<string, unknown> | undefined {
  return rig.svc.audit.map((line) => JSON.parse(line) as Record<string, unknown>).find((record) => record.request_id === res.body.request_id);
}

describe('JWKS faults through the service', () => {
  it('ATTACKS 29: endpoint down with warm keys → exchanges keep working until jwks_stale_max, then 503 upstream_unavailable', async () => {
    const rig = await startRig({ jwks_stale_max: '10m' });
    try {
      assert.equal((await rig.exchange()).status, 200, 'warm');
      rig.issuer.mode = 'down';
      rig.clock.ms += 9 * 60_000;
      const stillWorking = await rig.exchange();
      assert.equal(stillWorking.status, 200, 'warm keys stay trusted while the endpoint is down');
      rig.clock.ms += 2 * 60_000;
      const stale = await rig.exchange();
      assertUpstreamUnavailable(stale);
      assert.deepEqual([auditOf(rig, stale)?.outcome, auditOf(rig, stale)?.reason], ['failed', 'upstream_unavailable']);
      rig.issuer.mode = 'ok';
      rig.clock.ms += 2_000; // past the failure back-off
      assert.equal((await rig.exchange()).status, 200, 'served again once the endpoint is back');
    } finally {
      await rig.close();
    }
  });

  describe('cold (no keys fetched yet)', () => {
    // One service, one issuer per failure mode: each case meets its own cold cache.
    const modes = [
      { name: 'ATTACKS 21: returning garbage', mode: 'garbage' as const },
      { name: 'ATTACKS 21: returning an empty key set', mode: 'empty' as const },
      { name: 'ATTACKS 21: answering 500', mode: 'error500' as const },
      { name: 'ATTACKS 21: redirecting elsewhere', mode: 'redirect' as const },
      { name: 'ATTACKS 29: down', mode: 'down' as const },
    ];
    const clock = { ms: Date.now() };
    let issuers: TestIssuer[] = [];
    let svc: TestService;
    before(async () => {
      issuers = await Promise.all(modes.map(() => startTestIssuer({ audience: 'https://latchkey.test', now: () => clock.ms })));
      svc = await startTestService({
        now: () => clock.ms,
        issuer: issuers[0],
        policies: Object.fromEntries(modes.map(({ mode }) => [`cold/${mode}`, BASIC_POLICY.replace('issuer: github', `issuer: ${mode}`)])),
        config: { issuers: Object.fromEntries(modes.map(({ mode }, i) => [mode, { url: issuers[i]?.url, jwks_timeout: '2s' }])) },
      });
    });
    after(async () => {
      await svc?.close();
      await Promise.all(issuers.map((issuer) => issuer.close()));
    });

    modes.forEach(({ name, mode }, i) => {
      it(`${name} → 503 upstream_unavailable, audited as failed, nothing cached (recovers with the endpoint)`, async () => {
        const issuer = issuers[i] as TestIssuer;
        const exchange = async () => svc.post('/token', exchangeParams(await issuer.sign(), `cold/${mode}`));
        issuer.mode = mode;
        const refused = await exchange();
        assertUpstreamUnavailable(refused);
        const record = svc.audit.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r.request_id === refused.body.request_id);
        assert.deepEqual([record?.outcome, record?.reason], ['failed', 'upstream_unavailable']);
        issuer.mode = 'ok';
        clock.ms += 2_000; // past the failure back-off
        assert.equal((await exchange()).status, 200, 'the bad answer was not cached');
      });
    });
  });

  it('ATTACKS 32: slower than jwks_timeout, cold → 503 upstream_unavailable; the service answers others meanwhile', async () => {
    const rig = await startRig({ jwks_timeout: '1s' });
    try {
      rig.issuer.mode = 'slow';
      rig.issuer.slowMs = 10_000;
      let settled = false;
      const pending = rig.exchange().finally(() => (settled = true));
      for (let i = 0; i < 200 && rig.issuer.jwksRequests === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(rig.issuer.jwksRequests, 1, 'the exchange is waiting on the JWKS');
      const health = await fetch(`${rig.svc.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(settled, false, '/healthz was answered while the exchange still waited');
      assertUpstreamUnavailable(await pending);
    } finally {
      await rig.close();
    }
  });

  it('ATTACKS 30: a rotated-in key is picked up on its first token; a key the issuer dropped is refused', async () => {
    const rig = await startRig();
    try {
      assert.equal((await rig.exchange()).status, 200, 'warm with the first key');
      await rig.issuer.rotate({ drop: true });
      const rotated = await rig.exchange();
      assert.equal(rotated.status, 200, `the new kid is fetched on first use: ${JSON.stringify(rotated.body)}`);
      const dropped = await rig.exchange({}, { key: 'previous' });
      assert.equal(dropped.status, 400);
      assert.equal(dropped.body.reason, 'token_invalid');
    } finally {
      await rig.close();
    }
  });

  it('ATTACKS 19: a flood of tokens with random kids → at most one refetch; honest exchanges still granted', async () => {
    const rig = await startRig({}, { per_client_ip_per_minute: 0 });
    try {
      assert.equal((await rig.exchange()).status, 200, 'warm');
      const fetchedBefore = rig.issuer.jwksRequests;
      const forged = await Promise.all(Array.from({ length: 120 }, () => rig.issuer.sign({}, { kid: randomUUID() })));
      for (let i = 0; i < forged.length; i += 20) {
        const batch = await Promise.all(forged.slice(i, i + 20).map((token) => rig.svc.post('/token', exchangeParams(token, 'webapp/read'))));
        for (const res of batch) assert.equal(res.body.reason, 'token_invalid', JSON.stringify(res.body));
      }
      assert.ok(rig.issuer.jwksRequests - fetchedBefore <= 1, `${rig.issuer.jwksRequests - fetchedBefore} refetches`);
      assert.equal((await rig.exchange()).status, 200, 'an honest token is still granted');
    } finally {
      await rig.close();
    }
  });
});
