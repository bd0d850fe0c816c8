/**
 * `policy diff`'s comparison: one table of named edits to a policy, each
 * with the verdict a reviewer must see (widened, narrowed, edited,
 * unchanged) and the field changes behind it; then whole sets (added,
 * removed, sides that do not load, lint warnings a change introduces).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { comparePolicies, diffPolicySets, type ChangeEffect, type DiffSide } from '../../../exchange-service/src/policy/tools/diff.ts';
import type { CompiledPolicy } from '../../../exchange-service/src/policy/model/compile.ts';
import { compileText } from '../fixtures.ts';

interface Parts {
  issuer: string;
  description: string;
  subject: string[];
  ttl: string;
  justification: string;
  grant: string[];
}

const TOKEN_PARTS: Parts = {
  issuer: 'github',
  description: 'Deploy acme/webapp.',
  subject: [
    'repository: acme/webapp',
    'repository_id: "892341"',
    'ref: refs/heads/main',
    'environment: production',
    'event_name: [push]',
    'workflow_ref: acme/webapp/.github/workflows/deploy.yml@refs/heads/main',
  ],
  ttl: '{ default: 10m, max: 30m }',
  justification: 'required',
  grant: ['token: { audience: https://deploy.example, scope: [deploy, read] }'],
};

const AWS_PARTS: Parts = {
  ...TOKEN_PARTS,
  ttl: '{ default: 15m, max: 30m }',
  grant: [
    'aws:',
    '  role_arn: arn:aws:iam::123456789012:role/deploy',
    '  region: eu-west-1',
    '  session_policy:',
    '    Version: "2012-10-17"',
    '    Statement:',
    '      - { Effect: Allow, Action: ["s3:PutObject", "s3:GetObject"], Resource: "arn:aws:s3:::web/*" }',
    '      - { Effect: Deny, Action: "s3:DeleteObject", Resource: "*" }',
    '  tags: { team: web }',
  ],
};

const GITHUB_PARTS: Parts = { ...TOKEN_PARTS, grant: ['github: { repositories: [webapp, docs], permissions: { contents: read, issues: write } }'] };

function policyText(parts: Parts): string {
  return [
    'version: 1',
    `description: ${parts.description}`,
    `issuer: ${parts.issuer}`,
    'subject:',
    ...parts.subject.map((line) => `  ${line}`),
    `ttl: ${parts.ttl}`,
    `justification: ${parts.justification}`,
    'grant:',
    ...parts.grant.map((line) => `  ${line}`),
    '',
  ].join('\n');
}

/** Replaces the subject line starting with `claim:` (or drops it when `line` is undefined). */
function withSubject(parts: Parts, claim: string, line: string | undefined): Parts {
  const subject = parts.subject.filter((item) => !item.startsWith(`${claim}:`));
  return { ...parts, subject: line === undefined ? subject : [...subject, line] };
}

function replaceGrantLine(parts: Parts, from: string, to: string): Parts {
  const grant = parts.grant.map((line) => (line.includes(from) ? line.replace(from, to) : line));
  assert.notDeepEqual(grant, parts.grant, `no grant line contains ${from}`);
  return { ...parts, grant };
}

type Verdict = 'widened' | 'narrowed' | 'edited' | 'unchanged';

interface Case {
  name: string;
  before: Parts;
  after: Parts | string;
  verdict: Verdict;
  /** field → effect, for every change expected. */
  changes: Record<string, ChangeEffect>;
  /** A note that must appear on one of the changes. */
  note?: RegExp;
}

