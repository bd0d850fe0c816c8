/**
 * The `aws` minter against a loopback STS, through the real
 * `@aws-sdk/client-sts` over HTTP: exactly which AssumeRole parameters are
 * sent for a table of policies and claims, and what the exchange gets back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AssumeRoleCommand, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';
import { createAwsMinter, AWS_CREDENTIALS_TOKEN_TYPE } from '../../exchange-service/src/grants/aws.ts';
import { silentLogger } from '../../exchange-service/src/log.ts';
import type { AwsGrant } from '../../exchange-service/src/policy/model/compile.ts';
import { startLoopbackSts, type LoopbackSts } from '../support/loopback-sts.ts';
import { assumeRoleForm, awsGrant, capturingLogger, mintRequest, SERVICE_CREDENTIALS, stsClient, type ExpectedCall } from './aws-fixtures.ts';

const GRANT_ID = '5b0c1f4e-8a62-4d8e-9a51-0d7f3c9e2a11';
const SESSION = 'acme.webapp@1234567890';

/** The automatic tags for the default run claims, with some replaced (`null` drops one). */
function runTags(changes: Record<string, string | null> = {}): Array<[string, string]> {
  const base: Array<[string, string]> = [
    ['latchkey:grant-id', GRANT_ID],
    ['repository', 'acme/webapp'],
    ['repository_id', '892341'],
    ['ref', 'refs/heads/main'],
    ['workflow', 'deploy'],
    ['run_id', '1234567890'],
    ['actor', 'octocat'],
    ['environment', 'production'],
  ];
  return base.flatMap(([key, value]): Array<[string, string]> => {
    const changed = changes[key];
    if (changed === null) return [];
    return [[key, changed ?? value]];
  });
}

const DEPLOY_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['s3:PutObject'], Resource: 'arn:aws:s3:::acme-web/*' }],
};

interface ParameterCase {
  name: string;
  grant: AwsGrant;
  claims?: Record<string, unknown>;
  ttl?: number;
  expected: ExpectedCall;
}

const manyTags = Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`t${String(i + 1).padStart(2, '0')}`, `v${i + 1}`]));

