/**
 * Glob containment for `policy diff`: does every value one list of patterns
 * matches also match another list? Decided exactly by exploring the product
 * of the inner patterns' automaton with the subset construction of the outer
 * patterns' (both are the position automata the matcher in glob.ts runs).
 * Characters are grouped into classes that no pattern tells apart (each
 * literal, `/`, and "any other character"), so the search is finite. An
 * exploration budget bounds the work; past it the answer is "undecided", and
 * the caller must treat the change as needing review, never as narrower.
 */
import { GLOBSTAR, STAR, tokenize } from '../model/glob.ts';

/** Token codes besides glob.ts's STAR (any run without `/`) and GLOBSTAR (any run); literal tokens are UTF-16 code units (≥ 0). */
const ONE = -3; // exactly one character
const SLASH = 0x2f;
const ASTERISK = 0x2a;
const QUESTION = 0x3f;

/** A pattern as a list of tokens (see {@link policyGlobTokens}, {@link iamGlobTokens}). */
export type GlobTokens = readonly number[];

/** `true`: contained; `false`: a value matches inner but not outer; `undefined`: undecided within the budget. */
export type Containment = boolean | undefined;

const DEFAULT_BUDGET = 20_000;

/** Tokens of a policy glob (SPEC §2): `*` any run without `/`, two or more `*` any run, anything else literal. */
export function policyGlobTokens(pattern: string): GlobTokens {
  return tokenize(pattern, false);
}

/** Tokens of an IAM policy wildcard: `*` any run (including `/`), `?` one character. */
export function iamGlobTokens(pattern: string): GlobTokens {
  return Array.from({ length: pattern.length }, (_, i) => {
    const code = pattern.charCodeAt(i);
    return code === ASTERISK ? GLOBSTAR : code === QUESTION ? ONE : code;
  });
}

/** Folds the literal tokens to ASCII lower case (wildcards stay). */
export function foldTokens(tokens: GlobTokens): GlobTokens {
  return tokens.map((token) => (token >= 0x41 && token <= 0x5a ? token + 32 : token));
}

/** An automaton over the positions of several patterns; state = offset of the pattern + tokens matched. */
interface Positions {
  tokens: number[];
  /** For each state: its pattern's end state (the accepting one). */
  ends: number[];
  starts: number[];
}

function positions(patterns: readonly GlobTokens[]): Positions {
  const tokens: number[] = [];
  const ends: number[] = [];
  const starts: number[] = [];
  for (const pattern of patterns) {
    const start = tokens.length;
    starts.push(start);
    for (const token of pattern) tokens.push(token);
    tokens.push(Number.NaN); // the end position: no token to read
    for (let i = start; i < tokens.length; i += 1) ends.push(tokens.length - 1);
  }
  return { tokens, ends, starts };
}

/** Adds every state reachable without reading (a `*` or `**` may match nothing); returns the states sorted. */
function close(automaton: Positions, states: Iterable<number>): number[] {
  const seen = new Set<number>();
  const work = [...states];
  while (work.length > 0) {
    const state = work.pop()!;
    if (seen.has(state)) continue;
    seen.add(state);
    const token = automaton.tokens[state]!;
    if (token === STAR || token === GLOBSTAR) work.push(state + 1);
  }
  return [...seen].sort((a, b) => a - b);
}

/** The states reached from `state` by reading `code` (before closing). */
function step(automaton: Positions, state: number, code: number): number[] {
  const token = automaton.tokens[state]!;
  if (token === code || token === ONE) return [state + 1];
  if (token === GLOBSTAR || (token === STAR && code !== SLASH)) return [state];
  return [];
}

/** One representative character per class no pattern distinguishes. */
function alphabet(patterns: readonly GlobTokens[]): number[] {
  const codes = new Set<number>([SLASH]);
  for (const pattern of patterns) for (const token of pattern) if (token >= 0) codes.add(token);
  let other = 0x21;
  while (codes.has(other)) other += 1;
  return [...codes, other];
}

/**
 * True when every value matching one of `inner` matches one of `outer`
 * (an empty `inner` is contained in anything); false with a witness value
 * otherwise; undefined when the search needs more than `budget` steps.
 */
export function globsContained(inner: readonly GlobTokens[], outer: readonly GlobTokens[], budget = DEFAULT_BUDGET): Containment {
  if (inner.length === 0) return true;
  if (outer.length === 0) return false;
  const a = positions(inner);
  const b = positions(outer);
  const codes = alphabet([...inner, ...outer]);
  const seen = new Set<string>();
  const work: Array<{ state: number; set: number[] }> = [];
  const visit = (states: readonly number[], set: number[]): boolean => {
    const accepts = set.some((s) => b.ends[s] === s);
    for (const state of states) {
      // Every state can still reach its pattern's end, so an empty outer set is already a witness.
      if (set.length === 0 || (a.ends[state] === state && !accepts)) return false;
      const key = `${state}|${set.join(',')}`;
      if (!seen.has(key)) {
        seen.add(key);
        work.push({ state, set });
      }
    }
    return true;
  };
  if (!visit(close(a, a.starts), close(b, b.starts))) return false;
  while (work.length > 0) {
    if (seen.size > budget) return undefined;
    const { state, set } = work.pop()!;
    for (const code of codes) {
      const next = close(a, step(a, state, code));
      if (next.length === 0) continue;
      const nextSet = close(
        b,
        set.flatMap((s) => step(b, s, code)),
      );
      if (!visit(next, nextSet)) return false;
    }
  }
  return true;
}

/** Both-way containment: `equal`, `narrower` (inner ⊂ outer), `wider` (outer ⊂ inner), or `changed` (neither shown). */
export function compareGlobSets(before: readonly GlobTokens[], after: readonly GlobTokens[]): 'equal' | 'narrower' | 'wider' | 'changed' {
  return classify(globsContained(after, before), globsContained(before, after));
}

/** Combines two containment answers into a verdict; only a proven containment counts. */
export function classify(afterInBefore: Containment, beforeInAfter: Containment): 'equal' | 'narrower' | 'wider' | 'changed' {
  if (afterInBefore === true && beforeInAfter === true) return 'equal';
  if (afterInBefore === true) return 'narrower';
  if (beforeInAfter === true) return 'wider';
  return 'changed';
}

/** Containment that must hold under every answer given (false wins, then undefined). */
export function allContained(answers: readonly Containment[]): Containment {
  if (answers.includes(false)) return false;
  if (answers.includes(undefined)) return undefined;
  return true;
}
