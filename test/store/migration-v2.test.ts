/**
 * Schema version 2 on a store written by version 1: replay claims are keyed
 * by expiry first, and only opaque credentials (aws, github) keep an index
 * on their SHA-256. A store with version-1 rows must come out of the
 * migration with every claim still refusing its replay, every grant still
 * found, and queries that use the new indexes (checked in the query plans:
 * a partial index the planner cannot prove usable would scan the table).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, afterEach, before, describe, test } from 'node:test';
import { openStore } from '../../exchange-service/src/store/open.ts';
import { MIGRATIONS as POSTGRES_MIGRATIONS } from '../../exchange-service/src/store/postgres/schema.ts';
import { FIND_CLAIM_SQL, GRANT_BY_CREDENTIAL_SQL } from '../../exchange-service/src/store/sqlite/reads.ts';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../exchange-service/src/store/sqlite/schema.ts';
import { CLAIM_SQL, PURGE_CLAIMS_SQL } from '../../exchange-service/src/store/sqlite/writes.ts';
import { ReplayError, type OpenedStore } from '../../exchange-service/src/store/store.ts';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres.ts';
import { NOW_MS, NOW_S, claimOf, makeGrantInput, makeTempDir } from './fixtures.ts';

const TOKEN_SHA = 'a'.repeat(64);
const AWS_SHA = 'b'.repeat(64);

/** Version-1 rows: a live claim, an expired one, a token grant and an aws grant. */
const V1_ROWS = {
  jti: [
    ['github', 'jti-live', NOW_S + 600],
    ['github', 'jti-old', NOW_S - 5],
  ] as const,
  grants: [
    ['grant-token', 'token', TOKEN_SHA],
    ['grant-aws', 'aws', AWS_SHA],
  ] as const,
};

/** What every engine must show after migrating the version-1 rows. */
async function checkMigrated(store: OpenedStore): Promise<void> {
  assert.equal(await store.isReplayed(claimOf('jti-live'), NOW_S), true, 'the live claim is remembered');
  await assert.rejects(store.commitGrant(makeGrantInput(1, { jti: 'jti-live' })), ReplayError);
  assert.equal(await store.isReplayed(claimOf('jti-old', { jtiExpiresAt: NOW_S - 5 }), NOW_S), false, 'the expired claim is over');
  assert.equal((await store.findGrantByCredential(AWS_SHA))?.id, 'grant-aws');
  assert.equal(await store.findGrantByCredential(TOKEN_SHA), undefined, 'token grants are found by id');
  assert.equal((await store.getGrant('grant-token'))?.credential_sha256, TOKEN_SHA);
  assert.equal(await store.purgeExpired(NOW_S), 1, 'only the expired claim is purged');
  assert.equal(await store.isReplayed(claimOf('jti-live'), NOW_S), true);
}

const grantValues = (id: string, kind: string, sha: string): unknown[] => [
  id,
  'webapp/deploy-prod',
  kind,
  'github',
  'repo:acme/webapp:ref:refs/heads/main',
  '892341',
  '7',
  '1',
  sha,
  NOW_S,
  NOW_S + 900,
  null,
  null,
];