const PARAMETER_CASES: ParameterCase[] = [
  {
    name: 'inline session policy (minified) and policy tags after the automatic ones',
    grant: awsGrant({ sessionPolicy: DEPLOY_POLICY, tags: { team: 'web', 'cost-center': '42' } }),
    expected: {
      sessionName: SESSION,
      duration: 900,
      sourceIdentity: 'octocat',
      policy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::acme-web/*"}]}',
      tags: [...runTags(), ['team', 'web'], ['cost-center', '42']],
    },
  },
  {
    name: 'managed session policies and a 12-hour session, no inline policy',
    grant: awsGrant({ managedSessionPolicies: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::123456789012:policy/deploy/webapp'] }),
    ttl: 43200,
    expected: {
      sessionName: SESSION,
      duration: 43200,
      sourceIdentity: 'octocat',
      policyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::123456789012:policy/deploy/webapp'],
      tags: runTags(),
    },
  },
  {
    name: 'absent claims are skipped: no environment, workflow or actor (so no SourceIdentity)',
    grant: awsGrant(),
    claims: { environment: undefined, workflow: undefined, actor: undefined },
    ttl: 1800,
    expected: { sessionName: SESSION, duration: 1800, tags: runTags({ environment: null, workflow: null, actor: null }) },
  },
  {
    name: 'empty and non-scalar claims are skipped like absent ones',
    grant: awsGrant(),
    claims: { environment: '', workflow: { name: 'deploy' }, ref: ['refs/heads/main'] },
    expected: { sessionName: SESSION, duration: 900, sourceIdentity: 'octocat', tags: runTags({ environment: null, workflow: null, ref: null }) },
  },
  {
    name: 'characters outside STS sets are replaced: names get -, tags get _',
    grant: awsGrant(),
    claims: { repository: 'acme/web app', actor: 'dependabot[bot]', ref: 'refs/heads/fix#12*', workflow: 'Deploy "prod"\n', environment: 'prod;rm\u0000' },
    expected: {
      sessionName: 'acme.web-app@1234567890',
      duration: 900,
      sourceIdentity: 'dependabot-bot-',
      tags: runTags({ repository: 'acme/web app', ref: 'refs/heads/fix_12_', workflow: 'Deploy _prod__', actor: 'dependabot_bot_', environment: 'prod_rm_' }),
    },
  },
  {
    name: 'Unicode letters are kept in tags but not in the session name',
    grant: awsGrant(),
    claims: { repository: 'acme/café', environment: 'produção' },
    expected: {
      sessionName: 'acme.caf-@1234567890',
      duration: 900,
      sourceIdentity: 'octocat',
      tags: runTags({ repository: 'acme/café', environment: 'produção' }),
    },
  },
  {
    name: 'long claims are cut to 64 (session name, keeping the run id) and 256 (tag values)',
    grant: awsGrant(),
    claims: { repository: `acme/${'r'.repeat(100)}`, ref: `refs/heads/${'x'.repeat(300)}` },
    expected: {
      sessionName: `acme.${'r'.repeat(48)}@1234567890`,
      duration: 900,
      sourceIdentity: 'octocat',
      tags: runTags({ repository: `acme/${'r'.repeat(100)}`, ref: `refs/heads/${'x'.repeat(300)}`.slice(0, 256) }),
    },
  },
  {
    name: 'a one-character actor is padded to STS minimum of two',
    grant: awsGrant(),
    claims: { actor: 'a' },
    expected: { sessionName: SESSION, duration: 900, sourceIdentity: 'a_', tags: runTags({ actor: 'a' }) },
  },
  {
    name: 'numeric claims are sent as their JSON text',
    grant: awsGrant(),
    claims: { run_id: 42, repository_id: 892341 },
    expected: { sessionName: 'acme.webapp@42', duration: 900, sourceIdentity: 'octocat', tags: runTags({ run_id: '42' }) },
  },
  {
    name: 'no repository or run id (a non-GitHub issuer): the session is named for the grant',
    grant: awsGrant(),
    claims: { repository: undefined, run_id: undefined },
    expected: { sessionName: `latchkey-${GRANT_ID}`, duration: 900, sourceIdentity: 'octocat', tags: runTags({ repository: null, run_id: null }) },
  },
  {
    name: 'policy tags never replace automatic ones (case-insensitive) nor use the aws: prefix',
    grant: awsGrant({ tags: { Repository: 'evil/repo', 'AWS:x': 'y', 'LatchKey:Grant-Id': 'forged', team: 'web' } }),
    expected: { sessionName: SESSION, duration: 900, sourceIdentity: 'octocat', tags: [...runTags(), ['team', 'web']] },
  },
  {
    name: 'at most 50 tags: policy tags past the cap are dropped',
    grant: awsGrant({ tags: manyTags }),
    expected: {
      sessionName: SESSION,
      duration: 900,
      sourceIdentity: 'octocat',
      tags: [...runTags(), ...Object.entries(manyTags).slice(0, 42)],
    },
  },
  {
    name: 'a role with a path',
    grant: awsGrant({ roleArn: 'arn:aws-us-gov:iam::123456789012:role/ci/deployers/webapp' }),
    expected: {
      roleArn: 'arn:aws-us-gov:iam::123456789012:role/ci/deployers/webapp',
      sessionName: SESSION,
      duration: 900,
      sourceIdentity: 'octocat',
      tags: runTags(),
    },
  },
];

describe('aws minter: AssumeRole parameters', () => {
  let sts: LoopbackSts;
  before(async () => {
    sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
  });
  after(() => sts.close());

  for (const testCase of PARAMETER_CASES) {
    it(testCase.name, async () => {
      const minter = createAwsMinter({ region: 'us-east-1', logger: silentLogger, client: stsClient(sts.url) });
      const before = sts.requests.length;
      await minter.mint(mintRequest(testCase.grant, testCase.claims, testCase.ttl ?? 900));
      assert.equal(sts.requests.length, before + 1, 'exactly one AssumeRole');
      const request = sts.requests.at(-1);
      assert.deepEqual(request?.params, assumeRoleForm(testCase.expected));
      assert.equal(request?.authorization?.service, 'sts');
      assert.equal(request?.authorization?.region, 'us-east-1');
      assert.equal(request?.authorization?.accessKeyId, SERVICE_CREDENTIALS.accessKeyId);
    });
  }
});

describe('aws minter: the credential handed back', () => {
  let sts: LoopbackSts;
  before(async () => {
    sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
  });
  after(() => sts.close());

  const cases = [
    { name: 'the policy names a region', grant: awsGrant({ region: 'eu-west-1' }), region: 'eu-west-1' },
    { name: 'the service region when the policy names none', grant: awsGrant(), region: 'us-east-1' },
  ];
  for (const { name, grant, region } of cases) {
    it(`returns the whole credential (SPEC §3): ${name}`, async () => {
      const { logger, lines } = capturingLogger();
      const minter = createAwsMinter({ region: 'us-east-1', logger, client: stsClient(sts.url) });
      assert.equal(minter.kind, 'aws');
      assert.deepEqual(minter.tokenTypes, [AWS_CREDENTIALS_TOKEN_TYPE]);
      const minted = await minter.mint(mintRequest(grant));
      const issued = sts.issued.at(-1);
      assert.ok(issued !== undefined);
      assert.deepEqual(minted.response, {
        access_token: issued.sessionToken,
        issued_token_type: 'urn:latchkey:token-type:aws-credentials',
        token_type: 'N_A',
        aws: {
          access_key_id: issued.accessKeyId,
          secret_access_key: issued.secretAccessKey,
          session_token: issued.sessionToken,
          expiration: issued.expiration,
          region,
          assumed_role_arn: `arn:aws:sts::123456789012:assumed-role/webapp-deploy/${SESSION}`,
        },
      });
      assert.equal(minted.credentialSha256, createHash('sha256').update(issued.sessionToken).digest('hex'));
      assert.equal(minted.target, grant.roleArn);
      assert.equal(minted.sessionName, SESSION);
      assert.equal(minted.accessKeyId, issued.accessKeyId);
      const log = lines.join('');
      assert.ok(log.includes(issued.accessKeyId), 'the access key id (what CloudTrail shows) is logged');
      assert.ok(!log.includes(issued.secretAccessKey) && !log.includes(issued.sessionToken), 'no secret is logged');
    });
  }
});

describe('the loopback STS refuses what STS refuses (so the tables above prove something)', () => {
  let sts: LoopbackSts;
  before(async () => {
    sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
  });
  after(() => sts.close());

  const valid = { RoleArn: 'arn:aws:iam::123456789012:role/webapp-deploy', RoleSessionName: 'acme.webapp@1', DurationSeconds: 900 };
  const cases: Array<{ name: string; input: Record<string, unknown>; code: string }> = [
    { name: 'DurationSeconds below 900', input: { ...valid, DurationSeconds: 899 }, code: 'ValidationError' },
    { name: 'a session name with /', input: { ...valid, RoleSessionName: 'acme/webapp' }, code: 'ValidationError' },
    { name: 'a one-character SourceIdentity', input: { ...valid, SourceIdentity: 'a' }, code: 'ValidationError' },
    { name: 'a tag value with #', input: { ...valid, Tags: [{ Key: 'ref', Value: 'a#b' }] }, code: 'ValidationError' },
    {
      name: 'tag keys differing only in case',
      input: {
        ...valid,
        Tags: [
          { Key: 'team', Value: 'a' },
          { Key: 'Team', Value: 'b' },
        ],
      },
      code: 'InvalidParameterValue',
    },
    { name: '51 tags', input: { ...valid, Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }, code: 'ValidationError' },
    { name: 'a policy that is not JSON', input: { ...valid, Policy: '{not json' }, code: 'MalformedPolicyDocument' },
    {
      name: '11 managed policy ARNs',
      input: { ...valid, PolicyArns: Array.from({ length: 11 }, (_, i) => ({ arn: `arn:aws:iam::aws:policy/P${i}` })) },
      code: 'ValidationError',
    },
  ];
  for (const { name, input, code } of cases) {
    it(`${name} → ${code}`, async () => {
      const error = await stsClient(sts.url)
        .send(new AssumeRoleCommand(input as unknown as AssumeRoleCommandInput))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.equal((error as { Code?: string } | undefined)?.Code, code);
    });
  }
});
