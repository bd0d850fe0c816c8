/**
 * Policy globs (SPEC §2): `*` within a path segment, `**` across, anchored,
 * ASCII-only case folding, and linear-time matching (ATTACKS.md 20) checked
 * for correctness on pathological inputs and against a simple reference
 * matcher on random ones.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob, foldAscii } from '../../../exchange-service/src/policy/model/glob.ts';

interface Case {
  name: string;
  pattern: string;
  value: string;
  expected: boolean;
  caseInsensitive?: boolean;
}

const CASES: Case[] = [
  { name: 'exact match', pattern: 'refs/heads/main', value: 'refs/heads/main', expected: true },
  { name: 'exact: suffix trick', pattern: 'refs/heads/main', value: 'refs/heads/main-evil', expected: false },
  { name: 'exact: prefix trick', pattern: 'refs/heads/main', value: 'xrefs/heads/main', expected: false },
  { name: 'exact: tag named like the branch', pattern: 'refs/heads/main', value: 'refs/tags/main', expected: false },
  { name: 'exact: is not a substring search', pattern: 'org/app', value: 'org/app-evil', expected: false },
  { name: 'exact: empty value', pattern: 'main', value: '', expected: false },
  { name: 'exact: case differs', pattern: 'refs/heads/main', value: 'refs/heads/Main', expected: false },
  { name: '* within a segment', pattern: 'refs/heads/release-*', value: 'refs/heads/release-1.2', expected: true },
  { name: '* matches the empty run', pattern: 'refs/heads/release-*', value: 'refs/heads/release-', expected: true },
  { name: '* does not cross /', pattern: 'refs/heads/*', value: 'refs/heads/feature/x', expected: false },
  { name: '** crosses /', pattern: 'refs/heads/**', value: 'refs/heads/feature/x', expected: true },
  { name: '** matches the empty run', pattern: 'refs/heads/**', value: 'refs/heads/', expected: true },
  { name: 'anchored at the start', pattern: '*/app', value: 'evil/org/app', expected: false },
  { name: 'anchored at the end', pattern: 'org/*', value: 'org/app/extra', expected: false },
  {
    name: '** in the middle',
    pattern: 'acme/**/deploy.yml@refs/heads/main',
    value: 'acme/webapp/.github/workflows/deploy.yml@refs/heads/main',
    expected: true,
  },
  {
    name: '** in the middle: wrong ref',
    pattern: 'acme/**/deploy.yml@refs/heads/main',
    value: 'acme/webapp/.github/workflows/deploy.yml@refs/heads/dev',
    expected: false,
  },
  { name: 'lone *', pattern: '*', value: 'anything-without-slash', expected: true },
  { name: 'lone * and a slash', pattern: '*', value: 'a/b', expected: false },
  { name: 'lone **', pattern: '**', value: 'a/b/c', expected: true },
  { name: 'three stars act as **', pattern: 'a/***', value: 'a/b/c', expected: true },
  { name: 'star then literal star-free tail', pattern: '*.yml', value: 'deploy.yml', expected: true },
  { name: 'greedy trap', pattern: '*a*b', value: 'aaaab', expected: true },
  { name: 'greedy trap, no match', pattern: '*a*b', value: 'aaaa', expected: false },
  { name: 'no regex meaning: dot', pattern: 'a.c', value: 'abc', expected: false },
  { name: 'no regex meaning: brackets', pattern: '[ab]*', value: 'a', expected: false },
  { name: 'no regex meaning: question mark', pattern: 'a?', value: 'ab', expected: false },
  { name: 'folded: owner case differs', pattern: 'acme/webapp', value: 'ACME/WebApp', expected: true, caseInsensitive: true },
  { name: 'folded glob: owner case differs', pattern: 'acme/*', value: 'Acme/WebApp', expected: true, caseInsensitive: true },
  { name: 'folded: pattern upper, value lower', pattern: 'Acme/*', value: 'acme/webapp', expected: true, caseInsensitive: true },
  { name: 'folded: Kelvin sign is not k', pattern: 'kube', value: '\u212Aube', expected: false, caseInsensitive: true },
  { name: 'folded glob: Kelvin sign is not k', pattern: 'acme/k*', value: 'acme/\u212Aube', expected: false, caseInsensitive: true },
  { name: 'folded: dotless i is not i', pattern: 'acme/ci', value: 'acme/c\u0131', expected: false, caseInsensitive: true },
  { name: 'folded: long s is not s', pattern: 'acme/s', value: 'acme/\u017F', expected: false, caseInsensitive: true },
  { name: 'folded: non-ASCII compared exactly', pattern: 'acme/é', value: 'acme/É', expected: false, caseInsensitive: true },
  { name: 'folded: @ and ` are not letters', pattern: 'a@', value: 'a`', expected: false, caseInsensitive: true },
  { name: 'not folded when case-sensitive', pattern: 'acme/*', value: 'Acme/webapp', expected: false },
  { name: 'surrogate pairs match as written', pattern: 'team-*-\u{1F680}', value: 'team-x-\u{1F680}', expected: true },
];

