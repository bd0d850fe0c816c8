/**
 * run() and runPost() in process, with a recording ActionRuntime in place of
 * @actions/core, against the real service (real fetch, real OIDC tokens from
 * the loopback issuer). Checks the order of what the step writes, the
 * failure messages, and the pieces they are built from.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, BASIC_POLICY, type TestService } from '../support/service.ts';
import { run } from '../../action/src/main.ts';
import { runPost } from '../../action/src/post.ts';
import type { ActionRuntime } from '../../action/src/runtime.ts';
import { describeFailure, deniedConditions } from '../../action/src/hints.ts';
import { IdTokenError } from '../../action/src/id-token.ts';
import { ServiceError } from '../../action/src/exchange-client.ts';
import type { TokenResponse } from '../../action/src/token-response.ts';
import { planCredential } from '../../action/src/credentials.ts';
import { cell, grantSummary } from '../../action/src/summary.ts';

type Call = [method: keyof ActionRuntime, ...args: string[]];

/** A runtime that records every call; tokens come from `idToken`, state from `state`. */
function recordingRuntime(idToken: (audience: string) => Promise<string>, state: Record<string, string> = {}) {
  const calls: Call[] = [];
  const runtime: ActionRuntime = {
    getIDToken: async (audience) => {
      calls.push(['getIDToken', audience]);
      return idToken(audience);
    },
    setSecret: (value) => void calls.push(['setSecret', value]),
    exportVariable: (name, value) => void calls.push(['exportVariable', name, value]),
    setOutput: (name, value) => void calls.push(['setOutput', name, value]),
    saveState: (name, value) => {
      calls.push(['saveState', name, value]);
      state[name] = value;
    },
    getState: (name) => state[name] ?? '',
    info: (message) => void calls.push(['info', message]),
    warning: (message) => void calls.push(['warning', message]),
    setFailed: (message) => void calls.push(['setFailed', message]),
    appendSummary: async (markdown) => void calls.push(['appendSummary', markdown]),
  };
  return { runtime, calls, state };
}

