/**
 * The SQLite store's writer thread: a dead thread fails closed, close()
 * drains, read-only stores start none, the thread never holds a process
 * open when idle (nor lets it exit while a write waits), and what crosses
 * the thread boundary comes back as the caller's own classes and records.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { verifyChain } from '../../../exchange-service/src/audit/chain.ts';
import { CanonicalizationError } from '../../../exchange-service/src/audit/jcs.ts';
import { createLogger } from '../../../exchange-service/src/log.ts';
import type { UnsignedJws } from '../../../exchange-service/src/jws/sign.ts';
import { createKeyReceiver, createKeySender } from '../../../exchange-service/src/store/sqlite/protocol.ts';
import { openSqliteStore, type SqliteStoreOptions } from '../../../exchange-service/src/store/sqlite/store.ts';
import { ReplayError, StoreUnavailableError, type Store } from '../../../exchange-service/src/store/store.ts';
import {
  NOW_MS,
  NOW_S,
  TEST_KEY,
  claimOf,
  makeBody,
  makeGrantInput,
  makeTempDir,
  readAll,
  rejectionOf,
  unsignedGrantInput,
  unsignedJwsFor,
} from '../fixtures.ts';

const temp = makeTempDir();
after(() => temp.remove());

let counter = 0;
/** A fresh store file, with a handle on its writer thread. */
async function freshStore(options: SqliteStoreOptions = {}): Promise<{ store: Store; path: string; thread: Worker }> {
  counter += 1;
  const path = join(temp.dir, `writer-${counter}`, 'latchkey.db');
  let thread: Worker | undefined;
  const store = await openSqliteStore(path, { now: () => NOW_MS, onWriterThread: (started) => (thread = started), ...options });
  assert.ok(thread !== undefined, 'a read-write store starts a writer thread');
  return { store, path, thread };
}

/** Rows in `table`, read through a connection of its own. */
function countRows(path: string, table: 'audit' | 'grants' | 'jti'): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n);
  } finally {
    db.close();
  }
}

describe('signing keys sent to the writer thread', () => {
  test('every grant is signed with the key it was sent with, across a second key (a rotation) and back', async () => {
    const { store } = await freshStore();
    const rotated = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jws = (n: number, key: KeyObject): UnsignedJws => ({ ...unsignedJwsFor({ jti: `grant-${n}` }), key });
    const keys = [TEST_KEY, TEST_KEY, rotated, TEST_KEY, rotated];
    const signed = await Promise.all(keys.map((pair, i) => store.commitSignedGrant(unsignedGrantInput(i + 1), jws(i + 1, pair.privateKey))));
    for (const [i, { credential }] of signed.entries()) {
      const [header, payload, signature = ''] = credential.split('.');
      const valid = verify(
        'sha256',
        Buffer.from(`${header}.${payload}`),
        { key: keys[i]?.publicKey as KeyObject, dsaEncoding: 'ieee-p1363' },
        Buffer.from(signature, 'base64url'),
      );
      assert.ok(valid, `grant ${i + 1} is signed with its own key`);
    }
    assert.equal(verifyChain(await readAll(store)).ok, true);
    await store.close();
  });

  test('the codec: a key is numbered once; one whose message never left is sent again; an unknown number is refused', () => {
    const send = createKeySender();
    const receive = createKeyReceiver();
    const unsigned = unsignedJwsFor({ jti: 'x' });
    const lost = send(unsigned);
    assert.ok(lost.wire.key !== undefined, 'the first use carries the key');
    const first = send(unsigned); // `lost` was never confirmed sent
    assert.ok(first.wire.key !== undefined, 'still carried: the earlier message did not leave');
    first.sent();
    const second = send(unsigned);
    assert.equal(second.wire.key, undefined, 'later uses name it by number');
    assert.equal(second.wire.keyId, first.wire.keyId);
    assert.throws(() => receive(second.wire), /never sent/);
    assert.equal(receive(first.wire).key, TEST_KEY.privateKey);
    assert.equal(receive(second.wire).key, TEST_KEY.privateKey);
  });
});

