/**
 * Claims against policies (ATTACKS.md 10–15): prefix and suffix tricks,
 * tags named like branches, IDs against names, ASCII case folding, claim
 * types, the pull_request_target rule; and how denials are worded
 * (never the policy's patterns unless `full`).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeDenial, evaluatePolicy, showValue } from '../../../exchange-service/src/policy/model/evaluate.ts';
import type { Reason } from '../../../exchange-service/src/errors.ts';
import { DEPLOY_CLAIMS, DEPLOY_POLICY, claimsWith, compileText, policyWithSubject } from '../fixtures.ts';

interface Case {
  name: string;
  /** Claim overrides on DEPLOY_CLAIMS; undefined removes the claim. */
  claims: Record<string, unknown>;
  /** The exchange's reason for the outcome; null when granted. */
  reason: Extract<Reason, 'policy_denied'> | null;
  /** Claims whose conditions fail. */
  failed?: string[];
  /** What the denial says (in `conditions` mode). */
  says?: RegExp;
}

const deploy = compileText(DEPLOY_POLICY);

const CASES: Case[] = [
  { name: 'the matching token', claims: {}, reason: null },
  // 10: prefix and suffix tricks
  {
    name: 'ATTACKS 10: repository with a suffix',
    claims: { repository: 'acme/webapp-evil' },
    reason: 'policy_denied',
    failed: ['repository'],
    says: /repository "acme\/webapp-evil" is not allowed/,
  },
  { name: 'ATTACKS 10: repository with a prefix', claims: { repository: 'xacme/webapp' }, reason: 'policy_denied', failed: ['repository'] },
  { name: 'ATTACKS 10: branch with a suffix', claims: { ref: 'refs/heads/main-evil' }, reason: 'policy_denied', failed: ['ref'] },
  { name: 'ATTACKS 10: branch with a prefix', claims: { ref: 'xrefs/heads/main' }, reason: 'policy_denied', failed: ['ref'] },
  // 11: a tag named like the branch
  {
    name: 'ATTACKS 11: tag named main',
    claims: { ref: 'refs/tags/main' },
    reason: 'policy_denied',
    failed: ['ref'],
    says: /ref "refs\/tags\/main" is not allowed/,
  },
  // 12: IDs bind; names alone do not
  { name: 'ATTACKS 12: same name, other repository_id', claims: { repository_id: '999' }, reason: 'policy_denied', failed: ['repository_id'] },
  { name: 'ATTACKS 12: same name, other repository_owner_id', claims: { repository_owner_id: '7' }, reason: 'policy_denied', failed: ['repository_owner_id'] },
  // 13: ASCII case folding for owner/repo and environment, exact elsewhere
  { name: 'ATTACKS 13: owner and repository in other case', claims: { repository: 'ACME/WebApp' }, reason: null },
  { name: 'ATTACKS 13: environment in other case', claims: { environment: 'Production' }, reason: null },
  {
    name: 'ATTACKS 13: workflow_ref owner/repo in other case',
    claims: { workflow_ref: 'Acme/WEBAPP/.github/workflows/deploy.yml@refs/heads/main' },
    reason: null,
  },
  {
    name: 'ATTACKS 13: workflow_ref path in other case',
    claims: { workflow_ref: 'acme/webapp/.github/workflows/Deploy.yml@refs/heads/main' },
    reason: 'policy_denied',
    failed: ['workflow_ref'],
  },
  {
    name: 'ATTACKS 13: workflow_ref ref in other case',
    claims: { workflow_ref: 'acme/webapp/.github/workflows/deploy.yml@refs/heads/Main' },
    reason: 'policy_denied',
    failed: ['workflow_ref'],
  },
  { name: 'ATTACKS 13: ref in other case', claims: { ref: 'refs/heads/Main' }, reason: 'policy_denied', failed: ['ref'] },
  { name: 'ATTACKS 13: event_name in other case', claims: { event_name: 'Push' }, reason: 'policy_denied', failed: ['event_name'] },
  // 14: wrong types and missing claims
  {
    name: 'ATTACKS 14: ref is an array',
    claims: { ref: ['refs/heads/main'] },
    reason: 'policy_denied',
    failed: ['ref'],
    says: /claim ref is an array, not a string/,
  },
  {
    name: 'ATTACKS 14: ref is an object',
    claims: { ref: { toString: 'refs/heads/main' } },
    reason: 'policy_denied',
    failed: ['ref'],
    says: /claim ref is an object, not a string/,
  },
  { name: 'ATTACKS 14: ref is null', claims: { ref: null }, reason: 'policy_denied', failed: ['ref'], says: /claim ref is null/ },
  { name: 'ATTACKS 14: ref is a number', claims: { ref: 5 }, reason: 'policy_denied', failed: ['ref'], says: /ref "5" is not allowed/ },
  { name: 'ATTACKS 14: ref is a boolean', claims: { ref: true }, reason: 'policy_denied', failed: ['ref'] },
  { name: 'ATTACKS 14: repository_id as a JSON number compares by its text', claims: { repository_id: 892341 }, reason: null },
  {
    name: 'ATTACKS 14: environment missing',
    claims: { environment: undefined },
    reason: 'policy_denied',
    failed: ['environment'],
    says: /claim environment is missing/,
  },
  {
    name: 'ATTACKS 14: every repository claim missing',
    claims: { repository: undefined, repository_id: undefined, repository_owner_id: undefined },
    reason: 'policy_denied',
    failed: ['repository', 'repository_id', 'repository_owner_id'],
  },
  // 15: events, runners, environments, reusable workflows
  { name: 'ATTACKS 15: pull_request event', claims: { event_name: 'pull_request' }, reason: 'policy_denied', failed: ['event_name'] },
  { name: 'ATTACKS 15: pull_request_target event', claims: { event_name: 'pull_request_target' }, reason: 'policy_denied', failed: ['event_name'] },
  { name: 'ATTACKS 15: workflow_dispatch is listed', claims: { event_name: 'workflow_dispatch' }, reason: null },
  { name: 'ATTACKS 15: self-hosted runner', claims: { runner_environment: 'self-hosted' }, reason: 'policy_denied', failed: ['runner_environment'] },
  {
    name: 'ATTACKS 15: another environment',
    claims: { environment: 'staging' },
    reason: 'policy_denied',
    failed: ['environment'],
    says: /environment "staging" is not allowed/,
  },
  {
    name: 'ATTACKS 15: reusable workflow at another ref',
    claims: { job_workflow_ref: 'acme/shared/.github/workflows/deploy.yml@refs/heads/dev' },
    reason: 'policy_denied',
    failed: ['job_workflow_ref'],
  },
  {
    name: 'ATTACKS 15: several failures are all named',
    claims: { ref: 'refs/heads/dev', environment: 'staging' },
    reason: 'policy_denied',
    failed: ['ref', 'environment'],
    says: /^policy denied: ref "refs\/heads\/dev" is not allowed; environment "staging" is not allowed$/,
  },
];

