/**
 * End to end: a token from the loopback issuer, through the real service
 * (HTTP, policy, SQLite audit store), to AWS credentials from the loopback
 * STS via `aws.endpoint`; the audit record traces the session (role ARN,
 * session name, access key id) and holds no secret; STS failures answer
 * 502/503 and are audited too.
 *
 * server.ts builds the minter with the SDK's default credential chain, so
 * the service's test identity is set in this test process's environment
 * (node --test runs each file in its own process) and restored afterwards.
 */
import { TokenResponse } from '../../exchange-service/src/grants/token-response.ts';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoopbackSts, type LoopbackSts } from '../support/loopback-sts.ts';
import { exchangeParams, startTestService, type TestService } from '../support/service.ts';
import { SERVICE_CREDENTIALS } from './aws-fixtures.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/webapp-deploy';

const AWS_POLICY = `version: 1
description: Deploy acme/webapp's static site to S3.
issuer: github
subject:
  repository: acme/webapp
  repository_id: "892341"
  ref: refs/heads/main
  runner_environment: github-hosted
ttl: { default: 15m, max: 30m }
grant:
  aws:
    role_arn: ${ROLE_ARN}
    region: eu-west-1
    session_policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: ["s3:PutObject"]
          Resource: "arn:aws:s3:::acme-web/*"
    tags: { team: web }
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

/** Audit records (parsed) of the service so far. */
const auditRecords = (svc: TestService): Array<Record<string, unknown>> => svc.audit.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('aws grant end to end', () => {
  let sts: LoopbackSts;
  let svc: TestService;
  const saved: Partial<Record<(typeof ENV_NAMES)[number], string>> = {};

  before(async () => {
    sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
    for (const name of ENV_NAMES) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    process.env.AWS_ACCESS_KEY_ID = SERVICE_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = SERVICE_CREDENTIALS.secretAccessKey;
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    // Files that do not exist: no shared config on this machine can change the outcome.
    const nowhere = join(tmpdir(), `latchkey-no-aws-${randomUUID()}`);
    process.env.AWS_CONFIG_FILE = join(nowhere, 'config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(nowhere, 'credentials');
    svc = await startTestService({ policies: { 'webapp/deploy-s3': AWS_POLICY }, config: { aws: { region: 'us-east-1', endpoint: sts.url } } });
  });

  after(async () => {
    await svc?.close();
    await sts?.close();
    for (const name of ENV_NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('exchanges a run token for a tagged, scoped AWS session and audits it', async () => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/deploy-s3'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const shape = TokenResponse.safeParse(res.body);
    assert.ok(shape.success, `the answer is not the TokenResponse schema: ${shape.success ? '' : JSON.stringify(shape.error.issues)}`);
    const issued = sts.issued.at(-1);
    assert.ok(issued !== undefined);
    const grantId = res.body.grant_id as string;
    assert.equal(res.body.issued_token_type, 'urn:latchkey:token-type:aws-credentials');
    assert.equal(res.body.token_type, 'N_A');
    assert.equal(res.body.access_token, issued.sessionToken);
    assert.equal(res.body.expires_in, 900);
    assert.deepEqual(res.body.aws, {
      access_key_id: issued.accessKeyId,
      secret_access_key: issued.secretAccessKey,
      session_token: issued.sessionToken,
      expiration: issued.expiration,
      region: 'eu-west-1',
      assumed_role_arn: 'arn:aws:sts::123456789012:assumed-role/webapp-deploy/acme.webapp@1234567890',
    });

    const sent = sts.requests.at(-1);
    assert.equal(sent?.roleArn, ROLE_ARN);
    assert.equal(sent?.durationSeconds, 900);
    assert.equal(sent?.roleSessionName, 'acme.webapp@1234567890');
    assert.equal(sent?.sourceIdentity, 'octocat');
    assert.equal(sent?.policy, '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::acme-web/*"}]}');
    assert.deepEqual(sent?.tags, [
      { key: 'latchkey:grant-id', value: grantId },
      { key: 'repository', value: 'acme/webapp' },
      { key: 'repository_id', value: '892341' },
      { key: 'ref', value: 'refs/heads/main' },
      { key: 'workflow', value: 'deploy' },
      { key: 'run_id', value: '1234567890' },
      { key: 'actor', value: 'octocat' },
      { key: 'team', value: 'web' },
    ]);
    assert.equal(sent?.authorization?.region, 'us-east-1', 'the service calls STS in its configured region');

    const record = auditRecords(svc).find((r) => (r.grant as Record<string, unknown> | null)?.id === grantId);
    assert.ok(record !== undefined, 'a granted audit record');
    assert.equal(record.outcome, 'granted');
    assert.deepEqual(
      { ...(record.grant as Record<string, unknown>), expires_at: undefined },
      {
        id: grantId,
        kind: 'aws',
        target: ROLE_ARN,
        scope: null,
        ttl: 900,
        expires_at: undefined,
        session_name: 'acme.webapp@1234567890',
        credential_sha256: createHash('sha256').update(issued.sessionToken).digest('hex'),
        access_key_id: issued.accessKeyId,
      },
    );
    const everything = [...svc.audit, ...svc.logs].join('\n');
    assert.ok(!everything.includes(issued.secretAccessKey), 'no secret access key in audit or logs');
    assert.ok(!everything.includes(issued.sessionToken), 'no session token in audit or logs');
  });

  it('revokes by the session token it issued (found by its SHA-256), once', async () => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/deploy-s3'));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const grantId = res.body.grant_id as string;
    const revoked = (): Array<Record<string, unknown>> =>
      auditRecords(svc).filter((r) => r.event === 'revoke' && (r.grant as Record<string, unknown> | null)?.id === grantId);
    const first = await svc.post('/revoke', { token: res.body.access_token as string });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(
      revoked().map((r) => [r.outcome, r.reason]),
      [['revoked', null]],
    );
    await svc.post('/revoke', { token: res.body.access_token as string });
    assert.deepEqual(
      revoked().map((r) => [r.outcome, r.reason]),
      [
        ['revoked', null],
        ['revoked', 'already_revoked'],
      ],
    );
  });

  it('asks STS for the requested lifetime', async () => {
    const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/deploy-s3', { ttl: '1800' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(sts.requests.at(-1)?.durationSeconds, 1800);
    assert.equal(res.body.expires_in, 1800);
  });

  const failures = [
    {
      name: 'ATTACKS 31: STS AccessDenied → 502 upstream_denied, STS message in the log only',
      arrange: () => sts.failNext(1, { code: 'AccessDenied', status: 403, message: 'User latchkey-svc is not authorized to perform sts:AssumeRole' }),
      status: 502,
      error: 'server_error',
      reason: 'upstream_denied',
      requests: 1,
      logged: /not authorized to perform sts:AssumeRole/,
    },
    {
      name: 'ATTACKS 31: STS throttling on every attempt → 503 upstream_unavailable with Retry-After',
      arrange: () => sts.failNext(3, { code: 'Throttling', message: 'Rate exceeded' }),
      status: 503,
      error: 'temporarily_unavailable',
      reason: 'upstream_unavailable',
      requests: 3,
      logged: /Throttling: Rate exceeded/,
    },
  ];
  for (const failure of failures) {
    it(failure.name, async () => {
      failure.arrange();
      const before = sts.requests.length;
      const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/deploy-s3'));
      assert.equal(res.status, failure.status);
      assert.equal(res.body.error, failure.error);
      assert.equal(res.body.reason, failure.reason);
      assert.equal(res.body.aws, undefined);
      assert.equal(res.body.access_token, undefined);
      assert.equal(sts.requests.length - before, failure.requests);
      if (failure.status === 503) assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.doesNotMatch(String(res.body.error_description), failure.logged, 'the STS message never reaches the client');
      assert.ok(
        svc.logs.some((line) => failure.logged.test(line)),
        'the STS message is in the operator log',
      );
      const record = auditRecords(svc).find((r) => r.request_id === res.body.request_id);
      assert.equal(record?.outcome, 'failed');
      assert.equal(record?.reason, failure.reason);
      assert.equal(record?.policy, 'webapp/deploy-s3');
    });
  }

  const refusals: Array<{ name: string; extra: Record<string, string>; reason: string }> = [
    { name: 'a lifetime below STS minimum', extra: { ttl: '60' }, reason: 'ttl_exceeded' },
    { name: 'a JWT asked of an aws policy', extra: { requested_token_type: 'urn:ietf:params:oauth:token-type:jwt' }, reason: 'token_type' },
  ];
  for (const refusal of refusals) {
    it(`${refusal.name} → 400 ${refusal.reason}, STS never called`, async () => {
      const before = sts.requests.length;
      const res = await svc.post('/token', exchangeParams(await svc.issuer.sign(), 'webapp/deploy-s3', refusal.extra));
      assert.equal(res.status, 400);
      assert.equal(res.body.reason, refusal.reason);
      assert.equal(sts.requests.length, before);
    });
  }
});
