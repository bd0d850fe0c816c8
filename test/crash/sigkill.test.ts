/**
 * Crash safety (SPEC §5: a credential is returned only after its `granted`
 * record is durably committed; §3: one subject token, at most one grant,
 * across restarts). `latchkey serve --dev` runs as a child process on a real
 * SQLite store; clients drive concurrent exchanges; the process is killed
 * with SIGKILL mid-stream and started again on the same store. Then:
 * - every credential a client received (every 200) has its `granted`
 *   record, for that token's jti;
 * - `latchkey audit verify` passes on the store;
 * - no token granted before the kill is accepted after the restart
 *   (`token_replayed`), and a token whose answer was lost in the crash is
 *   replayed exactly when its grant was committed;
 * - the restarted service grants fresh tokens.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import { runAuditCommand } from '../../exchange-service/src/cli/audit.ts';
import { loadDevIssuerKey, signDevToken } from '../../exchange-service/src/dev/issuer.ts';
import { startServeProcess, type ServeProcess } from '../support/serve-process.ts';
import { readAuditSnapshot } from '../support/store-audit.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const TOKENS = 160;
const WORKERS = 8;
/** Grants seen before the kill. */
const KILL_AFTER = 30;

/** What became of one token sent before the crash. */
type Outcome = { kind: 'answered'; status: number; body: Record<string, unknown> } | { kind: 'lost' } | { kind: 'unsent' };

async function exchange(url: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      audience: 'examples/hello',
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * WORKERS clients send the tokens one after another; after KILL_AFTER grants the process gets SIGKILL
 * while the others are mid-request. Resolves with what became of each token.
 */
async function driveUntilKilled(serve: ServeProcess, tokens: readonly string[]): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>(tokens.map((token) => [token, { kind: 'unsent' }]));
  let next = 0;
  let granted = 0;
  let killed = false;
  const worker = async (): Promise<void> => {
    while (next < tokens.length && !killed) {
      const token = tokens[next++] as string;
      outcomes.set(token, { kind: 'lost' });
      try {
        const answer = await exchange(serve.url, token);
        outcomes.set(token, { kind: 'answered', ...answer });
        if (answer.status === 200 && ++granted >= KILL_AFTER && !killed) {
          killed = true;
          serve.child.kill('SIGKILL');
        }
      } catch {
        // Connection reset or refused: the answer was lost with the process.
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  assert.equal(killed, true, `the process was killed mid-stream (${granted} grants)`);
  assert.equal(await serve.exited, 'SIGKILL');
  return outcomes;
}

/** Runs `latchkey audit verify --store URL` in process; resolves with the exit code and everything it printed. */
async function auditVerify(url: string): Promise<{ code: number; output: string }> {
  let output = '';
  const sink = () => new Writable({ write: (chunk: Buffer, _encoding, done) => ((output += chunk.toString()), done()) });
  const code = await runAuditCommand(['verify', '--store', url], { stdout: sink(), stderr: sink(), env: {} });
  return { code, output };
}

describe('crash safety: SIGKILL mid-stream, restart on the same store', () => {
  let dir: string;
  let serve: ServeProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-crash-'));
    await mkdir(join(dir, 'policies/examples'), { recursive: true });
    await cp(join(ROOT, 'policies/examples/hello.yaml'), join(dir, 'policies/examples/hello.yaml'));
    await writeFile(
      join(dir, 'latchkey.yaml'),
      'listen: { host: 127.0.0.1, port: 0 }\npolicies: { dir: ./policies, watch: false }\nlimits: { per_repository_per_minute: 0, per_client_ip_per_minute: 0 }\n',
    );
  });
  after(async () => {
    if (serve !== undefined && serve.child.exitCode === null && serve.child.signalCode === null) {
      serve.child.kill('SIGKILL');
      await serve.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('every credential handed out has its granted record, the chain verifies, and no granted token is accepted again', async () => {
    serve = await startServeProcess(dir, ['--dev']);
    const key = await loadDevIssuerKey(join(dir, 'data/keys'), false);
    assert.ok(key, 'serve --dev created the dev issuer key');
    const sign = () => signDevToken({ key, issuer: 'http://127.0.0.1:8080/dev/oidc', audience: 'http://127.0.0.1:8080' });
    const outcomes = await driveUntilKilled(serve, await Promise.all(Array.from({ length: TOKENS }, sign)));

    const answered = [...outcomes].filter((entry): entry is [string, Extract<Outcome, { kind: 'answered' }>] => entry[1].kind === 'answered');
    for (const [, outcome] of answered) assert.equal(outcome.status, 200, `before the kill every answer was a grant: ${JSON.stringify(outcome.body)}`);
    assert.ok(answered.length >= KILL_AFTER);
    const lost = [...outcomes].filter(([, outcome]) => outcome.kind === 'lost').map(([token]) => token);

    serve = await startServeProcess(dir, ['--dev']);
    const storeUrl = `sqlite:${join(dir, 'data/latchkey.db')}`;
    const snapshot = await readAuditSnapshot(storeUrl);
    assert.equal(snapshot.verdict.ok, true, JSON.stringify(snapshot.verdict));
    for (const [token, outcome] of answered) {
      const record = snapshot.granted.get(String(outcome.body.grant_id));
      assert.ok(record !== undefined, `grant ${String(outcome.body.grant_id)} was handed out without its granted record`);
      assert.equal(record.jti, decodeJwt(token).jti, 'the record is for the token that got the credential');
    }
    const verified = await auditVerify(storeUrl);
    assert.equal(verified.code, 0, verified.output);
    assert.match(verified.output, /intact/);

    for (const [token] of answered) {
      const again = await exchange(serve.url, token);
      assert.equal(again.status, 400, `a token granted before the crash was granted again: ${JSON.stringify(again.body)}`);
      assert.equal(again.body.reason, 'token_replayed');
    }
    const committed = new Set([...snapshot.granted.values()].map((record) => record.jti));
    for (const token of lost) {
      const again = await exchange(serve.url, token);
      const expected = committed.has(String(decodeJwt(token).jti)) ? 'token_replayed' : 'granted';
      assert.equal(again.body.reason ?? 'granted', expected, 'a lost answer is replayed exactly when its grant was committed');
    }
    assert.equal((await exchange(serve.url, await sign())).status, 200, 'the restarted service grants fresh tokens');

    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, 'a clean shutdown after the restart');
  });
});