describe('a dead writer thread', () => {
  test('a write waiting on a lock when the thread dies: rejected with StoreUnavailableError, nothing written', async () => {
    const { store, path, thread } = await freshStore({ busyTimeoutMs: 60_000 });
    await store.appendAudit(makeBody(1));
    const other = new DatabaseSync(path);
    other.exec('BEGIN IMMEDIATE'); // the writer's next transaction waits for this lock
    const pending = [store.commitGrant(makeGrantInput(2)), store.appendAudit(makeBody(3))];
    const stopping = thread.terminate();
    other.exec('ROLLBACK'); // the lock is free again only after the thread was told to stop
    await stopping;
    for (const [index, call] of pending.entries()) {
      assert.ok((await rejectionOf(call)) instanceof StoreUnavailableError, `pending call ${index}`);
    }
    other.exec('BEGIN IMMEDIATE'); // the dead thread left no lock behind
    other.exec('ROLLBACK');
    other.close();
    assert.equal(countRows(path, 'audit'), 1);
    assert.equal(countRows(path, 'jti'), 0);
    await store.close();
  });

  test('after the thread died every call rejects with StoreUnavailableError, ping included (so /readyz fails)', async () => {
    const { store, thread } = await freshStore();
    await store.commitGrant(makeGrantInput(1));
    await store.ping();
    await thread.terminate();
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['appendAudit', () => store.appendAudit(makeBody(2))],
      ['commitGrant', () => store.commitGrant(makeGrantInput(2))],
      ['isReplayed', () => store.isReplayed(claimOf('jti-1'), NOW_S)],
      ['getGrant', () => store.getGrant('grant-1')],
      ['findGrantByCredential', () => store.findGrantByCredential('1'.padStart(64, 'd'))],
      ['markRevoked', () => store.markRevoked('grant-1', NOW_S)],
      ['markUsed', () => store.markUsed('grant-1', NOW_S)],
      ['purgeExpired', () => store.purgeExpired(NOW_S)],
      ['ping', () => store.ping()],
      ['readAudit', () => readAll(store)],
    ];
    for (const [name, call] of calls) assert.ok((await rejectionOf(call())) instanceof StoreUnavailableError, name);
    await store.close(); // closing a store whose thread died is harmless
  });

  test("writes racing the thread's death: each either resolved and is stored, or rejected with StoreUnavailableError", async () => {
    const { store, path, thread } = await freshStore();
    const calls = Array.from({ length: 40 }, (_, i) => store.commitGrant(makeGrantInput(i)));
    const stopping = thread.terminate();
    const results = await Promise.allSettled(calls);
    await stopping;
    await store.close();
    const reopened = await openSqliteStore(path, { readOnly: true });
    const stored = new Set((await readAll(reopened)).map((record) => record.id));
    await reopened.close();
    for (const [i, result] of results.entries()) {
      if (result.status === 'fulfilled') assert.ok(stored.has(`record-${i}`), `write ${i} resolved, so it is durable`);
      else assert.ok(result.reason instanceof StoreUnavailableError, `write ${i}: ${String(result.reason)}`);
    }
  });

  test('a thread that crashes on an exception: StoreUnavailableError for its callers, and the operator log says why', async () => {
    const lines: string[] = [];
    const logger = createLogger({ stream: { write: (line: string) => lines.push(line) > 0 } });
    const { store, thread } = await freshStore({ logger });
    const exited = new Promise((resolve) => thread.once('exit', resolve));
    thread.postMessage(null); // not a request: the thread's message handler throws and nothing catches it
    const pending = store.appendAudit(makeBody(1));
    await exited;
    assert.ok((await rejectionOf(pending)) instanceof StoreUnavailableError);
    assert.ok((await rejectionOf(store.ping())) instanceof StoreUnavailableError);
    const stopped = lines.map((line) => JSON.parse(line)).find((line) => line.msg === 'the store writer thread stopped; the store is unavailable');
    assert.equal(stopped?.level, 'error');
    assert.equal(stopped?.error?.name, 'TypeError');
    await store.close();
  });

  test('the memory store, whose reads also run on the thread, fails the same way', async () => {
    let thread: Worker | undefined;
    const store = await openSqliteStore(':memory:', { onWriterThread: (started) => (thread = started) });
    await store.commitGrant(makeGrantInput(1));
    assert.equal(await store.isReplayed(claimOf('jti-1'), NOW_S), true);
    await thread?.terminate();
    assert.ok((await rejectionOf(store.isReplayed(claimOf('jti-1'), NOW_S))) instanceof StoreUnavailableError);
    assert.ok((await rejectionOf(store.ping())) instanceof StoreUnavailableError);
    await store.close();
  });
});

