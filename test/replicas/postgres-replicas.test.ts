/**
 * Replicas on one PostgreSQL database, as deployed: two `latchkey serve`
 * child processes sharing the store and the signing keys. One token sent
 * to both at once is granted once; a revoke on one is seen by the other's
 * introspection; concurrent load on both leaves one audit chain that
 * `latchkey audit verify --store postgres://…` finds intact.
 *
 * Then an outage: a cluster of this test's own is stopped under a running
 * service (503 store_unavailable, no credential, /readyz 503) and started
 * again (exchanges succeed and /readyz is 200, the service untouched).
 */
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { loadSigningKeys } from '../../exchange-service/src/jws/signing-keys.ts';
import { createTestDatabase, describeWithPostgres, type TestDatabase } from '../support/postgres.ts';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';
import { BASIC_POLICY, exchangeParams, startTestService, type TestService } from '../support/service.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'exchange-service/bin/latchkey.js');
const AUDIENCE = 'https://latchkey.test';
const BEARER = 'introspection-secret-for-replicas-0123';
const run = promisify(execFile);

/** The environment for child processes: the caller's, minus any LATCHKEY_* setting. */
const childEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));

interface Replica {
  url: string;
  child: ChildProcessWithoutNullStreams;
  stderr(): string;
}

/** Starts `latchkey serve --config FILE` and resolves once it listens. */
async function startReplica(configFile: string, cwd: string): Promise<Replica> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configFile], { cwd, env: childEnv() });
  let stderr = '';
  child.stdout.resume();
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /"msg":"listening","url":"([^"]+)"/.exec(stderr);
      if (match?.[1]) resolveUrl(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return { url, child, stderr: () => stderr };
}