describe('evaluatePolicy', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const evaluation = evaluatePolicy(deploy, claimsWith(DEPLOY_CLAIMS, c.claims));
      assert.equal(evaluation.granted ? null : 'policy_denied', c.reason);
      const failed = evaluation.conditions.filter((result) => !result.ok).map((result) => result.claim);
      assert.deepEqual(failed, c.failed ?? []);
      if (c.says) assert.match(describeDenial(evaluation, 'conditions'), c.says);
    });
  }

  it('reports one result per condition, in file order, with the token value', () => {
    const evaluation = evaluatePolicy(deploy, claimsWith(DEPLOY_CLAIMS, { ref: 'refs/heads/dev', environment: undefined }));
    assert.deepEqual(
      evaluation.conditions.map((r) => r.claim),
      ['repository', 'repository_id', 'repository_owner_id', 'ref', 'workflow_ref', 'job_workflow_ref', 'environment', 'event_name', 'runner_environment'],
    );
    const ref = evaluation.conditions[3]!;
    assert.deepEqual({ ok: ref.ok, actual: ref.actual, expected: ref.expected }, { ok: false, actual: 'refs/heads/dev', expected: ['refs/heads/main'] });
    assert.equal(evaluation.conditions[6]!.actual, undefined);
  });

  it('reads only own claims (a claim named like an Object.prototype member is missing)', () => {
    const policy = compileText(policyWithSubject('  repository_id: "1"\n  constructor: x\n  toString: y'));
    const evaluation = evaluatePolicy(policy, { repository_id: '1' });
    assert.equal(evaluation.granted, false);
    assert.deepEqual(
      evaluation.conditions.filter((r) => !r.ok).map((r) => r.why),
      ['claim constructor is missing', 'claim toString is missing'],
    );
  });

  it('ATTACKS 12: binds to IDs: a renamed repository with the same IDs is granted', () => {
    const byId = compileText(policyWithSubject('  repository_id: "892341"\n  repository_owner_id: "1342004"\n  ref: refs/heads/main'));
    assert.equal(evaluatePolicy(byId, claimsWith(DEPLOY_CLAIMS, { repository: 'acme/webapp-renamed' })).granted, true);
    assert.equal(evaluatePolicy(byId, claimsWith(DEPLOY_CLAIMS, { repository_id: '892342' })).granted, false);
  });
});

