/**
 * `latchkey audit verify` against real SQLite files, tampered with plain SQL
 * the way someone with write access to the file would (ATTACKS.md 26, 28).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sealRecord } from '../../exchange-service/src/audit/chain.ts';
import { canonicalize } from '../../exchange-service/src/audit/jcs.ts';
import type { AuditRecordBody } from '../../exchange-service/src/audit/record.ts';
import { runAuditCommand } from '../../exchange-service/src/cli/audit.ts';
import { openSqliteStore } from '../../exchange-service/src/store/sqlite/store.ts';
import { NOW_MS, makeBody, makeGrantInput, makeTempDir } from '../store/fixtures.ts';
import { capture } from '../support/capture.ts';

const temp = makeTempDir();
after(() => temp.remove());

const HOSTILE = { actor: 'mallory\n"x"\u0000\u001b[2J\u001b]0;pwned\u0007', environment: '\u009b31m\u2028\u202eprod' };

let counter = 0;
/** A store file with six records: grants, denials, one with hostile claim text (seq 2). */
async function makeStoreFile(): Promise<{ path: string; url: string }> {
  counter += 1;
  const path = join(temp.dir, `chain-${counter}`, 'latchkey.db');
  const store = await openSqliteStore(path, { now: () => NOW_MS });
  await store.commitGrant(makeGrantInput(1));
  await store.appendAudit(makeBody(2, {}, HOSTILE));
  await store.commitGrant(makeGrantInput(3));
  await store.appendAudit(makeBody(4));
  await store.appendAudit(makeBody(5, { event: 'revoke', outcome: 'revoked', reason: null }));
  await store.commitGrant(makeGrantInput(6));
  await store.close();
  return { path, url: `sqlite:${path}` };
}

async function verify(args: string[], env: NodeJS.ProcessEnv = {}, configFile?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const io = { stdout: stdout.stream, stderr: stderr.stream, env, ...(configFile === undefined ? {} : { configFile }) };
  const code = await runAuditCommand(args, io);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function sql(path: string, statements: string, ...params: string[]): void {
  const db = new DatabaseSync(path);
  try {
    if (params.length === 0) db.exec(statements);
    else db.prepare(statements).run(...params);
  } finally {
    db.close();
  }
}

function storedRecord(path: string, seq: number): Record<string, unknown> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return JSON.parse(String(db.prepare('SELECT record FROM audit WHERE seq = ?').get(seq)?.record)) as Record<string, unknown>;
  } finally {
    db.close();
  }
}

/** A forged record chained correctly onto seq 3, inserted at seq 4 after shifting the tail up. */
function insertChainedForgery(path: string): void {
  const previous = storedRecord(path, 3);
  const forged = sealRecord(String(previous.hash), makeBody(99, { outcome: 'granted', reason: null }));
  sql(path, 'UPDATE audit SET seq = -seq WHERE seq >= 4; UPDATE audit SET seq = 1 - seq WHERE seq < 0;');
  sql(
    path,
    'INSERT INTO audit (seq, id, time, hash, prev_hash, record) VALUES (4, ?, ?, ?, ?, ?)',
    forged.id,
    forged.time,
    forged.hash,
    forged.prev_hash,
    canonicalize(forged),
  );
}

/** Edits seq 3 and recomputes its own hash: the tamper only shows at the next link. */
function editAndRehash(path: string): void {
  const { hash: _hash, ...record } = storedRecord(path, 3);
  // The stored JSON holds a whole body plus prev_hash; sealRecord re-chains it like the service would.
  const body = { ...record, actor: 'mallory' } as unknown as AuditRecordBody;
  const resealed = sealRecord(String(record.prev_hash), body);
  sql(path, 'UPDATE audit SET record = ?, hash = ? WHERE seq = 3', canonicalize(resealed), resealed.hash);
}

