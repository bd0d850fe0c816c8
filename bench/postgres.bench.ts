/**
 * PostgreSQL mode of the benchmark (`npm run bench:postgres`, SPEC §8):
 * full `token` exchanges with durable audit, in one run on one machine, for
 * the embedded SQLite store, one replica on PostgreSQL, and two replicas on
 * one PostgreSQL database (the load split between them), printed side by
 * side with the floor: one replica on PostgreSQL ≥ 60% of SQLite's rate.
 *
 * PostgreSQL: `--postgres URL` (a server the bench may create databases on),
 * else `LATCHKEY_BENCH_POSTGRES_URL` or `LATCHKEY_TEST_POSTGRES_URL`, else a
 * throwaway cluster started with scripts/ci-postgres.sh (PostgreSQL's server
 * binaries must be installed).
 *
 *   npm run bench:postgres -- [--duration 8] [--connections 32] [--policies 1000] [--postgres URL]
 *
 * Exit 0 when it ran (a missed floor is a report), 1 on failed requests, 2 on a setup error.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import postgres from 'postgres';
import { loadSigningKeys } from '../exchange-service/src/jws/signing-keys.ts';
import { createCleanup, cleanUpOnSignals, type Cleanup } from './cleanup.ts';
import { latchkeyCommand, spawnServer, type ChildServer } from './child.ts';
import { startBenchIssuer } from './issuer.ts';
import { driveExchanges, type LoadOutcome } from './load.ts';
import { mintTokens, type TokenPool } from './mint.ts';
import { describeLoadAverage, describeMachine, formatCount, formatFailures } from './report.ts';
import { childEnv, SERVICE_AUDIENCE, writeFleet, writeServiceConfig } from './service-setup.ts';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
/** PostgreSQL at one replica must reach this share of SQLite's exchanges/s (issue floor). */
const POSTGRES_FLOOR = 0.6;
/** Tokens minted per second of load, per mode: above any rate the service reaches here. */
const TOKENS_PER_SECOND = 5_000;

interface Options {
  duration: number;
  connections: number;
  policies: number;
  postgres: string | undefined;
}

interface ModeResult {
  name: string;
  rate: number;
  p50: number;
  p99: number;
  failures: Map<string, number>;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '8' },
      connections: { type: 'string', default: '32' },
      policies: { type: 'string', default: '1000' },
      postgres: { type: 'string' },
    },
  });
  const number = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${text}"`);
    return value;
  };
  return {
    duration: number('duration', values.duration, 1),
    connections: number('connections', values.connections, 2),
    policies: number('policies', values.policies, 1),
    postgres: values.postgres ?? process.env.LATCHKEY_BENCH_POSTGRES_URL ?? process.env.LATCHKEY_TEST_POSTGRES_URL,
  };
}

/** A PostgreSQL server to create databases on: the one given, or a throwaway cluster. */
async function postgresServer(given: string | undefined, cleanup: Cleanup): Promise<string> {
  if (given !== undefined) return given;
  console.log('starting a throwaway PostgreSQL cluster (scripts/ci-postgres.sh)…');
  const script = join(ROOT, 'scripts/ci-postgres.sh');
  const started = await run('bash', [script, 'start', '--no-tls']);
  const exported = Object.fromEntries([...started.stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]?.replace(/^'|'$/g, '')]));
  const url = exported.LATCHKEY_TEST_POSTGRES_URL;
  const dir = exported.LATCHKEY_TEST_POSTGRES_DIR;
  if (url === undefined || dir === undefined) throw new Error(`scripts/ci-postgres.sh start printed no URL:\n${started.stdout}${started.stderr}`);
  cleanup.add('postgres cluster', async () => {
    await run('bash', [script, 'stop', dir]);
  });
  return url;
}