async function stopReplica(replica: Replica | undefined): Promise<void> {
  if (replica === undefined || replica.child.exitCode !== null) return;
  const exited = new Promise((done) => replica.child.once('exit', done));
  replica.child.kill('SIGTERM');
  await exited;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function post(base: string, path: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** Two replicas on a fresh database with one shared keys folder and one policy, as deployed; `settings` adds to the config. */
interface ReplicaPair {
  db: TestDatabase;
  issuer: TestIssuer;
  dir: string;
  replicas: Replica[];
  close(): Promise<void>;
}

async function startReplicaPair(settings: Record<string, unknown>): Promise<ReplicaPair> {
  const db = await createTestDatabase();
  const issuer = await startTestIssuer({ audience: AUDIENCE });
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-replicas-'));
  await mkdir(join(dir, 'policies/webapp'), { recursive: true });
  await writeFile(join(dir, 'policies/webapp/read.yaml'), BASIC_POLICY);
  const config = {
    public_url: AUDIENCE,
    listen: { host: '127.0.0.1', port: 0 },
    issuers: { github: { url: issuer.url, jwks_timeout: '2s' } },
    store: { url: db.url },
    signing: { keys_dir: join(dir, 'keys') }, // shared, as replicas must share it
    policies: { dir: join(dir, 'policies'), watch: false },
    ...settings,
  };
  await writeFile(join(dir, 'latchkey.json.yaml'), JSON.stringify(config)); // JSON is YAML
  // Provision the shared keys first, as an operator would; then both start at once (and migrate the empty database together).
  await loadSigningKeys(join(dir, 'keys'));
  const replicas = await Promise.all([startReplica(join(dir, 'latchkey.json.yaml'), dir), startReplica(join(dir, 'latchkey.json.yaml'), dir)]);
  return {
    db,
    issuer,
    dir,
    replicas,
    async close() {
      await Promise.all(replicas.map(stopReplica));
      await issuer.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describeWithPostgres('replicas on one PostgreSQL database', {}, () => {
  let setup: ReplicaPair | undefined;
  let db: TestDatabase;
  let issuer: TestIssuer;
  let dir: string;
  let a: Replica | undefined;
  let b: Replica | undefined;

  before(async () => {
    setup = await startReplicaPair({
      introspection: { bearer: BEARER },
      limits: { per_repository_per_minute: 0, per_client_ip_per_minute: 0 },
    });
    ({ db, issuer, dir } = setup);
    [a, b] = setup.replicas;
  });

  after(() => setup?.close());

  const replicas = (): [Replica, Replica] => {
    assert.ok(a !== undefined && b !== undefined);
    return [a, b];
  };

  it('one token sent to both replicas at once is granted exactly once (10 tokens)', async () => {
    const [first, second] = replicas();
    for (let i = 0; i < 10; i += 1) {
      const token = await issuer.sign();
      const answers = await Promise.all([first, second].map((replica) => post(replica.url, '/token', exchangeParams(token, 'webapp/read'))));
      const granted = answers.filter((answer) => answer.status === 200 && typeof answer.body.access_token === 'string');
      const replayed = answers.filter((answer) => answer.status === 400 && answer.body.reason === 'token_replayed');
      assert.equal(granted.length, 1, JSON.stringify(answers));
      assert.equal(replayed.length, 1, JSON.stringify(answers));
      assert.equal(replayed[0]?.body.access_token, undefined);
    }
  });

  it('a revoke on one replica is seen by the other: its introspection says inactive', async () => {
    const [first, second] = replicas();
    const granted = await post(first.url, '/token', exchangeParams(await issuer.sign(), 'webapp/read'));
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    const token = String(granted.body.access_token);
    const auth = { authorization: `Bearer ${BEARER}` };
    assert.equal((await post(second.url, '/introspect', { token }, auth)).body.active, true, 'the other replica verifies it (shared keys)');
    assert.equal((await post(first.url, '/revoke', { token })).status, 200);
    assert.deepEqual((await post(second.url, '/introspect', { token }, auth)).body, { active: false });
    assert.deepEqual((await post(first.url, '/introspect', { token }, auth)).body, { active: false });
  });

  it('concurrent load on both replicas leaves one chain that `latchkey audit verify --store postgres://…` finds intact', async () => {
    const [first, second] = replicas();
    const tokens = await Promise.all(Array.from({ length: 40 }, () => issuer.sign()));
    const requests: Array<Promise<Answer>> = [];
    tokens.forEach((token, i) => {
      const replica = i % 2 === 0 ? first : second;
      requests.push(post(replica.url, '/token', exchangeParams(token, 'webapp/read')));
      if (i % 4 === 0) requests.push(post((i % 8 === 0 ? second : first).url, '/token', exchangeParams(token, 'webapp/read'))); // replays
      if (i % 5 === 0) requests.push(post(replica.url, '/token', exchangeParams(token, 'webapp/unknown'))); // denials
    });
    const answers = await Promise.all(requests);
    assert.ok(
      answers.every((answer) => [200, 400].includes(answer.status)),
      JSON.stringify(answers.filter((x) => ![200, 400].includes(x.status))),
    );
    assert.equal(answers.filter((answer) => answer.status === 200).length, 40, 'each token granted once');
    const [{ count }] = (await db.sql`SELECT count(*)::int AS count FROM latchkey_audit`) as unknown as [{ count: number }];
    const verified = await run(process.execPath, [BIN, 'audit', 'verify', '--store', db.url], { cwd: dir, env: childEnv() });
    assert.match(verified.stdout, new RegExp(`^audit chain intact: ${count} records, head [0-9a-f]{64}$`, 'm'));
    assert.ok(count >= answers.length, `${count} records for ${answers.length} requests`);
  });
});

describeWithPostgres('rate limits shared by replicas on one PostgreSQL database', {}, () => {
  let setup: ReplicaPair | undefined;
  let issuer: TestIssuer;
  let pair: Replica[] = [];

  before(async () => {
    setup = await startReplicaPair({ limits: { per_repository_per_minute: 4, per_client_ip_per_minute: 0 } });
    ({ issuer, replicas: pair } = setup);
  });

  after(() => setup?.close());

  it('ATTACKS 22: a repository spends one per-minute budget across replicas (4 allowed, the 5th refused on either)', async () => {
    const [first, second] = pair;
    assert.ok(first !== undefined && second !== undefined);
    // Windows are whole minutes: wait out the last seconds of one, so all five land in the same window.
    const intoWindow = Date.now() % 60_000;
    if (intoWindow > 50_000) await new Promise((done) => setTimeout(done, 60_000 - intoWindow + 100));
    const statuses: number[] = [];
    for (const replica of [first, second, first, second, second]) {
      statuses.push((await post(replica.url, '/token', exchangeParams(await issuer.sign(), 'webapp/read'))).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
    const refused = await post(first.url, '/token', exchangeParams(await issuer.sign(), 'webapp/read'));
    assert.equal(refused.status, 429);
    assert.equal(refused.body.reason, 'rate_limited');
  });
});

describeWithPostgres('an outage of the database under a running service', {}, () => {
  let cluster: { url: string; dir: string } | undefined;
  let svc: TestService | undefined;
  const script = (...args: string[]) => run('bash', [join(ROOT, 'scripts/ci-postgres.sh'), ...args], { env: childEnv() });

  before(async () => {
    // A cluster of this test's own (the shared one must stay up for the other files).
    const started = await script('start', '--no-tls');
    const exported = Object.fromEntries([...started.stdout.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    cluster = { url: String(exported.LATCHKEY_TEST_POSTGRES_URL), dir: String(exported.LATCHKEY_TEST_POSTGRES_DIR) };
    svc = await startTestService({ config: { store: { url: cluster.url } } });
  });

  after(async () => {
    await svc?.close();
    if (cluster !== undefined) await script('stop', cluster.dir);
  });

  const exchange = async (): Promise<Answer> => {
    assert.ok(svc !== undefined);
    const answer = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/read'));
    return { status: answer.status, body: answer.body };
  };
  const ready = async (): Promise<number> => {
    assert.ok(svc !== undefined);
    return (await fetch(`${svc.url}/readyz`)).status;
  };

  it('answers 503 store_unavailable with no credential while PostgreSQL is down, and recovers by itself when it is back', async () => {
    assert.ok(cluster !== undefined);
    assert.equal((await exchange()).status, 200);
    assert.equal(await ready(), 200);

    await script('halt', cluster.dir);
    const during = await exchange();
    assert.equal(during.status, 503, JSON.stringify(during.body));
    assert.equal(during.body.reason, 'store_unavailable');
    assert.equal(during.body.access_token, undefined, 'no credential without a committed record');
    assert.equal(await ready(), 503);

    await script('resume', cluster.dir);
    const after = await exchange();
    assert.equal(after.status, 200, JSON.stringify(after.body));
    assert.equal(typeof after.body.access_token, 'string');
    assert.equal(await ready(), 200);
  });
});
