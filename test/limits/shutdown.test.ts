/**
 * Graceful shutdown (SPEC §1: SIGTERM drains in-flight requests): close()
 * stops accepting at once, lets every exchange already inside the service
 * finish, and only then closes the store, so no credential is handed out
 * without its `granted` record and no record is lost.
 *
 * The exchanges are held at the store's commit (a gate in front of the real
 * SQLite store, the documented `wrapStore` fault hook), so the test knows
 * exactly which requests are in flight when close() is called.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../exchange-service/src/store/store.ts';
import { createFaultyStore } from '../support/faulty-store.ts';
import { startTestIssuer } from '../support/oidc-issuer.ts';
import { startTestService, exchangeParams, type TestResponse } from '../support/service.ts';
import { readAuditSnapshot } from '../support/store-audit.ts';

/** Holds every grant commit (a token grant's, commitSignedGrant) until `open()`; counts the callers waiting. Everything else goes straight to the real store. */
function createCommitGate() {
  let release: () => void = () => {};
  const opened = new Promise<void>((resolve) => (release = resolve));
  const gate = { waiting: 0, open: () => release() };
  const wrap = (inner: Store): Store => {
    const forwarding = createFaultyStore().wrap(inner);
    return {
      ...forwarding,
      commitSignedGrant: async (input, unsigned) => {
        gate.waiting += 1;
        await opened;
        return forwarding.commitSignedGrant(input, unsigned);
      },
    };
  };
  return { gate, wrap };
}

/** Polls `condition` every 10 ms for up to 10 s. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

describe('graceful shutdown', () => {
  it('drains in-flight exchanges: each gets its credential and its granted record; new connections are refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'latchkey-shutdown-'));
    const issuer = await startTestIssuer({ audience: 'https://latchkey.test' });
    const { gate, wrap } = createCommitGate();
    const svc = await startTestService({ dir, issuer, wrapStore: wrap });
    try {
      const tokens = await Promise.all(Array.from({ length: 6 }, () => issuer.sign()));
      const inFlight: Array<Promise<TestResponse>> = tokens.map((token) => svc.post('/token', exchangeParams(token, 'webapp/read')));
      await waitFor(() => gate.waiting === tokens.length, 'every exchange to reach its commit');

      const closing = svc.server.close();
      const refused = await fetch(`${svc.url}/healthz`).then(
        () => 'served',
        (error: unknown) => String((error as Error).cause ?? error),
      );
      assert.match(refused, /ECONNREFUSED/, 'no new connection is accepted once shutdown began');
      gate.open();
      const responses = await Promise.all(inFlight);
      await closing;

      for (const res of responses) assert.equal(res.status, 200, JSON.stringify(res.body));
      const snapshot = await readAuditSnapshot(svc.config.store.url);
      assert.equal(snapshot.verdict.ok, true, JSON.stringify(snapshot.verdict));
      for (const res of responses) {
        const record = snapshot.granted.get(String(res.body.grant_id));
        assert.ok(record !== undefined, `grant ${String(res.body.grant_id)} has its granted record`);
        assert.equal(record.policy, 'webapp/read');
      }
      assert.equal(snapshot.granted.size, tokens.length, 'one granted record per credential, no more');
    } finally {
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