const CASES: Case[] = [
  { name: 'identical', before: TOKEN_PARTS, after: TOKEN_PARTS, verdict: 'unchanged', changes: {} },
  { name: 'a comment only', before: TOKEN_PARTS, after: `# reviewed\n${policyText(TOKEN_PARTS)}`, verdict: 'unchanged', changes: {} },
  {
    name: 'ref: literal to a glob',
    before: TOKEN_PARTS,
    after: withSubject(TOKEN_PARTS, 'ref', 'ref: refs/heads/*'),
    verdict: 'widened',
    changes: { 'subject.ref': 'wider' },
  },
  {
    name: 'ref: glob to a literal',
    before: withSubject(TOKEN_PARTS, 'ref', 'ref: refs/heads/*'),
    after: TOKEN_PARTS,
    verdict: 'narrowed',
    changes: { 'subject.ref': 'narrower' },
  },
  {
    name: 'ref: * to ** (crosses /)',
    before: withSubject(TOKEN_PARTS, 'ref', 'ref: refs/heads/*'),
    after: withSubject(TOKEN_PARTS, 'ref', 'ref: refs/heads/**'),
    verdict: 'widened',
    changes: { 'subject.ref': 'wider' },
  },
  {
    name: 'ref: another branch',
    before: TOKEN_PARTS,
    after: withSubject(TOKEN_PARTS, 'ref', 'ref: refs/heads/dev'),
    verdict: 'widened',
    changes: { 'subject.ref': 'review' },
    note: /now matches values it did not/,
  },
  {
    name: 'environment condition dropped',
    before: TOKEN_PARTS,
    after: withSubject(TOKEN_PARTS, 'environment', undefined),
    verdict: 'widened',
    changes: { 'subject.environment': 'wider' },
    note: /condition removed/,
  },
  {
    name: 'runner_environment condition added',
    before: TOKEN_PARTS,
    after: withSubject(TOKEN_PARTS, 'runner_environment', 'runner_environment: github-hosted'),
    verdict: 'narrowed',
    changes: { 'subject.runner_environment': 'narrower' },
  },
  {
    name: 'more events',
    before: TOKEN_PARTS,
    after: withSubject(TOKEN_PARTS, 'event_name', 'event_name: [push, workflow_dispatch]'),
    verdict: 'widened',
    changes: { 'subject.event_name': 'wider' },
  },
  {
    name: 'fewer events',
    before: withSubject(TOKEN_PARTS, 'event_name', 'event_name: [push, workflow_dispatch]'),
    after: TOKEN_PARTS,
    verdict: 'narrowed',
    changes: { 'subject.event_name': 'narrower' },
  },
  {
    name: 'pull_request_target named next to a glob that already matched it',
    before: withSubject(TOKEN_PARTS, 'event_name', 'event_name: ["pull_request*"]'),
    after: withSubject(TOKEN_PARTS, 'event_name', 'event_name: ["pull_request*", pull_request_target]'),
    verdict: 'widened',
    changes: { 'subject.event_name': 'wider' },
    note: /now lists pull_request_target/,
  },
  {
    name: 'patterns reordered',
    before: withSubject(TOKEN_PARTS, 'event_name', 'event_name: [push, schedule]'),
    after: withSubject(TOKEN_PARTS, 'event_name', 'event_name: [schedule, push]'),
    verdict: 'edited',
    changes: { 'subject.event_name': 'neutral' },
  },
  {
    name: 'repository: letter case only',
    before: TOKEN_PARTS,
    after: withSubject(TOKEN_PARTS, 'repository', 'repository: Acme/WebApp'),
    verdict: 'widened',
    changes: { 'subject.repository': 'review' },
    note: /letter case/,
  },
  {
    // Narrower as text, but for GitHub issuers the ** stops case folding: Y no longer matches y.
    name: 'workflow_ref: a ** that stops GitHub case folding is not called narrower',
    before: withSubject(TOKEN_PARTS, 'workflow_ref', 'workflow_ref: x/Y/z'),
    after: withSubject(TOKEN_PARTS, 'workflow_ref', 'workflow_ref: "x/**Y/z"'),
    verdict: 'widened',
    changes: { 'subject.workflow_ref': 'review' },
  },
  {
    name: 'ttl.max longer',
    before: TOKEN_PARTS,
    after: { ...TOKEN_PARTS, ttl: '{ default: 10m, max: 1h }' },
    verdict: 'widened',
    changes: { 'ttl.max': 'wider' },
  },
  {
    name: 'ttl.max shorter',
    before: TOKEN_PARTS,
    after: { ...TOKEN_PARTS, ttl: '{ default: 10m, max: 20m }' },
    verdict: 'narrowed',
    changes: { 'ttl.max': 'narrower' },
  },
  {
    name: 'ttl.default longer',
    before: TOKEN_PARTS,
    after: { ...TOKEN_PARTS, ttl: '{ default: 20m, max: 30m }' },
    verdict: 'widened',
    changes: { 'ttl.default': 'wider' },
  },
  {
    name: 'justification no longer required',
    before: TOKEN_PARTS,
    after: { ...TOKEN_PARTS, justification: 'optional' },
    verdict: 'widened',
    changes: { justification: 'wider' },
  },
  {
    name: 'justification now required',
    before: { ...TOKEN_PARTS, justification: 'optional' },
    after: TOKEN_PARTS,
    verdict: 'narrowed',
    changes: { justification: 'narrower' },
  },
  { name: 'another issuer', before: TOKEN_PARTS, after: { ...TOKEN_PARTS, issuer: 'dev' }, verdict: 'widened', changes: { issuer: 'wider' } },
  {
    name: 'description only',
    before: TOKEN_PARTS,
    after: { ...TOKEN_PARTS, description: 'Deploy the web app.' },
    verdict: 'edited',
    changes: { description: 'neutral' },
  },
  {
    name: 'another audience',
    before: TOKEN_PARTS,
    after: replaceGrantLine(TOKEN_PARTS, 'https://deploy.example', 'https://admin.example'),
    verdict: 'widened',
    changes: { 'grant.token.audience': 'wider' },
  },
  {
    name: 'scope added',
    before: TOKEN_PARTS,
    after: replaceGrantLine(TOKEN_PARTS, '[deploy, read]', '[deploy, read, admin]'),
    verdict: 'widened',
    changes: { 'grant.token.scope': 'wider' },
  },
  {
    name: 'scope removed',
    before: TOKEN_PARTS,
    after: replaceGrantLine(TOKEN_PARTS, '[deploy, read]', '[read]'),
    verdict: 'narrowed',
    changes: { 'grant.token.scope': 'narrower' },
  },
  {
    name: 'another grant kind',
    before: TOKEN_PARTS,
    after: { ...AWS_PARTS, ttl: TOKEN_PARTS.ttl.replace('10m', '15m') },
    verdict: 'widened',
    changes: { grant: 'wider', 'ttl.default': 'wider' },
  },
  {
    name: 'wider in one place, narrower in another: widened, both shown',
    before: TOKEN_PARTS,
    after: { ...withSubject(TOKEN_PARTS, 'ref', 'ref: refs/heads/*'), ttl: '{ default: 10m, max: 15m }' },
    verdict: 'widened',
    changes: { 'subject.ref': 'wider', 'ttl.max': 'narrower' },
  },
  {
    name: 'aws: another role',
    before: AWS_PARTS,
    after: replaceGrantLine(AWS_PARTS, 'role/deploy', 'role/admin'),
    verdict: 'widened',
    changes: { 'grant.aws.role_arn': 'wider' },
  },
  {
    name: 'aws: region only',
    before: AWS_PARTS,
    after: replaceGrantLine(AWS_PARTS, 'eu-west-1', 'us-east-1'),
    verdict: 'edited',
    changes: { 'grant.aws.region': 'neutral' },
  },
  {
    name: 'aws: tags changed',
    before: AWS_PARTS,
    after: replaceGrantLine(AWS_PARTS, 'team: web', 'team: platform'),
    verdict: 'widened',
    changes: { 'grant.aws.tags': 'review' },
  },
  {
    name: 'aws: session policy removed',
    before: AWS_PARTS,
    after: { ...AWS_PARTS, grant: AWS_PARTS.grant.filter((line) => !/session_policy|Version|Statement|Effect/.test(line)) },
    verdict: 'widened',
    changes: { 'grant.aws.session_policy': 'wider' },
    note: /full permissions/,
  },
  {
    name: 'aws: session policy added',
    before: { ...AWS_PARTS, grant: AWS_PARTS.grant.filter((line) => !/session_policy|Version|Statement|Effect/.test(line)) },
    after: AWS_PARTS,
    verdict: 'narrowed',
    changes: { 'grant.aws.session_policy': 'narrower' },
  },
  {
    name: 'aws: an action wildcard broadened',
    before: AWS_PARTS,
    after: replaceGrantLine(AWS_PARTS, '"s3:PutObject", "s3:GetObject"', '"s3:*"'),
    verdict: 'widened',
    changes: { 'grant.aws.session_policy': 'wider' },
  },
  {
    name: 'aws: one action fewer',
    before: AWS_PARTS,
    after: replaceGrantLine(AWS_PARTS, '"s3:PutObject", "s3:GetObject"', '"s3:getobject"'),
    verdict: 'narrowed',
    changes: { 'grant.aws.session_policy': 'narrower' },
  },
  {
    name: 'aws: a resource moved sideways',
    before: AWS_PARTS,
    after: replaceGrantLine(AWS_PARTS, 'arn:aws:s3:::web/*', 'arn:aws:s3:::docs/*'),
    verdict: 'widened',
    changes: { 'grant.aws.session_policy': 'review' },
  },
  {
    name: 'aws: a resource narrowed',
    before: AWS_PARTS,
    after: replaceGrantLine(AWS_PARTS, 'arn:aws:s3:::web/*', 'arn:aws:s3:::web/public/*'),
    verdict: 'narrowed',
    changes: { 'grant.aws.session_policy': 'narrower' },
  },
  {
    name: 'aws: a Deny statement dropped',
    before: AWS_PARTS,
    after: { ...AWS_PARTS, grant: AWS_PARTS.grant.filter((line) => !line.includes('Deny')) },
    verdict: 'widened',
    changes: { 'grant.aws.session_policy': 'wider' },
  },
  {
    name: 'aws: a managed session policy added',
    before: AWS_PARTS,
    after: { ...AWS_PARTS, grant: [...AWS_PARTS.grant, '  managed_session_policies: [arn:aws:iam::aws:policy/ReadOnlyAccess]'] },
    verdict: 'widened',
    changes: { 'grant.aws.session_policy': 'wider' },
  },
  {
    name: 'github: write instead of read',
    before: GITHUB_PARTS,
    after: replaceGrantLine(GITHUB_PARTS, 'contents: read', 'contents: write'),
    verdict: 'widened',
    changes: { 'grant.github.permissions.contents': 'wider' },
  },
  {
    name: 'github: a permission dropped',
    before: GITHUB_PARTS,
    after: replaceGrantLine(GITHUB_PARTS, 'contents: read, ', ''),
    verdict: 'narrowed',
    changes: { 'grant.github.permissions.contents': 'narrower' },
  },
  {
    name: 'github: a repository added',
    before: GITHUB_PARTS,
    after: replaceGrantLine(GITHUB_PARTS, '[webapp, docs]', '[webapp, docs, infra]'),
    verdict: 'widened',
    changes: { 'grant.github.repositories': 'wider' },
  },
  {
    name: 'github: an unknown level',
    before: GITHUB_PARTS,
    after: replaceGrantLine(GITHUB_PARTS, 'contents: read', 'contents: maintain'),
    verdict: 'widened',
    changes: { 'grant.github.permissions.contents': 'review' },
  },
];

