/**
 * Signed checkpoints: sign and verify with real ES256 keys from a keys
 * folder, every way a checkpoint can be forged or mistaken, finding them in
 * log files, and finding the chain head of a real SQLite store.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { createCheckpointMatcher } from '../../exchange-service/src/audit/checkpoint-check.ts';
import { readChainHead, readHashAt } from '../../exchange-service/src/audit/checkpoint-head.ts';
import { readKeysDir } from '../../exchange-service/src/audit/checkpoint-keys.ts';
import {
  CHECKPOINT_TYPE,
  CheckpointError,
  extractCheckpoints,
  signCheckpoint,
  verifyCheckpoint,
  type CheckpointClaims,
  type CheckpointErrorCode,
} from '../../exchange-service/src/audit/checkpoint.ts';
import { createKeyFile, type SigningKey } from '../../exchange-service/src/jws/signing-keys.ts';
import { signCompactJwt } from '../../exchange-service/src/jws/sign.ts';
import { openSqliteStore } from '../../exchange-service/src/store/sqlite/store.ts';
import { makeBody, makeGrantInput, makeTempDir, readAll } from '../store/fixtures.ts';

const temp = makeTempDir();
after(() => temp.remove());

const CLAIMS: CheckpointClaims = {
  seq: 42,
  hash: 'ab'.repeat(32),
  time: '2026-11-23T10:05:00.000Z',
  iss: 'https://latchkey.test',
  policy_set_version: 'c0ffee',
};

let key: SigningKey;
let otherKey: SigningKey;
let jwks: { keys: Awaited<ReturnType<typeof readKeysDir>>['keys'] };
before(async () => {
  key = await createKeyFile(join(temp.dir, 'keys'), 'ES256');
  otherKey = await createKeyFile(join(temp.dir, 'other-keys'), 'ES256');
  jwks = await readKeysDir(join(temp.dir, 'keys'));
});

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('checkpoint signatures', () => {
  test('a signed checkpoint verifies against the keys folder and gives back its claims', async () => {
    const jws = await signCheckpoint(key, CLAIMS);
    const header = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(header, { typ: CHECKPOINT_TYPE, alg: 'ES256', kid: key.kid });
    const verified = await verifyCheckpoint(jws, jwks);
    assert.deepEqual(verified, { claims: CLAIMS, kid: key.kid });
    assert.equal(jwks.keys[0]?.d, undefined, 'only public members are read from the private key file');
  });

  const forgeries: Array<{ name: string; forge: () => Promise<string>; code: CheckpointErrorCode }> = [
    {
      name: 'payload swapped for a later seq',
      forge: async () => {
        const [header, , signature] = (await signCheckpoint(key, CLAIMS)).split('.');
        return `${header}.${b64({ ...CLAIMS, seq: 41 })}.${signature}`;
      },
      code: 'ERR_CHECKPOINT_SIGNATURE_INVALID',
    },
    {
      name: 'signature bytes flipped',
      forge: async () => {
        const [header, payload, signature = ''] = (await signCheckpoint(key, CLAIMS)).split('.');
        const bytes = Buffer.from(signature, 'base64url');
        bytes[5] = (bytes[5] ?? 0) ^ 0xff;
        return `${header}.${payload}.${bytes.toString('base64url')}`;
      },
      code: 'ERR_CHECKPOINT_SIGNATURE_INVALID',
    },
    { name: 'signed by a key not in the set', forge: () => signCheckpoint(otherKey, CLAIMS), code: 'ERR_CHECKPOINT_KEY_UNKNOWN' },
    {
      name: "signed by another key that claims the service key's kid",
      forge: async () => signCompactJwt({ ...otherKey, kid: key.kid }, { typ: CHECKPOINT_TYPE }, CLAIMS),
      code: 'ERR_CHECKPOINT_SIGNATURE_INVALID',
    },
    {
      name: 'an access token signed by the same key (typ at+jwt)',
      forge: async () => signCompactJwt(key, { typ: 'at+jwt' }, { ...CLAIMS }),
      code: 'ERR_CHECKPOINT_MALFORMED',
    },
    {
      name: 'a properly signed checkpoint with a malformed hash',
      forge: async () => signCompactJwt(key, { typ: CHECKPOINT_TYPE }, { ...CLAIMS, hash: 'not-a-hash' }),
      code: 'ERR_CHECKPOINT_MALFORMED',
    },
    {
      name: 'alg none',
      forge: async () => `${b64({ alg: 'none', typ: CHECKPOINT_TYPE })}.${b64(CLAIMS)}.`,
      code: 'ERR_CHECKPOINT_MALFORMED',
    },
    { name: 'not a JWS at all', forge: async () => 'hello.world', code: 'ERR_CHECKPOINT_MALFORMED' },
  ];
  for (const { name, forge, code } of forgeries) {
    test(`${name} → ${code}`, async () => {
      const jws = await forge();
      await assert.rejects(verifyCheckpoint(jws, jwks), (error: unknown) => error instanceof CheckpointError && error.code === code);
    });
  }

  test('claims are checked before signing', async () => {
    await assert.rejects(signCheckpoint(key, { ...CLAIMS, seq: 0 }));
  });
});

describe('finding checkpoints in a file', () => {
  const jws = 'eyJhbGciOiJFUzI1NiJ9.eyJzZXEiOjF9.c2ln';
  const cases: Array<{ name: string; text: string; expected: Array<{ line: number; jws: string }> }> = [
    {
      name: 'one JWS per line',
      text: `${jws}\n${jws}x\n`,
      expected: [
        { line: 1, jws },
        { line: 2, jws: `${jws}x` },
      ],
    },
    {
      name: 'service log lines, other lines passed over',
      text: [
        JSON.stringify({ time: 't', level: 'info', msg: 'listening' }),
        '(node:12) ExperimentalWarning: SQLite is an experimental feature',
        JSON.stringify({ time: 't', level: 'info', msg: 'audit checkpoint', checkpoint: jws, seq: 1 }),
        '{ not json',
        JSON.stringify({ msg: 'odd', checkpoint: 7 }),
      ].join('\n'),
      expected: [{ line: 3, jws }],
    },
    { name: 'CRLF line ends and surrounding blanks', text: `\r\n  ${jws}  \r\n`, expected: [{ line: 2, jws }] },
    { name: 'nothing there', text: 'hello\n\n', expected: [] },
  ];
  for (const { name, text, expected } of cases) {
    test(name, () => assert.deepEqual(extractCheckpoints(text), expected));
  }
});

describe('the chain head of a real SQLite store', () => {
  test('empty store → none; then the highest seq, whatever the hint', async () => {
    const store = await openSqliteStore(join(temp.dir, 'head', 'latchkey.db'));
    try {
      assert.equal(await readChainHead(store), undefined);
      await store.appendAudit(makeBody(1));
      assert.deepEqual(await readChainHead(store), { seq: 1, hash: (await readAll(store))[0]?.hash });
      for (let n = 2; n <= 37; n += 1) await (n % 5 === 0 ? store.commitGrant(makeGrantInput(n)) : store.appendAudit(makeBody(n)));
      const records = await readAll(store);
      const last = { seq: 37, hash: records[36]?.hash };
      const hints = [undefined, { seq: 1, hash: 'x' }, { seq: 36, hash: 'x' }, { seq: 37, hash: 'x' }, { seq: 500, hash: 'x' }];
      for (const hint of hints) assert.deepEqual(await readChainHead(store, hint), last, `hint ${hint?.seq}`);
      assert.equal(await readHashAt(store, 12), records[11]?.hash);
      assert.equal(await readHashAt(store, 38), undefined);
    } finally {
      await store.close();
    }
  });

  test('rows deleted from the middle and the tail: still the highest seq left', async () => {
    const path = join(temp.dir, 'gaps', 'latchkey.db');
    const store = await openSqliteStore(path);
    try {
      for (let n = 1; n <= 20; n += 1) await store.appendAudit(makeBody(n));
      deleteRows(path, 'seq BETWEEN 5 AND 15 OR seq > 18');
      const records = await readAll(store);
      assert.deepEqual(await readChainHead(store, { seq: 20, hash: 'x' }), { seq: 18, hash: records.at(-1)?.hash });
      assert.deepEqual(await readChainHead(store), { seq: 18, hash: records.at(-1)?.hash });
    } finally {
      await store.close();
    }
  });
});

describe('checkpoints against a store', () => {
  test('a truncated tail is caught: the store ends before the checkpoint', async () => {
    const path = join(temp.dir, 'truncate', 'latchkey.db');
    const store = await openSqliteStore(path);
    try {
      for (let n = 1; n <= 8; n += 1) await store.appendAudit(makeBody(n));
      const head = await readChainHead(store);
      assert.ok(head);
      const checkpoint = (await verifyCheckpoint(await signCheckpoint(key, { ...CLAIMS, ...head }), jwks)).claims;
      const intact = createCheckpointMatcher([checkpoint]);
      for (const record of await readAll(store)) assert.equal(intact.push(record), undefined);
      assert.equal(intact.finish(), undefined);
      assert.equal(intact.matched(), 1);

      deleteRows(path, 'seq > 5');
      const cut = createCheckpointMatcher([checkpoint]);
      for (const record of await readAll(store)) assert.equal(cut.push(record), undefined);
      assert.deepEqual(cut.finish(), { kind: 'truncated', checkpoint, endsAt: 5 });
    } finally {
      await store.close();
    }
  });
});

function deleteRows(path: string, where: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`DELETE FROM audit WHERE ${where}`);
  } finally {
    db.close();
  }
}
