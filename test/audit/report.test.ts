/**
 * The audit report's aggregation over records written through a real
 * SQLite store: every SPEC §5 section, the window, and the sections that
 * need the policy set skipped without one.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditRecordBody } from '../../exchange-service/src/audit/record.ts';
import { buildAuditReport, type ReportOptions } from '../../exchange-service/src/audit/report.ts';
import { openSqliteStore } from '../../exchange-service/src/store/sqlite/store.ts';
import type { Store } from '../../exchange-service/src/store/store.ts';
import { NOW_MS, makeBody, makeGrantInput, makeTempDir } from '../store/fixtures.ts';

const temp = makeTempDir();
let store: Store;
after(async () => {
  await store.close();
  temp.remove();
});

interface GrantSpec {
  policy: string;
  ttl: number;
  justification: string | null;
  repository: string;
  expiresInS?: number;
}

/** A granted exchange `n` for `spec`, committed the way the service commits one. */
async function grant(n: number, spec: GrantSpec): Promise<void> {
  const input = makeGrantInput(n);
  const expiresAt = new Date(NOW_MS + (spec.expiresInS ?? 900) * 1000).toISOString();
  const record = makeBody(n, { outcome: 'granted', reason: null, policy: spec.policy, justification: spec.justification }, { repository: spec.repository });
  input.record = { ...record, grant: { ...(input.record.grant as NonNullable<AuditRecordBody['grant']>), ttl: spec.ttl, expires_at: expiresAt } };
  await store.commitGrant(input);
}

/** A revoke or introspect record about grant `grantId`. */
function about(n: number, event: 'revoke' | 'introspect', outcome: 'revoked' | 'active', grantId: string): AuditRecordBody {
  const { grant: template } = makeGrantInput(n).record;
  return makeBody(n, { event, outcome, reason: null, grant: { ...(template as NonNullable<AuditRecordBody['grant']>), id: grantId } });
}

const POLICIES: NonNullable<ReportOptions['policies']> = {
  version: 'abc123',
  byName: new Map([
    ['infra/unused', { ttlMax: 600 }],
    ['webapp/deploy-prod', { ttlMax: 900 }],
    ['webapp/read', { ttlMax: 3600 }],
  ]),
};
const UNTIL = NOW_MS + 3_600_000;

before(async () => {
  store = await openSqliteStore(join(temp.dir, 'latchkey.db'), { now: () => NOW_MS });
  await grant(1, { policy: 'webapp/deploy-prod', ttl: 900, justification: 'deploy v1', repository: 'acme/webapp' });
  await grant(2, { policy: 'webapp/deploy-prod', ttl: 600, justification: 'routine', repository: 'acme/api' });
  await grant(3, { policy: 'webapp/read', ttl: 900, justification: null, repository: 'acme/webapp' });
  await grant(4, { policy: 'webapp/read', ttl: 900, justification: '  routine ', repository: 'acme/webapp' });
  await store.appendAudit(about(5, 'revoke', 'revoked', 'grant-1'));
  await store.appendAudit(about(6, 'introspect', 'active', 'grant-3'));
  await store.appendAudit(makeBody(7, { policy: 'webapp/deploy-prod' }, { repository: 'acme/evil' }));
  await store.appendAudit(makeBody(8, { policy: 'webapp/deploy-prod' }, { repository: 'acme/evil' }));
  await store.appendAudit(makeBody(9, { policy: 'webapp/read', outcome: 'failed', reason: 'upstream_unavailable' }));
  await store.appendAudit(makeBody(10, { policy: null, reason: 'token_invalid', issuer: null, subject: null }, { repository: null }));
  await grant(11, { policy: 'old/removed', ttl: 5000, justification: 'legacy', repository: 'acme/legacy' });
  await grant(12, { policy: 'webapp/deploy-prod', ttl: 900, justification: null, repository: 'acme/webapp', expiresInS: 7200 });
});