const compile = (parts: Parts, name = 'webapp/deploy'): CompiledPolicy => compileText(policyText(parts), 'github', name);

describe('comparing two versions of a policy', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const before = compile(c.before);
      const afterText = typeof c.after === 'string' ? c.after : policyText(c.after);
      // Same digest only when the bytes are the same (as the loader computes it).
      const after = compileText(afterText, 'github', 'webapp/deploy');
      const changes = afterText === policyText(c.before) ? [] : comparePolicies(before, after);
      const fields = Object.fromEntries(changes.map((item) => [item.field, item.effect]));
      assert.deepEqual(fields, c.changes, JSON.stringify(changes, null, 1));
      if (c.note)
        assert.ok(
          changes.some((item) => c.note!.test(item.note ?? '')),
          JSON.stringify(changes),
        );
      const side = (policy: CompiledPolicy, digest: string): DiffSide => ({ policies: new Map([[policy.name, withDigest(policy, digest)]]), problems: [] });
      const diff = diffPolicySets(side(before, 'a'), side(after, afterText === policyText(c.before) ? 'a' : 'b'));
      const verdict: Verdict = diff.widened.length ? 'widened' : diff.narrowed.length ? 'narrowed' : diff.edited.length ? 'edited' : 'unchanged';
      assert.equal(verdict, c.verdict);
    });
  }
});

