/**
 * The exchange when the store fails (ATTACKS.md 27): no credential without a
 * committed `granted` record, 503 store_unavailable, the denial/failure
 * logged to stderr, and recovery once the store is back.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StoreUnavailableError, type Store } from '../../exchange-service/src/store/store.ts';
import { startTestService, exchangeParams } from '../support/service.ts';

/** A real store whose writes fail while `down` is set (the far side of the boundary failing). */
function faultyStore(inner: Store, state: { down: boolean }): Store {
  const guard = <T>(work: () => Promise<T>): Promise<T> => (state.down ? Promise.reject(new StoreUnavailableError('disk I/O error (injected)')) : work());
  return {
    engine: inner.engine,
    appendAudit: (body) => guard(() => inner.appendAudit(body)),
    commitGrant: (input) => guard(() => inner.commitGrant(input)),
    commitSignedGrant: (input, unsigned) => guard(() => inner.commitSignedGrant(input, unsigned)),
    isReplayed: (...args) => inner.isReplayed(...args),
    getGrant: (id) => inner.getGrant(id),
    findGrantByCredential: (sha) => inner.findGrantByCredential(sha),
    markRevoked: (...args) => guard(() => inner.markRevoked(...args)),
    markUsed: (...args) => guard(() => inner.markUsed(...args)),
    readAudit: (options) => inner.readAudit(options),
    purgeExpired: (now) => inner.purgeExpired(now),
    countRequests: (...args) => inner.countRequests(...args),
    peekRequests: (...args) => inner.peekRequests(...args),
    ping: () => guard(() => inner.ping()),
    close: () => inner.close(),
  };
}

describe('exchange with a failing store', () => {
  it('ATTACKS 27: answers 503 store_unavailable with no credential, logs the record, and recovers', async () => {
    const state = { down: false };
    const svc = await startTestService({ wrapStore: (store) => faultyStore(store, state) });
    try {
      state.down = true;
      const token = await svc.issuer.sign();
      const res = await svc.post('/token', exchangeParams(token, 'webapp/read'));
      assert.equal(res.status, 503);
      assert.equal(res.body.error, 'temporarily_unavailable');
      assert.equal(res.body.reason, 'store_unavailable');
      assert.equal(res.body.access_token, undefined);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.ok(svc.logs.some((line) => line.includes('audit record not stored') && line.includes('store_unavailable')));
      assert.equal((await fetch(`${svc.url}/readyz`)).status, 503);

      const denied = await svc.post('/token', exchangeParams(await svc.issuer.sign({ ref: 'refs/heads/x' }), 'webapp/read'));
      assert.equal(denied.body.reason, 'policy_denied', 'a denial is still a denial');
      assert.ok(svc.logs.some((line) => line.includes('audit record not stored') && line.includes('policy_denied')));

      state.down = false;
      const retried = await svc.post('/token', exchangeParams(token, 'webapp/read'));
      assert.equal(retried.status, 200, 'the same token works once the store is back: nothing was claimed');
    } finally {
      await svc.close();
    }
  });
});

describe('rate limits counted in a store that cannot count', () => {
  it('ATTACKS 27: answers 503 store_unavailable (not 500, not a pass) when the counters cannot be read', async () => {
    const failing = (): Promise<number> => Promise.reject(new StoreUnavailableError('counters unreachable'));
    const svc = await startTestService({
      config: { limits: { per_repository_per_minute: 10, per_client_ip_per_minute: 10 } },
      // The opened store with its counters failing; everything else passes through.
      wrapStore: (store) =>
        new Proxy(store, { get: (target, key) => (key === 'countRequests' || key === 'peekRequests' ? failing : Reflect.get(target, key)) }),
    });
    try {
      const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
      assert.equal(res.status, 503);
      assert.equal(res.body.reason, 'store_unavailable');
      assert.equal(res.body.access_token, undefined);
    } finally {
      await svc.close();
    }
  });
});