describe('ATTACKS 13: case folding is ASCII only and GitHub-kind only', () => {
  const cases = [
    { name: 'Kelvin sign in the repository is not k', kind: 'github' as const, subject: '  repository: acme/kube', value: 'acme/\u212Aube', granted: false },
    { name: 'ASCII K in the repository folds', kind: 'github' as const, subject: '  repository: acme/kube', value: 'acme/Kube', granted: true },
    { name: 'owner glob folds', kind: 'github' as const, subject: '  repository: acme/*', value: 'ACME/anything', granted: true },
    { name: 'repository_owner folds', kind: 'github' as const, subject: '  repository_owner: acme', value: 'AcMe', granted: true, claim: 'repository_owner' },
    {
      name: 'generic issuer: repository compares exactly',
      kind: 'generic' as const,
      subject: '  repository: acme/webapp',
      value: 'ACME/webapp',
      granted: false,
    },
    { name: 'gitlab issuer: exact', kind: 'gitlab' as const, subject: '  repository: acme/webapp', value: 'acme/webapp', granted: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const policy = compileText(policyWithSubject(c.subject), c.kind);
      const claim = c.claim ?? 'repository';
      assert.equal(evaluatePolicy(policy, { [claim]: c.value }).granted, c.granted);
    });
  }

  it('folds only the owner/repo prefix of job_workflow_ref, also with globs', () => {
    const policy = compileText(policyWithSubject('  repository_id: "1"\n  job_workflow_ref: acme/shared/.github/workflows/*.yml@refs/tags/v*'));
    const check = (value: string) => evaluatePolicy(policy, { repository_id: '1', job_workflow_ref: value }).granted;
    assert.equal(check('ACME/Shared/.github/workflows/deploy.yml@refs/tags/v1'), true);
    assert.equal(check('acme/shared/.GITHUB/workflows/deploy.yml@refs/tags/v1'), false);
    assert.equal(check('acme/shared/.github/workflows/deploy.yml@refs/tags/V1'), false);
    assert.equal(check('acme/shared/.github/workflows/sub/deploy.yml@refs/tags/v1'), false, '* stays within a segment');
  });

  it('does not fold pattern text past a ** (it could reach into the path)', () => {
    const policy = compileText(policyWithSubject('  repository_id: "1"\n  workflow_ref: "**/Deploy.yml@refs/heads/main"'));
    const check = (value: string) => evaluatePolicy(policy, { repository_id: '1', workflow_ref: value }).granted;
    assert.equal(check('acme/webapp/.github/workflows/Deploy.yml@refs/heads/main'), true);
    assert.equal(check('acme/webapp/.github/workflows/deploy.yml@refs/heads/main'), false);
  });
});