describe('audit verify on a real SQLite file', () => {
  test('untouched chain: exit 0 with the count and head', async () => {
    const { path, url } = await makeStoreFile();
    const head = storedRecord(path, 6).hash;
    const result = await verify(['verify', '--store', url]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `audit chain intact: 6 records, head ${head}\n`);
    assert.equal(result.stderr, '');
  });

  const tampers: Array<{ name: string; tamper: (path: string) => void; seq: number; id: string; problem: RegExp }> = [
    {
      name: 'a field edited inside the stored JSON',
      tamper: (path) => sql(path, "UPDATE audit SET record = json_set(record, '$.outcome', 'granted') WHERE seq = 4"),
      seq: 4,
      id: 'record-4',
      problem: /hash does not match the record's contents/,
    },
    {
      name: 'a field edited and the record re-hashed',
      tamper: editAndRehash,
      seq: 4,
      id: 'record-4',
      problem: /prev_hash does not match the hash of seq 3/,
    },
    {
      name: 'a row deleted',
      tamper: (path) => sql(path, 'DELETE FROM audit WHERE seq = 4'),
      seq: 5,
      id: 'record-5',
      problem: /seq 5 follows seq 3: 1 record\(s\) missing/,
    },
    {
      name: 'the first row deleted',
      tamper: (path) => sql(path, 'DELETE FROM audit WHERE seq = 1'),
      seq: 2,
      id: 'record-2',
      problem: /seq 2 follows seq 0/,
    },
    {
      name: 'a __proto__ member added to a record (a schema copy would drop it)',
      tamper: (path) => sql(path, `UPDATE audit SET record = json_set(record, '$.__proto__', json('{"outcome":"denied"}')) WHERE seq = 3`),
      seq: 3,
      id: 'record-3',
      problem: /hash does not match/,
    },
    {
      name: 'a seq member added to a record',
      tamper: (path) => sql(path, "UPDATE audit SET record = json_set(record, '$.seq', 9) WHERE seq = 3"),
      seq: 3,
      id: '(unreadable)',
      problem: /has a seq member of its own/,
    },
    {
      name: 'a forged row appended',
      tamper: (path) =>
        sql(
          path,
          "INSERT INTO audit (seq, id, time, hash, prev_hash, record) SELECT 7, 'forged', time, hash, hash, " +
            "json_set(record, '$.id', 'forged', '$.prev_hash', hash) FROM audit WHERE seq = 6",
        ),
      seq: 7,
      id: 'forged',
      problem: /hash does not match/,
    },
    {
      name: 'a correctly chained forged row inserted in the middle',
      tamper: insertChainedForgery,
      seq: 5,
      id: 'record-4',
      problem: /prev_hash does not match the hash of seq 4/,
    },
    {
      name: "two rows' order swapped",
      tamper: (path) => sql(path, 'UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -1;'),
      seq: 2,
      id: 'record-3',
      problem: /prev_hash does not match the hash of seq 1/,
    },
    {
      name: 'a record that is not JSON',
      tamper: (path) => sql(path, "UPDATE audit SET record = 'deleted by an operator' WHERE seq = 5"),
      seq: 5,
      id: '(unreadable)',
      problem: /the stored record is not valid JSON/,
    },
    {
      name: 'a JSON object that is not a record',
      tamper: (path) => sql(path, `UPDATE audit SET record = '{"id": "record-5", "outcome": 7}' WHERE seq = 5`),
      seq: 5,
      id: '(unreadable)',
      problem: /the stored record does not have the record's shape \(/,
    },
  ];
  for (const { name, tamper, seq, id, problem } of tampers) {
    test(`ATTACKS 26: ${name} → exit 1 naming seq ${seq}`, async () => {
      const { path, url } = await makeStoreFile();
      tamper(path);
      const result = await verify(['verify', '--store', url]);
      assert.equal(result.code, 1, result.stderr);
      const [first = '', second = ''] = result.stdout.split('\n');
      assert.match(first, new RegExp(`^audit chain broken at seq ${seq} \\(id ${JSON.stringify(id).replace(/[()]/g, '\\$&')}\\): `));
      assert.match(first, problem);
      assert.match(second, /^record: /);
    });
  }

  test('ATTACKS 28: hostile claim text in the bad record is printed escaped, yet faithfully', async () => {
    const { path, url } = await makeStoreFile();
    sql(path, "UPDATE audit SET record = json_set(record, '$.reason', 'edited') WHERE seq = 2");
    const result = await verify(['verify', '--store', url]);
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stdout, /[^\x20-\x7e\n]/, 'only printable ASCII and line breaks reach the terminal');
    assert.equal(result.stdout.split('\n').length, 4, "three lines: the claim's newline cannot add one");
    assert.match(result.stdout, /\\u001b\[2J/);
    assert.match(result.stdout, /\\u0000/);
    assert.match(result.stdout, /\\u009b31m\\u2028\\u202eprod/);
    const printed = JSON.parse(result.stdout.split('\n')[1]?.slice('record: '.length) ?? '') as Record<string, unknown>;
    assert.equal(printed.actor, HOSTILE.actor);
    assert.equal(printed.environment, HOSTILE.environment);
    assert.equal(printed.seq, 2);
  });

  test('verifying never writes to the database, even next to a running writer', async () => {
    const { path, url } = await makeStoreFile();
    const before = createHash('sha256').update(readFileSync(path)).digest('hex');
    assert.equal((await verify(['verify', '--store', url])).code, 0);
    assert.equal(createHash('sha256').update(readFileSync(path)).digest('hex'), before);

    const running = await openSqliteStore(path, { now: () => NOW_MS });
    await running.appendAudit(makeBody(7));
    const result = await verify(['verify', '--store', url]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /intact: 7 records/);
    assert.equal((await running.appendAudit(makeBody(8))).seq, 8, 'the writer carries on');
    await running.close();
  });

  test('an empty store is intact with the genesis head', async () => {
    const path = join(temp.dir, 'empty', 'latchkey.db');
    await (await openSqliteStore(path)).close();
    const result = await verify(['verify', '--store', `sqlite:${path}`]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `audit chain intact: 0 records, head ${'0'.repeat(64)}\n`);
  });
});

