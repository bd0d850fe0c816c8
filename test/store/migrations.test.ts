import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { SCHEMA_VERSION } from '../../exchange-service/src/store/sqlite/schema.ts';
import { openSqliteStore } from '../../exchange-service/src/store/sqlite/store.ts';
import { StoreSchemaError, StoreUnavailableError } from '../../exchange-service/src/store/store.ts';
import { makeBody, makeTempDir } from './fixtures.ts';

const temp = makeTempDir();
after(() => temp.remove());

/** Runs SQL on the file through a separate connection, as an operator or another version would. */
function withDb<T>(path: string, run: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(path);
  try {
    return run(db);
  } finally {
    db.close();
  }
}

const tables = (db: DatabaseSync): string[] =>
  db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
    .all()
    .map((row) => String(row.name));

describe('schema migrations', () => {
  test('a new database is migrated to the current version once', async () => {
    const path = join(temp.dir, 'fresh.db');
    await (await openSqliteStore(path)).close();
    await (await openSqliteStore(path)).close(); // reopening runs nothing again
    withDb(path, (db) => {
      assert.equal(db.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION);
      assert.deepEqual(
        db
          .prepare('SELECT version FROM schema_migrations')
          .all()
          .map((row) => row.version),
        [1, 2],
      );
      assert.deepEqual(tables(db), ['audit', 'grants', 'jti', 'schema_migrations']);
    });
  });

  const refusals: Array<{ name: string; readOnly: boolean }> = [
    { name: 'read-write', readOnly: false },
    { name: 'read-only', readOnly: true },
  ];
  for (const { name, readOnly } of refusals) {
    test(`a newer schema version is refused (${name}) and the file is left alone`, async () => {
      const path = join(temp.dir, `newer-${name}.db`);
      withDb(path, (db) => db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 98}`));
      await assert.rejects(openSqliteStore(path, { readOnly }), (error: unknown) => {
        assert.ok(error instanceof StoreSchemaError);
        assert.match(error.message, new RegExp(`schema version ${SCHEMA_VERSION + 98}, newer than this latchkey understands \\(${SCHEMA_VERSION}\\)`));
        return true;
      });
      withDb(path, (db) => {
        assert.equal(db.prepare('PRAGMA user_version').get()?.user_version, SCHEMA_VERSION + 98);
        assert.deepEqual(tables(db), [], 'no migration ran');
      });
    });
  }

  test('read-only opening never migrates: an empty database is "not a latchkey store"', async () => {
    const path = join(temp.dir, 'empty.db');
    withDb(path, (db) => db.exec('CREATE TABLE unrelated (x)'));
    await assert.rejects(openSqliteStore(path, { readOnly: true }), /is not a latchkey store \(schema version 0\)/);
    withDb(path, (db) => assert.deepEqual(tables(db), ['unrelated']));
  });

  test('read-only opening of a missing file is a clear error and creates nothing', async () => {
    const folder = join(temp.dir, 'absent');
    await assert.rejects(openSqliteStore(join(folder, 'latchkey.db'), { readOnly: true }), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailableError);
      assert.match(error.message, /no SQLite store at .*absent/);
      return true;
    });
    mkdirSync(folder); // would throw if the failed open had created the folder
  });

  test('a store migrated by one process is used as is by the next', async () => {
    const path = join(temp.dir, 'shared.db');
    const first = await openSqliteStore(path);
    await first.appendAudit(makeBody(1));
    const second = await openSqliteStore(path);
    assert.equal((await second.appendAudit(makeBody(2))).seq, 2);
    await Promise.all([first.close(), second.close()]);
  });
});
