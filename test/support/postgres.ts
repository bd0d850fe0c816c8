/**
 * PostgreSQL for tests: the cluster named by LATCHKEY_TEST_POSTGRES_URL
 * (`eval "$(bash scripts/ci-postgres.sh start)"` starts a throwaway one).
 * Each test file makes its own database and drops it at the end, so files
 * run concurrently; inside a file, each store gets a fresh schema.
 *
 * Without the URL the PostgreSQL tests are skipped with a visible reason,
 * except under CI=true, where a missing URL fails the run: CI must never
 * pass by skipping them.
 */
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import postgres from 'postgres';

/** The variable naming the test cluster. */
export const POSTGRES_URL_VARIABLE = 'LATCHKEY_TEST_POSTGRES_URL';

/**
 * Why the PostgreSQL tests cannot run here (for node:test's `skip`), or
 * false when they can. Throws under CI=true when the URL is missing.
 */
export function postgresSkipReason(env: NodeJS.ProcessEnv = process.env): string | false {
  if (env[POSTGRES_URL_VARIABLE]) return false;
  if (env.CI === 'true') {
    throw new Error(
      `${POSTGRES_URL_VARIABLE} is not set, and under CI=true the PostgreSQL tests must run (.ci/run starts a cluster with scripts/ci-postgres.sh)`,
    );
  }
  return `${POSTGRES_URL_VARIABLE} is not set (start a cluster: eval "$(bash scripts/ci-postgres.sh start)")`;
}

/**
 * describe() for tests that need the cluster. Without one, a single skipped
 * test stands in, carrying the reason, so the runner's closing "skipped"
 * count shows it.
 */
export function describeWithPostgres(name: string, options: { concurrency?: number }, suite: () => void): void {
  const reason = postgresSkipReason();
  if (reason === false) describe(name, options, suite);
  else test(name, { skip: reason }, () => {});
}

/** A database of one's own on the test cluster. */
export interface TestDatabase {
  name: string;
  url: string;
  /** A small pool on it, for setting up and inspecting from the side. */
  sql: postgres.Sql;
  /** A URL whose `search_path` is a new, empty schema of this database: one isolated store. */
  freshSchemaUrl(): Promise<string>;
  /** Closes the pool and drops the database (with any connection still open to it). */
  drop(): Promise<void>;
}

/** `url` with another database name and, optionally, a search_path. */
export function databaseUrl(url: string, database: string, searchPath?: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (searchPath !== undefined) parsed.searchParams.set('search_path', searchPath);
  return parsed.toString();
}

/** A quiet pool for test set-up. */
export function adminClient(url: string): postgres.Sql {
  return postgres(url, { max: 2, onnotice: () => {}, fetch_types: false, connect_timeout: 5 });
}

/** Creates `latchkey_test_<random>` on the cluster at LATCHKEY_TEST_POSTGRES_URL; the caller drops it. */
export async function createTestDatabase(baseUrl = process.env[POSTGRES_URL_VARIABLE]): Promise<TestDatabase> {
  if (!baseUrl) throw new Error(`${POSTGRES_URL_VARIABLE} is not set`);
  const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
  const admin = adminClient(baseUrl);
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end({ timeout: 1 });
  }
  const url = databaseUrl(baseUrl, name);
  const sql = adminClient(url);
  let schemas = 0;
  return {
    name,
    url,
    sql,
    async freshSchemaUrl() {
      schemas += 1;
      const schema = `store_${schemas}`;
      await sql.unsafe(`CREATE SCHEMA ${schema}`);
      return databaseUrl(baseUrl, name, schema);
    },
    async drop() {
      await sql.end({ timeout: 1 });
      const dropper = adminClient(baseUrl);
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end({ timeout: 1 });
      }
    },
  };
}

/** Runs `work` with a fresh database and drops it afterwards, whatever happens. */
export async function withTestDatabase<T>(work: (database: TestDatabase) => Promise<T>): Promise<T> {
  const database = await createTestDatabase();
  try {
    return await work(database);
  } finally {
    await database.drop();
  }
}
