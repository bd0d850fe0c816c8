/**
 * The exchange when its store fails (SPEC §5: a credential is returned only
 * after its `granted` record is committed; §3: 503 store_unavailable;
 * ATTACKS.md 27), beyond what test/exchange.test.ts covers: the commit alone
 * failing (the failure itself still audited), the replay check failing, an
 * error the store does not classify, and the real store closed under the
 * running service.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createFaultyStore } from '../support/faulty-store.ts';
import { startTestService, exchangeParams, type TestResponse, type TestService } from '../support/service.ts';
import { readAuditSnapshot } from '../support/store-audit.ts';

/** The SPEC's answer when the store cannot commit: 503, Retry-After, and no credential of any kind. */
function assertStoreUnavailable(res: TestResponse): void {
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.equal(res.body.error, 'temporarily_unavailable');
  assert.equal(res.body.reason, 'store_unavailable');
  assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After');
  for (const field of ['access_token', 'grant_id', 'aws']) assert.equal(res.body[field], undefined, `no ${field}`);
}

/** The stderr record of an audit record the store could not take. */
const loggedUnstored = (svc: TestService, reason: string): boolean =>
  svc.logs.some((line) => line.includes('audit record not stored') && line.includes(`"reason":"${reason}"`));

describe('store faults', () => {
  // One service for all: each test sets its faults and afterEach heals them; the last test breaks the store for good.
  const board = createFaultyStore();
  let svc: TestService;
  before(async () => {
    // Rate limits off: they count in the store, and these tests are about the audit and replay paths.
    svc = await startTestService({ wrapStore: board.wrap, config: { limits: { per_client_ip_per_minute: 0, per_repository_per_minute: 0 } } });
  });
  afterEach(() => {
    board.faults = {};
    board.refused = {};
  });
  after(() => svc.close());

  it('ATTACKS 27: the grant commit fails (appends still work) → 503 store_unavailable, the failure audited in the store, the token not spent', async () => {
    board.faults.commitSignedGrant = 'unavailable';
    const token = await svc.issuer.sign();
    const res = await svc.post('/token', exchangeParams(token, 'webapp/read'));
    assertStoreUnavailable(res);
    assert.equal(board.refused.commitSignedGrant, 1);

    delete board.faults.commitSignedGrant;
    const snapshot = await readAuditSnapshot(svc.config.store.url);
    const failure = snapshot.records.find((record) => record.request_id === res.body.request_id);
    assert.equal(failure?.outcome, 'failed');
    assert.equal(failure?.reason, 'store_unavailable');
    assert.equal(failure?.grant, null, 'the failure record names no grant');
    assert.equal(snapshot.granted.size, 0, 'no granted record');

    const retried = await svc.post('/token', exchangeParams(token, 'webapp/read'));
    assert.equal(retried.status, 200, 'the token was not spent by the failed attempt');
  });

  it('ATTACKS 27: the store throws an error it does not classify at the commit → still 503 store_unavailable, never 500, no credential', async () => {
    board.faults.commitSignedGrant = 'unexpected';
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
    assertStoreUnavailable(res);
    assert.doesNotMatch(String(res.body.error_description), /injected|TypeError/, 'the exception text never reaches the client');
  });

  // exchange.ts replayCheck(): a StoreUnavailableError from store.isReplayed() escapes decide() and becomes 500 internal.
  const replayReads = [
    { name: 'before a policy_denied', audience: 'webapp/read', claims: { ref: 'refs/heads/dev' } },
    { name: 'before a policy_unknown', audience: 'webapp/no-such-policy', claims: {} },
  ];
  for (const c of replayReads) {
    it(`ATTACKS 27: the replay check cannot read the store ${c.name} → 503 store_unavailable, not 500`, async () => {
      {
        board.faults.isReplayed = 'unavailable';
        const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(c.claims), c.audience));
        assert.equal(board.refused.isReplayed, 1, 'the refusal path consulted the store');
        assertStoreUnavailable(res);
      }
    });
  }

  it('ATTACKS 27: the real store closed under the running service → 503 store_unavailable, no credential, records on stderr, /readyz 503', async () => {
    assert.equal((await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'))).status, 200);
    await board.inner().close();

    const granted = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
    assertStoreUnavailable(granted);
    assert.ok(loggedUnstored(svc, 'store_unavailable'), 'the failure record went to the operator log');

    // Refused before the replay check: answered without the store, its record logged instead of stored.
    const forged = await svc.post('/token', exchangeParams(await svc.issuer.sign({}, { key: 'attacker' }), 'webapp/read'));
    assert.equal(forged.status, 400, 'a refusal that needs no store is still answered');
    assert.equal(forged.body.reason, 'token_invalid');
    assert.ok(loggedUnstored(svc, 'token_invalid'), 'its record went to the operator log too');

    const ready = await fetch(`${svc.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(JSON.stringify(await ready.json()), /store unreachable/);
  });
});
