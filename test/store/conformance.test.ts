/**
 * One conformance suite for every Store operation, run against both
 * engines: SQLite (a file per test) and PostgreSQL (a schema per test in a
 * database of this file's own). The concurrency properties are checked
 * across two Store instances on one database: one jti claimed once, one
 * audit chain from many writers, a revoke on one seen by the other.
 */
import assert from 'node:assert/strict';
import { createHash, verify } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, afterEach, before, describe, test } from 'node:test';
import { GENESIS_HASH, verifyChain } from '../../exchange-service/src/audit/chain.ts';
import { CanonicalizationError } from '../../exchange-service/src/audit/jcs.ts';
import { openStore } from '../../exchange-service/src/store/open.ts';
import { SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from '../../exchange-service/src/store/sqlite/schema.ts';
import {
  CorruptRecordError,
  ReplayError,
  StoreSchemaError,
  StoreUnavailableError,
  type JtiClaim,
  type OpenedStore,
} from '../../exchange-service/src/store/store.ts';
import { createTestDatabase, postgresSkipReason, type TestDatabase } from '../support/postgres.ts';
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
} from './fixtures.ts';

/** One empty store location; each open() is another Store instance on it (another process, as far as the store can tell). */
interface Location {
  open(options?: { readOnly?: boolean }): Promise<OpenedStore>;
  /** Overwrites the stored text of record `seq`, as damaged or tampered storage would. */
  tamper(seq: number, text: string): Promise<void>;
  /** Marks the schema as written by a newer latchkey. */
  bumpSchema(): Promise<void>;
  /** The claimed jtis, sorted, read from the side. */
  jtis(): Promise<string[]>;
}

interface Engine {
  name: 'sqlite' | 'postgres';
  skip: string | false;
  /** Whether request counters are shared by every instance on one database. */
  sharedCounters: boolean;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  fresh(): Promise<Location>;
  /** Closes every store the last test opened. */
  closeAll(): Promise<void>;
}

/** Remembers the stores a test opened, to close them after it even when it fails (an open pool would keep the runner alive). */
function tracker(): { track(store: Promise<OpenedStore>): Promise<OpenedStore>; closeAll(): Promise<void> } {
  const opened: OpenedStore[] = [];
  return {
    async track(store) {
      const value = await store;
      opened.push(value);
      return value;
    },
    async closeAll() {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    },
  };
}

