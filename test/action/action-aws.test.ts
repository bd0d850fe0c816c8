/**
 * The committed bundles with an `aws` grant, end to end: the real service
 * assumes a role at the loopback STS, and the main step exports the five
 * variables configure-aws-credentials uses, masks every secret before
 * anything else, and (with output-credentials) sets them as outputs; the
 * post step revokes by grant id and blanks all five.
 *
 * The service's own AWS identity comes from this test process's environment
 * (node --test runs each file in its own process); the Action's processes
 * get only the runner's environment.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoopbackSts, type LoopbackSts } from '../support/loopback-sts.ts';
import { startTestService, type TestService } from '../support/service.ts';
import { createRunner, maskingProblems, type Runner } from './runner.ts';

const ROLE_ARN = 'arn:aws:iam::123456789012:role/webapp-deploy';
const SERVICE_CREDENTIALS = { accessKeyId: 'AKIALATCHKEYACTION01', secretAccessKey: 'latchkey/action+test=secret000000000000000' };

const AWS_POLICY = `version: 1
description: Deploy acme/webapp's static site.
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
`;

const AWS_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_EC2_METADATA_DISABLED',
] as const;

describe('the Action with an aws grant', () => {
  let sts: LoopbackSts;
  let svc: TestService;
  let runner: Runner;
  const saved: Partial<Record<(typeof AWS_ENV)[number], string>> = {};

  before(async () => {
    sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
    for (const name of AWS_ENV) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    const nowhere = join(tmpdir(), `latchkey-no-aws-${randomUUID()}`);
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: SERVICE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: SERVICE_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(nowhere, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(nowhere, 'credentials'),
    });
    svc = await startTestService({ policies: { 'webapp/deploy': AWS_POLICY }, config: { aws: { region: 'us-east-1', endpoint: sts.url } } });
    runner = await createRunner();
  });
  after(async () => {
    await runner?.close();
    await svc?.close();
    await sts?.close();
    for (const name of AWS_ENV) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('exports the five AWS variables, masked first; post revokes by grant id and blanks them', async () => {
    const job = { ACTIONS_ID_TOKEN_REQUEST_URL: svc.issuer.actionsTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: svc.issuer.runtimeToken };
    const inputs = { url: svc.url, policy: 'webapp/deploy', audience: 'https://latchkey.test', 'output-credentials': 'true', ttl: '20m' };
    const main = await runner.runMain({ with: inputs, env: job });
    assert.equal(main.exitCode, 0, `${main.stdout}\n${main.stderr}`);
    const issued = sts.issued.at(-1);
    assert.ok(issued !== undefined);
    assert.equal(sts.requests.at(-1)?.durationSeconds, 1200);

    assert.deepEqual(main.env, {
      AWS_ACCESS_KEY_ID: issued.accessKeyId,
      AWS_SECRET_ACCESS_KEY: issued.secretAccessKey,
      AWS_SESSION_TOKEN: issued.sessionToken,
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
    });
    assert.deepEqual(maskingProblems(main.stdout, [issued.accessKeyId, issued.secretAccessKey, issued.sessionToken]), []);
    assert.equal(main.outputs['aws-access-key-id'], issued.accessKeyId);
    assert.equal(main.outputs['aws-secret-access-key'], issued.secretAccessKey);
    assert.equal(main.outputs['aws-session-token'], issued.sessionToken);
    assert.equal(main.outputs.token, undefined);
    assert.equal(main.outputs.policy, 'webapp/deploy');
    for (const secret of [issued.secretAccessKey, issued.sessionToken, issued.accessKeyId]) {
      assert.ok(!main.files.state.includes(secret), 'no secret in the step state');
      assert.ok(!main.summary.includes(secret), 'no secret in the summary');
    }
    assert.ok(main.summary.includes(`| webapp/deploy | aws | ${issued.assumedRoleArn} |`), main.summary);
    assert.equal(main.state.exported, 'AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,AWS_REGION,AWS_DEFAULT_REGION');

    const post = await runner.runPost(main, { with: inputs, env: job });
    assert.equal(post.exitCode, 0, `${post.stdout}\n${post.stderr}`);
    assert.deepEqual(post.env, { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_REGION: '', AWS_DEFAULT_REGION: '' });
    const records = svc.audit.map((line) => JSON.parse(line) as Record<string, unknown>);
    const revoke = records.find((r) => r.event === 'revoke' && (r.grant as { id?: string } | null)?.id === main.outputs['grant-id']);
    assert.equal(revoke?.outcome, 'revoked');
    assert.equal((revoke?.grant as { kind?: string } | undefined)?.kind, 'aws');
    assert.match(post.summary, /\*\*Revoked\*\*/);
  });
});
