/**
 * The running service's lifecycle: replay remembered across a restart,
 * policy reloads that never fail open, readiness and metrics.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestService, exchangeParams, BASIC_POLICY } from './support/service.ts';

describe('service lifecycle', () => {
  it('ATTACKS 9: remembers an exchanged token across a restart', async () => {
    const svc = await startTestService();
    try {
      const token = await svc.issuer.sign();
      assert.equal((await svc.post('/token', exchangeParams(token, 'webapp/read'))).status, 200);
      await svc.restart();
      const again = await svc.post('/token', exchangeParams(token, 'webapp/read'));
      assert.equal(again.status, 400);
      assert.equal(again.body.reason, 'token_replayed');
    } finally {
      await svc.close();
    }
  });

  it('ATTACKS 23: keeps the last good policy set when a reload is invalid, and says so', async () => {
    const svc = await startTestService();
    try {
      await writeFile(join(svc.policiesDir, 'webapp/broken.yaml'), 'version: 1\nsubjet: {}\n');
      assert.equal(await svc.server.reloadPolicies(), false);
      const still = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
      assert.equal(still.status, 200, 'the old set stays in force');
      const ready = await fetch(`${svc.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.match(JSON.stringify(await ready.json()), /policy reload failed/);
      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      assert.match(metrics, /latchkey_policy_reload_failures_total 1/);

      await writeFile(join(svc.policiesDir, 'webapp/broken.yaml'), BASIC_POLICY.replace('refs/heads/main', 'refs/heads/release'));
      assert.equal(await svc.server.reloadPolicies(), true);
      assert.equal((await fetch(`${svc.url}/readyz`)).status, 200);
      const fresh = await svc.post('/token', exchangeParams(await svc.issuer.sign({ ref: 'refs/heads/release' }), 'webapp/broken'));
      assert.equal(fresh.status, 200, 'the new set took effect');
    } finally {
      await svc.close();
    }
  });

  it('reloads on its own when a policy file changes (policies.watch)', async () => {
    const svc = await startTestService({ config: { policies: { watch: true } } });
    try {
      await svc.writePolicy('webapp/added', BASIC_POLICY);
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/added'))).status;
      }
      assert.equal(status, 200, 'the new policy was picked up without a restart');
    } finally {
      await svc.close();
    }
  });

  it('removes a deleted policy on reload', async () => {
    const svc = await startTestService({ policies: { 'webapp/read': BASIC_POLICY, 'webapp/other': BASIC_POLICY } });
    try {
      const { rm } = await import('node:fs/promises');
      await rm(join(svc.policiesDir, 'webapp/other.yaml'));
      assert.equal(await svc.server.reloadPolicies(), true);
      const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/other'));
      assert.equal(res.body.reason, 'policy_unknown');
    } finally {
      await svc.close();
    }
  });

  it('counts exchanges by policy, outcome and reason in /metrics', async () => {
    const svc = await startTestService();
    try {
      await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
      await svc.post('/token', exchangeParams(await svc.issuer.sign({ ref: 'refs/heads/x' }), 'webapp/read'));
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      assert.match(text, /latchkey_exchanges_total\{policy="webapp\/read",outcome="granted",reason=""\} 1/);
      assert.match(text, /latchkey_exchanges_total\{policy="webapp\/read",outcome="denied",reason="policy_denied"\} 1/);
      assert.match(text, /latchkey_exchange_duration_seconds_bucket/);
      assert.match(text, /latchkey_policy_set_info\{version="[^"]+"\} 1/);
      assert.match(text, /latchkey_jwks_fetches_total\{issuer="github",outcome="ok"\} 1/);
      assert.match(text, /latchkey_store_duration_seconds_count\{operation="commit_grant"\} 1/);
      assert.match(text, /latchkey_store_duration_seconds_count\{operation="append_audit"\} 1/);
      // The replay pre-check reads the store only before a denial (or a remote mint): once here.
      assert.match(text, /latchkey_store_duration_seconds_count\{operation="is_replayed"\} 1/);
      assert.equal((await fetch(`${svc.url}/healthz`)).status, 200);
    } finally {
      await svc.close();
    }
  });

  it('refuses to start on an invalid policy set', async () => {
    await assert.rejects(
      startTestService({ policies: { 'webapp/read': BASIC_POLICY.replace('repository: acme/webapp\n  repository_id: "892341"\n', '') } }),
      /PolicyLoadError|repository/,
    );
  });
});