function sqliteEngine(): Engine {
  const { track, closeAll } = tracker();
  const temp = makeTempDir();
  let count = 0;
  const withDb = <T>(path: string, run: (db: DatabaseSync) => T): T => {
    const db = new DatabaseSync(path);
    try {
      return run(db);
    } finally {
      db.close();
    }
  };
  return {
    name: 'sqlite',
    skip: false,
    sharedCounters: false,
    closeAll,
    setUp: async () => {},
    tearDown: async () => temp.remove(),
    async fresh() {
      count += 1;
      const path = join(temp.dir, `store-${count}`, 'latchkey.db');
      return {
        open: (options = {}) => track(openStore(`sqlite:${path}`, { now: () => NOW_MS, ...options })),
        tamper: async (seq, text) => withDb(path, (db) => void db.prepare('UPDATE audit SET record = ? WHERE seq = ?').run(text, seq)),
        bumpSchema: async () => withDb(path, (db) => db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION + 98}`)),
        jtis: async () =>
          withDb(path, (db) =>
            db
              .prepare('SELECT jti FROM jti ORDER BY jti')
              .all()
              .map((row) => String(row.jti)),
          ),
      };
    },
  };
}

function postgresEngine(): Engine {
  const { track, closeAll } = tracker();
  const skip = postgresSkipReason();
  let database: TestDatabase | undefined;
  const db = (): TestDatabase => {
    if (database === undefined) throw new Error('the test database was not created');
    return database;
  };
  return {
    name: 'postgres',
    skip,
    sharedCounters: true,
    closeAll,
    async setUp() {
      if (skip === false) database = await createTestDatabase();
    },
    async tearDown() {
      await database?.drop();
    },
    async fresh() {
      const url = await db().freshSchemaUrl();
      const schema = new URL(url).searchParams.get('search_path') as string;
      const table = (name: string) => db().sql(`${schema}.${name}`);
      return {
        open: (options = {}) => track(openStore(url, { now: () => NOW_MS, ...options })),
        tamper: async (seq, text) => void (await db().sql`UPDATE ${table('latchkey_audit')} SET record = ${text} WHERE seq = ${seq}`),
        bumpSchema: async () =>
          void (await db().sql`INSERT INTO ${table('latchkey_schema_migrations')} (version, description, applied_at) VALUES (99, 'from the future', now())`),
        jtis: async () => (await db().sql`SELECT jti FROM ${table('latchkey_jti')} ORDER BY jti`).map((row) => String(row.jti)),
      };
    },
  };
}

const settledCounts = (results: PromiseSettledResult<unknown>[]) => ({
  fulfilled: results.filter((r) => r.status === 'fulfilled').length,
  replays: results.filter((r) => r.status === 'rejected' && r.reason instanceof ReplayError).length,
});

// The engines run side by side (each one's tests in order): both mostly wait for fsync.
describe('Store conformance', { concurrency: 2 }, () => {
  for (const engine of [sqliteEngine(), postgresEngine()]) {
    if (engine.skip !== false) {
      test(engine.name, { skip: engine.skip }, () => {}); // counted in the runner's "skipped" line
      continue;
    }
    describe(engine.name, { concurrency: 1 }, () => {
      before(() => engine.setUp());
      after(() => engine.tearDown());
      afterEach(() => engine.closeAll());

      describe('appendAudit and readAudit', () => {
        test('appends chain from the genesis hash; what is read back equals what was returned', async () => {
          const store = await (await engine.fresh()).open();
          assert.equal(store.engine, engine.name);
          const first = await store.appendAudit(makeBody(1));
          const second = await store.appendAudit(makeBody(2));
          assert.equal(first.seq, 1);
          assert.equal(first.prev_hash, GENESIS_HASH);
          assert.equal(second.prev_hash, first.hash);
          assert.deepEqual(await readAll(store), [first, second]);
          assert.deepEqual(verifyChain([first, second]), { ok: true, count: 2, head: second.hash });
        });

        test('readAudit pages and resumes after a seq', async () => {
          const store = await (await engine.fresh()).open();
          await Promise.all(Array.from({ length: 25 }, (_, i) => store.appendAudit(makeBody(i))));
          assert.deepEqual(
            (await readAll(store, { pageSize: 10 })).map((r) => r.seq),
            Array.from({ length: 25 }, (_, i) => i + 1),
          );
          assert.deepEqual(
            (await readAll(store, { afterSeq: 20, pageSize: 2 })).map((r) => r.seq),
            [21, 22, 23, 24, 25],
          );
          assert.deepEqual(await readAll(store, { afterSeq: 25 }), []);
        });

        const damaged: Array<{ name: string; text: string }> = [
          { name: 'not JSON', text: '{"id": "record-2", truncated' },
          { name: 'JSON but not an object', text: '[1, 2, 3]' },
          { name: "an object without the record's members", text: '{"id": "record-2", "outcome": "granted"}' },
          { name: 'a record whose outcome is not one of the outcomes', text: '{"id": "record-2", "outcome": 7}' },
        ];
        for (const { name, text } of damaged) {
          test(`a stored record that is ${name} is CorruptRecordError naming its seq`, async () => {
            const location = await engine.fresh();
            const store = await location.open();
            for (let i = 1; i <= 3; i += 1) await store.appendAudit(makeBody(i));
            await location.tamper(2, text);
            const error = await rejectionOf(readAll(store));
            assert.ok(error instanceof CorruptRecordError);
            assert.equal(error.seq, 2);
            assert.equal(error.text, text);
          });
        }

        test('hostile claim text (newlines, quotes, NUL, ESC) round-trips exactly and cannot forge fields', async () => {
          const location = await engine.fresh();
          const store = await location.open();
          const nasty = {
            repository: 'acme/webapp\n{"outcome":"granted"}',
            actor: 'octo"cat\\',
            ref: 'refs/heads/main\u0000hidden',
            environment: '\u001b[2J\u001b[31mprod\u001b[0m',
            workflow_ref: '\u009b31m\u2028\u202e',
          };
          const written = await store.appendAudit(makeBody(1, { justification: 'line 1\r\nline 2\t"quoted"' }, nasty));
          await store.close();
          const [record] = await readAll(await location.open({ readOnly: true }));
          assert.deepEqual(record, written);
          for (const [claim, value] of Object.entries(nasty)) assert.equal(record?.[claim as keyof typeof nasty], value, claim);
          assert.equal(record?.outcome, 'denied');
        });

        test('a record that cannot be canonicalised rejects its caller only', async () => {
          const store = await (await engine.fresh()).open();
          const error = await rejectionOf(store.appendAudit(makeBody(1, { grant: { ttl: Number.NaN } as never })));
          assert.ok(error instanceof CanonicalizationError);
          assert.equal((await store.appendAudit(makeBody(2))).seq, 1);
        });
      });

      describe('commitGrant and replay', () => {
        test('the same jti twice: the second is a ReplayError and writes nothing', async () => {
          const store = await (await engine.fresh()).open();
          const first = await store.commitGrant(makeGrantInput(1));
          assert.equal(first.seq, 1);
          assert.equal(first.outcome, 'granted');
          await assert.rejects(store.commitGrant(makeGrantInput(2, { jti: 'jti-1' })), ReplayError);
          assert.equal((await readAll(store)).length, 1);
          assert.equal(await store.getGrant('grant-2'), undefined);
        });

        test('commitSignedGrant signs the credential in the commit: its SHA-256 is in the grant row and the sealed record', async () => {
          const store = await (await engine.fresh()).open();
          await store.appendAudit(makeBody(1));
          const input = unsignedGrantInput(2);
          const signed = await store.commitSignedGrant(input, unsignedJwsFor({ jti: 'grant-2' }));
          const [header, payload, signature] = signed.credential.split('.');
          assert.ok(
            verify(
              'sha256',
              Buffer.from(`${header}.${payload}`),
              { key: TEST_KEY.publicKey, dsaEncoding: 'ieee-p1363' },
              Buffer.from(signature ?? '', 'base64url'),
            ),
          );
          const digest = createHash('sha256').update(signed.credential).digest('hex');
          assert.equal((await store.getGrant('grant-2'))?.credential_sha256, digest);
          const records = await readAll(store);
          assert.deepEqual(records.at(-1), signed.record, 'the caller holds the record as sealed');
          assert.equal(signed.record.grant?.credential_sha256, digest);
          assert.equal(verifyChain(records).ok, true);
          assert.equal(input.grant.credential_sha256, digest, "the caller's input carries the hash too");
        });

        test('commitSignedGrant of a replayed jti: ReplayError, nothing written, no credential', async () => {
          const store = await (await engine.fresh()).open();
          await store.commitGrant(makeGrantInput(1));
          await assert.rejects(store.commitSignedGrant(unsignedGrantInput(2, { jti: 'jti-1' }), unsignedJwsFor({ jti: 'grant-2' })), ReplayError);
          assert.equal((await readAll(store)).length, 1);
          assert.equal(await store.getGrant('grant-2'), undefined);
        });

        test('50 concurrent calls with one jti on one instance: exactly one succeeds', async () => {
          const store = await (await engine.fresh()).open();
          const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => store.commitGrant(makeGrantInput(i, { jti: 'shared' }))));
          assert.deepEqual(settledCounts(results), { fulfilled: 1, replays: 49 });
          const records = await readAll(store);
          assert.equal(records.length, 1);
          assert.equal(verifyChain(records).ok, true);
        });

        test('60 concurrent calls with one jti across two instances: exactly one succeeds, the rest are ReplayError', async () => {
          const location = await engine.fresh();
          const [a, b] = await Promise.all([location.open(), location.open()]);
          const results = await Promise.allSettled(
            Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).commitGrant(makeGrantInput(i, { jti: 'shared-across' }))),
          );
          assert.deepEqual(settledCounts(results), { fulfilled: 1, replays: 59 });
          assert.equal((await readAll(b)).length, 1);
          assert.equal(await a.isReplayed(claimOf('shared-across'), NOW_S), true);
        });

        test('the same jti from another issuer is another token', async () => {
          const store = await (await engine.fresh()).open();
          await store.commitGrant(makeGrantInput(1, { jti: 'same' }));
          await store.commitGrant(makeGrantInput(2, { jti: 'same', issuer: 'gitlab' }));
          assert.equal((await readAll(store)).length, 2);
        });

        test('a claim whose token has expired can be claimed again', async () => {
          const store = await (await engine.fresh()).open();
          await store.commitGrant(makeGrantInput(1, { jtiExpiresAt: NOW_S - 1 }));
          const again = await store.commitGrant(makeGrantInput(2, { jti: 'jti-1' }));
          assert.equal(again.seq, 2);
        });

        test('isReplayed: claimed and live, at expiry, after, unknown, other issuer, other expiry', async () => {
          const store = await (await engine.fresh()).open();
          await store.commitGrant(makeGrantInput(1, { jtiExpiresAt: NOW_S + 60 }));
          const claimed = claimOf('jti-1', { jtiExpiresAt: NOW_S + 60 });
          const cases: Array<[string, JtiClaim, number, boolean]> = [
            ['claimed, before expiry', claimed, NOW_S, true],
            ['claimed, at expiry', claimed, NOW_S + 60, true],
            ['claimed, after expiry', claimed, NOW_S + 61, false],
            ['unknown jti', { ...claimed, jti: 'jti-2' }, NOW_S, false],
            ['other issuer', { ...claimed, issuer: 'gitlab' }, NOW_S, false],
            // Another token (a replay carries the same exp): the issuer minted it, not a copy of the first.
            ['same jti, other expiry', { ...claimed, jtiExpiresAt: NOW_S + 61 }, NOW_S, false],
          ];
          for (const [name, claim, now, expected] of cases) assert.equal(await store.isReplayed(claim, now), expected, name);
        });

        test('jtis and subjects holding NUL are kept exactly and stay distinct', async () => {
          const store = await (await engine.fresh()).open();
          const input = makeGrantInput(1, { jti: 'a\u0000b' });
          input.grant.subject = 'repo:acme/webapp\u0000:ref:x';
          await store.commitGrant(input);
          await store.commitGrant(makeGrantInput(2, { jti: 'a' }));
          assert.deepEqual(await store.getGrant('grant-1'), input.grant);
          assert.equal(await store.isReplayed(claimOf('a\u0000b'), NOW_S), true);
          assert.equal(await store.isReplayed(claimOf('a\u0000c'), NOW_S), false);
          await assert.rejects(store.commitGrant(makeGrantInput(3, { jti: 'a\u0000b' })), ReplayError);
        });

        test('a failing write rejects only its caller; its jti stays unclaimed and the others commit', async () => {
          const store = await (await engine.fresh()).open();
          const [ok, duplicateGrant, badRecord, alsoOk] = await Promise.allSettled([
            store.commitGrant(makeGrantInput(1)),
            store.commitGrant(makeGrantInput(2, { grantId: 'grant-1' })), // primary key clash on grants
            store.appendAudit(makeBody(3, { grant: { ttl: Number.NaN } as never })),
            store.commitGrant(makeGrantInput(4)),
          ]);
          assert.equal(ok.status, 'fulfilled');
          assert.equal(alsoOk.status, 'fulfilled');
          assert.ok(duplicateGrant.status === 'rejected' && !(duplicateGrant.reason instanceof ReplayError));
          assert.ok(badRecord.status === 'rejected' && badRecord.reason instanceof CanonicalizationError);
          assert.equal(await store.isReplayed(claimOf('jti-2'), NOW_S), false, 'the failed write left no claim');
          const records = await readAll(store);
          assert.deepEqual(
            records.map((r) => r.id),
            ['record-1', 'record-4'],
          );
          assert.equal(verifyChain(records).ok, true);
        });
      });

      describe('signed grants beside a failing write', () => {
        test('a batch run again because a grant failed: the credential returned is the one whose hash was committed', async () => {
          const store = await (await engine.fresh()).open();
          await store.commitGrant(makeGrantInput(1));
          const [signed, clash] = await Promise.allSettled([
            store.commitSignedGrant(unsignedGrantInput(2), unsignedJwsFor({ jti: 'grant-2' })),
            store.commitGrant(makeGrantInput(3, { grantId: 'grant-1' })), // primary key clash: the batch runs again, grant by grant
          ]);
          assert.ok(clash.status === 'rejected' && !(clash.reason instanceof ReplayError));
          assert.equal(signed.status, 'fulfilled');
          const digest = createHash('sha256').update(signed.value.credential).digest('hex');
          assert.equal((await store.getGrant('grant-2'))?.credential_sha256, digest);
          const records = await readAll(store);
          assert.equal(records.at(-1)?.grant?.credential_sha256, digest);
          assert.deepEqual(records.at(-1), signed.value.record);
          assert.equal(verifyChain(records).ok, true);
        });
      });

      describe('the chain under concurrency', () => {
        test('200 concurrent mixed calls on one instance make one valid chain', async () => {
          const store = await (await engine.fresh()).open();
          const calls: Promise<unknown>[] = [];
          for (let i = 0; i < 200; i += 1) {
            if (i % 4 === 0) calls.push(store.appendAudit(makeBody(i)));
            else if (i % 4 === 1)
              calls.push(store.commitGrant(makeGrantInput(i, { jti: `jti-${i % 20}` }))); // some replays
            else if (i % 4 === 2) calls.push(store.commitGrant(makeGrantInput(i)));
            else calls.push(store.markUsed(`grant-${i - 1}`, NOW_S + i));
          }
          const results = await Promise.allSettled(calls);
          assert.ok(
            results.every((r) => r.status === 'fulfilled' || r.reason instanceof ReplayError),
            'only replays fail',
          );
          const appended = results.filter((r) => r.status === 'fulfilled' && typeof r.value === 'object' && r.value !== null);
          const records = await readAll(store);
          assert.equal(records.length, appended.length);
          assert.deepEqual(verifyChain(records), { ok: true, count: records.length, head: records.at(-1)?.hash });
        });

        test('many concurrent appends and grants from two instances extend one valid chain', async () => {
          const location = await engine.fresh();
          const [a, b] = await Promise.all([location.open(), location.open()]);
          const calls: Promise<unknown>[] = [];
          for (let i = 0; i < 300; i += 1) {
            const store = i % 2 === 0 ? a : b;
            calls.push(i % 3 === 0 ? store.commitGrant(makeGrantInput(i)) : store.appendAudit(makeBody(i)));
          }
          const written = await Promise.all(calls);
          const records = await readAll(a);
          assert.equal(records.length, 300);
          assert.deepEqual(
            records.map((r) => r.seq),
            Array.from({ length: 300 }, (_, i) => i + 1),
          );
          assert.deepEqual(verifyChain(records), { ok: true, count: 300, head: records.at(-1)?.hash });
          const bySeq = new Map(records.map((r) => [r.seq, r]));
          for (const record of written as Array<{ seq: number }>) assert.deepEqual(bySeq.get(record.seq), record, 'each caller got the record as stored');
        });
      });

      describe('grants', () => {
        test('get, find by credential, revoke once, mark used (never backwards)', async () => {
          const store = await (await engine.fresh()).open();
          const input = makeGrantInput(7, { kind: 'aws' });
          await store.commitGrant(input);
          assert.deepEqual(await store.getGrant('grant-7'), input.grant);
          assert.deepEqual(await store.findGrantByCredential(input.grant.credential_sha256 as string), input.grant);
          assert.equal(await store.findGrantByCredential('0'.repeat(64)), undefined);
          const token = makeGrantInput(8);
          await store.commitGrant(token);
          assert.equal(await store.findGrantByCredential(token.grant.credential_sha256 as string), undefined, "token grants are found by id, their JWT's jti");
          assert.equal(await store.getGrant('nope'), undefined);
          assert.equal(await store.markRevoked('grant-7', NOW_S + 5), true);
          assert.equal(await store.markRevoked('grant-7', NOW_S + 9), false, 'already revoked');
          assert.equal(await store.markRevoked('nope', NOW_S), false);
          await store.markUsed('grant-7', NOW_S + 20);
          await store.markUsed('grant-7', NOW_S + 10);
          await store.markUsed('nope', NOW_S);
          const row = await store.getGrant('grant-7');
          assert.equal(row?.revoked_at, NOW_S + 5);
          assert.equal(row?.last_used_at, NOW_S + 20);
        });

        test('a revoke on one instance is seen by the next read on another', async () => {
          const location = await engine.fresh();
          const [a, b] = await Promise.all([location.open(), location.open()]);
          await a.commitGrant(makeGrantInput(1, { kind: 'aws' }));
          assert.equal((await b.getGrant('grant-1'))?.revoked_at, null);
          assert.equal(await a.markRevoked('grant-1', NOW_S + 1), true);
          assert.equal((await b.getGrant('grant-1'))?.revoked_at, NOW_S + 1);
          assert.equal((await b.findGrantByCredential('1'.padStart(64, 'd')))?.revoked_at, NOW_S + 1);
          assert.equal(await b.markRevoked('grant-1', NOW_S + 2), false, 'the other instance cannot revoke it again');
        });
      });

      describe('purge and request counters', () => {
        test('purgeExpired deletes only claims whose token expired', async () => {
          const location = await engine.fresh();
          const store = await location.open();
          await store.commitGrant(makeGrantInput(1, { jtiExpiresAt: NOW_S - 100 }));
          await store.commitGrant(makeGrantInput(2, { jtiExpiresAt: NOW_S - 1 }));
          await store.commitGrant(makeGrantInput(3, { jtiExpiresAt: NOW_S }));
          await store.commitGrant(makeGrantInput(4, { jtiExpiresAt: NOW_S + 100 }));
          assert.equal(await store.purgeExpired(NOW_S), 2);
          assert.equal(await store.purgeExpired(NOW_S), 0);
          assert.deepEqual(await location.jtis(), ['jti-3', 'jti-4']);
          assert.equal((await readAll(store)).length, 4, 'the audit log is never purged');
        });

        test('countRequests counts per key and per window; peekRequests does not count', async () => {
          const store = await (await engine.fresh()).open();
          const window = NOW_S - (NOW_S % 60);
          const steps: Array<[string, () => Promise<number>, number]> = [
            ['first hit', () => store.countRequests('github:acme/webapp', window, 60), 1],
            ['second hit', () => store.countRequests('github:acme/webapp', window, 60), 2],
            ['peek', () => store.peekRequests('github:acme/webapp', window), 2],
            ['peek again', () => store.peekRequests('github:acme/webapp', window), 2],
            ['another key', () => store.countRequests('github:acme/other', window, 60), 1],
            ['a key with NUL is its own key', () => store.countRequests('github:acme/webapp\u0000', window, 60), 1],
            ['the next window starts at zero', () => store.countRequests('github:acme/webapp', window + 60, 60), 1],
            ['peek at an unseen key', () => store.peekRequests('nobody', window), 0],
          ];
          for (const [name, step, expected] of steps) assert.equal(await step(), expected, name);
          const concurrent = await Promise.all(Array.from({ length: 20 }, () => store.countRequests('burst', window, 60)));
          assert.deepEqual(
            [...concurrent].sort((x, y) => x - y),
            Array.from({ length: 20 }, (_, i) => i + 1),
          );
        });

        test('purgeExpired forgets counters of ended windows', async () => {
          const store = await (await engine.fresh()).open();
          await store.countRequests('k', 600, 60);
          await store.countRequests('k', 660, 60);
          await store.purgeExpired(660);
          assert.equal(await store.peekRequests('k', 600), 0);
          assert.equal(await store.peekRequests('k', 660), 1);
        });

        if (engine.sharedCounters) {
          test('counters are shared by every instance on the database', async () => {
            const location = await engine.fresh();
            const [a, b] = await Promise.all([location.open(), location.open()]);
            await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).countRequests('ip:192.0.2.1', 60, 60)));
            assert.equal(await a.peekRequests('ip:192.0.2.1', 60), 10);
            assert.equal(await b.countRequests('ip:192.0.2.1', 60, 60), 11);
          });
        }
      });

      describe('lifecycle', () => {
        test('data survives close and reopen; the chain continues', async () => {
          const location = await engine.fresh();
          const store = await location.open();
          await store.commitGrant(makeGrantInput(1));
          await store.appendAudit(makeBody(2));
          await store.close();
          const reopened = await location.open();
          assert.equal(await reopened.isReplayed(claimOf('jti-1'), NOW_S), true);
          await assert.rejects(reopened.commitGrant(makeGrantInput(3, { jti: 'jti-1' })), ReplayError);
          const next = await reopened.appendAudit(makeBody(4));
          assert.equal(next.seq, 3);
          assert.equal(verifyChain(await readAll(reopened)).ok, true);
        });

        test('every call on a closed store rejects with StoreUnavailableError; closing twice is harmless', async () => {
          const store = await (await engine.fresh()).open();
          await store.close();
          await store.close();
          const calls: Array<[string, () => Promise<unknown>]> = [
            ['appendAudit', () => store.appendAudit(makeBody(1))],
            ['commitGrant', () => store.commitGrant(makeGrantInput(1))],
            ['isReplayed', () => store.isReplayed(claimOf('jti-1'), NOW_S)],
            ['getGrant', () => store.getGrant('grant-1')],
            ['findGrantByCredential', () => store.findGrantByCredential('d'.repeat(64))],
            ['markRevoked', () => store.markRevoked('grant-1', NOW_S)],
            ['markUsed', () => store.markUsed('grant-1', NOW_S)],
            ['purgeExpired', () => store.purgeExpired(NOW_S)],
            ['countRequests', () => store.countRequests('k', 0, 60)],
            ['peekRequests', () => store.peekRequests('k', 0)],
            ['ping', () => store.ping()],
            ['readAudit', () => readAll(store)],
          ];
          for (const [name, call] of calls) assert.ok((await rejectionOf(call())) instanceof StoreUnavailableError, name);
        });

        test('writes queued before close are committed, not lost', async () => {
          const location = await engine.fresh();
          const store = await location.open();
          const pending = [store.commitGrant(makeGrantInput(1)), store.appendAudit(makeBody(2))];
          await store.close();
          assert.deepEqual((await Promise.all(pending)).map((r) => r.seq).sort(), [1, 2]);
          assert.equal((await readAll(await location.open({ readOnly: true }))).length, 2);
        });

        test('a read-only store reads, refuses writes with StoreUnavailableError, and pings', async () => {
          const location = await engine.fresh();
          const store = await location.open();
          await store.commitGrant(makeGrantInput(1));
          await store.close();
          const readOnly = await location.open({ readOnly: true });
          assert.ok((await rejectionOf(readOnly.commitGrant(makeGrantInput(2)))) instanceof StoreUnavailableError);
          assert.ok((await rejectionOf(readOnly.appendAudit(makeBody(3)))) instanceof StoreUnavailableError);
          assert.equal(await readOnly.isReplayed(claimOf('jti-1'), NOW_S), true);
          assert.equal((await readAll(readOnly)).length, 1);
          await readOnly.ping();
        });

        test('a store reopened after migration is used as is by a second instance', async () => {
          const location = await engine.fresh();
          const [first, second] = await Promise.all([location.open(), location.open()]);
          await first.appendAudit(makeBody(1));
          assert.equal((await second.appendAudit(makeBody(2))).seq, 2);
          await first.ping();
          await second.ping();
        });

        for (const readOnly of [false, true]) {
          test(`a schema newer than this latchkey is refused with StoreSchemaError (${readOnly ? 'read-only' : 'read-write'})`, async () => {
            const location = await engine.fresh();
            await (await location.open()).close();
            await location.bumpSchema();
            const error = await rejectionOf(location.open({ readOnly }));
            assert.ok(error instanceof StoreSchemaError, String(error));
            assert.match(error.message, /newer than this latchkey understands/);
          });
        }
      });
    });
  }
});
