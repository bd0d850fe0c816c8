/**
 * What the lint counts as "a grant that can write" (the `pull-request-write`
 * rule's premise), one named case per decision, on compiled policies.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allowedActions, isReadOnlyAction, writeReason } from '../../../exchange-service/src/policy/tools/lint-grant.ts';
import { compileText } from '../fixtures.ts';

const withGrant = (grant: string, ttl = '{ default: 15m, max: 30m }'): string => `version: 1
description: Test policy.
subject:
  repository: acme/webapp
ttl: ${ttl}
grant:
${grant}
`;

const aws = (statements: string): string => `  aws:
    role_arn: arn:aws:iam::123456789012:role/deploy
    session_policy:
      Version: "2012-10-17"
      Statement: ${statements}
`;

const CASES: Array<{ name: string; grant: string; writes: RegExp | undefined }> = [
  { name: 'token: read scope only', grant: '  token: { audience: https://a.example, scope: [artifacts:read] }', writes: undefined },
  { name: 'token: no scope', grant: '  token: { audience: https://a.example }', writes: undefined },
  {
    name: 'token: a write scope',
    grant: '  token: { audience: https://a.example, scope: [artifacts:read, artifacts:write] }',
    writes: /token scope "artifacts:write"/,
  },
  { name: 'token: deploy', grant: '  token: { audience: https://a.example, scope: [deploy:production] }', writes: /"deploy:production"/ },
  { name: 'token: publish', grant: '  token: { audience: https://a.example, scope: [packages.publish] }', writes: /"packages.publish"/ },
  { name: 'token: a wildcard scope', grant: '  token: { audience: https://a.example, scope: ["artifacts:*"] }', writes: /"artifacts:\*"/ },
  { name: 'token: "writer" is not the word write', grant: '  token: { audience: https://a.example, scope: [docs:writers-guide] }', writes: undefined },
  { name: 'github: read', grant: '  github: { repositories: [a], permissions: { contents: read, metadata: read } }', writes: undefined },
  {
    name: 'github: write',
    grant: '  github: { repositories: [a], permissions: { contents: read, issues: write } }',
    writes: /github permission issues: write/,
  },
  { name: 'github: admin', grant: '  github: { repositories: [a], permissions: { administration: admin } }', writes: /administration: admin/ },
  { name: 'aws: no session policy', grant: '  aws: { role_arn: "arn:aws:iam::123456789012:role/deploy" }', writes: /without a session_policy/ },
  {
    name: 'aws: read verbs only',
    grant: aws('[{ Effect: Allow, Action: [s3:GetObject, "s3:List*", ec2:DescribeInstances, dynamodb:Query], Resource: "*" }]'),
    writes: undefined,
  },
  { name: 'aws: IAM compares case-insensitively', grant: aws('[{ Effect: Allow, Action: [s3:getobject], Resource: "*" }]'), writes: undefined },
  { name: 'aws: a single statement object', grant: aws('{ Effect: Allow, Action: s3:PutObject, Resource: "*" }'), writes: /"s3:PutObject"/ },
  { name: 'aws: a write action', grant: aws('[{ Effect: Allow, Action: [s3:GetObject, s3:PutObject], Resource: "*" }]'), writes: /"s3:PutObject"/ },
  { name: 'aws: a wildcard before the verb', grant: aws('[{ Effect: Allow, Action: ["s3:*Object"], Resource: "*" }]'), writes: /"s3:\*Object"/ },
  { name: 'aws: NotAction', grant: aws('[{ Effect: Allow, NotAction: [iam:*], Resource: "*" }]'), writes: /NotAction/ },
  {
    name: 'aws: a Deny names no allowed action',
    grant: aws('[{ Effect: Allow, Action: s3:GetObject, Resource: "*" }, { Effect: Deny, Action: "*", Resource: "*" }]'),
    writes: undefined,
  },
  { name: 'aws: an action without a service prefix', grant: aws('[{ Effect: Allow, Action: GetObject, Resource: "*" }]'), writes: /"GetObject"/ },
];

describe('writeReason', () => {
  for (const { name, grant, writes } of CASES) {
    it(name, () => {
      const reason = writeReason(compileText(withGrant(grant)).grant);
      if (writes === undefined) assert.equal(reason, undefined);
      else assert.match(String(reason), writes);
    });
  }
});

describe('allowedActions', () => {
  it('gives each allowed action its path in the file', () => {
    const policy = compileText(
      withGrant(
        aws(
          '[{ Effect: Deny, Action: "*", Resource: "*" }, { Effect: Allow, Action: [s3:GetObject, "s3:*"], Resource: "*" }, { Effect: Allow, NotAction: s3:DeleteObject, Resource: "*" }]',
        ),
      ),
    );
    assert.equal(policy.grant.kind, 'aws');
    if (policy.grant.kind !== 'aws') return;
    assert.deepEqual(
      allowedActions(policy.grant).map((item) => [item.action, item.path.join('.')]),
      [
        ['s3:GetObject', 'grant.aws.session_policy.Statement.1.Action.0'],
        ['s3:*', 'grant.aws.session_policy.Statement.1.Action.1'],
        ['NotAction', 'grant.aws.session_policy.Statement.2.NotAction'],
      ],
    );
  });

  it('isReadOnlyAction needs the service prefix and a whole read verb at the start', () => {
    assert.deepEqual(['s3:GetObject', 's3:Get*', 's3:G*', 'Get', 's3:PutObject', '*'].map(isReadOnlyAction), [true, true, false, false, false, false]);
  });
});
