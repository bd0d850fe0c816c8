/**
 * The README walkthrough as a user runs it: `latchkey serve --dev` as a child
 * process, `latchkey dev token`, an exchange with plain HTTP, the JWT checked
 * against the JWKS, `latchkey audit verify`, and SIGTERM draining cleanly.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile, cp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { loadDevIssuerKey, signDevToken } from '../../exchange-service/src/dev/issuer.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'exchange-service/bin/latchkey.js');

/** Runs the CLI to completion; resolves with its exit code and output. */
async function latchkey(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('latchkey serve --dev (the README walkthrough)', () => {
  let dir: string;
  let child: ChildProcessWithoutNullStreams;
  let url: string;
  let stderr = '';
  let stdout = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-cli-'));
    await cp(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
    await writeFile(join(dir, 'latchkey.yaml'), 'listen: { host: 127.0.0.1, port: 0 }\naudit: { stdout: true }\npolicies: { dir: ./policies, watch: false }\n');
    child = spawn(process.execPath, [BIN, 'serve', '--dev'], { cwd: dir, env: { ...process.env } });
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    url = await new Promise<string>((resolveUrl, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /"msg":"listening","url":"([^"]+)"/.exec(stderr);
        if (match?.[1]) resolveUrl(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
  });

  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('exchanges a dev token for a JWT that verifies against the JWKS', async () => {
    const minted = await latchkey(['dev', 'token'], dir);
    assert.equal(minted.code, 0, minted.stderr);
    const token = minted.stdout.trim();
    const response = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: token,
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        audience: 'examples/hello',
      }),
    });
    const body = (await response.json()) as Record<string, string>;
    assert.equal(response.status, 200, JSON.stringify(body));
    const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(body.access_token), jwks, { audience: 'https://internal.example' });
    assert.equal(payload.client_id, 'examples/hello');
    assert.match(stdout, /"outcome":"granted"/);
  });

  it('explains a denial from a dev token with other claims', async () => {
    const minted = await latchkey(['dev', 'token', '--claim', 'ref=refs/heads/feature'], dir);
    const response = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: minted.stdout.trim(),
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        audience: 'examples/hello',
      }),
    });
    const body = (await response.json()) as Record<string, string>;
    assert.equal(body.reason, 'policy_denied');
    assert.match(String(body.error_description), /refs\/heads\/feature/);
  });

  it('reloads the policies on SIGHUP', async () => {
    const hello = await readFile(join(dir, 'policies/examples/hello.yaml'), 'utf8');
    await writeFile(join(dir, 'policies/examples/hup.yaml'), hello);
    child.kill('SIGHUP');
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const minted = await latchkey(['dev', 'token'], dir);
      const response = await fetch(`${url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: minted.stdout.trim(),
          subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
          audience: 'examples/hup',
        }),
      });
      status = response.status;
    }
    assert.equal(status, 200);
  });

  it('drains in-flight exchanges on SIGTERM and exits 0; audit verify passes, and fails after an edit', async () => {
    const key = await loadDevIssuerKey(join(dir, 'data/keys'), false);
    assert.ok(key, 'serve --dev created the dev issuer key');
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => signDevToken({ key, issuer: `http://127.0.0.1:8080/dev/oidc`, audience: 'http://127.0.0.1:8080' })),
    );
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const inFlight = tokens.map((token) =>
      fetch(`${url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: token,
          subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
          audience: 'examples/hello',
        }),
      }).then((r) => r.status),
    );
    await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGTERM');
    const statuses = await Promise.all(inFlight.map((p) => p.catch(() => 0)));
    assert.equal(await exited, 0);
    // Requests accepted before the signal complete; any sent after it are refused at connect, never half-done.
    const granted = statuses.filter((s) => s === 200).length;
    assert.ok(
      statuses.every((s) => s === 200 || s === 0),
      String(statuses),
    );
    assert.ok(granted > 0);
    const grantedRecords = stdout.split('\n').filter((line) => line.includes('"outcome":"granted"')).length;
    assert.ok(grantedRecords >= granted + 1, 'every credential handed out has its record');
    const intact = await latchkey(['audit', 'verify'], dir);
    assert.equal(intact.code, 0, intact.stderr + intact.stdout);
    assert.match(intact.stdout, /intact/);
    const db = new DatabaseSync(join(dir, 'data/latchkey.db'));
    const row = db.prepare('SELECT seq, record FROM audit ORDER BY seq LIMIT 1').get() as { seq: number; record: string };
    db.prepare('UPDATE audit SET record = ? WHERE seq = ?').run(row.record.replace('"event":"exchange"', '"event":"revoke"'), row.seq);
    db.close();
    const broken = await latchkey(['audit', 'verify'], dir);
    assert.equal(broken.code, 1, broken.stdout);
  });

  it('refuses --dev on a non-loopback address', async () => {
    const result = await latchkey(['serve', '--dev'], dir, { LATCHKEY_LISTEN_HOST: '0.0.0.0' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /loopback/);
  });

  it('refuses a bad config naming the field', async () => {
    const result = await latchkey(['serve'], dir, { LATCHKEY_LIMITS_MAX_TTL: 'forever' });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /limits\.max_ttl/);
  });

  // Policies load (and are watched) before the store opens and the port is bound: a later failure must
  // end the process with 1, not leave it idling on the policy watcher. Port 1 on loopback refuses at once.
  it('exits 1 after a failed start-up (a PostgreSQL store that cannot be reached), the policy watcher notwithstanding', async () => {
    const result = await latchkey(['serve', '--dev'], dir, {
      LATCHKEY_STORE_URL: 'postgres://latchkey@127.0.0.1:1/latchkey',
      LATCHKEY_STORE_CONNECT_TIMEOUT: '2s',
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /start-up failed/);
  });

  it('exits 1 after a failed start-up (the port is taken), the policy watcher and the open store notwithstanding', async () => {
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    try {
      const port = String((holder.address() as AddressInfo).port);
      const result = await latchkey(['serve', '--dev'], dir, { LATCHKEY_LISTEN_PORT: port, LATCHKEY_STORE_URL: 'sqlite:./data/port-taken.db' });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /start-up failed/);
    } finally {
      await new Promise((done) => holder.close(done));
    }
  });
});
