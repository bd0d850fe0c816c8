/**
 * The committed main bundle when the exchange is refused, run as the runner
 * runs it: each 400 fails at once (one request) with the service's words
 * and the hint for its reason; no OIDC permission gives the permissions
 * block; bad inputs fail before any request, naming the input.
 */
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { BASIC_POLICY, type TestService } from '../support/service.ts';
import { errorAnnotation, type Runner } from './runner.ts';
import type { FlakyProxy } from './flaky-proxy.ts';
import { startProxiedService, type ProxiedService } from './proxied-service.ts';

const RELEASE_ONLY = BASIC_POLICY.replace('ref: refs/heads/main', 'ref: refs/heads/release');
const JUSTIFIED = BASIC_POLICY.replace('ttl:', 'justification: required\nttl:');

describe('the Action when the exchange is refused', () => {
  let harness: ProxiedService;
  let svc: TestService;
  let proxy: FlakyProxy;
  let runner: Runner;
  let job: Record<string, string>;
  before(async () => {
    harness = await startProxiedService({ 'webapp/read': BASIC_POLICY, 'webapp/release': RELEASE_ONLY, 'webapp/justified': JUSTIFIED });
    ({ svc, proxy, runner, job } = harness);
  });
  after(() => harness?.close());
  beforeEach(() => proxy.reset());

  const inputs = (extra: Record<string, string> = {}) => harness.inputs(extra);

  // Refusals: one request, exit 1, the service's description and the hint for its reason.
  const refusals: Array<{ name: string; with: Record<string, string>; reason: string; expect: RegExp[] }> = [
    {
      name: "policy_denied lists the failed conditions with the token's values",
      with: { policy: 'webapp/release' },
      reason: 'policy_denied',
      expect: [/400 policy_denied/, /\n {2}- ref "refs\/heads\/main" is not allowed/, /Hint: This job's identity does not satisfy policy "webapp\/release"/],
    },
    {
      name: 'policy_unknown names the policy asked for',
      with: { policy: 'webapp/nope' },
      reason: 'policy_unknown',
      expect: [/400 policy_unknown/, /Hint: The service has no policy named "webapp\/nope"/],
    },
    {
      name: 'audience_mismatch shows the audience the service expects',
      with: { audience: 'https://wrong.example' },
      reason: 'audience_mismatch',
      expect: [/400 audience_mismatch/, /Hint: Set the `audience` input to the audience the service expects: `audience: https:\/\/latchkey\.test`/],
    },
    {
      name: 'ttl_exceeded',
      with: { ttl: '2h' },
      reason: 'ttl_exceeded',
      expect: [/400 ttl_exceeded/, /Hint: The `ttl` input asks for more than the policy's `ttl.max`/],
    },
    { name: 'scope_exceeded', with: { scope: 'admin' }, reason: 'scope_exceeded', expect: [/400 scope_exceeded/, /Hint: The `scope` input asks for more/] },
    {
      name: 'justification_required',
      with: { policy: 'webapp/justified' },
      reason: 'justification_required',
      expect: [/Hint: Policy "webapp\/justified" requires a reason: add a `justification:` input/],
    },
  ];
  for (const c of refusals) {
    it(`fails at once on ${c.name}`, async () => {
      const main = await runner.runMain({ with: inputs({ retries: '3', ...c.with }), env: job });
      assert.equal(main.exitCode, 1, main.stdout);
      assert.equal(proxy.counts.get('/token'), 1, 'a 400 is never retried');
      const error = errorAnnotation(main.stdout);
      for (const pattern of c.expect) assert.match(error, pattern);
      assert.match(error, /Request id: [0-9a-f-]{36}/);
      assert.deepEqual(main.env, {});
      assert.deepEqual(main.outputs, {});
      const record = svc.audit.map((line) => JSON.parse(line) as Record<string, unknown>).at(-1);
      assert.equal(record?.reason, c.reason, 'the service audited the same reason');
    });
  }

  it('without id-token: write (no ACTIONS_ID_TOKEN_REQUEST_URL) shows the permissions block and calls nothing', async () => {
    const main = await runner.runMain({ with: inputs(), env: { ...job, ACTIONS_ID_TOKEN_REQUEST_URL: undefined } });
    assert.equal(main.exitCode, 1);
    const error = errorAnnotation(main.stdout);
    assert.match(error, /ACTIONS_ID_TOKEN_REQUEST_URL is not set/);
    assert.match(error, /permissions:\n {2}id-token: write/);
    assert.equal(proxy.counts.get('/token'), undefined);
  });

  it('an invalid input fails before any request, naming the input', async () => {
    const main = await runner.runMain({ with: inputs({ retries: 'many', 'export-env': 'yes' }), env: job });
    assert.equal(main.exitCode, 1);
    const error = errorAnnotation(main.stdout);
    assert.match(error, /retries: must be a whole number from 0 to 10/);
    assert.match(error, /export-env: must be true or false/);
    assert.equal(proxy.counts.get('/token'), undefined);
  });

  it('a missing required input fails, naming it', async () => {
    const main = await runner.runMain({ with: { url: proxy.url }, env: job });
    assert.equal(main.exitCode, 1);
    assert.match(errorAnnotation(main.stdout), /policy: is required/);
  });
});
