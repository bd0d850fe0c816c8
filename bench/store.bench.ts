/**
 * SQLite store throughput: concurrent commitGrant callers against a real
 * file with synchronous=FULL (group commit batches them). Prints records/s.
 *
 *   node bench/store.bench.ts [--total 20000] [--concurrency 64]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { verifyChain, type SequencedRecord } from '../exchange-service/src/audit/chain.ts';
import { identityFromClaims, type AuditRecordBody } from '../exchange-service/src/audit/record.ts';
import { openSqliteStore } from '../exchange-service/src/store/sqlite.ts';
import type { CommitGrantInput, Store } from '../exchange-service/src/store/store.ts';

const { values } = parseArgs({ options: { total: { type: 'string', default: '20000' }, concurrency: { type: 'string', default: '64' } } });
const total = Number(values.total);
const concurrency = Number(values.concurrency);

function grantInput(n: number): CommitGrantInput {
  const now = Math.floor(Date.now() / 1000);
  const id = `grant-${n}`;
  const record: AuditRecordBody = {
    id: `record-${n}`, time: new Date().toISOString(), event: 'exchange', outcome: 'granted', reason: null,
    request_id: `request-${n}`, client_ip: '127.0.0.1', policy: 'webapp/deploy-prod', policy_digest: 'a'.repeat(64),
    policy_set_version: 'b'.repeat(40), issuer: 'github', subject: 'repo:acme/webapp:ref:refs/heads/main',
    ...identityFromClaims({ repository: 'acme/webapp', repository_id: '892341', ref: 'refs/heads/main', run_id: String(n), actor: 'octocat' }),
    jti: `jti-${n}`, subject_token_sha256: 'c'.repeat(64),
    grant: { id, kind: 'token', target: 'https://artifacts.acme.internal', scope: ['artifacts:read'], ttl: 900,
      expires_at: new Date((now + 900) * 1000).toISOString(), session_name: null, credential_sha256: 'd'.repeat(64), access_key_id: null },
    justification: null,
  };
  return {
    issuer: 'github', jti: `jti-${n}`, jtiExpiresAt: now + 600, record,
    grant: { id, policy: 'webapp/deploy-prod', kind: 'token', issuer: 'github', subject: record.subject, repository_id: '892341',
      run_id: String(n), run_attempt: '1', credential_sha256: 'd'.repeat(64), issued_at: now, expires_at: now + 900, revoked_at: null, last_used_at: null },
  };
}

async function run(store: Store): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) await store.commitGrant(grantInput((next += 1)));
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
try {
  const store = await openSqliteStore(join(dir, 'latchkey.db'));
  const seconds = await run(store);
  const records: SequencedRecord[] = [];
  for await (const record of store.readAudit({ pageSize: 5000 })) records.push(record);
  const verdict = verifyChain(records);
  await store.close();
  console.log(`commitGrant: ${total} in ${seconds.toFixed(2)} s with ${concurrency} concurrent callers = ${Math.round(total / seconds)} records/s (synchronous=FULL)`);
  console.log(`chain: ${verdict.ok ? `intact, ${verdict.count} records` : `BROKEN at seq ${verdict.seq}: ${verdict.problem}`}`);
  if (!verdict.ok || verdict.count !== total) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
