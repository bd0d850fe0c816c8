/**
 * Compile-time rules (SPEC §2): what makes a policy invalid before any token
 * is seen, per issuer kind, and what a valid policy compiles to.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, compilePolicy, type IssuerKind } from '../../../exchange-service/src/policy/model/compile.ts';
import { PolicyFile as PolicyFileSchema } from '../../../exchange-service/src/policy/model/schema.ts';
import { parsePolicyText } from '../../../exchange-service/src/policy/model/parse-file.ts';
import type { PolicyFile } from '../../../exchange-service/src/policy/model/schema.ts';
import { compileText, policyWithSubject } from '../fixtures.ts';

const AWS_GRANT = 'grant:\n  aws: { role_arn: "arn:aws:iam::123456789012:role/deploy" }\n';

function awsPolicy(ttl: string): string {
  return `version: 1\ndescription: d\nsubject:\n  repository_id: "1"\nttl: ${ttl}\n${AWS_GRANT}`;
}

interface Case {
  name: string;
  text: string;
  kind?: IssuerKind;
  maxTtl?: number;
  /** Expected problems as `line: message pattern`; none = valid. */
  problems: Array<[number, RegExp]>;
}

const CASES: Case[] = [
  { name: 'constrains repository', text: policyWithSubject('  repository: acme/webapp'), problems: [] },
  { name: 'constrains repository_owner_id only', text: policyWithSubject('  repository_owner_id: "1342004"'), problems: [] },
  { name: 'owner fixed, repository globbed', text: policyWithSubject('  repository: acme/*'), problems: [] },
  { name: 'owner fixed, ** after it', text: policyWithSubject('  repository: "acme/**"'), problems: [] },
  {
    name: 'no repository constraint (github)',
    text: policyWithSubject('  ref: refs/heads/main'),
    problems: [[3, /^subject: a GitHub policy must constrain the repository/]],
  },
  { name: 'no repository constraint (gitlab kind is exempt)', text: policyWithSubject('  ref: refs/heads/main'), kind: 'gitlab', problems: [] },
  {
    name: 'no repository constraint (generic kind is exempt)',
    text: policyWithSubject('  sub: "system:serviceaccount:ci:deployer"'),
    kind: 'generic',
    problems: [],
  },
  {
    name: '* in the owner part',
    text: policyWithSubject('  repository: "*/webapp"'),
    problems: [[4, /^subject\.repository: "\*\/webapp" has a "\*" in the owner part/]],
  },
  { name: '* inside the owner', text: policyWithSubject('  repository: acme*/webapp'), problems: [[4, /owner part/]] },
  { name: '* with no slash at all', text: policyWithSubject('  repository: "*"'), problems: [[4, /owner part/]] },
  { name: '** as the whole repository', text: policyWithSubject('  repository: "**"'), problems: [[4, /owner part/]] },
  {
    name: '* in one list item',
    text: policyWithSubject('  repository:\n    - acme/webapp\n    - "*/webapp"'),
    problems: [[6, /^subject\.repository\[1\]: .*owner part/]],
  },
  { name: '* in repository_owner', text: policyWithSubject('  repository_owner: "acme-*"'), problems: [[4, /^subject\.repository_owner: .*owner part/]] },
  { name: '* in repository_id', text: policyWithSubject('  repository_id: "89*"'), problems: [[4, /an ID is written exactly/]] },
  { name: '* in the owner part is fine for a generic issuer', text: policyWithSubject('  repository: "*/webapp"'), kind: 'generic', problems: [] },
  {
    name: 'ttl.default above ttl.max',
    text: policyWithSubject('  repository_id: "1"').replace('default: 10m, max: 30m', 'default: 1h, max: 30m'),
    problems: [[5, /^ttl\.default: 1h is above ttl\.max \(30m\)/]],
  },
  {
    name: 'ttl.max above the service cap',
    text: policyWithSubject('  repository_id: "1"').replace('max: 30m', 'max: 2h'),
    maxTtl: 3600,
    problems: [[5, /^ttl\.max: 2h is above the service's limits\.max_ttl \(1h\)/]],
  },
  { name: 'ttl.max at the service cap', text: policyWithSubject('  repository_id: "1"').replace('max: 30m', 'max: 1h'), maxTtl: 3600, problems: [] },
  { name: 'aws: 15m to 12h is fine', text: awsPolicy('{ default: 15m, max: 12h }'), problems: [] },
  { name: 'aws: default below 15m', text: awsPolicy('{ default: 10m, max: 1h }'), problems: [[5, /^ttl\.default: 10m is below 15m/]] },
  { name: 'aws: max above 12h', text: awsPolicy('{ default: 1h, max: 13h }'), problems: [[5, /^ttl\.max: 13h is above 12h/]] },
];

describe('compile-time rules', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const result = parsePolicyText(c.text, 'p.yaml', { issuers: { github: { kind: c.kind ?? 'github' } }, maxTtl: c.maxTtl });
      const problems = result.ok ? [] : result.problems;
      assert.equal(problems.length, c.problems.length, JSON.stringify(problems));
      c.problems.forEach(([line, message], i) => {
        assert.equal(problems[i]?.line, line, JSON.stringify(problems[i]));
        assert.match(problems[i]?.message ?? '', message);
      });
    });
  }

  it('compilePolicy returns the problems or the policy', () => {
    const file = PolicyFileSchema.parse({
      version: 1,
      description: 'd',
      subject: { ref: 'refs/heads/main' },
      ttl: { default: '1h', max: '30m' },
      grant: { token: { audience: 'a' } },
    });
    const source = { name: 'p', file: 'p.yaml', digest: 'ab' };
    const refused = compilePolicy(file, source, { issuerKind: 'github' });
    assert.ok(!refused.ok);
    assert.deepEqual(
      refused.problems.map((p) => p.path.join('.')),
      ['subject', 'ttl.default'],
    );
    const compiled = compilePolicy(file, source, { issuerKind: 'gitlab' });
    assert.ok(!compiled.ok, 'ttl.default above ttl.max whatever the issuer');
    const fixed = compilePolicy({ ...file, ttl: { default: '10m', max: '30m' } }, source, { issuerKind: 'gitlab' });
    assert.ok(fixed.ok);
    assert.deepEqual([fixed.policy.name, fixed.policy.digest, fixed.policy.ttl.default], ['p', 'ab', 600]);
  });

  it('checkPolicy refuses durations it cannot read, even past the schema', () => {
    const file = {
      version: 1,
      description: 'd',
      issuer: 'github',
      subject: { repository_id: '1' },
      ttl: { default: 'soon', max: '0s' },
      justification: 'optional',
      grant: { token: { audience: 'a', scope: [] } },
    } satisfies PolicyFile;
    assert.deepEqual(
      checkPolicy(file, { issuerKind: 'github' }).map((p) => p.path.join('.')),
      ['ttl.default', 'ttl.max'],
    );
  });
});