describe('audit report aggregation', () => {
  test('every section over the whole log', async () => {
    const report = await buildAuditReport(store.readAudit(), { untilMs: UNTIL, policies: POLICIES, topRequesters: 3 });
    assert.deepEqual(report.window, { since: null, until: new Date(UNTIL).toISOString(), records: 12, first_seq: 1, last_seq: 12 });
    assert.deepEqual(report.policy_set, { version: 'abc123', policies: 3 });
    assert.deepEqual(report.exchanges, [
      { policy: null, granted: 0, denied: 1, failed: 0, total: 1 },
      { policy: 'old/removed', granted: 1, denied: 0, failed: 0, total: 1 },
      { policy: 'webapp/deploy-prod', granted: 3, denied: 2, failed: 0, total: 5 },
      { policy: 'webapp/read', granted: 2, denied: 0, failed: 1, total: 3 },
    ]);
    assert.deepEqual(report.denials, [
      { event: 'exchange', outcome: 'denied', reason: 'policy_denied', count: 2 },
      { event: 'exchange', outcome: 'denied', reason: 'token_invalid', count: 1 },
      { event: 'exchange', outcome: 'failed', reason: 'upstream_unavailable', count: 1 },
    ]);
    assert.deepEqual(report.requesters, [
      { requester: 'acme/webapp', exchanges: 5, granted: 4, denied: 0 },
      { requester: 'acme/evil', exchanges: 2, granted: 0, denied: 2 },
      { requester: null, exchanges: 1, granted: 0, denied: 1 },
    ]);
    assert.deepEqual(
      report.unreleased_grants,
      [
        { policy: 'old/removed', granted: 1, unreleased: 1, grant_ids: ['grant-11'] },
        { policy: 'webapp/deploy-prod', granted: 3, unreleased: 1, grant_ids: ['grant-2'] },
        { policy: 'webapp/read', granted: 2, unreleased: 1, grant_ids: ['grant-4'] },
      ],
      'grant-1 was revoked, grant-3 introspected, grant-12 is still live',
    );
    assert.deepEqual(report.ttl_at_max, [{ policy: 'webapp/deploy-prod', ttl_max: 900, granted: 3, at_max: 2 }]);
    assert.deepEqual(report.justifications, {
      missing: [
        { policy: 'webapp/deploy-prod', granted: 3, missing: 1 },
        { policy: 'webapp/read', granted: 2, missing: 1 },
      ],
      repeated: [{ text: 'routine', count: 2, requesters: 2, policies: ['webapp/deploy-prod', 'webapp/read'] }],
    });
    assert.deepEqual(report.unused_policies, [{ policy: 'infra/unused', requests: 0 }]);
  });

  test('a window keeps only its records', async () => {
    const report = await buildAuditReport(store.readAudit(), { sinceMs: NOW_MS + 6_500, untilMs: UNTIL, policies: POLICIES });
    assert.deepEqual(report.window, {
      since: new Date(NOW_MS + 6_500).toISOString(),
      until: new Date(UNTIL).toISOString(),
      records: 6,
      first_seq: 7,
      last_seq: 12,
    });
    assert.deepEqual(
      report.exchanges.map((row) => [row.policy, row.total]),
      [
        [null, 1],
        ['old/removed', 1],
        ['webapp/deploy-prod', 3],
        ['webapp/read', 1],
      ],
    );
    assert.deepEqual(report.unused_policies, [
      { policy: 'infra/unused', requests: 0 },
      { policy: 'webapp/read', requests: 1 },
    ]);
    assert.deepEqual(report.justifications.repeated, []);
  });

  test('records after the window end are left out', async () => {
    const report = await buildAuditReport(store.readAudit(), { untilMs: NOW_MS + 4_000 });
    assert.equal(report.window.records, 4);
    assert.deepEqual(report.unreleased_grants, [], 'no grant had ended by then');
  });

  test('without the policy set its sections are null, the rest is there', async () => {
    const report = await buildAuditReport(store.readAudit(), { untilMs: UNTIL });
    assert.equal(report.policy_set, null);
    assert.equal(report.ttl_at_max, null);
    assert.equal(report.unused_policies, null);
    assert.equal(report.exchanges.length, 4);
    assert.equal(report.requesters.length, 5);
  });

  test('the same log gives the same report', async () => {
    const one = await buildAuditReport(store.readAudit({ pageSize: 2 }), { untilMs: UNTIL, policies: POLICIES });
    const two = await buildAuditReport(store.readAudit({ pageSize: 1000 }), { untilMs: UNTIL, policies: POLICIES });
    assert.deepEqual(JSON.stringify(one), JSON.stringify(two));
  });
});
