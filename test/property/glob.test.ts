/**
 * Property tests of the policy glob matcher (SPEC §2; ATTACKS.md 20), where a
 * table cannot cover the space:
 * - it agrees with a plain dynamic-programming reference matcher on random
 *   patterns and claims (ASCII-only folding, `*` within a segment, `**`
 *   across, the whole claim anchored);
 * - matches are anchored: a literal prefix and suffix of the pattern must be
 *   the claim's, and a pattern without `**` keeps the claim's `/` count;
 * - it is linear: it reads each character of the claim at most once, on
 *   adversarial patterns (`*a*a…*b`, `**a**a…**b`, more than 32 tokens) and
 *   claims of thousands of characters. Linearity is measured by counting the
 *   matcher's reads of the claim, never by timing.
 *
 * fast-check prints the seed and the shrunk counterexample when one fails.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileGlob } from '../../exchange-service/src/policy/model/glob.ts';

const fold = (text: string): string => text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());

/**
 * The reference: the textbook wildcard DP over (pattern token, claim prefix),
 * one row per token. Quadratic, and obviously right.
 */
function referenceMatch(pattern: string, claim: string, caseInsensitive: boolean): boolean {
  const tokens = (caseInsensitive ? fold(pattern) : pattern).match(/\*\*+|\*|[^*]/gsu) ?? [];
  const units = [...(caseInsensitive ? fold(claim) : claim)];
  let row = units.map(() => false);
  row.unshift(true);
  for (const token of tokens) {
    const next = [token.startsWith('*')];
    if (token.startsWith('*')) next[0] = row[0] === true;
    for (let j = 1; j <= units.length; j += 1) {
      const unit = units[j - 1];
      if (token.startsWith('**')) next[j] = row[j] === true || next[j - 1] === true;
      else if (token === '*') next[j] = row[j] === true || (next[j - 1] === true && unit !== '/');
      else next[j] = row[j - 1] === true && unit === token;
    }
    row = next;
  }
  return row[units.length] === true;
}

/** A claim the matcher reads through `charCodeAt`/`codePointAt`, counting every read. */
function countingClaim(text: string): { claim: string; reads: () => number } {
  let reads = 0;
  const claim = {
    length: text.length,
    charCodeAt: (index: number) => ((reads += 1), text.charCodeAt(index)),
    codePointAt: (index: number) => ((reads += 1), text.codePointAt(index)),
    *[Symbol.iterator]() {
      for (const unit of text) {
        reads += 1;
        yield unit;
      }
    },
    // Any coercion to a string counts as reading the whole claim once.
    toString: () => ((reads += text.length), text),
    valueOf: () => ((reads += text.length), text),
  };
  // The matcher's parameter is a string; this object is one as far as the matcher's reads go.
  return { claim: claim as unknown as string, reads: () => reads };
}

// Alphabets that make matches common and reach every rule: `/`, ASCII letters of both cases,
// letters that Unicode (but not ASCII) folding would equate (K U+212A, ı, ſ, É), and an astral character.
const patternUnit = fc.constantFrom('a', 'b', 'A', 'k', 's', 'i', '/', '*', '*', '.', 'é', '\u212A', '\u{1F680}');
const claimUnit = fc.constantFrom('a', 'b', 'A', 'B', 'k', 'K', 's', 'i', '/', '.', 'é', 'É', '\u212A', '\u0131', '\u017F', '\u{1F680}');
const patterns = fc.string({ unit: patternUnit, minLength: 1, maxLength: 14 });

/** A claim that matches `pattern` when built (stars filled in), so both outcomes are common. */
const instanceOf = (pattern: string): fc.Arbitrary<string> =>
  fc.array(fc.string({ unit: claimUnit, maxLength: 4 }), { minLength: 16, maxLength: 16 }).map((fills) => {
    let index = 0;
    return pattern.replace(/\*+/g, (stars) => {
      const fill = fills[index++ % fills.length] ?? '';
      return stars.length > 1 ? fill : fill.replaceAll('/', '');
    });
  });

