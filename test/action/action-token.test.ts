/**
 * The committed bundles, run as the runner runs them, against the real
 * service and the loopback issuer's Actions token endpoint: a `token` grant
 * from the main step (env, outputs, state, masks, summary), then the post
 * step (revocation proven by introspection, variables blanked).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, BASIC_POLICY, type TestService } from '../support/service.ts';
import { createRunner, maskingProblems, type Runner } from './runner.ts';
import { closedPortUrl } from './flaky-proxy.ts';

const BEARER = 'introspection-secret-for-action-tests';

describe('the Action with a token grant', () => {
  let svc: TestService;
  let runner: Runner;
  let job: Record<string, string>;
  before(async () => {
    svc = await startTestService({ policies: { 'webapp/read': BASIC_POLICY }, config: { introspection: { bearer: BEARER } } });
    runner = await createRunner();
    job = { ACTIONS_ID_TOKEN_REQUEST_URL: svc.issuer.actionsTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: svc.issuer.runtimeToken };
  });
  after(async () => {
    await runner?.close();
    await svc?.close();
  });

  const inputs = (extra: Record<string, string> = {}) => ({ url: svc.url, policy: 'webapp/read', audience: 'https://latchkey.test', ...extra });
  const active = async (token: string): Promise<boolean> => {
    const res = await svc.post('/introspect', { token }, { headers: { authorization: `Bearer ${BEARER}` } });
    assert.equal(res.status, 200);
    return res.body.active === true;
  };

  it('main exports the token, masks it first, keeps no secret in state; post revokes it and blanks the variable', async () => {
    const main = await runner.runMain({ with: inputs(), env: job });
    assert.equal(main.exitCode, 0, `${main.stdout}\n${main.stderr}`);
    const token = main.env.LATCHKEY_TOKEN ?? '';
    assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.deepEqual(Object.keys(main.env), ['LATCHKEY_TOKEN']);
    assert.deepEqual(maskingProblems(main.stdout, [token]), []);

    assert.deepEqual(Object.keys(main.outputs).sort(), ['expires-at', 'grant-id', 'policy']);
    assert.equal(main.outputs.policy, 'webapp/read');
    assert.match(main.outputs['grant-id'] ?? '', /^[0-9a-f-]{36}$/);
    assert.match(main.outputs['expires-at'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(!main.files.outputs.includes(token), 'no credential output without output-credentials');

    assert.equal(main.state.grant_id, main.outputs['grant-id']);
    assert.equal(main.state.exported, 'LATCHKEY_TOKEN');
    assert.ok(!main.files.state.includes(token), 'the step state holds no secret');

    assert.match(main.summary, /\| Policy \| Kind \| Target \| Expires \| Grant id \|/);
    assert.ok(
      main.summary.includes(`| webapp/read | token | https://internal.example | ${main.outputs['expires-at']} | \`${main.outputs['grant-id']}\` |`),
      main.summary,
    );
    assert.ok(!main.summary.includes(token));
    assert.equal(svc.issuer.actionsTokenRequests > 0, true);
    assert.equal(await active(token), true);

    const post = await runner.runPost(main, { with: inputs(), env: job });
    assert.equal(post.exitCode, 0, `${post.stdout}\n${post.stderr}`);
    assert.deepEqual(post.env, { LATCHKEY_TOKEN: '' });
    assert.equal(await active(token), false);
    assert.match(post.summary, new RegExp(`\\*\\*Revoked\\*\\* grant \`${main.outputs['grant-id']}\``));
    assert.doesNotMatch(post.stdout, /::warning::/);
    const record = svc.audit
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((r) => r.event === 'revoke' && (r.grant as { id?: string } | null)?.id === main.outputs['grant-id']);
    assert.equal(record?.outcome, 'revoked');
    assert.equal(record?.run_id, '1234567890');
  });

  it('output-credentials and token-env-name: the token as an output under a chosen variable', async () => {
    const main = await runner.runMain({
      with: inputs({ 'output-credentials': 'true', 'token-env-name': 'ARTIFACTS_TOKEN', scope: 'artifacts:read', ttl: '5m' }),
      env: job,
    });
    assert.equal(main.exitCode, 0, `${main.stdout}\n${main.stderr}`);
    const token = main.env.ARTIFACTS_TOKEN ?? '';
    assert.equal(main.outputs.token, token);
    assert.equal(main.env.LATCHKEY_TOKEN, undefined);
    assert.deepEqual(maskingProblems(main.stdout, [token]), []);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(claims.scope, 'artifacts:read');
    assert.equal(Number(claims.exp) - Number(claims.iat), 300);
  });

  it('export-env false: nothing exported, and a warning that no step can use the grant', async () => {
    const main = await runner.runMain({ with: inputs({ 'export-env': 'false' }), env: job });
    assert.equal(main.exitCode, 0, `${main.stdout}\n${main.stderr}`);
    assert.deepEqual(main.env, {});
    assert.equal(main.state.exported, '');
    assert.match(main.stdout, /::warning::export-env and output-credentials are both false/);
  });

  it('revoke false: the post step leaves the grant and the variables alone', async () => {
    const main = await runner.runMain({ with: inputs({ revoke: 'false' }), env: job });
    assert.equal(main.exitCode, 0, `${main.stdout}\n${main.stderr}`);
    const post = await runner.runPost(main, { with: inputs({ revoke: 'false' }), env: job });
    assert.equal(post.exitCode, 0);
    assert.deepEqual(post.env, {});
    assert.equal(await active(main.env.LATCHKEY_TOKEN ?? ''), true);
    assert.match(post.stdout, /stays valid until it expires/);
  });

  it('post after a failed main step has nothing to revoke and succeeds', async () => {
    const main = await runner.runMain({ with: inputs({ policy: 'webapp/none' }), env: job });
    assert.equal(main.exitCode, 1);
    assert.deepEqual(main.state, {});
    const post = await runner.runPost(main, { with: inputs({ policy: 'webapp/none' }), env: job });
    assert.equal(post.exitCode, 0);
    assert.match(post.stdout, /nothing to revoke/);
  });

  it('post warns, still blanks the variables and does not fail the job when the service is gone', async () => {
    const main = await runner.runMain({ with: inputs({ retries: '0' }), env: job });
    assert.equal(main.exitCode, 0, `${main.stdout}\n${main.stderr}`);
    const post = await runner.runPost(main, { with: inputs({ retries: '0', url: await closedPortUrl() }), env: job });
    assert.equal(post.exitCode, 0, `${post.stdout}\n${post.stderr}`);
    assert.match(post.stdout, /::warning::latchkey: could not revoke grant/);
    assert.deepEqual(post.env, { LATCHKEY_TOKEN: '' });
    assert.match(post.summary, /\*\*Not revoked\*\*/);
    assert.equal(await active(main.env.LATCHKEY_TOKEN ?? ''), true);
  });
});