describe('schema 2 on a version-1 SQLite store', () => {
  const temp = makeTempDir();
  after(() => temp.remove());
  const opened: OpenedStore[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  const versionOne = (path: string): void => {
    const db = new DatabaseSync(path);
    try {
      const [first] = SQLITE_MIGRATIONS;
      assert.equal(first?.version, 1);
      db.exec(first.sql);
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (1, ?, ?)').run(first.description, new Date(NOW_MS).toISOString());
      db.exec('PRAGMA user_version = 1');
      const claim = db.prepare('INSERT INTO jti (issuer, jti, expires_at) VALUES (?, ?, ?)');
      for (const row of V1_ROWS.jti) claim.run(...row);
      const grant = db.prepare('INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      for (const [id, kind, sha] of V1_ROWS.grants) grant.run(...(grantValues(id, kind, sha) as Array<string | number | null>));
    } finally {
      db.close();
    }
  };

  test('claims, grants and their lookups survive the migration', async () => {
    const path = join(temp.dir, 'v1.db');
    versionOne(path);
    const store = await openStore(`sqlite:${path}`, { now: () => NOW_MS });
    opened.push(store);
    await checkMigrated(store);
  });

  test('the claim, replay and credential queries use the new indexes', async () => {
    const path = join(temp.dir, 'plans.db');
    versionOne(path);
    opened.push(await openStore(`sqlite:${path}`, { now: () => NOW_MS }));
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const plan = (query: string): string =>
        db
          .prepare(`EXPLAIN QUERY PLAN ${query}`)
          .all()
          .map((row) => String(row.detail))
          .join('; ');
      assert.equal(db.prepare('PRAGMA user_version').get()?.user_version, 2);
      // The statements the store runs, not copies of them.
      assert.match(plan(FIND_CLAIM_SQL), /USING PRIMARY KEY \(expires_at=\? AND issuer=\? AND jti=\?\)/);
      // An upsert prepares only when its conflict target is a unique key of the table: the new one.
      assert.doesNotThrow(() => db.prepare(CLAIM_SQL));
      assert.match(plan(GRANT_BY_CREDENTIAL_SQL), /USING INDEX grants_opaque_credential/);
      assert.match(plan(PURGE_CLAIMS_SQL), /USING PRIMARY KEY \(expires_at<\?\)/);
      const indexes = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
        .all()
        .map((row) => row.name);
      assert.deepEqual(indexes, ['audit_time', 'grants_opaque_credential']);
    } finally {
      db.close();
    }
  });
});

describeWithPostgres('schema 2 on a version-1 PostgreSQL store', { concurrency: 1 }, () => {
  let database: TestDatabase;
  const opened: OpenedStore[] = [];
  before(async () => {
    database = await createTestDatabase();
  });
  after(() => database.drop());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  test('claims, grants, lookups and granted privileges survive the migration', async () => {
    const url = await database.freshSchemaUrl();
    const schema = new URL(url).searchParams.get('search_path') as string;
    const [first] = POSTGRES_MIGRATIONS;
    assert.equal(first?.version, 1);
    const role = `${schema}_app`;
    await database.sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL search_path TO ${schema}`);
      await tx.unsafe(first.sql).simple();
      await tx`INSERT INTO latchkey_schema_migrations (version, description, applied_at) VALUES (1, ${first.description}, now())`;
      for (const [issuer, jti, expiresAt] of V1_ROWS.jti) await tx`INSERT INTO latchkey_jti (issuer, jti, expires_at) VALUES (${issuer}, ${jti}, ${expiresAt})`;
      for (const [id, kind, sha] of V1_ROWS.grants) {
        await tx.unsafe('INSERT INTO latchkey_grants VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)', grantValues(id, kind, sha) as never[]);
      }
      // An operator's least-privilege role: the migration must keep what was granted on the table it re-keys.
      await tx.unsafe(`CREATE ROLE ${role}; GRANT SELECT, INSERT, UPDATE, DELETE ON latchkey_jti TO ${role}`).simple();
    });
    try {
      const store = await openStore(url, { now: () => NOW_MS });
      opened.push(store);
      await checkMigrated(store);
      const [privileges] = await database.sql`SELECT has_table_privilege(${role}, ${`${schema}.latchkey_jti`}, 'INSERT') AS insert`;
      assert.equal(privileges?.insert, true);
      const indexes =
        await database.sql`SELECT indexname FROM pg_indexes WHERE schemaname = ${schema} AND tablename IN ('latchkey_jti', 'latchkey_grants') ORDER BY indexname`;
      assert.deepEqual(
        indexes.map((row) => row.indexname),
        ['latchkey_grants_opaque_credential', 'latchkey_grants_pkey', 'latchkey_jti_pkey'],
      );
    } finally {
      await database.sql.unsafe(`DROP OWNED BY ${role}; DROP ROLE ${role}`).simple();
    }
  });
});