describe('close', () => {
  test('drains every queued write over several batches, then refuses more', async () => {
    const { store, path } = await freshStore({ maxBatch: 7 });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 100; i += 1) calls.push(i % 2 === 0 ? store.commitGrant(makeGrantInput(i)) : store.appendAudit(makeBody(i)));
    calls.push(store.markRevoked('grant-0', NOW_S + 1));
    const closing = store.close();
    assert.ok((await rejectionOf(store.appendAudit(makeBody(500)))) instanceof StoreUnavailableError, 'refused once close() began');
    await closing;
    const results = await Promise.allSettled(calls);
    assert.deepEqual(
      results.filter((r) => r.status === 'rejected'),
      [],
    );
    const revoked = results.at(-1);
    assert.equal(revoked?.status === 'fulfilled' && revoked.value, true, 'the revoke found its grant');
    const reopened = await openSqliteStore(path, { readOnly: true });
    const records = await readAll(reopened);
    assert.equal((await reopened.getGrant('grant-0'))?.revoked_at, NOW_S + 1);
    await reopened.close();
    assert.equal(records.length, 100);
    assert.deepEqual(verifyChain(records), { ok: true, count: 100, head: records.at(-1)?.hash });
  });

  test('closing twice at once waits for the same drain', async () => {
    const { store, path } = await freshStore();
    const pending = store.appendAudit(makeBody(1));
    await Promise.all([store.close(), store.close()]);
    assert.equal((await pending).seq, 1);
    assert.equal(countRows(path, 'audit'), 1);
  });
});

describe('read-only stores', () => {
  test('start no writer thread and refuse writes', async () => {
    const { store, path } = await freshStore();
    await store.commitGrant(makeGrantInput(1));
    await store.close();
    let started = false;
    const readOnly = await openSqliteStore(path, { readOnly: true, onWriterThread: () => (started = true) });
    assert.equal(started, false);
    assert.ok((await rejectionOf(readOnly.markUsed('grant-1', NOW_S))) instanceof StoreUnavailableError);
    assert.equal((await readOnly.getGrant('grant-1'))?.id, 'grant-1');
    await readOnly.close();
  });
});

describe('across the thread boundary', () => {
  test('a body with lone surrogates: the record returned is the well-formed one stored', async () => {
    const { store } = await freshStore();
    const written = await store.appendAudit(makeBody(1, { justification: 'a\uD800b' }, { actor: '\uDFFFx' }));
    assert.equal(written.justification, 'a\uFFFDb');
    assert.equal(written.actor, '\uFFFDx');
    const [record] = await readAll(store);
    assert.deepEqual(written, record);
    assert.equal(verifyChain(await readAll(store)).ok, true);
    await store.close();
  });

  test('errors keep their classes: replay, not-JSON data, constraint; the others in the batch commit', async () => {
    const { store } = await freshStore();
    await store.commitGrant(makeGrantInput(1));
    const [replay, uncloneable, bigint, constraint, ok] = await Promise.allSettled([
      store.commitGrant(makeGrantInput(2, { jti: 'jti-1' })),
      store.appendAudit(makeBody(3, { justification: (() => 'x') as never })),
      store.appendAudit(makeBody(4, { justification: 10n as never })),
      store.commitGrant(makeGrantInput(5, { grantId: 'grant-1' })),
      store.appendAudit(makeBody(6)),
    ]);
    assert.ok(replay.status === 'rejected' && replay.reason instanceof ReplayError, 'replay');
    assert.ok(uncloneable.status === 'rejected' && uncloneable.reason instanceof CanonicalizationError, 'a function');
    assert.ok(bigint.status === 'rejected' && bigint.reason instanceof CanonicalizationError, 'a bigint');
    assert.ok(constraint.status === 'rejected' && !(constraint.reason instanceof StoreUnavailableError), 'constraint');
    assert.match(String((constraint.reason as Error).message), /UNIQUE constraint failed: grants\.id/);
    assert.equal((constraint.reason as Error & { code?: string }).code, 'ERR_SQLITE_ERROR');
    assert.equal(ok.status === 'fulfilled' && ok.value.seq, 2);
    await store.close();
  });
});

describe('the writer thread and process exit', () => {
  const run = promisify(execFile);
  const storeModule = fileURLToPath(new URL('../../../exchange-service/src/store/sqlite/store.ts', import.meta.url));
  const fixtures = fileURLToPath(new URL('../fixtures.ts', import.meta.url));

  test('an idle store does not hold the process open; a write not awaited still commits before exit', async () => {
    const path = join(temp.dir, 'exit', 'latchkey.db');
    const scriptFile = join(temp.dir, 'exit-script.ts');
    // No close() and no await on the write: the process must still end by itself, with the write durable.
    writeFileSync(
      scriptFile,
      [
        `const { openSqliteStore } = await import(${JSON.stringify(storeModule)});`,
        `const { makeBody } = await import(${JSON.stringify(fixtures)});`,
        `const store = await openSqliteStore(${JSON.stringify(path)});`,
        'await store.appendAudit(makeBody(1));',
        'store.appendAudit(makeBody(2)).then((record) => console.log(`committed ${record.seq}`));',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [scriptFile], { timeout: 30_000 });
    assert.equal(stdout.trim(), 'committed 2');
    assert.equal(countRows(path, 'audit'), 2);
  });
});
