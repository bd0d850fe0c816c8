/**
 * The policy schema: what it refuses beyond the loader's cases (grant
 * details), its defaults, and the JSON Schema editors get from it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyFile, policyJsonSchema } from '../../../exchange-service/src/policy/model/schema.ts';

const BASE = {
  version: 1,
  description: 'Test.',
  subject: { repository_id: '1' },
  ttl: { default: '10m', max: '30m' },
  grant: { token: { audience: 'https://internal.example' } },
};

interface Case {
  name: string;
  input: Record<string, unknown>;
  /** The path of the first issue (dot-joined); undefined when valid. */
  issueAt?: string;
}

const withGrant = (grant: Record<string, unknown>) => ({ ...BASE, grant });

const CASES: Case[] = [
  { name: 'minimal valid policy', input: BASE },
  { name: '$schema key for editors', input: { ...BASE, $schema: '../policy.schema.json' } },
  { name: 'empty description', input: { ...BASE, description: '' }, issueAt: 'description' },
  { name: 'issuer with upper case', input: { ...BASE, issuer: 'GitHub' }, issueAt: 'issuer' },
  { name: 'empty subject', input: { ...BASE, subject: {} }, issueAt: 'subject' },
  { name: 'empty pattern', input: { ...BASE, subject: { ref: '' } }, issueAt: 'subject.ref' },
  { name: 'empty pattern list', input: { ...BASE, subject: { ref: [] } }, issueAt: 'subject.ref' },
  { name: 'boolean pattern', input: { ...BASE, subject: { ref: true } }, issueAt: 'subject.ref' },
  { name: 'justification maybe', input: { ...BASE, justification: 'maybe' }, issueAt: 'justification' },
  { name: 'duration with spaces inside', input: { ...BASE, ttl: { default: '10 m', max: '30m' } }, issueAt: 'ttl.default' },
  { name: 'combined duration', input: { ...BASE, ttl: { default: '1h30m', max: '2h' } } },
  { name: 'extra ttl key', input: { ...BASE, ttl: { default: '10m', max: '30m', min: '1m' } }, issueAt: 'ttl' },
  { name: 'scope with a space', input: withGrant({ token: { audience: 'a', scope: ['read write'] } }), issueAt: 'grant.token.scope.0' },
  { name: 'token without audience', input: withGrant({ token: { scope: [] } }), issueAt: 'grant.token.audience' },
  { name: 'aws with a user ARN', input: withGrant({ aws: { role_arn: 'arn:aws:iam::123456789012:user/alice' } }), issueAt: 'grant.aws.role_arn' },
  { name: 'aws in GovCloud', input: withGrant({ aws: { role_arn: 'arn:aws-us-gov:iam::123456789012:role/x', region: 'us-gov-west-1' } }) },
  { name: 'aws with a bad region', input: withGrant({ aws: { role_arn: 'arn:aws:iam::123456789012:role/x', region: 'Europe' } }), issueAt: 'grant.aws.region' },
  {
    name: 'aws session policy as a list',
    input: withGrant({ aws: { role_arn: 'arn:aws:iam::123456789012:role/x', session_policy: [] } }),
    issueAt: 'grant.aws.session_policy',
  },
  {
    name: 'aws managed policy not an ARN',
    input: withGrant({ aws: { role_arn: 'arn:aws:iam::123456789012:role/x', managed_session_policies: ['ReadOnly'] } }),
    issueAt: 'grant.aws.managed_session_policies.0',
  },
  {
    name: 'aws tag value not a string',
    input: withGrant({ aws: { role_arn: 'arn:aws:iam::123456789012:role/x', tags: { team: 1 } } }),
    issueAt: 'grant.aws.tags.team',
  },
  {
    name: 'github with no repositories (would mean all of them)',
    input: withGrant({ github: { repositories: [], permissions: { contents: 'read' } } }),
    issueAt: 'grant.github.repositories',
  },
  {
    name: 'github with no permissions (would mean all of them)',
    input: withGrant({ github: { repositories: ['webapp'], permissions: {} } }),
    issueAt: 'grant.github.permissions',
  },
  { name: 'grant kind unknown', input: withGrant({ ssh: {} }), issueAt: 'grant' },
];

describe('PolicyFile', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const result = PolicyFile.safeParse(c.input);
      if (c.issueAt === undefined) {
        assert.ok(result.success, JSON.stringify(result.error?.issues));
        return;
      }
      assert.ok(!result.success, 'refused');
      assert.equal(result.error.issues[0]?.path.join('.'), c.issueAt, JSON.stringify(result.error.issues));
    });
  }

  it('fills in defaults', () => {
    const parsed = PolicyFile.parse(withGrant({ aws: { role_arn: 'arn:aws:iam::123456789012:role/x' } }));
    assert.equal(parsed.issuer, 'github');
    assert.equal(parsed.justification, 'optional');
    assert.deepEqual(parsed.grant.aws, { role_arn: 'arn:aws:iam::123456789012:role/x', managed_session_policies: [], tags: {} });
    assert.deepEqual(PolicyFile.parse(BASE).grant.token?.scope, []);
  });
});

describe('policyJsonSchema', () => {
  const schema = policyJsonSchema() as {
    $schema: string;
    title: string;
    description: string;
    additionalProperties: boolean;
    required: string[];
    properties: Record<
      string,
      { pattern?: string; additionalProperties?: boolean; minProperties?: number; maxProperties?: number; properties?: Record<string, { pattern?: string }> }
    >;
  };

  it('is a draft 2020-12 schema of the input shape (defaulted keys optional)', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.title, 'latchkey policy');
    assert.match(schema.description, /latchkey policy/);
    assert.deepEqual([...schema.required].sort(), ['description', 'grant', 'subject', 'ttl', 'version']);
    assert.ok('$schema' in schema.properties, 'editors may keep a $schema key');
  });

  it('refuses unknown keys, as the loader does', () => {
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties.ttl!.additionalProperties, false);
  });

  it('says exactly one grant kind', () => {
    assert.deepEqual([schema.properties.grant!.minProperties, schema.properties.grant!.maxProperties], [1, 1]);
  });

  it('carries the duration pattern', () => {
    const pattern = new RegExp(schema.properties.ttl!.properties!.default!.pattern!);
    assert.ok(pattern.test('15m') && pattern.test('1h30m'));
    assert.ok(!pattern.test('15') && !pattern.test('15 minutes'));
  });

  it('is plain JSON and does not change between calls', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
    assert.deepEqual(policyJsonSchema(), schema);
  });
});