const cases = patterns.chain((pattern) =>
  fc.record({
    pattern: fc.constant(pattern),
    claim: fc.oneof(instanceOf(pattern), fc.string({ unit: claimUnit, maxLength: 18 })),
    caseInsensitive: fc.boolean(),
  }),
);

describe('glob matcher properties', () => {
  it('agrees with the reference matcher on random patterns and claims', () => {
    fc.assert(
      fc.property(cases, ({ pattern, claim, caseInsensitive }) => {
        assert.equal(compileGlob(pattern, { caseInsensitive })(claim), referenceMatch(pattern, claim, caseInsensitive));
      }),
      { numRuns: 1500 },
    );
  });

  it("is anchored: a match starts with the pattern's literal prefix and ends with its literal suffix", () => {
    fc.assert(
      fc.property(cases, ({ pattern, claim, caseInsensitive }) => {
        fc.pre(compileGlob(pattern, { caseInsensitive })(claim));
        const norm = caseInsensitive ? fold : (text: string) => text;
        const prefix = pattern.slice(0, pattern.indexOf('*') === -1 ? pattern.length : pattern.indexOf('*'));
        const suffix = pattern.slice(pattern.lastIndexOf('*') + 1);
        assert.ok(norm(claim).startsWith(norm(prefix)), `prefix ${JSON.stringify(prefix)}`);
        assert.ok(norm(claim).endsWith(norm(suffix)), `suffix ${JSON.stringify(suffix)}`);
        if (!pattern.includes('*')) assert.equal(norm(claim), norm(pattern), 'a pattern without * is an exact comparison');
      }),
      { numRuns: 1500 },
    );
  });

  it("a single * never crosses /: without **, a match has exactly the pattern's / count", () => {
    fc.assert(
      fc.property(cases, ({ pattern, claim, caseInsensitive }) => {
        fc.pre(!pattern.includes('**') && compileGlob(pattern, { caseInsensitive })(claim));
        const slashes = (text: string) => text.split('/').length - 1;
        assert.equal(slashes(claim), slashes(pattern));
      }),
      { numRuns: 1500 },
    );
  });

  it('ATTACKS 20: reads each claim character at most once on adversarial patterns and long claims', () => {
    const adversarial = fc.record({
      repeats: fc.integer({ min: 1, max: 60 }),
      star: fc.constantFrom('*', '**', '***'),
      letter: fc.constantFrom('a', 'A'),
      tail: fc.constantFrom('b', '', 'a', '/b'),
      length: fc.integer({ min: 0, max: 8000 }),
      unit: fc.constantFrom('a', 'a/', 'A', 'aA/', 'ab'),
      end: fc.constantFrom('', 'b', '/b', 'c'),
      caseInsensitive: fc.boolean(),
    });
    fc.assert(
      fc.property(adversarial, (c) => {
        const pattern = `${`${c.star}${c.letter}`.repeat(c.repeats)}${c.star}${c.tail}`;
        const text = c.unit.repeat(Math.ceil(c.length / c.unit.length)).slice(0, c.length) + c.end;
        const { claim, reads } = countingClaim(text);
        const matched = compileGlob(pattern, { caseInsensitive: c.caseInsensitive })(claim);
        assert.ok(reads() <= text.length, `${reads()} reads of a ${text.length}-character claim`);
        assert.equal(matched, referenceMatch(pattern, text, c.caseInsensitive));
      }),
      { numRuns: 60 },
    );
  });

  it('reads each claim character at most once on any random pattern', () => {
    fc.assert(
      fc.property(cases, fc.integer({ min: 0, max: 300 }), ({ pattern, claim, caseInsensitive }, repeat) => {
        fc.pre(pattern.includes('*'));
        const text = claim.repeat(1 + (repeat % 40));
        const counting = countingClaim(text);
        compileGlob(pattern, { caseInsensitive })(counting.claim);
        assert.ok(counting.reads() <= text.length, `${counting.reads()} reads of a ${text.length}-character claim`);
      }),
      { numRuns: 500 },
    );
  });
});
