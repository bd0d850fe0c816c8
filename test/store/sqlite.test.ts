import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { GENESIS_HASH, verifyChain } from '../../exchange-service/src/audit/chain.ts';
import { CanonicalizationError } from '../../exchange-service/src/audit/jcs.ts';
import { isUnavailable, toStoreError } from '../../exchange-service/src/store/sqlite-errors.ts';
import { openSqliteStore, type SqliteStoreOptions } from '../../exchange-service/src/store/sqlite.ts';
import { ReplayError, StoreUnavailableError, type Store } from '../../exchange-service/src/store/store.ts';
import { NOW_MS, NOW_S, makeBody, makeGrantInput, makeTempDir, readAll, rejectionOf } from './fixtures.ts';

const temp = makeTempDir();
after(() => temp.remove());

let counter = 0;
/** A fresh store file per test, with the fixed clock. */
async function freshStore(options: SqliteStoreOptions = {}): Promise<{ store: Store; path: string }> {
  counter += 1;
  const path = join(temp.dir, `store-${counter}`, 'latchkey.db');
  return { store: await openSqliteStore(path, { now: () => NOW_MS, ...options }), path };
}


describe('commitGrant and replay', () => {
  test('the same jti twice: the second is a ReplayError and writes nothing', async () => {
    const { store } = await freshStore();
    const first = await store.commitGrant(makeGrantInput(1));
    assert.equal(first.seq, 1);
    assert.equal(first.prev_hash, GENESIS_HASH);
    await assert.rejects(store.commitGrant(makeGrantInput(2, { jti: 'jti-1' })), ReplayError);
    assert.equal((await readAll(store)).length, 1);
    assert.equal(await store.getGrant('grant-2'), undefined);
    await store.close();
  });

  test('50 concurrent calls with one jti: exactly one succeeds', async () => {
    const { store } = await freshStore();
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.commitGrant(makeGrantInput(i, { jti: 'shared' }))));
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const replays = results.filter((r) => r.status === 'rejected' && r.reason instanceof ReplayError);
    assert.equal(fulfilled.length, 1);
    assert.equal(replays.length, 49);
    const records = await readAll(store);
    assert.equal(records.length, 1);
    assert.equal(verifyChain(records).ok, true);
    await store.close();
  });

  test('the same jti from another issuer is another token', async () => {
    const { store } = await freshStore();
    await store.commitGrant(makeGrantInput(1, { jti: 'same' }));
    await store.commitGrant(makeGrantInput(2, { jti: 'same', issuer: 'gitlab' }));
    assert.equal((await readAll(store)).length, 2);
    await store.close();
  });

  test('a claim whose token has expired can be claimed again', async () => {
    const { store } = await freshStore();
    await store.commitGrant(makeGrantInput(1, { jtiExpiresAt: NOW_S - 1 }));
    const again = await store.commitGrant(makeGrantInput(2, { jti: 'jti-1' }));
    assert.equal(again.seq, 2);
    await store.close();
  });

  test('isReplayed: claimed and live, unknown, expired', async () => {
    const { store } = await freshStore();
    await store.commitGrant(makeGrantInput(1, { jtiExpiresAt: NOW_S + 60 }));
    const cases: Array<[string, string, string, number, boolean]> = [
      ['claimed, before expiry', 'github', 'jti-1', NOW_S, true],
      ['claimed, at expiry', 'github', 'jti-1', NOW_S + 60, true],
      ['claimed, after expiry', 'github', 'jti-1', NOW_S + 61, false],
      ['unknown jti', 'github', 'jti-2', NOW_S, false],
      ['other issuer', 'gitlab', 'jti-1', NOW_S, false],
    ];
    for (const [name, issuer, jti, now, expected] of cases) {
      assert.equal(await store.isReplayed(issuer, jti, now), expected, name);
    }
    await store.close();
  });

  test('a failing write rejects only its caller; its jti stays unclaimed and the batch commits', async () => {
    const { store } = await freshStore();
    const [ok, duplicateGrant, badRecord, alsoOk] = await Promise.allSettled([
      store.commitGrant(makeGrantInput(1)),
      store.commitGrant(makeGrantInput(2, { grantId: 'grant-1' })), // primary key clash on grants
      store.appendAudit(makeBody(3, { grant: { ttl: Number.NaN } as never })),
      store.commitGrant(makeGrantInput(4)),
    ]);
    assert.equal(ok.status, 'fulfilled');
    assert.equal(alsoOk.status, 'fulfilled');
    assert.equal(duplicateGrant.status, 'rejected');
    assert.ok(badRecord.status === 'rejected' && badRecord.reason instanceof CanonicalizationError);
    assert.equal(await store.isReplayed('github', 'jti-2', NOW_S), false, 'the savepoint undid the jti claim');
    const records = await readAll(store);
    assert.deepEqual(records.map((r) => r.id), ['record-1', 'record-4']);
    assert.equal(verifyChain(records).ok, true);
    await store.close();
  });
});