/** A fresh database on `server` for one mode; dropped at clean-up. */
async function createDatabase(server: string, cleanup: Cleanup): Promise<string> {
  const name = `latchkey_bench_${randomBytes(6).toString('hex')}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  cleanup.add(`database ${name}`, async () => {
    const dropper = postgres(server, { max: 1, onnotice: () => {} });
    try {
      await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await dropper.end();
    }
  });
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A copy of the fleet's config with another store, written beside it. */
function configWithStore(baseConfig: string, storeUrl: string, name: string): string {
  const config = JSON.parse(readFileSync(baseConfig, 'utf8')) as { store: { url: string } };
  config.store = { url: storeUrl };
  const file = join(baseConfig, '..', `${name}.yaml`);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Starts `replicas` services on one config, warms them up, drives them at once (connections split), stops them. */
async function measure(name: string, configFile: string, replicas: number, options: Options, pool: TokenPool, cleanup: Cleanup): Promise<ModeResult> {
  const servers: ChildServer[] = [];
  for (let index = 0; index < replicas; index++) {
    servers.push(
      await spawnServer({
        name: `${name} replica ${index + 1}`,
        cwd: ROOT,
        env: childEnv(),
        cleanup,
        args: [...latchkeyCommand(ROOT), 'serve', '--config', configFile],
      }),
    );
  }
  const share = Math.max(1, Math.floor(options.connections / replicas));
  const drive = (duration: number): Promise<LoadOutcome[]> =>
    Promise.all(servers.map((server) => driveExchanges({ url: server.url, connections: share, duration }, pool)));
  await drive(1);
  console.log(`  ${name}: ${replicas} replica${replicas === 1 ? '' : 's'}, ${share * replicas} connections for ${options.duration} s…`);
  const outcomes = await drive(options.duration);
  for (const server of servers) await server.stop();
  const ok = outcomes.reduce((sum, outcome) => sum + outcome.ok, 0);
  const seconds = Math.max(...outcomes.map((outcome) => outcome.seconds));
  const latency = outcomes[0]?.latency;
  for (const outcome of outcomes.slice(1)) latency?.add(outcome.latency);
  const failures = new Map<string, number>();
  for (const outcome of outcomes) for (const [what, n] of outcome.failures) failures.set(what, (failures.get(what) ?? 0) + n);
  const ms = (percentile: number): number => (latency === undefined || latency.count === 0 ? Number.NaN : latency.percentile(percentile) / 1000);
  return { name, rate: ok / seconds, p50: ms(50), p99: ms(99), failures };
}

async function main(): Promise<number> {
  const options = parseOptions();
  const cleanup = createCleanup();
  cleanUpOnSignals(cleanup);
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-postgres-'));
  cleanup.add('temporary folder', async () => rmSync(dir, { recursive: true, force: true }));
  try {
    console.log(describeMachine());
    console.log(`load average at start: ${describeLoadAverage()}`);
    const server = await postgresServer(options.postgres, cleanup);
    const issuer = await startBenchIssuer();
    cleanup.add('issuer', issuer.close);
    const policiesDir = writeFleet(dir, options.policies);
    const baseConfig = writeServiceConfig(dir, policiesDir, issuer.url);
    // The replicas share the signing keys, as deployed replicas must; create them before any starts.
    await loadSigningKeys(join(dir, 'keys'));
    mkdirSync(join(dir, 'data'), { recursive: true });
    const count = 3 * (options.duration + 1) * TOKENS_PER_SECOND;
    console.log(`pre-minting ${formatCount(count)} RS256 tokens…`);
    const { pool } = await mintTokens({
      issuer,
      audience: SERVICE_AUDIENCE,
      count,
      policyCount: options.policies,
      lifetime: 1800,
      threads: availableParallelism(),
    });
    const results: ModeResult[] = [];
    results.push(await measure('SQLite', baseConfig, 1, options, pool, cleanup));
    results.push(await measure('PostgreSQL', configWithStore(baseConfig, await createDatabase(server, cleanup), 'pg-one'), 1, options, pool, cleanup));
    results.push(await measure('PostgreSQL', configWithStore(baseConfig, await createDatabase(server, cleanup), 'pg-two'), 2, options, pool, cleanup));
    return report(results, options);
  } finally {
    await cleanup.run();
  }
}

function report(results: ModeResult[], options: Options): number {
  const [sqlite, one, two] = results;
  if (sqlite === undefined || one === undefined || two === undefined) throw new Error('a mode did not run');
  console.log(`\nresults (${formatCount(options.policies)} policies, ${options.connections} connections in all, ${options.duration} s each, durable audit)`);
  console.log('  store                     replicas   exchanges/s   p50        p99        vs SQLite');
  for (const [result, replicas] of [
    [sqlite, 1],
    [one, 1],
    [two, 2],
  ] as const) {
    const share = `${((100 * result.rate) / sqlite.rate).toFixed(0)} %`;
    console.log(
      `  ${result.name.padEnd(26)}${String(replicas).padEnd(11)}${formatCount(result.rate).padStart(11)}   ${`${result.p50.toFixed(1)} ms`.padEnd(11)}${`${result.p99.toFixed(1)} ms`.padEnd(11)}${share}`,
    );
  }
  const pass = one.rate >= POSTGRES_FLOOR * sqlite.rate;
  console.log(
    `  floor: one replica on PostgreSQL ≥ ${POSTGRES_FLOOR * 100} % of SQLite: ${((100 * one.rate) / sqlite.rate).toFixed(0)} % ${pass ? 'PASS' : 'FAIL'}`,
  );
  console.log(`load average at end: ${describeLoadAverage()}`);
  let clean = true;
  for (const result of results) {
    if (result.failures.size === 0) continue;
    clean = false;
    console.log(`  ERROR: failed requests on ${result.name}:`);
    for (const line of formatFailures(result.failures)) console.log(line);
  }
  return clean ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`bench:postgres: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 2;
  },
);
