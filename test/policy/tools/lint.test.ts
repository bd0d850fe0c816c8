/**
 * The lint rules of `policy check` (SPEC §2), on real files in temporary
 * folders through the service's loader: each rule fires, and does not fire
 * on the case next to it, at the line and column of the node it is about.
 * Expected positions come from searching the policy text for a marker, not
 * from the YAML parser.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lintPolicies, lintPolicySet, type LintWarning } from '../../../exchange-service/src/policy/tools/lint.ts';
import { LINT_RULE_IDS, PACKED_SIZE_WARNING } from '../../../exchange-service/src/policy/tools/lint-rules.ts';
import { PolicyLoadError, type LoadPoliciesOptions } from '../../../exchange-service/src/policy/load/load.ts';
import { writePolicyDir } from '../fixtures.ts';

/** A token grant that can write, with every constraint the lint asks for: no warnings. */
const TOKEN = `version: 1
description: Lint test.
issuer: github
subject:
  repository: acme/webapp
  repository_id: "892341"
  ref: refs/heads/main
  runner_environment: github-hosted
ttl: { default: 10m, max: 30m }
grant:
  token: { audience: https://internal.example, scope: [artifacts:read, artifacts:write] }
`;

/** An aws grant that can write (s3:PutObject), with every constraint: no warnings. */
const AWS = `version: 1
description: Lint test.
issuer: github
subject:
  repository: acme/webapp
  repository_id: "892341"
  ref: refs/heads/main
  runner_environment: github-hosted
ttl: { default: 15m, max: 30m }
grant:
  aws:
    role_arn: arn:aws:iam::123456789012:role/deploy
    session_policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [s3:GetObject, s3:PutObject]
          Resource: "*"
`;

const GITHUB_GRANT = 'grant:\n  github: { repositories: [webapp], permissions: { contents: write } }\n';

/** Replaces each `[from, to]` once, failing loudly when `from` is missing (a case that silently tests nothing is a defect). */
function edit(text: string, ...changes: Array<[string | RegExp, string]>): string {
  return changes.reduce((result, [from, to]) => {
    const next = result.replace(from, to);
    assert.notEqual(next, result, `the edit ${String(from)} changed nothing`);
    return next;
  }, text);
}

/** `rule@line:column` where `marker` (the nth occurrence, default first) starts in `text`. */
function at(rule: string, text: string, marker: string, occurrence = 1): string {
  let index = -1;
  for (let i = 0; i < occurrence; i += 1) index = text.indexOf(marker, index + 1);
  assert.notEqual(index, -1, `marker ${JSON.stringify(marker)} not in the text`);
  const before = text.slice(0, index).split('\n');
  return `${rule}@${before.length}:${before.at(-1)!.length + 1}`;
}

interface Case {
  name: string;
  files: Record<string, string>;
  options?: LoadPoliciesOptions;
  /** Every warning expected, as `rule@line:column`, in the order the lint sorts them (per file: line, column, rule). */
  warnings: (files: Record<string, string>) => string[];
}

const subjectOf = (text: string) => (rule: string) => at(rule, text, 'subject:');

