/**
 * `latchkey audit verify --checkpoint FILE` on real SQLite files with real
 * keys: truncation, rewrites below a checkpoint, forged and foreign
 * checkpoints, every way to name the keys — and end to end, the checkpoint
 * a real service logs at shutdown catching a tail cut off its store.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { readChainHead, type ChainHead } from '../../exchange-service/src/audit/checkpoint-head.ts';
import { signCheckpoint } from '../../exchange-service/src/audit/checkpoint.ts';
import { runAuditCommand } from '../../exchange-service/src/cli/audit.ts';
import { createKeyFile, loadSigningKeys, type SigningKey } from '../../exchange-service/src/jws/signing-keys.ts';
import { openSqliteStore } from '../../exchange-service/src/store/sqlite/store.ts';
import { NOW_MS, makeBody, makeGrantInput, makeTempDir } from '../store/fixtures.ts';
import { exchangeParams, startTestService } from '../support/service.ts';
import { capture } from '../support/capture.ts';

const temp = makeTempDir();
after(() => temp.remove());

const KEYS = join(temp.dir, 'keys');
const OTHER_KEYS = join(temp.dir, 'other-keys');
let key: SigningKey;
let other: SigningKey;
before(async () => {
  key = await createKeyFile(KEYS, 'ES256');
  other = await createKeyFile(OTHER_KEYS, 'ES256');
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runAuditCommand(args, { stdout: stdout.stream, stderr: stderr.stream, env: {} });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function sql(path: string, statement: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(statement);
  } finally {
    db.close();
  }
}

/** A store of ten records, built once; `heads` holds the chain head after the 6th and after the 10th. */
const BASE = join(temp.dir, 'base', 'latchkey.db');
const heads: ChainHead[] = [];
before(async () => {
  const store = await openSqliteStore(BASE, { now: () => NOW_MS });
  for (let n = 1; n <= 10; n += 1) {
    await (n % 3 === 0 ? store.commitGrant(makeGrantInput(n)) : store.appendAudit(makeBody(n)));
    if (n === 6 || n === 10) heads.push((await readChainHead(store)) as ChainHead);
  }
  await store.close();
});

/** A copy of the base store, and a checkpoint file (JWS lines or service log lines) with its two checkpoints signed by `signer`. */
async function setUp(
  name: string,
  options: { signer?: SigningKey | undefined; logLines?: boolean | undefined } = {},
): Promise<{ path: string; url: string; file: string; checkpoints: string[] }> {
  const path = join(temp.dir, name, 'latchkey.db');
  mkdirSync(dirname(path), { recursive: true });
  for (const suffix of ['', '-wal']) if (existsSync(`${BASE}${suffix}`)) copyFileSync(`${BASE}${suffix}`, `${path}${suffix}`);
  const checkpoints: string[] = [];
  for (const head of heads) checkpoints.push(await signCheckpoint(options.signer ?? key, { ...head, time: new Date(NOW_MS + head.seq * 1000).toISOString() }));
  const file = join(temp.dir, name, 'checkpoints.txt');
  const lines = options.logLines
    ? checkpoints.flatMap((jws) => [
        JSON.stringify({ level: 'info', msg: 'listening' }),
        JSON.stringify({ level: 'info', msg: 'audit checkpoint', checkpoint: jws }),
      ])
    : checkpoints;
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { path, url: `sqlite:${path}`, file, checkpoints };
}

