/**
 * SQLite store benchmark against a real file with synchronous=FULL.
 *
 * 1. Writes: `--concurrency` callers each await commitGrant in a loop until
 *    `--total` grants are committed (the writer thread group-commits them).
 *    Prints records/s, commit latency, and what the writes cost THIS thread
 *    (event-loop utilisation and busy time per commit): the figure the
 *    service's throughput depends on.
 * 2. Reads: the exchange's replay pre-check (isReplayed) on this thread's
 *    read-only connection, against a round trip to the writer thread, idle
 *    and while writes are committing: why reads stay on this thread.
 *
 *   node bench/store.bench.ts [--total 20000] [--concurrency 64] [--reads 5000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { verifyChain, type SequencedRecord } from '../exchange-service/src/audit/chain.ts';
import { identityFromClaims, type AuditRecordBody } from '../exchange-service/src/audit/record.ts';
import { silentLogger } from '../exchange-service/src/log.ts';
import { openReadConnection } from '../exchange-service/src/store/sqlite/connection.ts';
import { createReads } from '../exchange-service/src/store/sqlite/reads.ts';
import { startSqliteWriter, type SqliteWriter } from '../exchange-service/src/store/sqlite/writer-client.ts';
import { openSqliteStore } from '../exchange-service/src/store/sqlite/store.ts';
import type { CommitGrantInput, JtiClaim, Store } from '../exchange-service/src/store/store.ts';

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    reads: { type: 'string', default: '5000' },
  },
});
const total = Number(values.total);
const concurrency = Number(values.concurrency);
const readCount = Number(values.reads);
/** Every claim's expiry (a claim is keyed by it): the reads below look the same claims up. */
const CLAIMS_EXPIRE_AT = Math.floor(Date.now() / 1000) + 3600;

function grantInput(n: number): CommitGrantInput {
  const now = Math.floor(Date.now() / 1000);
  const id = `grant-${n}`;
  const record: AuditRecordBody = {
    id: `record-${n}`,
    time: new Date().toISOString(),
    event: 'exchange',
    outcome: 'granted',
    reason: null,
    request_id: `request-${n}`,
    client_ip: '127.0.0.1',
    policy: 'webapp/deploy-prod',
    policy_digest: 'a'.repeat(64),
    policy_set_version: 'b'.repeat(40),
    issuer: 'github',
    subject: 'repo:acme/webapp:ref:refs/heads/main',
    ...identityFromClaims({ repository: 'acme/webapp', repository_id: '892341', ref: 'refs/heads/main', run_id: String(n), actor: 'octocat' }),
    jti: `jti-${n}`,
    subject_token_sha256: 'c'.repeat(64),
    grant: {
      id,
      kind: 'token',
      target: 'https://artifacts.acme.internal',
      scope: ['artifacts:read'],
      ttl: 900,
      expires_at: new Date((now + 900) * 1000).toISOString(),
      session_name: null,
      credential_sha256: 'd'.repeat(64),
      access_key_id: null,
    },
    justification: null,
  };
  return {
    issuer: 'github',
    jti: `jti-${n}`,
    jtiExpiresAt: CLAIMS_EXPIRE_AT,
    record,
    grant: {
      id,
      policy: 'webapp/deploy-prod',
      kind: 'token',
      issuer: 'github',
      subject: record.subject,
      repository_id: '892341',
      run_id: String(n),
      run_attempt: '1',
      credential_sha256: 'd'.repeat(64),
      issued_at: now,
      expires_at: now + 900,
      revoked_at: null,
      last_used_at: null,
    },
  };
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
const ms = (value: number): string => `${value.toFixed(2)} ms`;
const us = (value: number): string => `${(value * 1000).toFixed(1)} µs`;

interface WriteFigures {
  seconds: number;
  latencies: number[];
  utilization: number;
  delayP99Ms: number;
  delayMaxMs: number;
}

async function driveWrites(store: Store): Promise<WriteFigures> {
  let next = 0;
  const latencies: number[] = [];
  const caller = async (): Promise<void> => {
    while (next < total) {
      const started = performance.now();
      await store.commitGrant(grantInput((next += 1)));
      latencies.push(performance.now() - started);
    }
  };
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, caller));
  const seconds = (performance.now() - started) / 1000;
  const utilization = performance.eventLoopUtilization(elu).utilization;
  delay.disable();
  latencies.sort((a, b) => a - b);
  return { seconds, latencies, utilization, delayP99Ms: delay.percentile(99) / 1e6, delayMaxMs: delay.max / 1e6 };
}