describe('compiled form', () => {
  it('keeps identity, conditions in file order, seconds and the grant', () => {
    const policy = compileText(
      `version: 1
description: Deploy.
issuer: github
subject:
  ref: refs/heads/main
  repository: acme/webapp
  event_name: [push, pull_request_target]
ttl: { default: 15m, max: 1h30m }
justification: required
grant:
  aws:
    role_arn: arn:aws:iam::123456789012:role/deploy
    region: eu-west-1
    session_policy: { Version: "2012-10-17", Statement: [{ Effect: Allow, Action: ["s3:PutObject"], Resource: "*" }] }
    tags: { team: web }
`,
      'github',
      'webapp/deploy',
    );
    assert.equal(policy.name, 'webapp/deploy');
    assert.equal(policy.issuer, 'github');
    assert.equal(policy.description, 'Deploy.');
    assert.deepEqual(
      policy.conditions.map((c) => [c.claim, c.patterns]),
      [
        ['ref', ['refs/heads/main']],
        ['repository', ['acme/webapp']],
        ['event_name', ['push', 'pull_request_target']],
      ],
    );
    assert.deepEqual(policy.ttl, { default: 900, max: 5400 });
    assert.equal(policy.justification, 'required');
    assert.equal(policy.allowsPullRequestTarget, true);
    assert.deepEqual(policy.grant, {
      kind: 'aws',
      roleArn: 'arn:aws:iam::123456789012:role/deploy',
      region: 'eu-west-1',
      sessionPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:PutObject'], Resource: '*' }] },
      managedSessionPolicies: [],
      tags: { team: 'web' },
    });
  });

  it('compiles token and github grants with their defaults', () => {
    const token = compileText(policyWithSubject('  repository_id: "1"'));
    assert.deepEqual(token.grant, { kind: 'token', audience: 'https://internal.example', scope: [] });
    assert.equal(token.justification, 'optional');
    assert.equal(token.issuer, 'github');
    assert.equal(token.allowsPullRequestTarget, false);
    const github = compileText(
      policyWithSubject('  repository_id: "1"').replace(/grant:[\s\S]*$/, 'grant:\n  github: { repositories: [webapp], permissions: { contents: read } }\n'),
    );
    assert.deepEqual(github.grant, { kind: 'github', repositories: ['webapp'], permissions: { contents: 'read' } });
  });

  it('lists pull_request_target only when written literally', () => {
    assert.equal(compileText(policyWithSubject('  repository_id: "1"\n  event_name: pull_request_target')).allowsPullRequestTarget, true);
    assert.equal(compileText(policyWithSubject('  repository_id: "1"\n  event_name: "pull_request_*"')).allowsPullRequestTarget, false);
  });
});

describe('aws grants: STS limits are load errors', () => {
  it('refuses a session policy over 2,048 characters and more than 10 managed ARNs', async () => {
    const { compilePolicy } = await import('../../../exchange-service/src/policy/model/compile.ts');
    const { PolicyFile } = await import('../../../exchange-service/src/policy/model/schema.ts');
    const file = PolicyFile.parse({
      version: 1,
      description: 'too big',
      subject: { repository: 'acme/webapp', repository_id: '892341', ref: 'refs/heads/main' },
      ttl: { default: '15m', max: '30m' },
      grant: {
        aws: {
          role_arn: 'arn:aws:iam::123456789012:role/deploy',
          session_policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'x'.repeat(2100) }] },
          managed_session_policies: Array.from({ length: 11 }, (_, i) => `arn:aws:iam::123456789012:policy/p${i}`),
        },
      },
    });
    const result = compilePolicy(file, { name: 'x', file: 'x.yaml', digest: '0' }, { issuerKind: 'github' });
    assert.equal(result.ok, false);
    const messages = result.ok ? '' : result.problems.map((p) => p.message).join('\n');
    assert.match(messages, /2,?048/);
    assert.match(messages, /10/);
  });
});
