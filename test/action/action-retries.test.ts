/**
 * The committed main bundle against a flaky or dead service, run as the
 * runner runs it: 503 and 429 are retried (each attempt with a fresh OIDC
 * token) and the step succeeds; a 503 that outlasts `retries` fails naming
 * the attempts; a dead service fails after exactly `retries` + 1 attempts.
 * A loopback proxy in front of the real service scripts the failures.
 */
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestService, BASIC_POLICY, type TestService } from '../support/service.ts';
import { createRunner, errorAnnotation, maskingProblems, type Runner } from './runner.ts';
import { closedPortUrl, type FlakyProxy } from './flaky-proxy.ts';
import { startProxiedService, type ProxiedService } from './proxied-service.ts';

describe('the Action against a flaky service', () => {
  let harness: ProxiedService;
  let svc: TestService;
  let proxy: FlakyProxy;
  let runner: Runner;
  let job: Record<string, string>;
  before(async () => {
    harness = await startProxiedService({ 'webapp/read': BASIC_POLICY });
    ({ svc, proxy, runner, job } = harness);
  });
  after(() => harness?.close());
  beforeEach(() => proxy.reset());

  const inputs = (extra: Record<string, string> = {}) => harness.inputs(extra);

  const retried: Array<{ name: string; status: number; failures: number; retries: string }> = [
    { name: '503 twice, then 200', status: 503, failures: 2, retries: '3' },
    { name: '429 once, then 200', status: 429, failures: 1, retries: '1' },
  ];
  for (const c of retried) {
    it(`retries ${c.name}: succeeds after ${c.failures + 1} requests, each with a fresh OIDC token`, async () => {
      proxy.failNext('/token', c.failures, c.status, '0');
      const oidcBefore = svc.issuer.actionsTokenRequests;
      const main = await runner.runMain({ with: inputs({ retries: c.retries }), env: job });
      assert.equal(main.exitCode, 0, `${main.stdout}\n${main.stderr}`);
      assert.equal(proxy.counts.get('/token'), c.failures + 1);
      assert.equal(svc.issuer.actionsTokenRequests - oidcBefore, c.failures + 1);
      assert.equal((main.stdout.match(/retrying in/g) ?? []).length, c.failures);
      assert.match(main.stdout, new RegExp(`attempt 1 failed \\(${c.status} upstream_unavailable\\)`));
      assert.match(main.env.LATCHKEY_TOKEN ?? '', /^eyJ/);
      assert.deepEqual(maskingProblems(main.stdout, [main.env.LATCHKEY_TOKEN ?? '']), []);
    });
  }

  it('gives up when 503 outlasts the retries, naming the reason and the attempts', async () => {
    proxy.failNext('/token', 5, 503, '0');
    const main = await runner.runMain({ with: inputs({ retries: '1' }), env: job });
    assert.equal(main.exitCode, 1);
    assert.equal(proxy.counts.get('/token'), 2);
    assert.match(errorAnnotation(main.stdout), /503 upstream_unavailable/);
    assert.match(errorAnnotation(main.stdout), /gave up after 2 attempts/);
    assert.deepEqual(main.env, {});
    assert.deepEqual(main.state, {});
  });
});

describe('the Action when the service is down', () => {
  let runner: Runner;
  let dropper: Server;
  let connections = 0;
  let issuer: TestService['issuer'];
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
    issuer = svc.issuer;
    runner = await createRunner();
    // Accepts each connection and closes it at once: every attempt is a network error, and countable.
    dropper = createServer();
    dropper.on('connection', (socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await runner?.close();
    await new Promise<void>((resolve) => dropper.close(() => resolve()));
    await svc?.close();
  });

  it('fails after exactly retries + 1 attempts, with a network hint', async () => {
    const url = `http://127.0.0.1:${(dropper.address() as AddressInfo).port}`;
    const main = await runner.runMain({
      with: { url, policy: 'webapp/read', audience: 'https://latchkey.test', retries: '1' },
      env: { ACTIONS_ID_TOKEN_REQUEST_URL: issuer.actionsTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.runtimeToken },
    });
    assert.equal(main.exitCode, 1);
    assert.equal(connections, 2);
    assert.match(main.stdout, /could not reach the service at http:\/\/127\.0\.0\.1:\d+ after 2 attempts/);
    assert.match(main.stdout, /Hint: check the `url` input/);
    assert.deepEqual(main.env, {});
  });

  it('a closed port (connection refused) with retries 0 fails after one attempt', async () => {
    const main = await runner.runMain({
      with: { url: await closedPortUrl(), policy: 'webapp/read', audience: 'https://latchkey.test', retries: '0' },
      env: { ACTIONS_ID_TOKEN_REQUEST_URL: issuer.actionsTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.runtimeToken },
    });
    assert.equal(main.exitCode, 1);
    assert.match(main.stdout, /after 1 attempt: ECONNREFUSED/);
  });
});