describe('audit verify: arguments and store selection', () => {
  const usage: Array<{ name: string; args: string[]; code: number; stream: 'stdout' | 'stderr'; message: RegExp }> = [
    { name: 'no command', args: [], code: 2, stream: 'stderr', message: /missing command\nusage: latchkey audit verify \[--store URL\]/ },
    { name: 'unknown command', args: ['frob'], code: 2, stream: 'stderr', message: /unknown command "audit frob"/ },
    { name: 'unknown flag', args: ['verify', '--bogus'], code: 2, stream: 'stderr', message: /unexpected argument "--bogus"\nusage:/ },
    { name: '--store without a URL', args: ['verify', '--store'], code: 2, stream: 'stderr', message: /--store needs a URL/ },
    { name: '--store twice', args: ['verify', '--store', 'sqlite:a', '--store=sqlite:b'], code: 2, stream: 'stderr', message: /--store given twice/ },
    { name: 'help', args: ['verify', '--help'], code: 0, stream: 'stdout', message: /^usage: latchkey audit verify/ },
    { name: 'group help', args: ['--help'], code: 0, stream: 'stdout', message: /^usage: latchkey audit verify/ },
    // Port 1 on loopback refuses at once; the message names the store but never its password.
    {
      name: 'unreachable postgres URL',
      args: ['verify', '--store', 'postgres://u:s3cret@127.0.0.1:1/x'],
      code: 2,
      stream: 'stderr',
      message: /^(?![\s\S]*s3cret)[\s\S]*cannot be opened/,
    },
    {
      name: 'missing database file',
      args: ['verify', '--store', 'sqlite:/nonexistent/latchkey.db'],
      code: 2,
      stream: 'stderr',
      message: /no SQLite store at \/nonexistent\/latchkey\.db/,
    },
  ];
  for (const { name, args, code, stream, message } of usage) {
    test(`${name} → exit ${code}`, async () => {
      const result = await verify(args);
      assert.equal(result.code, code);
      assert.match(result[stream], message);
    });
  }

  test('--store=URL form', async () => {
    const { url } = await makeStoreFile();
    assert.equal((await verify(['verify', `--store=${url}`])).code, 0);
  });

  test('LATCHKEY_STORE_URL when there is no --store; --store wins over it', async () => {
    const { url } = await makeStoreFile();
    assert.equal((await verify(['verify'], { LATCHKEY_STORE_URL: url })).code, 0);
    assert.equal((await verify(['verify', '--store', url], { LATCHKEY_STORE_URL: 'sqlite:/nonexistent.db' })).code, 0);
    assert.equal((await verify(['verify'], { LATCHKEY_STORE_URL: 'sqlite:/nonexistent.db' })).code, 2);
  });

  test("the config file's store.url when neither is given", async () => {
    const { url } = await makeStoreFile();
    const config = join(temp.dir, 'latchkey.yaml');
    writeFileSync(config, `store:\n  url: "${url}"\n`);
    const result = await verify(['verify'], {}, config);
    assert.equal(result.code, 0, result.stderr);
    writeFileSync(config, 'store: { url: 42, nonsense: true }\n');
    const bad = await verify(['verify'], {}, config);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /store/);
  });

  test('default sqlite:./data/latchkey.db, relative to the working directory (a real process)', async () => {
    const cwd = join(temp.dir, 'workdir');
    mkdirSync(cwd);
    const command = fileURLToPath(new URL('../../exchange-service/src/cli/audit.ts', import.meta.url));
    const script =
      `import { runAuditCommand } from ${JSON.stringify(command)};\n` +
      "process.exitCode = await runAuditCommand(['verify'], { stdout: process.stdout, stderr: process.stderr, env: process.env });";
    const env = { ...process.env };
    delete env.LATCHKEY_STORE_URL;
    const run = (): Promise<{ code: number; stdout: string; stderr: string }> =>
      promisify(execFile)(process.execPath, ['--input-type=module', '--eval', script], { cwd, env }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
      );
    const missing = await run();
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no SQLite store at .*workdir\/data\/latchkey\.db/);
    const store = await openSqliteStore(join(cwd, 'data', 'latchkey.db'));
    await store.appendAudit(makeBody(1));
    await store.close();
    const present = await run();
    assert.equal(present.code, 0, present.stderr);
    assert.match(present.stdout, /^audit chain intact: 1 records, head [0-9a-f]{64}\n$/);
  });
});