const CASES: Case[] = [
  { name: 'a fully constrained token grant is clean', files: { 'a.yaml': TOKEN }, warnings: () => [] },
  { name: 'a fully constrained aws grant is clean', files: { 'a.yaml': AWS }, warnings: () => [] },

  // unbound-repository-id
  {
    name: 'unbound-repository-id: no repository_id',
    files: { 'a.yaml': edit(TOKEN, ['  repository_id: "892341"\n', '']) },
    warnings: (f) => [subjectOf(f['a.yaml']!)('unbound-repository-id')],
  },
  {
    name: 'unbound-repository-id: repository_owner_id binds too',
    files: { 'a.yaml': edit(TOKEN, ['repository_id: "892341"', 'repository_owner_id: "1342004"']) },
    warnings: () => [],
  },
  {
    name: 'unbound-repository-id: not for a gitlab-kind issuer',
    files: {
      'a.yaml': edit(
        TOKEN,
        ['issuer: github', 'issuer: gitlab'],
        ['  repository: acme/webapp\n  repository_id: "892341"\n', '  project_path: acme/webapp\n'],
        ['  runner_environment: github-hosted\n', ''],
      ),
    },
    options: { issuers: { gitlab: { kind: 'gitlab' } } },
    warnings: () => [],
  },

  // repository-glob
  {
    name: 'repository-glob: a list item with *',
    files: { 'a.yaml': edit(TOKEN, ['repository: acme/webapp', 'repository: [acme/webapp, "acme/web-*"]']) },
    warnings: (f) => [at('repository-glob', f['a.yaml']!, '"acme/web-*"')],
  },
  {
    name: 'repository-glob: a scalar value, flow-style subject',
    files: {
      'a.yaml': edit(TOKEN, [
        /subject:\n[\s\S]*?\nttl/,
        'subject: { repository: "acme/svc-*", repository_id: "1", ref: refs/heads/main, runner_environment: github-hosted }\nttl',
      ]),
    },
    warnings: (f) => [at('repository-glob', f['a.yaml']!, '"acme/svc-*"')],
  },

  // unconstrained-ref
  {
    name: 'unconstrained-ref: an aws grant without ref (a writing grant, so pull requests too)',
    files: { 'a.yaml': edit(AWS, ['  ref: refs/heads/main\n', '']) },
    warnings: (f) => ['pull-request-write', 'unconstrained-ref'].map(subjectOf(f['a.yaml']!)),
  },
  {
    name: 'unconstrained-ref: a github grant without ref',
    files: { 'a.yaml': edit(TOKEN, ['  ref: refs/heads/main\n', '  event_name: push\n'], [/grant:[\s\S]*$/, GITHUB_GRANT]) },
    warnings: (f) => [subjectOf(f['a.yaml']!)('unconstrained-ref')],
  },
  {
    name: 'unconstrained-ref: never for a token grant',
    files: { 'a.yaml': edit(TOKEN, ['  ref: refs/heads/main\n', '  event_name: push\n']) },
    warnings: () => [],
  },
  {
    name: 'unconstrained-ref: an environment constrains',
    files: { 'a.yaml': edit(AWS, ['ref: refs/heads/main', 'environment: production\n  event_name: push']) },
    warnings: () => [],
  },
  {
    name: 'unconstrained-ref: a workflow_ref constrains',
    files: { 'a.yaml': edit(AWS, ['ref: refs/heads/main', 'workflow_ref: acme/webapp/.github/workflows/d.yml@refs/heads/main']) },
    warnings: () => [],
  },
  {
    name: 'unconstrained-ref: a job_workflow_ref constrains',
    files: { 'a.yaml': edit(AWS, ['ref: refs/heads/main', 'job_workflow_ref: acme/platform/.github/workflows/d.yml@refs/heads/main\n  event_name: push']) },
    warnings: () => [],
  },
  {
    name: 'unconstrained-ref: ref "**" constrains nothing',
    files: { 'a.yaml': edit(AWS, ['ref: refs/heads/main', 'ref: "**"\n  event_name: push']) },
    warnings: (f) => [subjectOf(f['a.yaml']!)('unconstrained-ref')],
  },

  // pull-request-target
  {
    name: 'pull-request-target: listed explicitly',
    files: { 'a.yaml': edit(TOKEN, ['ref: refs/heads/main', 'ref: refs/heads/main\n  event_name: [push, pull_request_target]']) },
    warnings: (f) => [at('pull-request-target', f['a.yaml']!, 'pull_request_target')],
  },
  {
    name: 'pull-request-target: a glob does not allow it',
    files: { 'a.yaml': edit(TOKEN, ['ref: refs/heads/main', 'ref: refs/heads/main\n  event_name: "push*"']) },
    warnings: () => [],
  },

  // pull-request-write
  {
    name: 'pull-request-write: pull_request on a token scope that writes',
    files: { 'a.yaml': edit(TOKEN, ['ref: refs/heads/main', 'ref: refs/pull/*/merge\n  event_name: [push, pull_request]']) },
    warnings: (f) => [at('pull-request-write', f['a.yaml']!, 'pull_request]')],
  },
  {
    name: 'pull-request-write: a glob in event_name that matches pull_request',
    files: { 'a.yaml': edit(TOKEN, ['ref: refs/heads/main', 'ref: refs/pull/*/merge\n  event_name: "pull_*"']) },
    warnings: (f) => [at('pull-request-write', f['a.yaml']!, '"pull_*"')],
  },
  {
    name: 'pull-request-write: read-only token scope',
    files: {
      'a.yaml': edit(
        TOKEN,
        ['ref: refs/heads/main', 'ref: refs/pull/*/merge\n  event_name: pull_request'],
        ['artifacts:read, artifacts:write', 'artifacts:read'],
      ),
    },
    warnings: () => [],
  },
  {
    name: 'pull-request-write: an aws session policy of Get/List/Describe only',
    files: {
      'a.yaml': edit(
        AWS,
        ['ref: refs/heads/main', 'ref: refs/pull/*/merge\n  event_name: pull_request'],
        ['[s3:GetObject, s3:PutObject]', '[s3:GetObject, "s3:List*", ec2:describeInstances]'],
      ),
    },
    warnings: () => [],
  },
  {
    name: 'pull-request-write: an aws grant without a session policy',
    files: { 'a.yaml': edit(AWS, ['ref: refs/heads/main', 'ref: refs/pull/*/merge\n  event_name: pull_request'], [/ {4}session_policy:[\s\S]*$/, '']) },
    warnings: (f) => [at('pull-request-write', f['a.yaml']!, 'pull_request')],
  },
  {
    name: 'pull-request-write: a github permission write',
    files: { 'a.yaml': edit(TOKEN, ['ref: refs/heads/main', 'ref: refs/pull/*/merge\n  event_name: pull_request'], [/grant:[\s\S]*$/, GITHUB_GRANT]) },
    warnings: (f) => [at('pull-request-write', f['a.yaml']!, 'pull_request')],
  },
  {
    name: 'pull-request-write: a github permission read',
    files: {
      'a.yaml': edit(
        TOKEN,
        ['ref: refs/heads/main', 'ref: refs/pull/*/merge\n  event_name: pull_request'],
        [/grant:[\s\S]*$/, GITHUB_GRANT.replace('write', 'read')],
      ),
    },
    warnings: () => [],
  },
  {
    name: 'pull-request-write: nothing excludes pull requests (only an environment)',
    files: { 'a.yaml': edit(TOKEN, ['ref: refs/heads/main', 'environment: production']) },
    warnings: (f) => [subjectOf(f['a.yaml']!)('pull-request-write')],
  },
  {
    name: 'pull-request-write: a workflow_ref pinned to a branch excludes pull requests',
    files: { 'a.yaml': edit(TOKEN, ['ref: refs/heads/main', 'workflow_ref: acme/webapp/.github/workflows/ci.yml@refs/heads/*']) },
    warnings: () => [],
  },
  {
    name: 'pull-request-write: a workflow_ref at any ref admits them',
    files: { 'a.yaml': edit(TOKEN, ['ref: refs/heads/main', 'workflow_ref: "acme/webapp/.github/workflows/ci.yml@**"']) },
    warnings: (f) => [subjectOf(f['a.yaml']!)('pull-request-write')],
  },

  // unconstrained-runner-environment
  {
    name: 'unconstrained-runner-environment: absent',
    files: { 'a.yaml': edit(TOKEN, ['  runner_environment: github-hosted\n', '']) },
    warnings: (f) => [subjectOf(f['a.yaml']!)('unconstrained-runner-environment')],
  },
  {
    name: 'unconstrained-runner-environment: self-hosted is a constraint',
    files: { 'a.yaml': edit(TOKEN, ['github-hosted', 'self-hosted']) },
    warnings: () => [],
  },

  // long-ttl
  { name: 'long-ttl: ttl.max 2h', files: { 'a.yaml': edit(AWS, ['max: 30m', 'max: 2h']) }, warnings: (f) => [at('long-ttl', f['a.yaml']!, '2h')] },
  { name: 'long-ttl: ttl.max 1h is fine', files: { 'a.yaml': edit(AWS, ['max: 30m', 'max: 1h']) }, warnings: () => [] },
  {
    name: 'long-ttl: block-style ttl',
    files: { 'a.yaml': edit(AWS, ['ttl: { default: 15m, max: 30m }', 'ttl:\n  default: 15m\n  max: 1h30m']) },
    warnings: (f) => [at('long-ttl', f['a.yaml']!, '1h30m')],
  },

  // duplicate-subject
  {
    name: 'duplicate-subject: the same claims in another order and case',
    files: {
      'a.yaml': TOKEN,
      'b.yaml': edit(TOKEN, ['  repository: acme/webapp\n  repository_id: "892341"\n', '  repository_id: "892341"\n  repository: Acme/WebApp\n']),
    },
    warnings: (f) => [at('duplicate-subject', f['a.yaml']!, 'subject:'), at('duplicate-subject', f['b.yaml']!, 'subject:')],
  },
  {
    name: 'duplicate-subject: another issuer is another identity',
    files: { 'a.yaml': TOKEN, 'b.yaml': edit(TOKEN, ['issuer: github', 'issuer: ghes']) },
    warnings: () => [],
  },
  {
    name: 'duplicate-subject: one more condition differs',
    files: { 'a.yaml': TOKEN, 'b.yaml': edit(TOKEN, ['ref: refs/heads/main', 'ref: refs/heads/main\n  environment: production']) },
    warnings: () => [],
  },

  // unjustified-wildcard-action and service-wildcard-action
  {
    name: 'unjustified-wildcard-action: Action "*"',
    files: { 'a.yaml': edit(AWS, ['[s3:GetObject, s3:PutObject]', '"*"']) },
    warnings: (f) => [at('unjustified-wildcard-action', f['a.yaml']!, '"*"')],
  },
  {
    name: 'unjustified-wildcard-action: not with justification required',
    files: { 'a.yaml': edit(AWS, ['[s3:GetObject, s3:PutObject]', '"*"'], ['grant:', 'justification: required\ngrant:']) },
    warnings: () => [],
  },
  {
    name: 'unjustified-wildcard-action: an Allow with NotAction',
    files: { 'a.yaml': edit(AWS, ['Action: [s3:GetObject, s3:PutObject]', 'NotAction: "iam:*"']) },
    warnings: (f) => [at('unjustified-wildcard-action', f['a.yaml']!, 'NotAction')],
  },
  {
    name: 'unjustified-wildcard-action: a Deny with "*" allows nothing',
    files: {
      'a.yaml': edit(AWS, [
        '          Resource: "*"\n',
        '          Resource: "*"\n        - Effect: Deny\n          Action: "*"\n          Resource: "arn:aws:s3:::secret/*"\n',
      ]),
    },
    warnings: () => [],
  },
  {
    name: 'service-wildcard-action: s3:*',
    files: { 'a.yaml': edit(AWS, ['[s3:GetObject, s3:PutObject]', '[s3:GetObject, "s3:*"]']) },
    warnings: (f) => [at('service-wildcard-action', f['a.yaml']!, '"s3:*"')],
  },
  {
    name: 'service-wildcard-action: also with justification required, single statement object',
    files: {
      'a.yaml': edit(
        AWS,
        [
          '        - Effect: Allow\n          Action: [s3:GetObject, s3:PutObject]\n          Resource: "*"\n',
          '        Effect: Allow\n        Action: "s3:*"\n        Resource: "*"\n',
        ],
        ['grant:', 'justification: required\ngrant:'],
      ),
    },
    warnings: (f) => [at('service-wildcard-action', f['a.yaml']!, '"s3:*"')],
  },
  {
    name: 'service-wildcard-action: s3:Get* is not one',
    files: { 'a.yaml': edit(AWS, ['[s3:GetObject, s3:PutObject]', '["s3:Get*", s3:PutObject]']) },
    warnings: () => [],
  },

  // aws-packed-size
  {
    name: 'aws-packed-size: a session policy near the limit',
    files: { 'a.yaml': edit(AWS, ['Resource: "*"', `Resource: [${resources(PACKED_SIZE_WARNING)}]`]) },
    warnings: (f) => [at('aws-packed-size', f['a.yaml']!, 'session_policy:')],
  },
  {
    name: 'aws-packed-size: a small one',
    files: { 'a.yaml': edit(AWS, ['Resource: "*"', `Resource: [${resources(PACKED_SIZE_WARNING - 400)}]`]) },
    warnings: () => [],
  },
];

