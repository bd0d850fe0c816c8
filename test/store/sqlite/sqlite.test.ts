/**
 * What only the SQLite store has: its file (folder, WAL, user_version),
 * escaped storage, lock and I/O errors, `:memory:`. Every Store operation,
 * replay and the chain under concurrency are in conformance.test.ts, run
 * against both engines.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { verifyChain } from '../../../exchange-service/src/audit/chain.ts';
import { isUnavailable, toStoreError } from '../../../exchange-service/src/store/sqlite/errors.ts';
import { openSqliteStore, type SqliteStoreOptions } from '../../../exchange-service/src/store/sqlite/store.ts';
import { StoreUnavailableError, type Store } from '../../../exchange-service/src/store/store.ts';
import { NOW_MS, NOW_S, claimOf, makeBody, makeGrantInput, makeTempDir, readAll } from '../fixtures.ts';

const temp = makeTempDir();
after(() => temp.remove());

let counter = 0;
/** A fresh store file per test, with the fixed clock. */
async function freshStore(options: SqliteStoreOptions = {}): Promise<{ store: Store; path: string }> {
  counter += 1;
  const path = join(temp.dir, `store-${counter}`, 'latchkey.db');
  return { store: await openSqliteStore(path, { now: () => NOW_MS, ...options }), path };
}

describe('SQLite files', () => {
  test('creates the parent folder, uses WAL, records the schema version', async () => {
    const { store, path } = await freshStore();
    assert.equal(store.engine, 'sqlite');
    assert.ok(existsSync(path));
    await store.ping();
    await store.close();
    const db = new DatabaseSync(path);
    assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    assert.equal(db.prepare('PRAGMA user_version').get()?.user_version, 2);
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
  test('a locked database rejects the whole batch with StoreUnavailableError and writes nothing', async () => {
    const { store, path } = await freshStore({ busyTimeoutMs: 10 });
    await store.appendAudit(makeBody(1));
    const other = new DatabaseSync(path);
    other.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([store.commitGrant(makeGrantInput(2)), store.appendAudit(makeBody(3)), store.markUsed('x', 1)]);
    other.exec('ROLLBACK');
    other.close();
    for (const result of results) assert.ok(result.status === 'rejected' && result.reason instanceof StoreUnavailableError);
    assert.equal(await store.isReplayed(claimOf('jti-2'), NOW_S), false);
    const retried = await store.commitGrant(makeGrantInput(2));
    assert.equal(retried.seq, 2, 'the failed batch left no record behind');
    assert.equal(verifyChain(await readAll(store)).ok, true);
    await store.close();
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
      [
        'SQLITE_FULL',
        caught(() =>
          full.exec('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) INSERT INTO t SELECT hex(randomblob(2000)) FROM n'),
        ),
        true,
      ],
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
