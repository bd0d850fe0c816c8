/**
 * A failing AWS STS seen from the outside (SPEC §3 error table; ATTACKS.md
 * 31–32): the real service mints `aws` grants through the real SDK against a
 * loopback STS that refuses connections, drops them, throttles, refuses the
 * role or holds its answer. Each case asserts the client's answer, that no
 * credential (not even part of one) reaches it, the audit record, and that
 * a failed attempt does not spend the subject token.
 *
 * The minter's own retry and timeout rules are tested in
 * test/grants/aws-failures.test.ts; the happy path and AccessDenied /
 * Throttling over HTTP in test/grants/aws-exchange.test.ts.
 *
 * server.ts builds the minter from the SDK's default credential chain, so the
 * service's test identity is set in this process's environment (node --test
 * runs each file in its own process) and restored afterwards.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoopbackSts, type LoopbackSts } from '../support/loopback-sts.ts';
import { startTestService, exchangeParams, type TestResponse, type TestService } from '../support/service.ts';
import { SERVICE_CREDENTIALS } from '../grants/aws-fixtures.ts';

const AWS_POLICY = `version: 1
description: Deploy acme/webapp to S3.
issuer: github
subject:
  repository: acme/webapp
  repository_id: "892341"
  ref: refs/heads/main
ttl: { default: 15m, max: 30m }
grant:
  aws:
    role_arn: arn:aws:iam::123456789012:role/webapp-deploy
    session_policy:
      Version: "2012-10-17"
      Statement: [{ Effect: Allow, Action: ["s3:PutObject"], Resource: "arn:aws:s3:::acme-web/*" }]
`;

const ENV_NAMES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
] as const;
const saved: Partial<Record<(typeof ENV_NAMES)[number], string>> = {};

before(() => {
  for (const name of ENV_NAMES) {
    saved[name] = process.env[name];
    delete process.env[name];
  }
  process.env.AWS_ACCESS_KEY_ID = SERVICE_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = SERVICE_CREDENTIALS.secretAccessKey;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const nowhere = join(tmpdir(), `latchkey-no-aws-${randomUUID()}`);
  process.env.AWS_CONFIG_FILE = join(nowhere, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(nowhere, 'credentials');
});
after(() => {
  for (const name of ENV_NAMES) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** No credential, and no part of one, in a refused answer. */
function assertNoCredential(res: TestResponse, sts?: LoopbackSts): void {
  assert.equal(res.body.access_token, undefined);
  assert.equal(res.body.aws, undefined);
  assert.equal(res.body.grant_id, undefined);
  const text = JSON.stringify(res.body);
  for (const issued of sts?.issued ?? []) assert.ok(!text.includes(issued.accessKeyId) && !text.includes(issued.sessionToken));
}

const auditOf = (svc: TestService, res: TestResponse): Record<string, unknown> | undefined =>
  svc.audit.map((line) => JSON.parse(line) as Record<string, unknown>).find((record) => record.request_id === res.body.request_id);