describe('ATTACKS 15: pull_request_target', () => {
  const cases = [
    {
      name: 'policy without event_name: denied',
      subject: '  repository_id: "1"',
      event: 'pull_request_target',
      granted: false,
      says: /event_name "pull_request_target" is not allowed unless the policy names it explicitly/,
    },
    {
      name: 'policy listing it explicitly: granted',
      subject: '  repository_id: "1"\n  event_name: [push, pull_request_target]',
      event: 'pull_request_target',
      granted: true,
    },
    {
      name: 'a glob that matches it is not explicit: denied',
      subject: '  repository_id: "1"\n  event_name: "pull_request*"',
      event: 'pull_request_target',
      granted: false,
      says: /names it explicitly/,
    },
    { name: 'policy without event_name: other events granted', subject: '  repository_id: "1"', event: 'push', granted: true },
    { name: 'a glob still admits pull_request', subject: '  repository_id: "1"\n  event_name: "pull_request*"', event: 'pull_request', granted: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const evaluation = evaluatePolicy(compileText(policyWithSubject(c.subject)), { repository_id: '1', event_name: c.event });
      assert.equal(evaluation.granted, c.granted);
      if (c.says) {
        assert.match(describeDenial(evaluation, 'conditions'), c.says);
        assert.equal(evaluation.conditions.filter((r) => !r.ok).length, 1, 'one reason, on event_name');
        assert.equal(evaluation.conditions.find((r) => !r.ok)?.claim, 'event_name');
      }
    });
  }

  it('a policy whose event_name already refuses it gives one reason, not two', () => {
    const evaluation = evaluatePolicy(deploy, claimsWith(DEPLOY_CLAIMS, { event_name: 'pull_request_target' }));
    assert.deepEqual(
      evaluation.conditions.filter((r) => !r.ok).map((r) => r.why),
      ['event_name "pull_request_target" is not allowed'],
    );
  });
});

describe('describeDenial', () => {
  const denied = evaluatePolicy(deploy, claimsWith(DEPLOY_CLAIMS, { ref: 'refs/heads/dev', environment: 'staging', event_name: 'pull_request' }));
  const cases = [
    {
      name: 'conditions: the token values only',
      mode: 'conditions' as const,
      says: 'policy denied: ref "refs/heads/dev" is not allowed; environment "staging" is not allowed; event_name "pull_request" is not allowed',
    },
    {
      name: 'full: also what was expected',
      mode: 'full' as const,
      says: 'policy denied: ref "refs/heads/dev" is not allowed (expected "refs/heads/main"); environment "staging" is not allowed (expected "production"); event_name "pull_request" is not allowed (expected one of "push", "workflow_dispatch")',
    },
    { name: 'none: nothing', mode: 'none' as const, says: 'the token does not satisfy the policy' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(describeDenial(denied, c.mode), c.says));

  it('never names the policy patterns in conditions mode', () => {
    for (const overrides of [
      { ref: 'refs/heads/dev' },
      { ref: undefined },
      { ref: ['x'] },
      { repository: 'evil/webapp' },
      { event_name: 'pull_request_target' },
      { job_workflow_ref: 'x' },
    ]) {
      const text = describeDenial(evaluatePolicy(deploy, claimsWith(DEPLOY_CLAIMS, overrides)), 'conditions');
      for (const secret of ['refs/heads/main', 'acme/webapp', 'production', 'workflow_dispatch', 'acme/shared', '892341']) {
        assert.ok(!text.includes(secret), `${JSON.stringify(overrides)}: "${text}" reveals ${secret}`);
      }
    }
  });

  it('ATTACKS 28: escapes control characters, terminal escapes and bidi overrides in claim values', () => {
    const nasty = 'refs/heads/x\n\u001b[31mgranted\u0000"\u009b\u202e\u2028';
    const text = describeDenial(evaluatePolicy(deploy, claimsWith(DEPLOY_CLAIMS, { ref: nasty })), 'conditions');
    assert.equal(text, 'policy denied: ref "refs/heads/x\\n\\u001b[31mgranted\\u0000\\"\\u009b\\u202e\\u2028" is not allowed');
    assert.doesNotMatch(text, /[\u0000-\u001f\u007f-\u009f\u202e\u2028]/);
  });

  it('cuts long values at about 200 characters', () => {
    const text = describeDenial(evaluatePolicy(deploy, claimsWith(DEPLOY_CLAIMS, { ref: `refs/heads/${'a'.repeat(10_000)}` })), 'conditions');
    assert.ok(text.length < 320, `${text.length} characters`);
    assert.match(text, /… \(10011 characters\) is not allowed$/);
  });

  it('does not split a surrogate pair when cutting', () => {
    const shown = showValue(`${'a'.repeat(199)}\u{1F680}tail`);
    assert.ok(shown.startsWith(`"${'a'.repeat(199)}"`), shown.slice(190, 215));
  });
});
