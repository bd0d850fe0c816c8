/**
 * Property tests of policy evaluation (SPEC §2), over random subjects and
 * random claims (right and wrong types, missing, other case):
 * - adding a condition never widens a policy; the one documented exception
 *   is naming `pull_request_target` in `event_name`, which is how a policy
 *   opts in to that event;
 * - a list of patterns is the union of its items;
 * - a claim the policy names but the token lacks, or holds as an array,
 *   object or null, never satisfies it;
 * - claims the policy does not name do not change the outcome (except
 *   `event_name: pull_request_target`, which is refused unless named).
 * Policies go through the real schema and compiler.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PolicyFile } from '../../exchange-service/src/policy/model/schema.ts';
import { buildPolicy, type IssuerKind } from '../../exchange-service/src/policy/model/compile.ts';
import { evaluatePolicy } from '../../exchange-service/src/policy/model/evaluate.ts';

type Subject = Record<string, string | string[]>;
type Claims = Record<string, unknown>;

const CLAIM_NAMES = ['repository', 'repository_owner', 'ref', 'environment', 'event_name', 'workflow_ref', 'runner_environment', 'team'] as const;
type ClaimName = (typeof CLAIM_NAMES)[number];

/** The claims of a job that many generated policies grant. */
const BASE: Readonly<Record<ClaimName, string>> = {
  repository: 'acme/webapp',
  repository_owner: 'acme',
  ref: 'refs/heads/main',
  environment: 'production',
  event_name: 'push',
  workflow_ref: 'acme/webapp/.github/workflows/deploy.yml@refs/heads/main',
  runner_environment: 'github-hosted',
  team: 'web',
};

/** Per claim: patterns that match the base value (some only case-insensitively) and patterns that do not. */
const PATTERNS: Readonly<Record<ClaimName, readonly string[]>> = {
  repository: ['acme/webapp', 'ACME/WebApp', 'acme/*', 'acme/**', 'acme/other', 'acme/webapp-*', 'x*'],
  repository_owner: ['acme', 'ACME', 'a*', 'other'],
  ref: ['refs/heads/main', 'refs/heads/*', 'refs/**', 'refs/heads/Main', 'refs/tags/*', '*'],
  environment: ['production', 'Production', 'prod*', 'staging'],
  event_name: ['push', 'pull_request', 'pull_request_target', 'pull_request*', 'workflow_dispatch', '*'],
  workflow_ref: [
    'acme/webapp/.github/workflows/*.yml@refs/heads/main',
    'Acme/WebApp/.github/workflows/deploy.yml@refs/heads/main',
    'acme/webapp/**',
    '**@refs/heads/main',
    'acme/webapp/*@refs/heads/main',
  ],
  runner_environment: ['github-hosted', 'self-hosted', '*'],
  team: ['web', 'w*', 'ops', '**'],
};

/** Per claim: values other than the base one (other case, tricks, other values). */
const VARIANTS: Readonly<Record<ClaimName, readonly string[]>> = {
  repository: ['Acme/WEBAPP', 'acme/other', 'acme/webapp-evil', 'acme/webapp/x', 'ac\u212Ame/webapp'],
  repository_owner: ['ACME', 'evil', 'acme-evil'],
  ref: ['refs/heads/Main', 'refs/heads/feature/x', 'refs/tags/main', 'xrefs/heads/main'],
  environment: ['PRODUCTION', 'staging', 'production-2'],
  event_name: ['pull_request', 'pull_request_target', 'workflow_dispatch', 'Push'],
  workflow_ref: [
    'Acme/Webapp/.github/workflows/deploy.yml@refs/heads/main',
    'acme/webapp/.github/workflows/Deploy.yml@refs/heads/main',
    'acme/webapp/.github/workflows/deploy.yml@refs/heads/dev',
  ],
  runner_environment: ['self-hosted', 'GitHub-Hosted'],
  team: ['ops', 'webb', ''],
};

/** Values no condition may accept. */
const WRONG_TYPES: readonly unknown[] = [null, ['acme/webapp'], [], { value: 'acme/webapp' }, {}];
const MISSING = Symbol('missing');

const claimName = fc.constantFrom(...CLAIM_NAMES);
const patternFor = (name: ClaimName) => fc.constantFrom(...PATTERNS[name]);
const patternsFor = (name: ClaimName) => fc.oneof(patternFor(name), fc.array(patternFor(name), { minLength: 1, maxLength: 4 }));

const subjects: fc.Arbitrary<Subject> = fc
  .uniqueArray(claimName, { minLength: 1, maxLength: 5 })
  .chain((names) => fc.tuple(...names.map(patternsFor)).map((values) => Object.fromEntries(names.map((name, i) => [name, values[i] as string | string[]]))));

/** Mostly the base job, each claim sometimes another value, a number or boolean, a wrong type, or missing. */
const claimValueFor = (name: ClaimName): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(BASE[name]) },
    { weight: 3, arbitrary: fc.constantFrom(...VARIANTS[name]) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(5, true, ...WRONG_TYPES) },
    { weight: 1, arbitrary: fc.constant(MISSING) },
  );