/** Mean and p99 (ms) of `count` sequential calls of `read`, each after a turn of the event loop (so commits land in between). */
async function timeReads(count: number, read: (n: number) => Promise<unknown> | unknown): Promise<{ mean: number; p99: number }> {
  const times: number[] = [];
  for (let n = 0; n < count; n += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    const started = performance.now();
    await read(n);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { mean: times.reduce((sum, t) => sum + t, 0) / times.length, p99: percentile(times, 99) };
}

/** Keeps a writer thread committing grants, 16 at a time, until stopped. */
function keepWriting(writer: SqliteWriter, from: number, nowSeconds: number): { stop(): Promise<void> } {
  let writing = true;
  let n = from;
  const done = (async () => {
    while (writing) await Promise.all(Array.from({ length: 16 }, () => writer.write({ op: 'grant', input: grantInput((n += 1)), nowSeconds })));
  })();
  return {
    stop: () => {
      writing = false;
      return done;
    },
  };
}

async function compareReads(path: string): Promise<void> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const db = openReadConnection(path, { busyTimeoutMs: 5000, checkSchema: false });
  const local = createReads(db);
  const writer = await startSqliteWriter({ path, busyTimeoutMs: 5000, maxBatch: 1000, migratedAt: Date.now(), logger: silentLogger });
  const claim = (n: number): JtiClaim => ({ issuer: 'github', jti: `jti-${(n % total) + 1}`, jtiExpiresAt: CLAIMS_EXPIRE_AT });
  const count = Math.min(readCount, 2000);
  const here = await timeReads(readCount, (n) => local.isReplayed(claim(n), nowSeconds));
  const there = await timeReads(readCount, (n) => writer.read('isReplayed', [claim(n), nowSeconds]));
  const load = keepWriting(writer, total, nowSeconds);
  const hereBusy = await timeReads(count, (n) => local.isReplayed(claim(n), nowSeconds));
  const thereBusy = await timeReads(count, (n) => writer.read('isReplayed', [claim(n), nowSeconds]));
  await load.stop();
  await writer.close();
  db.close();
  const line = (label: string, figures: { mean: number; p99: number }): void =>
    console.log(`  ${label.padEnd(42)} mean ${us(figures.mean)}, p99 ${us(figures.p99)}`);
  console.log('isReplayed (the replay pre-check of every exchange), one at a time:');
  line("this thread's read-only connection, idle", here);
  line("this thread's connection, writer committing", hereBusy);
  line('round trip to the writer thread, idle', there);
  line('round trip to the writer, while it commits', thereBusy);
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
try {
  const path = join(dir, 'latchkey.db');
  const store = await openSqliteStore(path);
  const writes = await driveWrites(store);
  const records: SequencedRecord[] = [];
  for await (const record of store.readAudit({ pageSize: 5000 })) records.push(record);
  const verdict = verifyChain(records);
  const busyMsPerCommit = (writes.utilization * writes.seconds * 1000) / total;
  console.log(
    `commitGrant: ${total} in ${writes.seconds.toFixed(2)} s with ${concurrency} concurrent callers = ${Math.round(total / writes.seconds)} records/s (synchronous=FULL)`,
  );
  console.log(
    `  commit latency p50 / p99 / max      ${ms(percentile(writes.latencies, 50))} / ${ms(percentile(writes.latencies, 99))} / ${ms(writes.latencies.at(-1) ?? 0)}`,
  );
  console.log(`  this thread's event loop busy       ${(writes.utilization * 100).toFixed(1)} % (${us(busyMsPerCommit)} per commit, grant building included)`);
  console.log(`  event-loop delay p99 / max          ${ms(writes.delayP99Ms)} / ${ms(writes.delayMaxMs)}`);
  console.log(`chain: ${verdict.ok ? `intact, ${verdict.count} records` : `BROKEN at seq ${verdict.seq}: ${verdict.problem}`}`);
  if (!verdict.ok || verdict.count !== total) process.exitCode = 1;
  await store.close();
  if (readCount > 0) await compareReads(path);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