describe('compileGlob', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const matches = compileGlob(c.pattern, { caseInsensitive: c.caseInsensitive ?? false });
      assert.equal(matches(c.value), c.expected, `${c.pattern} vs ${c.value}`);
    });
  }

  it('ATTACKS 20: matches a pathological pattern against a 100,000-character claim', () => {
    const matches = compileGlob('*a*a*a*a*a*a*a*a*b', { caseInsensitive: false });
    const long = 'a'.repeat(100_000);
    assert.equal(matches(long), false);
    assert.equal(matches(`${long}b`), true);
    assert.equal(matches(`${long}/b`), false, '* never crosses /');
    const globstar = compileGlob('**a**a**a**a**a**a**a**a**b', { caseInsensitive: true });
    assert.equal(globstar(`${'A/'.repeat(50_000)}b`), true);
    assert.equal(globstar('A/'.repeat(50_000)), false);
  });

  it('handles patterns of more than 32 tokens (multi-word state sets)', () => {
    const pattern = `${'*a'.repeat(40)}*b`;
    const matches = compileGlob(pattern, { caseInsensitive: false });
    assert.equal(matches(`${'xa'.repeat(40)}yb`), true);
    assert.equal(matches(`${'xa'.repeat(39)}yb`), false);
    assert.equal(matches(`${'a'.repeat(100_000)}b`), true);
    assert.equal(matches('a'.repeat(100_000)), false);
    const literal = `${'x'.repeat(70)}*${'y'.repeat(70)}`;
    assert.equal(compileGlob(literal, { caseInsensitive: false })(`${'x'.repeat(70)}-${'y'.repeat(70)}`), true);
    assert.equal(compileGlob(literal, { caseInsensitive: false })(`${'x'.repeat(70)}/${'y'.repeat(70)}`), false);
  });

  it('agrees with a reference matcher on random patterns and values', () => {
    const random = seededRandom(20261124);
    const pick = (alphabet: string, length: number): string => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    let matched = 0;
    for (let i = 0; i < 4000; i += 1) {
      // Odd rounds use long, star-heavy patterns (over 32 tokens: the multi-word state set).
      const pattern = i % 2 === 0 ? pick('ab/*A*', 1 + Math.floor(random() * 8)) : pick('a***/*B*', 33 + Math.floor(random() * 20));
      // Half the values are instances of the pattern (then maybe mutated), so both outcomes are common.
      const instance = pattern.replace(/\*+/g, (stars) => pick(stars.length > 1 ? 'ab/' : 'aB', Math.floor(random() * 4)));
      const mutated = random() < 0.3 ? mutate(instance, pick('ab/B', 1), random) : instance;
      const value = random() < 0.5 ? mutated : pick('abB/', Math.floor(random() * 14));
      const caseInsensitive = random() < 0.5;
      const expected = referenceMatch(pattern, value, caseInsensitive);
      if (expected) matched += 1;
      assert.equal(
        compileGlob(pattern, { caseInsensitive })(value),
        expected,
        `${JSON.stringify(pattern)} vs ${JSON.stringify(value)} (fold ${caseInsensitive})`,
      );
    }
    assert.ok(matched > 1000 && matched < 3000, `the random cases include both outcomes (${matched} of 4000 match)`);
  });
});

describe('foldAscii', () => {
  const cases = [
    { name: 'upper ASCII letters', input: 'Acme/WebApp', expected: 'acme/webapp' },
    { name: 'Kelvin sign unchanged', input: '\u212A', expected: '\u212A' },
    { name: 'non-ASCII capitals unchanged', input: 'ÉÀ', expected: 'ÉÀ' },
    { name: 'punctuation around letters', input: '@[Z]`', expected: '@[z]`' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(foldAscii(c.input), c.expected));
});

/** The obvious memoised recursion over (pattern index, value index): slow but clearly right. */
function referenceMatch(pattern: string, value: string, fold: boolean): boolean {
  const norm = (text: string): string => (fold ? text.replace(/[A-Z]/g, (c) => c.toLowerCase()) : text);
  const p = norm(pattern).replace(/\*{3,}/g, '**');
  const v = norm(value);
  const memo = new Map<string, boolean>();
  const at = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === p.length) result = j === v.length;
    else if (p.startsWith('**', i)) result = at(i + 2, j) || (j < v.length && at(i, j + 1));
    else if (p[i] === '*') result = at(i + 1, j) || (j < v.length && v[j] !== '/' && at(i, j + 1));
    else result = j < v.length && p[i] === v[j] && at(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return at(0, 0);
}

function mutate(text: string, replacement: string, random: () => number): string {
  const at = Math.floor(random() * text.length);
  return text.slice(0, at) + replacement + text.slice(at + 1);
}

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
