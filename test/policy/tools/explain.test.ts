/**
 * `policy explain`'s decision: the exchange's checks that depend on claims
 * alone, in the exchange's order (issuer allow-list, trust.owners, the
 * policy's issuer, the subject conditions and the pull_request_target
 * rule), one named case each with the reason the service would answer.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { explainClaims, summarizeGrant, type ExplainOptions } from '../../../exchange-service/src/policy/tools/explain.ts';
import type { Reason } from '../../../exchange-service/src/errors.ts';
import type { CompiledPolicy } from '../../../exchange-service/src/policy/model/compile.ts';
import { DEPLOY_CLAIMS, DEPLOY_POLICY, claimsWith, compileText, policyWithSubject } from '../fixtures.ts';

const GITHUB_URL = 'https://token.actions.githubusercontent.com';
const CONFIG: ExplainOptions = {
  issuers: [
    { name: 'github', url: GITHUB_URL, kind: 'github' },
    { name: 'dev', url: 'http://127.0.0.1:8080/dev/oidc', kind: 'github' },
  ],
};

const deploy = compileText(DEPLOY_POLICY, 'github', 'webapp/deploy');
const devPolicy = compileText(DEPLOY_POLICY.replace('issuer: github', 'issuer: dev'), 'github', 'webapp/deploy-dev');
const prt = compileText(policyWithSubject('  repository: acme/webapp\n  event_name: ["pull_request*"]'), 'github', 'webapp/pr');
const POLICIES = new Map<string, CompiledPolicy>([deploy, devPolicy, prt].map((policy) => [policy.name, policy]));

interface Case {
  name: string;
  claims: Record<string, unknown>;
  options: ExplainOptions;
  policy: string;
  /** The reason the exchange would answer; null when it grants. */
  reason: Extract<Reason, 'issuer_untrusted' | 'policy_unknown' | 'policy_denied'> | null;
  /** Subject claims that fail. */
  failed?: string[];
  /** Something the explanation must say (issuer, owner, policy issuer or a condition). */
  says?: RegExp;
}

const CASES: Case[] = [
  { name: 'matching claims, no config', claims: {}, options: {}, policy: 'webapp/deploy', reason: null, says: /not checked \(no --config\)/ },
  { name: 'matching claims, configured issuer', claims: {}, options: CONFIG, policy: 'webapp/deploy', reason: null, says: /configured issuer "github"/ },
  {
    name: 'iss not configured',
    claims: { iss: 'https://evil.example' },
    options: CONFIG,
    policy: 'webapp/deploy',
    reason: 'issuer_untrusted',
    says: /not a configured issuer/,
  },
  { name: 'iss compared byte for byte', claims: { iss: `${GITHUB_URL}/` }, options: CONFIG, policy: 'webapp/deploy', reason: 'issuer_untrusted' },
  { name: 'iss missing', claims: { iss: undefined }, options: CONFIG, policy: 'webapp/deploy', reason: 'issuer_untrusted', says: /iss \(none\)/ },
  {
    name: 'policy for another issuer',
    claims: {},
    options: CONFIG,
    policy: 'webapp/deploy-dev',
    reason: 'policy_unknown',
    says: /policy is for issuer "dev", the token is from "github"/,
  },
  { name: 'another issuer not checked without config', claims: {}, options: {}, policy: 'webapp/deploy-dev', reason: null, says: /issuer "dev" not checked/ },
  {
    name: 'owner not trusted',
    claims: {},
    options: { ...CONFIG, trustedOwners: ['other'] },
    policy: 'webapp/deploy',
    reason: 'policy_denied',
    says: /owner "acme" is not trusted/,
  },
  {
    name: 'owner trusted, ASCII case folded',
    claims: {},
    options: { ...CONFIG, trustedOwners: ['ACME'] },
    policy: 'webapp/deploy',
    reason: null,
    says: /owner "acme" is trusted/,
  },
  { name: 'wrong ref', claims: { ref: 'refs/heads/dev' }, options: {}, policy: 'webapp/deploy', reason: 'policy_denied', failed: ['ref'] },
  { name: 'repository in other case', claims: { repository: 'ACME/WebApp' }, options: {}, policy: 'webapp/deploy', reason: null },
  {
    name: 'ref of the wrong type',
    claims: { ref: ['refs/heads/main'] },
    options: {},
    policy: 'webapp/deploy',
    reason: 'policy_denied',
    failed: ['ref'],
    says: /is an array/,
  },
  {
    name: 'pull_request_target through a glob',
    claims: { event_name: 'pull_request_target' },
    options: {},
    policy: 'webapp/pr',
    reason: 'policy_denied',
    failed: [],
    says: /unless the policy names it explicitly/,
  },
  { name: 'pull_request through the same glob', claims: { event_name: 'pull_request' }, options: {}, policy: 'webapp/pr', reason: null },
];

describe('explaining the exchange decision', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const explanation = explainClaims(POLICIES, claimsWith(DEPLOY_CLAIMS, c.claims), { ...c.options, policy: c.policy });
      const [policy] = explanation.policies;
      assert.ok(policy !== undefined);
      assert.equal(policy.granted, c.reason === null);
      assert.deepEqual(explanation.granted, c.reason === null ? [c.policy] : []);
      if (c.reason === 'issuer_untrusted') assert.equal(explanation.issuer.ok, false);
      if (c.reason === 'policy_unknown') assert.equal(policy.issuerMatch.ok, false);
      if (c.failed !== undefined)
        assert.deepEqual(
          policy.conditions.filter((condition) => !condition.ok).map((condition) => condition.claim),
          c.failed,
        );
      if (c.says !== undefined) {
        const text = [
          explanation.issuer.why,
          explanation.owner?.why ?? '',
          policy.issuerMatch.why,
          ...policy.conditions.map((x) => x.why),
          ...policy.rules.map((x) => x.why),
        ].join('\n');
        assert.match(text, c.says);
      }
    });
  }

  it('explains every policy without --policy, granted ones named', () => {
    const explanation = explainClaims(POLICIES, DEPLOY_CLAIMS, CONFIG);
    assert.deepEqual(
      explanation.policies.map((policy) => policy.name),
      ['webapp/deploy', 'webapp/deploy-dev', 'webapp/pr'],
    );
    assert.deepEqual(explanation.granted, ['webapp/deploy']);
  });

  it('names a policy that is not in the set', () => {
    const explanation = explainClaims(POLICIES, DEPLOY_CLAIMS, { policy: 'webapp/nope' });
    assert.equal(explanation.unknownPolicy, 'webapp/nope');
    assert.deepEqual(explanation.granted, []);
  });

  it('summarises the grant: kind, target, TTLs, scope', () => {
    assert.deepEqual(summarizeGrant(deploy), {
      kind: 'token',
      target: 'https://deploy.internal.example',
      ttl: { default: 900, max: 1800 },
      scope: ['deploy'],
      justification: 'required',
    });
  });

  it('ATTACKS 28: shows attacker-controlled claim values escaped', () => {
    const explanation = explainClaims(POLICIES, claimsWith(DEPLOY_CLAIMS, { ref: 'x\n\u001b[2J\u202e', iss: 'a\u009bb' }), {
      ...CONFIG,
      policy: 'webapp/deploy',
    });
    const text = [explanation.issuer.why, ...explanation.policies[0]!.conditions.map((x) => x.why)].join('\n');
    assert.ok(!/[\u001b\u009b\u202e]/.test(text) && !text.includes('x\n'), text);
    assert.match(text, /ref "x\\n\\u001b\[2J\\u202e" is not allowed/);
  });
});