describe('STS faults through the service', () => {
  it('ATTACKS 31: STS down (connection refused) → 503 upstream_unavailable after bounded retries, audited, token not spent', async () => {
    const svc = await startTestService({
      policies: { 'webapp/deploy': AWS_POLICY },
      config: { aws: { region: 'us-east-1', endpoint: `http://127.0.0.1:${await closedPort()}` } },
    });
    try {
      const token = await svc.issuer.sign();
      const res = await svc.post('/token', exchangeParams(token, 'webapp/deploy'));
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.error, 'temporarily_unavailable');
      assert.equal(res.body.reason, 'upstream_unavailable');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assertNoCredential(res);
      assert.deepEqual([auditOf(svc, res)?.outcome, auditOf(svc, res)?.reason], ['failed', 'upstream_unavailable']);
      assert.ok(
        svc.logs.some((line) => /attempt 3 of 3/.test(line)),
        'gave up after the bounded attempts, said so in the operator log',
      );
      const again = await svc.post('/token', exchangeParams(token, 'webapp/deploy'));
      assert.equal(again.body.reason, 'upstream_unavailable', 'the same token is tried again, not refused as replayed');
    } finally {
      await svc.close();
    }
  });

  describe('with a loopback STS', () => {
    let sts: LoopbackSts;
    let svc: TestService;
    before(async () => {
      sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
      svc = await startTestService({ policies: { 'webapp/deploy': AWS_POLICY }, config: { aws: { region: 'us-east-1', endpoint: sts.url } } });
    });
    afterEach(() => {
      sts.delayMs = 0;
    });
    after(async () => {
      await svc?.close();
      await sts?.close();
    });

    const failures = [
      {
        name: 'ATTACKS 31: STS drops every connection',
        arrange: () => sts.dropNext(3),
        status: 503,
        reason: 'upstream_unavailable',
        requests: 3,
        logged: /ECONNRESET|socket hang up/,
        hidden: undefined,
      },
      {
        name: 'ATTACKS 31: IDPCommunicationError on every attempt',
        arrange: () => sts.failNext(3, { code: 'IDPCommunicationError', message: 'idp unreachable' }),
        status: 503,
        reason: 'upstream_unavailable',
        requests: 3,
        logged: /IDPCommunicationError: idp unreachable/,
        hidden: /idp unreachable/,
      },
      {
        name: 'ATTACKS 31: MalformedPolicyDocument',
        arrange: () => sts.failNext(1, { code: 'MalformedPolicyDocument', message: 'Syntax errors in policy.' }),
        status: 502,
        reason: 'upstream_denied',
        requests: 1,
        logged: /MalformedPolicyDocument: Syntax errors in policy/,
        hidden: /Syntax errors/,
      },
      {
        name: 'ATTACKS 31: PackedPolicyTooLarge',
        arrange: () => sts.failNext(1, { code: 'PackedPolicyTooLarge', message: 'Packed policy consumes 131% of allotted space' }),
        status: 502,
        reason: 'upstream_denied',
        requests: 1,
        logged: /PackedPolicyTooLarge: Packed policy consumes 131%/,
        hidden: /131%/,
      },
      {
        name: 'ATTACKS 31: a 200 that is only part of a credential',
        arrange: () =>
          sts.script({
            raw: '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAHALFDONE0000</AccessKeyId><SessionToken>HALF-A-SESSION</SessionToken></Credentials></AssumeRoleResult></AssumeRoleResponse>',
          }),
        status: 502,
        reason: 'upstream_denied',
        requests: 1,
        logged: /lacks/,
        hidden: /HALF/,
      },
    ];
    for (const failure of failures) {
      it(`${failure.name} → ${failure.status} ${failure.reason}, no credential, STS detail for the operator only; the token is granted once STS recovers`, async () => {
        failure.arrange();
        const before = sts.requests.length;
        const token = await svc.issuer.sign();
        const res = await svc.post('/token', exchangeParams(token, 'webapp/deploy'));
        assert.equal(res.status, failure.status, JSON.stringify(res.body));
        assert.equal(res.body.reason, failure.reason);
        assert.equal(sts.requests.length - before, failure.requests, 'AssumeRole calls');
        assertNoCredential(res, sts);
        assert.doesNotMatch(JSON.stringify(res.body), /HALF|ASIAHALF/);
        if (failure.hidden) assert.doesNotMatch(String(res.body.error_description), failure.hidden, 'the STS message stays out of the answer');
        assert.ok(
          svc.logs.some((line) => failure.logged.test(line)),
          'and is in the operator log',
        );
        assert.ok(!svc.logs.join('\n').includes('HALF-A-SESSION'), 'no partial credential is logged');
        assert.deepEqual([auditOf(svc, res)?.outcome, auditOf(svc, res)?.reason], ['failed', failure.reason]);

        const retried = await svc.post('/token', exchangeParams(token, 'webapp/deploy'));
        assert.equal(retried.status, 200, `the failed attempt did not spend the token: ${JSON.stringify(retried.body)}`);
      });
    }

    it('ATTACKS 32: an STS that holds its answer does not hold the service: others are served; when it goes away, 503', async () => {
      sts.delayMs = 60_000;
      let settled = false;
      const pending = svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/deploy')).finally(() => (settled = true));
      for (let i = 0; i < 500 && sts.requests.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      const others = await Promise.all([fetch(`${svc.url}/healthz`), svc.post('/token', exchangeParams('not.a.token', 'webapp/deploy'))]);
      assert.equal(others[0].status, 200);
      assert.equal(others[1].body.reason, 'token_invalid');
      assert.equal(settled, false, 'the exchange is still waiting on STS');
      await sts.close(); // the held answers end with their connections; the retries find nobody listening
      const res = await pending;
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.body.reason, 'upstream_unavailable');
      assertNoCredential(res);
    });
  });
});