describe('audit verify --checkpoint', () => {
  const cases: Array<{
    name: string;
    signer?: () => SigningKey;
    logLines?: boolean;
    tamper?: (path: string) => Promise<void> | void;
    keys?: string[];
    code: number;
    stdout: RegExp;
  }> = [
    { name: 'intact store, one JWS per line', code: 0, stdout: /^audit chain intact: 10 records, head [0-9a-f]{64}\ncheckpoints: 2 matched the store\n$/ },
    { name: 'intact store, the service log as the file', logLines: true, code: 0, stdout: /checkpoints: 2 matched the store/ },
    {
      name: 'the last rows deleted',
      tamper: (path) => sql(path, 'DELETE FROM audit WHERE seq > 7'),
      code: 1,
      stdout: /^truncated: the store ends at seq 7, but checkpoint at seq 10 \(2026-11-23T10:00:10\.000Z\) says the chain reached it\n$/,
    },
    {
      name: 'every row deleted',
      tamper: (path) => sql(path, 'DELETE FROM audit'),
      code: 1,
      stdout: /^truncated: the store ends at seq 0, but checkpoint at seq 10 /,
    },
    {
      name: 'tail cut and re-grown with other records (a rewritten chain)',
      tamper: async (path) => {
        sql(path, 'DELETE FROM audit WHERE seq > 5');
        const store = await openSqliteStore(path, { now: () => NOW_MS });
        for (let n = 6; n <= 12; n += 1) await store.appendAudit(makeBody(n, { justification: 'rewritten' }));
        await store.close();
      },
      code: 1,
      stdout: /^checkpoint mismatch at seq 6 \(2026-11-23T10:00:06\.000Z\): the checkpoint says hash [0-9a-f]{64}, the store holds [0-9a-f]{64}/,
    },
    {
      name: 'a chain break is still reported first',
      tamper: (path) => sql(path, "UPDATE audit SET record = json_set(record, '$.outcome', 'granted') WHERE seq = 4"),
      code: 1,
      stdout: /^audit chain broken at seq 4 /,
    },
    {
      name: 'checkpoints signed by a key the service does not have',
      signer: () => other,
      code: 1,
      stdout: /^checkpoint refused \(line 1 of .*\): no key in the key set matches .*\[ERR_CHECKPOINT_KEY_UNKNOWN\]\ncheckpoint refused \(line 2 /,
    },
    {
      name: 'verified with another keys folder',
      keys: ['--keys', OTHER_KEYS],
      code: 1,
      stdout: /ERR_CHECKPOINT_KEY_UNKNOWN/,
    },
  ];
  for (const [index, { name, signer, logLines, tamper, keys, code, stdout }] of cases.entries()) {
    test(`${name} → exit ${code}`, async () => {
      const setup = await setUp(`case-${index}`, { signer: signer?.(), logLines });
      await tamper?.(setup.path);
      const result = await cli(['verify', '--store', setup.url, '--checkpoint', setup.file, ...(keys ?? ['--keys', KEYS])]);
      assert.equal(result.code, code, result.stdout + result.stderr);
      assert.match(result.stdout, stdout);
    });
  }

  test('a checkpoint with a forged signature among good ones → exit 1, naming its line', async () => {
    const setup = await setUp('forged');
    const [header, payload, signature = ''] = (setup.checkpoints[1] ?? '').split('.');
    const flipped = Buffer.from(signature, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    writeFileSync(setup.file, `${setup.checkpoints[0]}\n${header}.${payload}.${flipped.toString('base64url')}\n`);
    const result = await cli(['verify', '--store', setup.url, '--checkpoint', setup.file, '--keys', KEYS]);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /^checkpoint refused \(line 2 of .*\): the signature does not verify \[ERR_CHECKPOINT_SIGNATURE_INVALID\]\naudit chain intact: 10 records/,
    );
  });

  test("keys from a JWKS file, a JWKS URL, and the config file's signing.keys_dir", async () => {
    const setup = await setUp('key-sources');
    const jwks = (await loadSigningKeys(KEYS)).jwks;
    const jwksFile = join(temp.dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(jwks));
    const server = await serveJson(JSON.stringify(jwks));
    const config = join(temp.dir, 'latchkey.yaml');
    writeFileSync(config, `signing: { keys_dir: ${JSON.stringify(KEYS)} }\nstore: { url: ${JSON.stringify(setup.url)} }\n`);
    try {
      const port = (server.address() as AddressInfo).port;
      for (const args of [
        ['--jwks', jwksFile],
        ['--jwks', `http://127.0.0.1:${port}/.well-known/jwks.json`],
        ['--config', config],
      ]) {
        const result = await cli(['verify', '--store', setup.url, '--checkpoint', setup.file, ...args]);
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stdout, /checkpoints: 2 matched/);
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  const unusable: Array<{ name: string; args: (setup: { url: string; file: string }) => string[]; message: RegExp }> = [
    {
      name: 'a file with no checkpoints',
      args: ({ url }) => ['verify', '--store', url, '--checkpoint', noiseFile(), '--keys', KEYS],
      message: /no checkpoints in /,
    },
    {
      name: 'a missing checkpoint file',
      args: ({ url }) => ['verify', '--store', url, '--checkpoint', join(temp.dir, 'nope.txt'), '--keys', KEYS],
      message: /ENOENT/,
    },
    {
      name: 'a keys folder with no keys',
      args: ({ url, file }) => ['verify', '--store', url, '--checkpoint', file, '--keys', temp.dir],
      message: /no signing keys/,
    },
    { name: 'a JWKS that is not one', args: ({ url, file }) => ['verify', '--store', url, '--checkpoint', file, '--jwks', file], message: /is not JSON/ },
    {
      name: '--keys and --jwks together',
      args: ({ url, file }) => ['verify', '--store', url, '--checkpoint', file, '--keys', KEYS, '--jwks', 'x'],
      message: /--keys or --jwks, not both/,
    },
    { name: '--keys without --checkpoint', args: ({ url }) => ['verify', '--store', url, '--keys', KEYS], message: /go with --checkpoint/ },
    { name: '--checkpoint without a file', args: () => ['verify', '--checkpoint'], message: /--checkpoint needs a file/ },
  ];
  for (const { name, args, message } of unusable) {
    test(`${name} → exit 2`, async () => {
      const setup = await setUp(`unusable-${name.replace(/\W+/g, '-')}`); // a file copy and two signatures: cheap
      const result = await cli(args(setup));
      assert.equal(result.code, 2, result.stdout);
      assert.match(result.stderr, message);
    });
  }
});

describe('end to end: the service signs its head at shutdown', () => {
  test('a tail cut off after the service stopped fails verification against its own log', async () => {
    const dir = join(temp.dir, 'service');
    const svc = await startTestService({ dir });
    let closed = false;
    try {
      for (const ref of ['refs/heads/main', 'refs/heads/dev', 'refs/heads/main']) {
        await svc.post('/token', exchangeParams(await svc.issuer.sign({ ref }), 'webapp/read'));
      }
      await svc.close();
      closed = true;
      const log = join(dir, 'service.log');
      writeFileSync(log, `${svc.logs.join('\n')}\n`);
      const store = join(dir, 'data', 'latchkey.db');
      const keys = ['--keys', join(dir, 'keys')];

      const intact = await cli(['verify', '--store', `sqlite:${store}`, '--checkpoint', log, ...keys]);
      assert.equal(intact.code, 0, intact.stdout + intact.stderr);
      assert.match(intact.stdout, /^audit chain intact: 3 records, head [0-9a-f]{64}\ncheckpoints: 1 matched the store\n$/);

      sql(store, 'DELETE FROM audit WHERE seq = 3');
      assert.equal((await cli(['verify', '--store', `sqlite:${store}`])).code, 0, 'the chain alone cannot see a cut tail');
      const cut = await cli(['verify', '--store', `sqlite:${store}`, '--checkpoint', log, ...keys]);
      assert.equal(cut.code, 1);
      assert.match(cut.stdout, /^truncated: the store ends at seq 2, but checkpoint at seq 3 \(\d{4}-\d\d-\d\dT[\d:.]+Z\) says the chain reached it\n$/);
    } finally {
      if (!closed) await svc.close();
    }
  });
});

/** A log file with no checkpoint in it. */
function noiseFile(): string {
  const file = join(temp.dir, 'noise.log');
  writeFileSync(file, `${JSON.stringify({ level: 'info', msg: 'listening' })}\nplain text\n`);
  return file;
}

function serveJson(body: string): Promise<Server> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