/** Quoted S3 ARNs adding up to about `chars` characters of JSON. */
function resources(chars: number): string {
  // Each item is 34 characters of minified JSON: "arn:aws:s3:::acme-bucket-0000/*",
  const count = Math.ceil(chars / 34);
  return Array.from({ length: count }, (_, i) => `"arn:aws:s3:::acme-bucket-${String(i).padStart(4, '0')}/*"`).join(', ');
}

async function lintFiles(
  files: Record<string, string>,
  options: LoadPoliciesOptions = {},
): Promise<{ dir: string; warnings: LintWarning[]; remove: () => Promise<void> }> {
  const { dir, remove } = await writePolicyDir(files);
  try {
    const { warnings } = await lintPolicies(dir, options);
    return { dir, warnings, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

describe('lint rules', () => {
  for (const testCase of CASES) {
    it(testCase.name, async () => {
      const { dir, warnings, remove } = await lintFiles(testCase.files, testCase.options);
      try {
        const shown = warnings.map((w) => `${w.rule}@${w.line}:${w.column}`);
        assert.deepEqual(shown, testCase.warnings(testCase.files), warnings.map((w) => `${w.file}: ${w.message}`).join('\n'));
        for (const warning of warnings) {
          assert.ok(LINT_RULE_IDS.includes(warning.rule), warning.rule);
          assert.ok(warning.file.startsWith(dir), 'the file as the loader reports it');
          assert.doesNotMatch(`${warning.message}${warning.fix}`, /\n/, 'messages and fixes are one line');
          assert.ok(warning.message.length > 0 && warning.fix.length > 0);
        }
      } finally {
        await remove();
      }
    });
  }

  it('every rule fires in some case above', () => {
    const fired = new Set(CASES.flatMap((testCase) => testCase.warnings(testCase.files).map((shown) => shown.slice(0, shown.indexOf('@')))));
    assert.deepEqual([...fired].sort(), [...LINT_RULE_IDS].sort());
  });
});

describe('lintPolicies', () => {
  it('names the policy, sorts by file, and says why a grant can write', async () => {
    const { warnings, remove } = await lintFiles({
      'z/b.yaml': edit(AWS, ['ref: refs/heads/main', 'ref: refs/pull/*/merge\n  event_name: pull_request'], [/ {4}session_policy:[\s\S]*$/, '']),
      'a.yaml': edit(TOKEN, ['  runner_environment: github-hosted\n', '']),
    });
    try {
      assert.deepEqual(
        warnings.map((w) => [w.policy, w.rule]),
        [
          ['a', 'unconstrained-runner-environment'],
          ['z/b', 'pull-request-write'],
        ],
      );
      assert.match(warnings[1]!.message, /without a session_policy/);
    } finally {
      await remove();
    }
  });

  it("throws the loader's PolicyLoadError for a set the service would refuse", async () => {
    const { dir, remove } = await writePolicyDir({ 'a.yaml': edit(TOKEN, ['subject:', 'subjet:']) });
    try {
      await assert.rejects(
        lintPolicies(dir),
        (error: unknown) => error instanceof PolicyLoadError && error.problems.some((p) => /unknown key "subjet"/.test(p.message)),
      );
    } finally {
      await remove();
    }
  });

  it('places warnings at 1:1 when a file changed after it was loaded', async () => {
    const text = edit(TOKEN, ['  runner_environment: github-hosted\n', '']);
    const { dir, remove } = await writePolicyDir({ 'a.yaml': text });
    try {
      const { set, warnings } = await lintPolicies(dir);
      assert.deepEqual(
        warnings.map((w) => [w.line, w.column]),
        [[4, 1]],
      );
      await writeFile(join(dir, 'a.yaml'), `# a comment pushes everything down\n${text}`);
      const again = await lintPolicySet(set);
      assert.deepEqual(
        again.map((w) => [w.rule, w.line, w.column]),
        [['unconstrained-runner-environment', 1, 1]],
      );
    } finally {
      await remove();
    }
  });
});
