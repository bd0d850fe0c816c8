/**
 * Glob containment for `policy diff`: named cases for the policy glob
 * language and IAM wildcards, and a cross-check against the service's own
 * matcher (glob.ts) on every value up to a length, so "contained" is never
 * claimed where the matcher disagrees.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareGlobSets, globsContained, iamGlobTokens, policyGlobTokens } from '../../../exchange-service/src/policy/tools/diff-glob.ts';
import { compileGlob } from '../../../exchange-service/src/policy/model/glob.ts';

interface Case {
  name: string;
  inner: string[];
  outer: string[];
  contained: boolean;
}

const POLICY_CASES: Case[] = [
  { name: 'same literal', inner: ['refs/heads/main'], outer: ['refs/heads/main'], contained: true },
  { name: 'other literal', inner: ['refs/heads/main'], outer: ['refs/heads/dev'], contained: false },
  { name: 'literal in a segment glob', inner: ['refs/heads/main'], outer: ['refs/heads/*'], contained: true },
  { name: 'segment glob not in a literal', inner: ['refs/heads/*'], outer: ['refs/heads/main'], contained: false },
  { name: '* does not cross / (nested branch)', inner: ['refs/heads/feature/x'], outer: ['refs/heads/*'], contained: false },
  { name: '* in **', inner: ['refs/heads/*'], outer: ['refs/heads/**'], contained: true },
  { name: '** not in *', inner: ['refs/heads/**'], outer: ['refs/heads/*'], contained: false },
  { name: 'prefix glob in a shorter prefix glob', inner: ['refs/heads/release-*'], outer: ['refs/heads/rel*'], contained: true },
  { name: 'shorter prefix glob not in a longer one', inner: ['refs/heads/rel*'], outer: ['refs/heads/release-*'], contained: false },
  { name: 'anchored: a suffix is not contained', inner: ['org/app-*'], outer: ['org/app'], contained: false },
  { name: 'list in a list', inner: ['push', 'workflow_dispatch'], outer: ['workflow_dispatch', 'push', 'schedule'], contained: true },
  { name: 'list growing is not contained', inner: ['push', 'pull_request'], outer: ['push'], contained: false },
  { name: 'a union covers what no single pattern does', inner: ['**'], outer: ['*', '*/**'], contained: true },
  { name: 'neither part of the union alone', inner: ['**'], outer: ['*/**'], contained: false },
  { name: 'three stars are **', inner: ['a/b/c'], outer: ['a/***'], contained: true },
  { name: '*/* in **', inner: ['*/*'], outer: ['**'], contained: true },
  { name: '** not in */*', inner: ['**'], outer: ['*/*'], contained: false },
  { name: 'two stars around a literal', inner: ['*a*'], outer: ['*'], contained: true },
  { name: '* not in *a*', inner: ['*'], outer: ['*a*'], contained: false },
  { name: 'case differs', inner: ['Acme/webapp'], outer: ['acme/webapp'], contained: false },
];

const IAM_CASES: Case[] = [
  { name: 'action in a service wildcard', inner: ['s3:PutObject'], outer: ['s3:*'], contained: true },
  { name: 'service wildcard not in one action', inner: ['s3:*'], outer: ['s3:PutObject'], contained: false },
  { name: 'IAM * crosses /', inner: ['arn:aws:s3:::bucket/a/b'], outer: ['arn:aws:s3:::bucket/*'], contained: true },
  { name: '? is one character', inner: ['s3:GetObject?'], outer: ['s3:GetObject*'], contained: true },
  { name: '* is not in ?', inner: ['s3:Get*'], outer: ['s3:Get?'], contained: false },
  { name: 'everything in *', inner: ['ec2:RunInstances', 'iam:PassRole'], outer: ['*'], contained: true },
];

describe('policy glob containment', () => {
  for (const c of POLICY_CASES) {
    it(c.name, () => assert.equal(globsContained(c.inner.map(policyGlobTokens), c.outer.map(policyGlobTokens)), c.contained));
  }
  it('classifies both ways', () => {
    const tokens = (list: string[]) => list.map(policyGlobTokens);
    assert.equal(compareGlobSets(tokens(['refs/heads/main']), tokens(['refs/heads/*'])), 'wider');
    assert.equal(compareGlobSets(tokens(['refs/heads/*']), tokens(['refs/heads/main'])), 'narrower');
    assert.equal(compareGlobSets(tokens(['a', 'b']), tokens(['b', 'a'])), 'equal');
    assert.equal(compareGlobSets(tokens(['refs/heads/main']), tokens(['refs/heads/dev'])), 'changed');
  });
  it('answers undecided past its budget, never true', () => {
    const inner = ['*a*b*c*d*e*f*g*h*'].map(policyGlobTokens);
    const outer = ['*h*g*f*e*d*c*b*a*', '*a*c*e*g*b*d*f*h*'].map(policyGlobTokens);
    assert.equal(globsContained(inner, outer, 10), undefined);
  });
});

describe('IAM wildcard containment', () => {
  for (const c of IAM_CASES) {
    it(c.name, () => assert.equal(globsContained(c.inner.map(iamGlobTokens), c.outer.map(iamGlobTokens)), c.contained));
  }
});

/** Every string over `alphabet` up to `max` characters. */
function* strings(alphabet: string, max: number): Generator<string> {
  yield '';
  let level = [''];
  for (let length = 1; length <= max; length += 1) {
    const next: string[] = [];
    for (const prefix of level) for (const ch of alphabet) next.push(prefix + ch);
    yield* next;
    level = next;
  }
}

describe('containment agrees with the service matcher', () => {
  it('on random patterns over a/b/slash, checked on every value up to 6 characters', () => {
    // A fixed-seed generator: the same patterns every run.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const parts = ['a', 'b', '/', '*', '**'];
    const pattern = (): string => Array.from({ length: 1 + random(4) }, () => parts[random(parts.length)]).join('');
    const values = [...strings('ab/x', 6)];
    for (let round = 0; round < 400; round += 1) {
      const inner = pattern();
      const outer = pattern();
      const matchInner = compileGlob(inner, { caseInsensitive: false });
      const matchOuter = compileGlob(outer, { caseInsensitive: false });
      const witness = values.find((value) => matchInner(value) && !matchOuter(value));
      const answer = globsContained([policyGlobTokens(inner)], [policyGlobTokens(outer)]);
      assert.equal(answer, witness === undefined, `${inner} ⊆ ${outer}: answered ${answer}, witness ${JSON.stringify(witness)}`);
    }
  });
});