const claimSets: fc.Arbitrary<Claims> = fc
  .tuple(...CLAIM_NAMES.map(claimValueFor))
  .map((values) => Object.fromEntries(CLAIM_NAMES.flatMap((name, i) => (values[i] === MISSING ? [] : [[name, values[i]]]))));
const kinds = fc.constantFrom<IssuerKind>('github', 'generic');

/** Counts outcomes, so a property that only ever saw denials fails instead of passing vacuously. */
function outcomes() {
  const seen = { granted: 0, denied: 0 };
  return {
    note: (granted: boolean) => (granted ? (seen.granted += 1) : (seen.denied += 1)),
    assertBoth: () => assert.ok(seen.granted >= 20 && seen.denied >= 20, `both outcomes common enough: ${JSON.stringify(seen)}`),
  };
}

/** Evaluates `subject` (through the real schema and compiler) against `claims`. */
function grants(subject: Subject, claims: Claims, kind: IssuerKind): boolean {
  const file = PolicyFile.parse({
    version: 1,
    description: 'property test',
    issuer: 'github',
    subject,
    ttl: { default: '10m', max: '30m' },
    grant: { token: { audience: 'https://internal.example' } },
  });
  const policy = buildPolicy(file, { name: 'prop/policy', file: 'prop/policy.yaml', digest: '0'.repeat(64) }, kind);
  return evaluatePolicy(policy, claims).granted;
}

const namesPullRequestTarget = (value: string | string[]): boolean => (Array.isArray(value) ? value : [value]).includes('pull_request_target');

describe('policy evaluation properties', () => {
  it('adding a condition never widens (except naming pull_request_target, the documented opt-in)', () => {
    const seen = outcomes();
    const cases = fc
      .record({ subject: subjects, extra: claimName, claims: claimSets, kind: kinds })
      .chain((c) => patternsFor(c.extra).map((value) => ({ ...c, value })));
    fc.assert(
      fc.property(cases, ({ subject, extra, value, claims, kind }) => {
        fc.pre(!Object.hasOwn(subject, extra));
        const wider = grants(subject, claims, kind);
        const narrower = grants({ ...subject, [extra]: value }, claims, kind);
        seen.note(narrower);
        if (!narrower || wider) return;
        // The only way more conditions may grant more: event_name names pull_request_target, for a token of that event.
        assert.equal(extra, 'event_name', `adding ${extra} widened the policy`);
        assert.ok(namesPullRequestTarget(value));
        assert.equal(claims.event_name, 'pull_request_target');
      }),
      { numRuns: 800 },
    );
    seen.assertBoth();
  });

  it('a list of patterns holds exactly when one of its items would', () => {
    const seen = outcomes();
    const cases = fc
      .record({ subject: subjects, name: claimName, claims: claimSets, kind: kinds })
      .chain((c) => fc.array(patternFor(c.name), { minLength: 1, maxLength: 5 }).map((items) => ({ ...c, items })));
    fc.assert(
      fc.property(cases, ({ subject, name, items, claims, kind }) => {
        const withList = grants({ ...subject, [name]: items }, claims, kind);
        const anyItem = items.some((item) => grants({ ...subject, [name]: item }, claims, kind));
        seen.note(withList);
        assert.equal(withList, anyItem);
      }),
      { numRuns: 600 },
    );
    seen.assertBoth();
  });

  it('ATTACKS 14: a named claim that is missing, null, an array or an object never satisfies the policy', () => {
    fc.assert(
      fc.property(subjects, claimSets, kinds, fc.constantFrom<unknown>(MISSING, ...WRONG_TYPES), (subject, claims, kind, value) => {
        const name = Object.keys(subject)[0] as string;
        const broken: Claims = { ...claims };
        if (value === MISSING) delete broken[name];
        else broken[name] = value;
        assert.equal(grants(subject, broken, kind), false);
      }),
      { numRuns: 600 },
    );
  });

  it('claims the policy does not name do not change the outcome (other than event_name pull_request_target)', () => {
    const seen = outcomes();
    const cases = fc
      .record({ subject: subjects, claims: claimSets, name: claimName, kind: kinds })
      .chain((c) => claimValueFor(c.name).map((value) => ({ ...c, value })));
    fc.assert(
      fc.property(cases, ({ subject, claims, name, value, kind }) => {
        fc.pre(!Object.hasOwn(subject, name));
        fc.pre(name !== 'event_name' || (value !== 'pull_request_target' && claims.event_name !== 'pull_request_target'));
        const changed: Claims = { ...claims };
        if (value === MISSING) delete changed[name];
        else changed[name] = value;
        const before = grants(subject, claims, kind);
        seen.note(before);
        assert.equal(grants(subject, changed, kind), before);
      }),
      { numRuns: 600 },
    );
    seen.assertBoth();
  });
});
