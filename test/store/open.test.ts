import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { openStore } from '../../exchange-service/src/store/open.ts';
import { makeBody, makeTempDir } from './fixtures.ts';

const temp = makeTempDir();
after(() => temp.remove());

describe('openStore', () => {
  test('sqlite::memory: opens an in-memory SQLite store', async () => {
    const store = await openStore('sqlite::memory:');
    assert.equal(store.engine, 'sqlite');
    assert.equal((await store.appendAudit(makeBody(1))).seq, 1);
    await store.close();
  });

  test('sqlite:PATH is relative to the working directory', async () => {
    const file = join(temp.dir, 'nested', 'relative.db');
    const store = await openStore(`sqlite:${relative(process.cwd(), file)}`);
    await store.close();
    assert.ok(existsSync(file));
  });

  test('sqlite:/absolute/path works', async () => {
    const file = join(temp.dir, 'absolute.db');
    await (await openStore(`sqlite:${file}`)).close();
    assert.ok(existsSync(file));
  });

  const refused: Array<{ name: string; url: string; message: RegExp }> = [
    // Port 1 on loopback refuses at once: the PostgreSQL store is tried, and fails closed (conformance.test.ts has the working cases).
    {
      name: 'postgres:// with no server',
      url: 'postgres://latchkey:s3cret@127.0.0.1:1/latchkey',
      message: /the store postgres:\/\/latchkey:\*\*\*@127\.0\.0\.1:1\/latchkey cannot be opened/,
    },
    {
      name: 'postgresql:// with no server',
      url: 'postgresql://latchkey:s3cret@127.0.0.1:1/latchkey?sslmode=disable',
      message: /cannot be opened: .*ECONNREFUSED/,
    },
    { name: 'another scheme', url: 'mysql://root:s3cret@db/latchkey', message: /unsupported store URL scheme "mysql:"/ },
    { name: 'no scheme', url: './data/latchkey.db', message: /no scheme/ },
    { name: 'sqlite: without a path', url: 'sqlite:', message: /names no file/ },
    { name: 'ambiguous sqlite://', url: 'sqlite://data/latchkey.db', message: /sqlite:PATH/ },
  ];
  for (const { name, url, message } of refused) {
    test(`${name} is refused with a clear message that never echoes credentials`, async () => {
      await assert.rejects(openStore(url), (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /s3cret/);
        return true;
      });
    });
  }
});
