/**
 * STS's own limits as policy-load problems (checkAwsGrant), and the shaping
 * of claims into STS's session-name, source-identity and tag character sets.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAwsGrant, toRoleSessionName, toSourceIdentity, toTagText, type AwsGrantInput } from '../../exchange-service/src/grants/aws-limits.ts';

const ROLE = 'arn:aws:iam::123456789012:role/webapp-deploy';
const TTL = { default: 900, max: 1800 };

/** A session policy whose minified JSON is exactly `length` characters. */
function policyOfLength(length: number): Record<string, unknown> {
  const base = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '' }] };
  const padding = length - JSON.stringify(base).length;
  return { ...base, Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${'b'.repeat(padding - 13)}` }] };
}

const tagsOf = (count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, `v${i}`]));
const managed = (count: number): string[] => Array.from({ length: count }, (_, i) => `arn:aws:iam::123456789012:policy/p${i}`);

interface LimitCase {
  name: string;
  grant?: Partial<AwsGrantInput>;
  ttl?: { default: number; max: number };
  /** One pattern per expected problem, in order; empty: the grant is fine. */
  problems: RegExp[];
}

const CASES: LimitCase[] = [
  { name: 'a minimal grant', problems: [] },
  {
    name: 'everything at its limit: 12 h, 2,048-character policy, 10 managed ARNs, 42 tags',
    grant: { session_policy: policyOfLength(2048), managed_session_policies: managed(10), tags: tagsOf(42) },
    ttl: { default: 900, max: 43200 },
    problems: [],
  },
  { name: 'a role with a path in aws-cn', grant: { role_arn: 'arn:aws-cn:iam::123456789012:role/ci/deploy' }, problems: [] },
  { name: 'a role in aws-us-gov', grant: { role_arn: 'arn:aws-us-gov:iam::123456789012:role/deploy' }, problems: [] },
  {
    name: 'AWS managed and customer managed policy ARNs with paths',
    grant: { managed_session_policies: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws:iam::123456789012:policy/team/web/deploy'] },
    problems: [],
  },
  {
    name: 'Latin-1 text in a session policy',
    grant: { session_policy: { Version: '2012-10-17', Statement: [{ Sid: 'café', Effect: 'Allow', Action: '*', Resource: '*' }] } },
    problems: [],
  },
  {
    name: 'tags with spaces, Unicode letters and STS punctuation',
    grant: { tags: { 'cost center': 'Zürich 42', 'team:web/app': 'a=b+c-d@e_f.g' } },
    problems: [],
  },
  { name: 'default TTL below 15 minutes', ttl: { default: 600, max: 1800 }, problems: [/^ttl\.default 10m is below 15m/] },
  { name: 'both TTLs below 15 minutes', ttl: { default: 300, max: 600 }, problems: [/^ttl\.default 5m is below 15m/, /^ttl\.max 10m is below 15m/] },
  { name: 'max TTL above 12 hours', ttl: { default: 3600, max: 13 * 3600 }, problems: [/^ttl\.max 13h is above 12h/] },
  { name: 'an account id of 5 digits', grant: { role_arn: 'arn:aws:iam::12345:role/deploy' }, problems: [/is not an IAM role ARN/] },
  { name: 'an unsupported partition', grant: { role_arn: 'arn:aws-iso:iam::123456789012:role/deploy' }, problems: [/is not an IAM role ARN/] },
  { name: 'a user, not a role', grant: { role_arn: 'arn:aws:iam::123456789012:user/bob' }, problems: [/is not an IAM role ARN/] },
  { name: 'a role name of 65 characters', grant: { role_arn: `arn:aws:iam::123456789012:role/${'r'.repeat(65)}` }, problems: [/is not an IAM role ARN/] },
  { name: 'a role name with a space', grant: { role_arn: 'arn:aws:iam::123456789012:role/web deploy' }, problems: [/is not an IAM role ARN/] },
  {
    name: 'a role path over 512 characters',
    grant: { role_arn: `arn:aws:iam::123456789012:role/${'p'.repeat(520)}/deploy` },
    problems: [/path is 522 characters; IAM allows 512/],
  },
  {
    name: 'a session policy of 2,049 characters',
    grant: { session_policy: policyOfLength(2049) },
    problems: [/session_policy is 2049 characters as minified JSON; STS allows 2048/],
  },
  { name: 'a session policy that is a list', grant: { session_policy: [{ Effect: 'Allow' }] }, problems: [/session_policy must be an IAM policy document/] },
  { name: 'a session policy that is text', grant: { session_policy: '{"Version":"2012-10-17"}' }, problems: [/session_policy must be an IAM policy document/] },
  {
    name: 'a session policy with a character above U+00FF',
    grant: { session_policy: { Version: '2012-10-17', Statement: [{ Sid: 'a→b', Effect: 'Allow', Action: '*', Resource: '*' }] } },
    problems: [/contains "→"; STS accepts only characters U\+0020 to U\+00FF/],
  },
  { name: '11 managed session policies', grant: { managed_session_policies: managed(11) }, problems: [/names 11 policies; STS allows 10/] },
  {
    name: 'a role ARN among the managed policies',
    grant: { managed_session_policies: ['arn:aws:iam::123456789012:role/deploy'] },
    problems: [/"arn:aws:iam::123456789012:role\/deploy" is not an IAM policy ARN/],
  },
  {
    name: '43 policy tags (50 minus the 8 automatic ones is 42)',
    grant: { tags: tagsOf(43) },
    problems: [/tags has 43 entries; STS allows 50 session tags and the service sets 8, so at most 42/],
  },
  { name: 'a tag key starting with aws:', grant: { tags: { 'AWS:team': 'web' } }, problems: [/"AWS:team": keys starting with "aws:" are reserved/] },
  {
    name: 'a tag key the service sets (case-insensitive)',
    grant: { tags: { Repository: 'other/repo' } },
    problems: [/"Repository" is set by the service on every session/],
  },
  { name: 'the grant-id tag key', grant: { tags: { 'latchkey:grant-id': 'x' } }, problems: [/"latchkey:grant-id" is set by the service/] },
  { name: 'two tag keys that differ only in case', grant: { tags: { Team: 'web', team: 'ops' } }, problems: [/"Team" and "team" differ only in case/] },
  { name: 'a tag key with #', grant: { tags: { 'team#1': 'web' } }, problems: [/tag key "team#1" may hold only/] },
  { name: 'a tag key of 129 characters', grant: { tags: { ['k'.repeat(129)]: 'v' } }, problems: [/must be 1-128 characters/] },
  { name: 'a tag value of 257 characters', grant: { tags: { team: 'v'.repeat(257) } }, problems: [/"team"'s value is 257 characters; STS allows 256/] },
  { name: 'a tag value with * and a newline', grant: { tags: { team: 'web*\n' } }, problems: [/"team"'s value may hold only/] },
  {
    name: 'every problem is reported, not just the first',
    grant: { role_arn: 'arn:aws:iam::123456789012:group/devs', managed_session_policies: ['nope'], tags: { 'aws:x': 'y' } },
    ttl: { default: 60, max: 900 },
    problems: [/^ttl\.default 1m is below 15m/, /is not an IAM role ARN/, /"nope" is not an IAM policy ARN/, /reserved by AWS/],
  },
];

describe('checkAwsGrant: STS limits as load problems', () => {
  for (const { name, grant, ttl, problems } of CASES) {
    it(`${name} → ${problems.length === 0 ? 'no problem' : `${problems.length} problem(s)`}`, () => {
      const found = checkAwsGrant({ role_arn: ROLE, ...grant }, ttl ?? TTL);
      assert.equal(found.length, problems.length, `problems: ${JSON.stringify(found)}`);
      for (const [i, pattern] of problems.entries()) assert.match(found[i] ?? '', pattern);
    });
  }
});

describe('shaping claims for STS', () => {
  const sessionNames: Array<[string, string | null, string | null, string]> = [
    ['repository and run id', 'acme/webapp', '1234567890', 'acme.webapp@1234567890'],
    ['characters outside [\\w+=,.@-] become -', 'acme/web app!', '7', 'acme.web-app-@7'],
    ['the repository is cut so the run id survives', `acme/${'x'.repeat(80)}`, '99', `acme.${'x'.repeat(56)}@99`],
    ['repository only', 'acme/webapp', null, 'acme.webapp'],
    ['run id only', null, '1234', '1234'],
    ['neither: the grant id', null, null, 'latchkey-grant-1'],
    ['a one-character result falls back to the grant id', null, '7', 'latchkey-grant-1'],
  ];
  for (const [name, repository, runId, expected] of sessionNames) {
    it(`RoleSessionName: ${name}`, () => {
      const result = toRoleSessionName(repository, runId, 'grant-1');
      assert.equal(result, expected);
      assert.match(result, /^[\w+=,.@-]{2,64}$/);
    });
  }

  const identities: Array<[string, string | null, string | null]> = [
    ['a GitHub login', 'octocat', 'octocat'],
    ['a bot', 'dependabot[bot]', 'dependabot-bot-'],
    ['one character, padded with _', 'a', 'a_'],
    ['absent', null, null],
    ['empty', '', null],
    ['long, cut to 64', 'u'.repeat(70), 'u'.repeat(64)],
  ];
  for (const [name, actor, expected] of identities) {
    it(`SourceIdentity: ${name}`, () => assert.equal(toSourceIdentity(actor), expected));
  }

  const tagTexts: Array<[string, string, number, string]> = [
    ['STS characters are kept', 'refs/heads/main a=b+c-d@e_f.g:h', 256, 'refs/heads/main a=b+c-d@e_f.g:h'],
    ['others become _', 'feat#1*"x"\n\u001b[31m', 256, 'feat_1__x____31m'],
    ['cut to the limit', 'abcdef', 4, 'abcd'],
    ['an emoji (not a letter) is one character, so one _', 'ab😀c', 4, 'ab_c'],
    ['a letter outside the BMP counts as one character and is never split', 'ab𝒜c', 3, 'ab𝒜'],
  ];
  for (const [name, text, max, expected] of tagTexts) {
    it(`tag text: ${name}`, () => assert.equal(toTagText(text, max), expected));
  }
});
