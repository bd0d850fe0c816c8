/**
 * What only the PostgreSQL store has, beyond the shared conformance suite:
 * migrations under concurrency and `latchkey store migrate`'s API, a newer
 * schema appearing under a running replica, the statement timeout on the
 * chain head's lock, a database that goes away and comes back (the same
 * Store recovers by itself), a server that never answers, TLS with a CA
 * file, and which real errors count as "unavailable".
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { verifyChain } from '../../exchange-service/src/audit/chain.ts';
import { Config } from '../../exchange-service/src/config.ts';
import { migrateStore, openStore, storeOptionsFromConfig, type OpenStoreOptions } from '../../exchange-service/src/store/open.ts';
import { isUnavailable } from '../../exchange-service/src/store/postgres/errors.ts';
import { SCHEMA_VERSION } from '../../exchange-service/src/store/postgres/schema.ts';
import { ReplayError, StoreSchemaError, StoreUnavailableError, type OpenedStore } from '../../exchange-service/src/store/store.ts';
import { adminClient, createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres.ts';
import { NOW_MS, NOW_S, claimOf, makeBody, makeGrantInput, readAll, rejectionOf } from './fixtures.ts';

const baseUrl = process.env.LATCHKEY_TEST_POSTGRES_URL ?? '';

describeWithPostgres('PostgreSQL store', { concurrency: 1 }, () => {
  let db: TestDatabase;
  const opened: OpenedStore[] = [];
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db.drop());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  /** A fresh schema and its URL (with `extra` query parameters). */
  const freshUrl = async (extra: Record<string, string> = {}): Promise<{ url: string; schema: string }> => {
    const url = new URL(await db.freshSchemaUrl());
    for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
    return { url: url.toString(), schema: url.searchParams.get('search_path') as string };
  };
  const open = async (url: string, options: OpenStoreOptions = {}): Promise<OpenedStore> => {
    const store = await openStore(url, { now: () => NOW_MS, ...options });
    opened.push(store);
    return store;
  };
  const table = (schema: string, name: string) => db.sql(`${schema}.${name}`);

  describe('migrations', () => {
    test('four replicas opening one empty schema at once migrate it once', async () => {
      const { url, schema } = await freshUrl();
      await Promise.all([open(url), open(url), open(url), open(url)]);
      const rows = await db.sql`SELECT version FROM ${table(schema, 'latchkey_schema_migrations')}`;
      assert.deepEqual(
        rows.map((row) => row.version),
        [1, 2],
      );
      const tables = await db.sql`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY table_name`;
      assert.deepEqual(
        tables.map((row) => row.table_name),
        ['latchkey_audit', 'latchkey_audit_head', 'latchkey_grants', 'latchkey_jti', 'latchkey_rate_counters', 'latchkey_schema_migrations'],
      );
    });

    test('migrateStore reports from → to, and nothing to do the second time', async () => {
      const { url } = await freshUrl();
      assert.deepEqual(await migrateStore(url), { from: 0, to: SCHEMA_VERSION });
      assert.deepEqual(await migrateStore(url), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
      const store = await open(url, { readOnly: true });
      await store.ping();
    });

    test('read-only opening never migrates: an empty schema is "not a latchkey store" and stays empty', async () => {
      const { url, schema } = await freshUrl();
      const error = await rejectionOf(openStore(url, { readOnly: true }));
      assert.ok(error instanceof StoreSchemaError);
      assert.match(error.message, /is not a latchkey store \(schema version 0\)/);
      const tables = await db.sql`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = ${schema}`;
      assert.equal(tables[0]?.n, 0);
    });

    test('a newer schema arriving under a running replica stops its chain writes and fails its ping', async () => {
      const { url, schema } = await freshUrl();
      const store = await open(url);
      await store.appendAudit(makeBody(1));
      await db.sql`INSERT INTO ${table(schema, 'latchkey_schema_migrations')} (version, description, applied_at) VALUES (${SCHEMA_VERSION + 1}, 'newer', now())`;
      for (const [name, call] of [
        ['appendAudit', () => store.appendAudit(makeBody(2))],
        ['commitGrant', () => store.commitGrant(makeGrantInput(3))],
        ['ping', () => store.ping()],
      ] as const) {
        const error = await rejectionOf(call());
        assert.ok(error instanceof StoreUnavailableError, name);
        assert.ok(error.cause instanceof StoreSchemaError, name);
      }
      assert.equal(await store.isReplayed(claimOf('jti-3'), NOW_S), false, 'the refused grant claimed nothing');
      assert.equal((await readAll(store)).length, 1);
    });
  });

  describe('least privilege', () => {
    // The grants docs/deploy.md gives, with the test's schema in place of `public`.
    const appGrants = (schema: string, role: string) => `
      GRANT USAGE ON SCHEMA ${schema} TO ${role};
      GRANT SELECT ON latchkey_schema_migrations TO ${role};
      GRANT SELECT, INSERT ON latchkey_audit TO ${role};
      GRANT SELECT, UPDATE ON latchkey_audit_head TO ${role};
      GRANT SELECT, INSERT, UPDATE, DELETE ON latchkey_jti, latchkey_rate_counters TO ${role};
      GRANT SELECT, INSERT, UPDATE ON latchkey_grants TO ${role};`;
    const auditorGrants = (schema: string, role: string) => `
      GRANT USAGE ON SCHEMA ${schema} TO ${role};
      GRANT SELECT ON latchkey_schema_migrations, latchkey_audit TO ${role};`;

    test("the service runs with the deploy guide's grants (no UPDATE or DELETE on the audit table); an auditor role can verify", async () => {
      const { url, schema } = await freshUrl();
      assert.deepEqual(await migrateStore(url), { from: 0, to: SCHEMA_VERSION });
      const suffix = schema.replace(/\W/g, '');
      const app = `latchkey_app_${db.name.slice(-6)}_${suffix}`;
      const auditor = `latchkey_auditor_${db.name.slice(-6)}_${suffix}`;
      const owner = adminClient(url);
      const as = (role: string) => {
        const roleUrl = new URL(url);
        roleUrl.username = role;
        return roleUrl.toString();
      };
      try {
        await owner.unsafe(`CREATE ROLE ${app} LOGIN; CREATE ROLE ${auditor} LOGIN;${appGrants(schema, app)}${auditorGrants(schema, auditor)}`).simple();
        const store = await open(as(app));
        await store.commitGrant(makeGrantInput(1, { kind: 'aws' }));
        await store.appendAudit(makeBody(2));
        assert.equal(await store.isReplayed(claimOf('jti-1'), NOW_S), true);
        assert.equal((await store.findGrantByCredential('1'.padStart(64, 'd')))?.id, 'grant-1');
        await store.markUsed('grant-1', NOW_S + 1);
        assert.equal(await store.markRevoked('grant-1', NOW_S + 2), true);
        assert.equal(await store.countRequests('k', 60, 60), 1);
        assert.equal(await store.peekRequests('k', 60), 1);
        assert.equal(await store.purgeExpired(NOW_S + 10_000), 1);
        await store.ping();
        const appSql = adminClient(as(app));
        try {
          const refused = await rejectionOf(appSql`UPDATE latchkey_audit SET record = '{}' WHERE seq = 1`);
          assert.equal((refused as { code?: string }).code, '42501', 'the service role cannot rewrite the audit log');
        } finally {
          await appSql.end({ timeout: 1 });
        }
        await store.close();
        const verifier = await open(as(auditor), { readOnly: true });
        assert.equal(verifyChain(await readAll(verifier)).count, 2);
        await verifier.close();
      } finally {
        await owner
          .unsafe(`DROP OWNED BY ${app}, ${auditor}; DROP ROLE IF EXISTS ${app}; DROP ROLE IF EXISTS ${auditor};`)
          .simple()
          .catch(() => {});
        await owner.end({ timeout: 1 });
      }
    });
  });

  describe('failures and recovery', () => {
    test('a chain write waiting past the statement timeout for the head lock is StoreUnavailableError; reads go on', async () => {
      const { url, schema } = await freshUrl();
      const store = await open(url, { statementTimeoutMs: 300 });
      await store.appendAudit(makeBody(1));
      const holder = await db.sql.reserve();
      try {
        await holder`BEGIN`;
        await holder`SELECT seq FROM ${table(schema, 'latchkey_audit_head')} FOR UPDATE`;
        const results = await Promise.allSettled([store.commitGrant(makeGrantInput(2)), store.appendAudit(makeBody(3))]);
        for (const result of results) assert.ok(result.status === 'rejected' && result.reason instanceof StoreUnavailableError);
        assert.equal(await store.isReplayed(claimOf('jti-2'), NOW_S), false, 'reads do not wait for the lock');
      } finally {
        await holder`ROLLBACK`;
        holder.release();
      }
      assert.equal((await store.commitGrant(makeGrantInput(2))).seq, 2, 'the timed-out batch left nothing behind');
      assert.equal(verifyChain(await readAll(store)).ok, true);
    });

    test('a database that refuses connections: every call is StoreUnavailableError, then the same Store recovers', async () => {
      const { url } = await freshUrl();
      const store = await open(url, { connectTimeoutMs: 2000 });
      await store.commitGrant(makeGrantInput(1));
      const admin = adminClient(baseUrl);
      try {
        await admin.unsafe(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
        await admin`SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = ${db.name} AND pid <> pg_backend_pid()`;
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['commitGrant', () => store.commitGrant(makeGrantInput(2))],
          ['appendAudit', () => store.appendAudit(makeBody(3))],
          ['isReplayed', () => store.isReplayed(claimOf('jti-1'), NOW_S)],
          ['getGrant', () => store.getGrant('grant-1')],
          ['markRevoked', () => store.markRevoked('grant-1', NOW_S)],
          ['countRequests', () => store.countRequests('k', 0, 60)],
          ['ping', () => store.ping()],
        ];
        for (const [name, call] of calls) assert.ok((await rejectionOf(call())) instanceof StoreUnavailableError, name);
      } finally {
        await admin.unsafe(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
        await admin.end({ timeout: 1 });
      }
      await store.ping();
      assert.equal(await store.isReplayed(claimOf('jti-2'), NOW_S), false, 'the grant refused during the outage claimed nothing');
      assert.equal((await store.commitGrant(makeGrantInput(2))).seq, 2);
      assert.equal((await store.getGrant('grant-1'))?.revoked_at, null);
      assert.equal(verifyChain(await readAll(store)).ok, true);
    });

    test('pooled connections silently dropped by the network (a reset on next use) are retried: reads and chain writes succeed', async () => {
      const proxy = await startResettingProxy(new URL(baseUrl).port);
      try {
        const { url } = await freshUrl();
        const viaProxy = new URL(url);
        viaProxy.port = String(proxy.port);
        const store = await open(viaProxy.toString(), { poolMax: 2 });
        // Two calls at once open both pooled connections.
        await Promise.all([store.appendAudit(makeBody(1)), store.isReplayed(claimOf('x'), NOW_S)]);
        proxy.dropAll();
        assert.equal(await store.isReplayed(claimOf('x'), NOW_S), false);
        proxy.dropAll();
        assert.equal((await store.appendAudit(makeBody(2))).seq, 2);
        assert.ok(proxy.resets >= 2, `the proxy reset ${proxy.resets} connection(s)`);
        assert.equal(verifyChain(await readAll(store)).ok, true);
      } finally {
        await proxy.close();
      }
    });

    test('a server that accepts but never answers: opening fails with StoreUnavailableError after the connect timeout', async () => {
      const sockets: Socket[] = [];
      const silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as { port: number };
      try {
        const error = await rejectionOf(openStore(`postgres://latchkey:s3cret@127.0.0.1:${port}/latchkey`, { connectTimeoutMs: 300 }));
        assert.ok(error instanceof StoreUnavailableError, String(error));
        assert.match(error.message, /CONNECT_TIMEOUT/);
        assert.doesNotMatch(error.message, /s3cret/);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    test('real errors: connection, timeout and shutdown failures are "unavailable"; a constraint or bad input is not', async () => {
      const caught = async (work: () => Promise<unknown>): Promise<unknown> => {
        const error = await rejectionOf(work());
        assert.ok(error !== undefined, 'expected the database to fail');
        return error;
      };
      const timed = adminClient(db.url);
      try {
        const cases: Array<[string, unknown, boolean]> = [
          [
            'statement timeout (57014)',
            await caught(() =>
              timed.begin(async (tx) => {
                await tx`SET LOCAL statement_timeout = 10`;
                await tx`SELECT pg_sleep(1)`;
              }),
            ),
            true,
          ],
          [
            'unique violation (23505)',
            await caught(() =>
              db.sql.begin(async (tx) => {
                await tx`CREATE TEMP TABLE u (x int PRIMARY KEY) ON COMMIT DROP`;
                await tx`INSERT INTO u VALUES (1), (1)`;
              }),
            ),
            false,
          ],
          ['NUL in text (22021)', await caught(() => db.sql`SELECT ${'a\u0000b'}::text`), false],
          ['connection refused', await caught(() => openStore('postgres://127.0.0.1:1/x').then((s) => s.close())), true],
          ['a replay', new ReplayError('replayed'), false],
          ['a plain Error', new Error('bug'), false],
        ];
        for (const [name, error, unavailable] of cases) {
          const cause = error instanceof StoreUnavailableError && error.cause !== undefined ? error.cause : error;
          assert.equal(isUnavailable(cause), unavailable, name);
        }
      } finally {
        await timed.end({ timeout: 1 });
      }
    });
  });

  // Without the cluster's CA, one skipped test stands in for the suite (counted in the runner's "skipped" line).
  const tlsSuite = process.env.LATCHKEY_TEST_POSTGRES_CA
    ? (name: string, suite: () => void) => describe(name, suite)
    : (name: string, _suite: () => void) =>
        test(name, { skip: 'LATCHKEY_TEST_POSTGRES_CA is not set (scripts/ci-postgres.sh sets it when openssl is available)' }, () => {});
  tlsSuite('TLS', () => {
    const ca = process.env.LATCHKEY_TEST_POSTGRES_CA ?? '';
    const sslOf = async (application: string): Promise<boolean[]> =>
      (await db.sql`SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = ${application}`).map(
        (row) => row.ssl as boolean,
      );

    test('store.tls with the cluster CA (config → options): the connection is TLS and verified', async () => {
      const { url } = await freshUrl({ application_name: 'latchkey_tls_verified' });
      const config = Config.parse({ store: { url, tls: { enabled: true, ca_file: ca } } });
      const store = await open(url, storeOptionsFromConfig(config.store));
      await store.appendAudit(makeBody(1));
      const ssl = await sslOf('latchkey_tls_verified');
      assert.ok(ssl.length > 0 && ssl.every(Boolean), 'every connection of the store uses TLS');
    });

    test('store.tls without the CA: the self-signed server is refused (StoreUnavailableError)', async () => {
      const { url } = await freshUrl();
      const error = await rejectionOf(openStore(url, { tls: {}, connectTimeoutMs: 2000 }));
      assert.ok(error instanceof StoreUnavailableError, String(error));
      assert.match(error.message, /certificate/i);
    });

    test('reject_unauthorized: false encrypts without checking the server', async () => {
      const { url } = await freshUrl({ application_name: 'latchkey_tls_unverified' });
      const store = await open(url, { tls: { rejectUnauthorized: false } });
      await store.ping();
      assert.deepEqual([...new Set(await sslOf('latchkey_tls_unverified'))], [true]);
    });

    test('an unreadable ca_file is an error naming store.tls.ca_file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-tls-'));
      try {
        const config = Config.parse({ store: { url: 'postgres://db/latchkey', tls: { enabled: true, ca_file: join(dir, 'missing.pem') } } });
        assert.throws(() => storeOptionsFromConfig(config.store), /store\.tls\.ca_file: cannot read .*missing\.pem/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/**
 * A TCP proxy to the test cluster whose dropAll() makes every open
 * connection answer its next bytes with a reset, as a NAT or firewall that
 * forgot an idle connection does.
 */
async function startResettingProxy(targetPort: string): Promise<{ port: number; resets: number; dropAll(): void; close(): Promise<void> }> {
  const pairs = new Set<{ client: Socket; server: Socket; dropped: boolean }>();
  let resets = 0;
  const proxy = createServer((client) => {
    const server = connect(Number(targetPort), '127.0.0.1');
    const pair = { client, server, dropped: false };
    pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (!pair.dropped) {
        server.write(chunk);
        return;
      }
      resets += 1;
      client.resetAndDestroy();
      server.destroy();
    });
    server.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('close', end).on('error', end);
    server.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    port: (proxy.address() as { port: number }).port,
    get resets() {
      return resets;
    },
    dropAll() {
      for (const pair of pairs) pair.dropped = true;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      await new Promise((resolve) => proxy.close(resolve));
    },
  };
}