describe('run() and runPost() with a recording runtime', () => {
  let svc: TestService;
  let env: Record<string, string>;
  before(async () => {
    svc = await startTestService({ policies: { 'webapp/read': BASIC_POLICY } });
    env = {
      ACTIONS_ID_TOKEN_REQUEST_URL: svc.issuer.actionsTokenUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'unused-here',
      INPUT_URL: svc.url,
      INPUT_POLICY: 'webapp/read',
      INPUT_AUDIENCE: 'https://latchkey.test',
    };
  });
  after(() => svc.close());
  const idToken = (audience: string) => svc.issuer.sign({ aud: audience });

  it('masks every secret before it writes anything else, then state, env, outputs, summary', async () => {
    const { runtime, calls, state } = recordingRuntime(idToken);
    await run({ runtime, env: { ...env, 'INPUT_OUTPUT-CREDENTIALS': 'true' } });
    const methods = calls.map(([method]) => method);
    assert.ok(!methods.includes('setFailed'), JSON.stringify(calls));
    const firstSecret = methods.indexOf('setSecret');
    const firstWrite = methods.findIndex((m) => m === 'exportVariable' || m === 'setOutput' || m === 'saveState' || m === 'info' || m === 'appendSummary');
    assert.ok(firstSecret >= 0 && firstSecret < firstWrite, methods.join(' '));
    const secret = calls.find(([m]) => m === 'setSecret')?.[1] ?? '';
    assert.deepEqual(
      calls.find(([m, name]) => m === 'exportVariable' && name === 'LATCHKEY_TOKEN'),
      ['exportVariable', 'LATCHKEY_TOKEN', secret],
    );
    assert.deepEqual(
      calls.find(([m, name]) => m === 'setOutput' && name === 'token'),
      ['setOutput', 'token', secret],
    );
    assert.ok(!Object.values(state).includes(secret));
    assert.equal(methods.at(-1), 'appendSummary');
    assert.deepEqual(calls[0], ['getIDToken', 'https://latchkey.test']);

    const post = recordingRuntime(idToken, state);
    await runPost({ runtime: post.runtime, env });
    assert.ok(!post.calls.some(([m]) => m === 'warning'), JSON.stringify(post.calls));
    assert.deepEqual(
      post.calls.filter(([m]) => m === 'exportVariable'),
      [['exportVariable', 'LATCHKEY_TOKEN', '']],
    );
    const again = await fetch(`${svc.url}/revoke`, {
      method: 'POST',
      body: new URLSearchParams({ token: secret }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(again.status, 200);
    const record = svc.audit
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.event === 'revoke')
      .at(-1);
    assert.equal(record?.reason, 'already_revoked', 'the post step had revoked it already');
  });

  it('reports a refusal once through setFailed and writes nothing else', async () => {
    const { runtime, calls } = recordingRuntime(idToken);
    await run({ runtime, env: { ...env, INPUT_POLICY: 'webapp/missing' } });
    const written = calls.filter(([m]) => m !== 'getIDToken');
    assert.equal(written.length, 1);
    assert.equal(written[0]?.[0], 'setFailed');
    assert.match(written[0]?.[1] ?? '', /policy_unknown/);
  });

  it('the post step warns (never fails) when the OIDC token cannot be had, and still blanks the variables', async () => {
    const { runtime, calls } = recordingRuntime(() => Promise.reject(new Error('Failed to get ID Token. Error Code : 403')), {
      grant_id: 'g-1',
      exported: 'A,B',
    });
    await runPost({ runtime, env });
    assert.ok(!calls.some(([m]) => m === 'setFailed'));
    assert.match(calls.find(([m]) => m === 'warning')?.[1] ?? '', /could not revoke grant g-1[\s\S]*Error Code : 403/);
    assert.deepEqual(
      calls.filter(([m]) => m === 'exportVariable'),
      [
        ['exportVariable', 'A', ''],
        ['exportVariable', 'B', ''],
      ],
    );
  });
});

describe('failure messages', () => {
  const inputs = { policy: 'webapp/deploy', audience: 'https://latchkey.example', url: 'https://latchkey.example' };
  const cases: Array<{ name: string; error: unknown; expect: RegExp[] }> = [
    { name: 'no id-token permission', error: new IdTokenError('this job cannot request an OIDC token', true), expect: [/permissions:\n {2}id-token: write/] },
    { name: 'id token request failed', error: new IdTokenError("could not get the job's OIDC token: 500", false), expect: [/500/, /id-token: write/] },
    {
      name: 'policy_denied lists conditions',
      error: new ServiceError({
        status: 400,
        reason: 'policy_denied',
        description: 'policy denied: ref "refs/heads/dev" is not allowed; environment "staging" is not allowed',
        attempts: 1,
        requestId: 'r1',
      }),
      expect: [/\n {2}- ref "refs\/heads\/dev" is not allowed\n {2}- environment "staging" is not allowed\n/, /Request id: r1/],
    },
    {
      name: 'audience_mismatch without the expected audience in the text',
      error: new ServiceError({ status: 400, reason: 'audience_mismatch', description: 'bad audience', attempts: 1 }),
      expect: [/Hint: Set the `audience` input/],
    },
    {
      name: 'internal names the request id',
      error: new ServiceError({ status: 500, reason: 'internal', description: 'internal error', attempts: 1, requestId: 'abc' }),
      expect: [/give its operators the request id abc/],
    },
    {
      name: 'an unknown reason still shows the description',
      error: new ServiceError({ status: 418, reason: 'teapot', description: 'short and stout', attempts: 1 }),
      expect: [/418 teapot\): short and stout/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const text = describeFailure(c.error, inputs);
      for (const pattern of c.expect) assert.match(text, pattern);
    });
  }

  it('splits policy_denied descriptions into conditions', () => {
    assert.deepEqual(deniedConditions('policy denied: a; b'), ['a', 'b']);
    assert.deepEqual(deniedConditions('the token does not satisfy the policy'), []);
  });
});

describe('credential layout and summary', () => {
  const aws: TokenResponse = {
    access_token: 'SESSION',
    issued_token_type: 'urn:latchkey:token-type:aws-credentials',
    token_type: 'N_A',
    expires_in: 900,
    grant_id: 'g',
    policy: 'p',
    expires_at: 'x',
    aws: {
      access_key_id: 'ASIA',
      secret_access_key: 'SECRET',
      session_token: 'SESSION',
      region: 'eu-west-1',
      assumed_role_arn: 'arn:aws:sts::1:assumed-role/r/s',
    },
  };
  it('aws: masks key id, secret and session token; exports nothing with export-env false', () => {
    const plan = planCredential(aws, { exportEnv: false, outputCredentials: false, tokenEnvName: 'T' });
    assert.deepEqual(plan.secrets, ['ASIA', 'SECRET', 'SESSION']);
    assert.deepEqual(plan.env, {});
    assert.deepEqual(Object.keys(plan.outputs), ['grant-id', 'expires-at', 'policy']);
    assert.equal(plan.target, 'arn:aws:sts::1:assumed-role/r/s');
  });
  it('aws without its credentials object is an error', () => {
    assert.throws(() => planCredential({ ...aws, aws: undefined }, { exportEnv: true, outputCredentials: false, tokenEnvName: 'T' }), /without credentials/);
  });
  it('summary cells cannot break the table or inject HTML', () => {
    assert.equal(cell('a|b\n<img src=x>'), 'a\\|b &lt;img src=x&gt;');
    assert.equal(cell(''), '—');
    assert.equal(
      grantSummary({ policy: 'p|q', kind: 'token', target: '', expiresAt: 'e', grantId: 'g' }).split('\n').at(-2),
      '| p\\|q | token | — | e | `g` |',
    );
  });
});