/** The same compiled policy with another file digest (compileText gives every policy the same one). */
function withDigest(policy: CompiledPolicy, digest: string): CompiledPolicy {
  return new Proxy(policy, { get: (target, key) => (key === 'digest' ? digest : Reflect.get(target, key, target)) });
}

describe('diffing two sets', () => {
  const read = compile(TOKEN_PARTS, 'webapp/read');
  const deploy = compile(TOKEN_PARTS, 'webapp/deploy');
  const wider = withDigest(compile(withSubject(TOKEN_PARTS, 'ref', 'ref: refs/heads/*'), 'webapp/deploy'), 'other');
  const old = compile(TOKEN_PARTS, 'old/thing');
  const set = (...policies: CompiledPolicy[]): Map<string, CompiledPolicy> => new Map(policies.map((policy) => [policy.name, policy]));

  it('lists added, removed, widened and unchanged policies by name', () => {
    const diff = diffPolicySets(
      { policies: set(old, deploy, read), problems: [] },
      { policies: set(wider, read, compile(TOKEN_PARTS, 'a/new')), problems: [] },
    );
    assert.deepEqual(
      diff.added.map((policy) => policy.name),
      ['a/new'],
    );
    assert.deepEqual(
      diff.removed.map((policy) => policy.name),
      ['old/thing'],
    );
    assert.deepEqual(
      diff.widened.map((policy) => policy.name),
      ['webapp/deploy'],
    );
    assert.equal(diff.unchanged, 1);
    assert.equal(diff.compared, true);
    assert.match(diff.added[0]!.subject.join('\n'), /^ref: refs\/heads\/main$/m);
  });

  it('compares nothing when the head does not load', () => {
    const problem = { file: '/tmp/x/a.yaml', line: 3, column: 1, message: 'unknown key "subjet"' };
    const diff = diffPolicySets(
      { policies: set(deploy), problems: [] },
      { policies: undefined, problems: [problem], displayFile: (file) => file.replace('/tmp/x/', 'policies/') },
    );
    assert.equal(diff.compared, false);
    assert.deepEqual(diff.headProblems, [{ ...problem, file: 'policies/a.yaml' }]);
    assert.equal(diff.added.length + diff.removed.length + diff.widened.length, 0);
  });

  it('counts every head policy as added when the base does not load', () => {
    const diff = diffPolicySets(
      { policies: undefined, problems: [{ file: 'policies/b.yaml', message: 'bad' }] },
      { policies: set(deploy, read), problems: [] },
    );
    assert.deepEqual(
      diff.added.map((policy) => policy.name),
      ['webapp/deploy', 'webapp/read'],
    );
    assert.equal(diff.baseProblems.length, 1);
  });

  it('reports only lint warnings whose (policy, rule) the base did not have', () => {
    const warning = (policy: string, rule: string, line = 3) => ({
      rule,
      policy,
      file: `/tmp/h/${policy}.yaml`,
      line,
      column: 1,
      message: `${rule} message`,
      fix: 'fix it',
    });
    const base: DiffSide = { policies: set(deploy, read), problems: [], warnings: [warning('webapp/deploy', 'repository-glob', 9)] };
    const head: DiffSide = {
      policies: set(wider, read),
      problems: [],
      displayFile: (file) => file.replace('/tmp/h/', 'policies/'),
      warnings: [warning('webapp/read', 'no-runner', 4), warning('webapp/deploy', 'repository-glob', 4), warning('webapp/deploy', 'no-ref')],
    };
    const diff = diffPolicySets(base, head);
    assert.equal(diff.linted, true);
    assert.deepEqual(
      diff.introducedWarnings.map((item) => `${item.policy} ${item.rule} ${item.file}:${item.line}`),
      ['webapp/deploy no-ref policies/webapp/deploy.yaml:3', 'webapp/read no-runner policies/webapp/read.yaml:4'],
    );
  });

  it('says when lint did not run', () => {
    assert.equal(diffPolicySets({ policies: set(deploy), problems: [] }, { policies: set(deploy), problems: [] }).linted, false);
  });
});