describe('the chain under concurrency', () => {
  test('200 concurrent mixed calls make one valid chain', async () => {
    const { store } = await freshStore();
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i += 1) {
      if (i % 4 === 0) calls.push(store.appendAudit(makeBody(i)));
      else if (i % 4 === 1) calls.push(store.commitGrant(makeGrantInput(i, { jti: `jti-${i % 20}` }))); // some replays
      else if (i % 4 === 2) calls.push(store.commitGrant(makeGrantInput(i)));
      else calls.push(store.markUsed(`grant-${i - 1}`, NOW_S + i));
    }
    const results = await Promise.allSettled(calls);
    const rejected = results.filter((r) => r.status === 'rejected');
    assert.ok(rejected.every((r) => r.reason instanceof ReplayError), 'only replays fail');
    const appended = results.filter((r) => r.status === 'fulfilled' && typeof r.value === 'object' && r.value !== null);
    const records = await readAll(store);
    assert.equal(records.length, appended.length);
    assert.deepEqual(records.map((r) => r.seq), records.map((_, i) => i + 1));
    assert.deepEqual(verifyChain(records), { ok: true, count: records.length, head: records.at(-1)?.hash });
    await store.close();
  });

  test('two connections to one file extend one chain (the head is read inside the write transaction)', async () => {
    const { store: a, path } = await freshStore();
    const b = await openSqliteStore(path, { now: () => NOW_MS });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i += 1) calls.push((i % 2 === 0 ? a : b).commitGrant(makeGrantInput(i)));
    await Promise.all(calls);
    await assert.rejects(b.commitGrant(makeGrantInput(99, { jti: 'jti-0' })), ReplayError, 'replay seen across connections');
    const records = await readAll(a);
    assert.equal(records.length, 40);
    assert.equal(verifyChain(records).ok, true);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('durability and reads', () => {
  test('data survives close and reopen; the chain continues', async () => {
    const { store, path } = await freshStore();
    await store.commitGrant(makeGrantInput(1));
    await store.appendAudit(makeBody(2));
    await store.close();
    const reopened = await openSqliteStore(path, { now: () => NOW_MS });
    assert.equal(await reopened.isReplayed('github', 'jti-1', NOW_S), true);
    await assert.rejects(reopened.commitGrant(makeGrantInput(3, { jti: 'jti-1' })), ReplayError);
    assert.equal((await reopened.getGrant('grant-1'))?.policy, 'webapp/deploy-prod');
    const next = await reopened.appendAudit(makeBody(4));
    assert.equal(next.seq, 3);
    const records = await readAll(reopened);
    assert.equal(next.prev_hash, records[1]?.hash);
    assert.equal(verifyChain(records).ok, true);
    await reopened.close();
  });

  test('grants: get, find by credential, revoke once, mark used', async () => {
    const { store } = await freshStore();
    const input = makeGrantInput(7);
    await store.commitGrant(input);
    assert.deepEqual(await store.getGrant('grant-7'), input.grant);
    assert.deepEqual(await store.findGrantByCredential(input.grant.credential_sha256 as string), input.grant);
    assert.equal(await store.findGrantByCredential('0'.repeat(64)), undefined);
    assert.equal(await store.getGrant('nope'), undefined);
    assert.equal(await store.markRevoked('grant-7', NOW_S + 5), true);
    assert.equal(await store.markRevoked('grant-7', NOW_S + 9), false, 'already revoked');
    assert.equal(await store.markRevoked('nope', NOW_S), false);
    await store.markUsed('grant-7', NOW_S + 20);
    await store.markUsed('grant-7', NOW_S + 10); // an older use never moves it back
    const row = await store.getGrant('grant-7');
    assert.equal(row?.revoked_at, NOW_S + 5);
    assert.equal(row?.last_used_at, NOW_S + 20);
    await store.close();
  });

  test('purgeExpired deletes only claims whose token expired', async () => {
    const { store, path } = await freshStore();
    await store.commitGrant(makeGrantInput(1, { jtiExpiresAt: NOW_S - 100 }));
    await store.commitGrant(makeGrantInput(2, { jtiExpiresAt: NOW_S - 1 }));
    await store.commitGrant(makeGrantInput(3, { jtiExpiresAt: NOW_S }));
    await store.commitGrant(makeGrantInput(4, { jtiExpiresAt: NOW_S + 100 }));
    assert.equal(await store.purgeExpired(NOW_S), 2);
    assert.equal(await store.purgeExpired(NOW_S), 0);
    const db = new DatabaseSync(path, { readOnly: true });
    const left = db.prepare('SELECT jti FROM jti ORDER BY jti').all().map((row) => row.jti);
    db.close();
    assert.deepEqual(left, ['jti-3', 'jti-4']);
    assert.equal((await readAll(store)).length, 4, 'the audit log is never purged');
    await store.close();
  });

  test('readAudit pages and resumes after a seq', async () => {
    const { store } = await freshStore();
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.appendAudit(makeBody(i))));
    assert.deepEqual((await readAll(store, { pageSize: 10 })).map((r) => r.seq), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.deepEqual((await readAll(store, { afterSeq: 20, pageSize: 2 })).map((r) => r.seq), [21, 22, 23, 24, 25]);
    assert.deepEqual(await readAll(store, { afterSeq: 25 }), []);
    await store.close();
  });

  test('creates the parent folder, uses WAL, records the schema version', async () => {
    const { store, path } = await freshStore();
    assert.equal(store.engine, 'sqlite');
    assert.ok(existsSync(path));
    await store.ping();
    await store.close();
    const db = new DatabaseSync(path);
    assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    assert.equal(db.prepare('PRAGMA user_version').get()?.user_version, 1);
    db.close();
  });
});

describe('hostile claim text', () => {
  const nasty = {
    repository: 'acme/webapp\n{"outcome":"granted"}',
    actor: 'octo"cat\\',
    ref: 'refs/heads/main\u0000hidden',
    environment: '\u001b[2J\u001b[31mprod\u001b[0m',
    workflow_ref: '\u009b31m\u2028\u202e',
  };

  test('newlines, quotes, NUL, ESC round-trip exactly and are stored escaped', async () => {
    const { store, path } = await freshStore();
    const written = await store.appendAudit(makeBody(1, { justification: 'line 1\r\nline 2\t"quoted"' }, nasty));
    await store.close();
    const reopened = await openSqliteStore(path, { readOnly: true });
    const [record] = await readAll(reopened);
    await reopened.close();
    for (const [claim, value] of Object.entries(nasty)) assert.equal(record?.[claim as keyof typeof nasty], value, claim);
    assert.equal(record?.justification, 'line 1\r\nline 2\t"quoted"');
    assert.deepEqual(record, written);
    const db = new DatabaseSync(path, { readOnly: true });
    const text = String(db.prepare('SELECT record FROM audit').get()?.record);
    db.close();
    assert.doesNotMatch(text, /[\u0000-\u001f]/, 'no raw control character in the stored JSON');
    assert.equal(JSON.parse(text).outcome, 'denied', 'an injected "outcome" stays inside the claim string');
  });
});

describe('store unavailable', () => {
  test('every call on a closed store rejects with StoreUnavailableError', async () => {
    const { store } = await freshStore();
    await store.close();
    await store.close(); // closing twice is harmless
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['appendAudit', () => store.appendAudit(makeBody(1))],
      ['commitGrant', () => store.commitGrant(makeGrantInput(1))],
      ['isReplayed', () => store.isReplayed('github', 'jti-1', NOW_S)],
      ['getGrant', () => store.getGrant('grant-1')],
      ['findGrantByCredential', () => store.findGrantByCredential('d'.repeat(64))],
      ['markRevoked', () => store.markRevoked('grant-1', NOW_S)],
      ['markUsed', () => store.markUsed('grant-1', NOW_S)],
      ['purgeExpired', () => store.purgeExpired(NOW_S)],
      ['ping', () => store.ping()],
      ['readAudit', () => readAll(store)],
    ];
    for (const [name, call] of calls) assert.ok((await rejectionOf(call())) instanceof StoreUnavailableError, name);
  });

  test('writes queued before close are committed, not lost', async () => {
    const { store, path } = await freshStore();
    const pending = store.commitGrant(makeGrantInput(1));
    await store.close();
    assert.equal((await pending).seq, 1);
    const reopened = await openSqliteStore(path, { readOnly: true });
    assert.equal((await readAll(reopened)).length, 1);
    await reopened.close();
  });

  test('a locked database rejects the whole batch with StoreUnavailableError and writes nothing', async () => {
    const { store, path } = await freshStore({ busyTimeoutMs: 10 });
    await store.appendAudit(makeBody(1));
    const other = new DatabaseSync(path);
    other.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([store.commitGrant(makeGrantInput(2)), store.appendAudit(makeBody(3)), store.markUsed('x', 1)]);
    other.exec('ROLLBACK');
    other.close();
    for (const result of results) assert.ok(result.status === 'rejected' && result.reason instanceof StoreUnavailableError);
    assert.equal(await store.isReplayed('github', 'jti-2', NOW_S), false);
    const retried = await store.commitGrant(makeGrantInput(2));
    assert.equal(retried.seq, 2, 'the failed batch left no record behind');
    assert.equal(verifyChain(await readAll(store)).ok, true);
    await store.close();
  });

  test('a read-only store refuses writes with StoreUnavailableError but reads', async () => {
    const { store, path } = await freshStore();
    await store.commitGrant(makeGrantInput(1));
    await store.close();
    const readOnly = await openSqliteStore(path, { readOnly: true });
    assert.ok((await rejectionOf(readOnly.commitGrant(makeGrantInput(2)))) instanceof StoreUnavailableError);
    assert.ok((await rejectionOf(readOnly.appendAudit(makeBody(3)))) instanceof StoreUnavailableError);
    assert.equal(await readOnly.isReplayed('github', 'jti-1', NOW_S), true);
    assert.equal((await readAll(readOnly)).length, 1);
    await readOnly.close();
  });

  test('real SQLite errors map to StoreUnavailableError: disk full, read-only, locked; a constraint does not', () => {
    const caught = (run: () => void): unknown => {
      try {
        run();
      } catch (error) {
        return error;
      }
      assert.fail('expected SQLite to fail');
    };
    const full = new DatabaseSync(':memory:');
    full.exec('CREATE TABLE t (x TEXT UNIQUE); PRAGMA max_page_count = 3');
    const errors: Array<[string, unknown, boolean]> = [
      ['SQLITE_FULL', caught(() => full.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT INTO t SELECT hex(randomblob(2000)) FROM n")), true],
      ['SQLITE_CONSTRAINT', caught(() => full.exec("INSERT INTO t VALUES ('a'), ('a')")), false],
    ];
    full.close();
    errors.push(['closed handle', caught(() => full.exec('SELECT 1')), true]);
    const path = join(temp.dir, 'errors.db');
    new DatabaseSync(path).close();
    const readOnly = new DatabaseSync(path, { readOnly: true });
    errors.push(['SQLITE_READONLY', caught(() => readOnly.exec('CREATE TABLE t (x)')), true]);
    readOnly.close();
    const holder = new DatabaseSync(path);
    const waiter = new DatabaseSync(path, { timeout: 1 });
    holder.exec('BEGIN EXCLUSIVE');
    errors.push(['SQLITE_BUSY', caught(() => waiter.exec('BEGIN IMMEDIATE')), true]);
    holder.exec('ROLLBACK');
    holder.close();
    waiter.close();
    for (const [name, error, unavailable] of errors) {
      assert.equal(isUnavailable(error), unavailable, name);
      assert.equal(toStoreError(error, 'x') instanceof StoreUnavailableError, unavailable, name);
    }
  });

  test('a file that is not a database cannot be opened: StoreUnavailableError', async () => {
    const garbage = join(temp.dir, 'garbage.db');
    writeFileSync(garbage, 'this is not a sqlite database, just text long enough to have a header'.repeat(20));
    await assert.rejects(openSqliteStore(garbage), StoreUnavailableError);
    await assert.rejects(openSqliteStore(garbage, { readOnly: true }), StoreUnavailableError);
  });
});

describe('memory store', () => {
  let store: Store;
  before(async () => {
    store = await openSqliteStore(':memory:');
  });
  after(() => store.close());

  test('works for tests', async () => {
    const record = await store.appendAudit(makeBody(1));
    assert.equal(record.seq, 1);
    assert.equal(verifyChain(await readAll(store)).ok, true);
  });
});
