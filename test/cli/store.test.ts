/**
 * `latchkey store migrate` as a user runs it (a child process): which store
 * it picks (--store, LATCHKEY_STORE_URL, the config file), what it prints,
 * and its exit codes (0 done or current, 1 failed, 2 usage), on SQLite and,
 * when a test cluster is available, PostgreSQL.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { runAuditCommand } from '../../exchange-service/src/cli/audit.ts';
import { runStoreCommand } from '../../exchange-service/src/cli/store.ts';
import { openStore } from '../../exchange-service/src/store/open.ts';
import { makeBody } from '../store/fixtures.ts';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'exchange-service/bin/latchkey.js');

/** Runs `latchkey store …` to completion, with only the variables given (no LATCHKEY_* from the caller's shell). */
async function latchkey(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'store', ...args], { cwd, env: { ...base, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Runs the command in this process (the same code, without a Node start-up per case); `env` is all it sees. */
async function inProcess(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        into.push(String(chunk));
        done();
      },
    });
  const code = await runStoreCommand(args, { stdout: sink(out), stderr: sink(err), env });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** `latchkey audit …` in this process. */
async function inProcessAudit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        into.push(String(chunk));
        done();
      },
    });
  const code = await runAuditCommand(args, { stdout: sink(out), stderr: sink(err), env: {} });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const userVersion = (path: string): number => {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare('PRAGMA user_version').get()?.user_version);
  } finally {
    db.close();
  }
};

describe('latchkey store migrate (SQLite)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-store-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('migrates a new store from version 0, then reports it up to date', async () => {
    const first = await latchkey(['migrate', '--store', 'sqlite:./fresh/latchkey.db'], dir);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'store sqlite:./fresh/latchkey.db: schema migrated from version 0 to 2\n');
    assert.equal(userVersion(join(dir, 'fresh/latchkey.db')), 2);
    const second = await latchkey(['migrate', '--store=sqlite:./fresh/latchkey.db'], dir);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'store sqlite:./fresh/latchkey.db: schema version 2, up to date\n');
  });

  it('takes the store from LATCHKEY_STORE_URL, then from the config file', async () => {
    const fromEnv = await inProcess(['migrate'], { LATCHKEY_STORE_URL: `sqlite:${join(dir, 'env.db')}` });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal(userVersion(join(dir, 'env.db')), 2);
    await writeFile(join(dir, 'other.yaml'), `store: { url: "sqlite:${join(dir, 'from-config.db')}" }\n`);
    const fromConfig = await inProcess(['migrate', '--config', join(dir, 'other.yaml')]);
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.match(fromConfig.stdout, /from-config\.db: schema migrated from version 0 to 2$/m);
    const flagWins = await inProcess(['migrate', '--config', join(dir, 'other.yaml'), '--store', `sqlite:${join(dir, 'flag.db')}`]);
    assert.match(flagWins.stdout, /flag\.db: schema migrated from version 0 to 2$/m);
  });

  it('exits 1 for a store newer than this release, and leaves it alone', async () => {
    const path = join(dir, 'newer.db');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    const result = await inProcess(['migrate', '--store', `sqlite:${path}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /schema version 99, newer than this latchkey understands/);
    assert.equal(userVersion(path), 99);
  });

  it('exits 1 for an unreachable PostgreSQL store without printing its password', async () => {
    const result = await inProcess(['migrate', '--store', 'postgres://latchkey:s3cret@127.0.0.1:1/latchkey'], { LATCHKEY_STORE_CONNECT_TIMEOUT: '2' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot be migrated: .*ECONNREFUSED/);
    assert.doesNotMatch(result.stderr + result.stdout, /s3cret/);
  });

  const usage: Array<{ name: string; args: string[]; code: number; says: RegExp }> = [
    { name: 'no subcommand', args: [], code: 2, says: /missing command/ },
    { name: 'an unknown subcommand', args: ['upgrade'], code: 2, says: /unknown command "store upgrade"/ },
    { name: 'an unknown flag', args: ['migrate', '--force'], code: 2, says: /unexpected argument "--force"/ },
    { name: '--store without a value', args: ['migrate', '--store'], code: 2, says: /--store needs a value/ },
    { name: '--store twice', args: ['migrate', '--store', 'sqlite:a.db', '--store', 'sqlite:b.db'], code: 2, says: /--store given twice/ },
    { name: 'an unsupported scheme', args: ['migrate', '--store', 'mysql://db/x'], code: 1, says: /unsupported store URL scheme "mysql:"/ },
  ];
  for (const c of usage) {
    it(`exits ${c.code} on ${c.name}`, async () => {
      const result = await inProcess(c.args);
      assert.equal(result.code, c.code);
      assert.match(result.stderr, c.says);
    });
  }

  it('prints its usage with --help', async () => {
    const result = await inProcess(['migrate', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^usage: latchkey store migrate \[--store URL\] \[--config FILE\]$/m);
  });
});

describeWithPostgres('latchkey store migrate (PostgreSQL)', {}, () => {
  let db: TestDatabase;
  let dir: string;
  before(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'latchkey-store-cli-pg-'));
  });
  after(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('migrates an empty database from version 0, then reports it up to date; the password is never printed', async () => {
    const url = new URL(await db.freshSchemaUrl());
    url.password = 'n0t-printed'; // the test cluster trusts loopback, so any password is accepted
    const first = await latchkey(['migrate', '--store', url.toString()], dir);
    assert.equal(first.code, 0, first.stderr);
    const schema = url.searchParams.get('search_path') as string;
    assert.match(
      first.stdout,
      new RegExp(
        `^store postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/latchkey_test_\\w+\\?search_path=${schema}: schema migrated from version 0 to 2\n$`,
      ),
    );
    const second = await inProcess(['migrate'], { LATCHKEY_STORE_URL: url.toString() });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /schema version 2, up to date\n$/);
    assert.doesNotMatch(first.stdout + first.stderr + second.stdout + second.stderr, /n0t-printed/);
    const rows = await db.sql`SELECT version FROM ${db.sql(`${schema}.latchkey_schema_migrations`)}`;
    assert.deepEqual(
      rows.map((row) => row.version),
      [1, 2],
    );
  });

  it('`latchkey audit verify --store postgres://…` checks the chain there: intact, then broken after an edit', async () => {
    const url = await db.freshSchemaUrl();
    const store = await openStore(url);
    try {
      for (let i = 1; i <= 3; i += 1) await store.appendAudit(makeBody(i));
    } finally {
      await store.close();
    }
    const intact = await inProcessAudit(['verify', '--store', url]);
    assert.equal(intact.code, 0, intact.stderr);
    assert.match(intact.stdout, /audit chain intact: 3 records/);
    const schema = new URL(url).searchParams.get('search_path') as string;
    await db.sql`UPDATE ${db.sql(`${schema}.latchkey_audit`)} SET record = replace(record, '"denied"', '"granted"') WHERE seq = 2`;
    const broken = await inProcessAudit(['verify', '--store', url]);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /audit chain broken at seq 2/);
  });
});
