/**
 * Policy globs (SPEC §2): `*` matches any run of characters except `/`, `**`
 * any run including `/`, and the whole value must match. No regular
 * expression is ever built from policy text.
 *
 * Matching simulates the pattern's NFA over all its positions at once
 * (Thompson's construction, as a bit set), so it reads each character of the
 * value once: O(value length × pattern length / 32), linear in the value
 * whatever the pattern. A backtracking matcher would be exponential on
 * patterns like `*a*a*a*b`.
 */

/** Options of {@link compileGlob}. */
export interface GlobOptions {
  /** Compare with ASCII case folding only (A-Z ↔ a-z); no Unicode folding. */
  caseInsensitive: boolean;
}

/** A compiled pattern: true when the whole value matches. */
export type GlobMatcher = (value: string) => boolean;

/** Token codes; literal tokens are the pattern's UTF-16 code units (≥ 0). */
export const STAR = -1;
export const GLOBSTAR = -2;
const SLASH = 0x2f;
const ASTERISK = 0x2a;
const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const ASCII_UPPER = /[A-Z]/;
const ASCII_UPPER_ALL = /[A-Z]/g;

/** Lower-cases ASCII letters only (`K`, U+212A, stays as it is). */
export function foldAscii(text: string): string {
  if (!ASCII_UPPER.test(text)) return text;
  return text.replace(ASCII_UPPER_ALL, (letter) => String.fromCharCode(letter.charCodeAt(0) + 32));
}

/** True when `pattern` contains a wildcard (otherwise it is compared exactly). */
export const isGlob = (pattern: string): boolean => pattern.includes('*');

const foldCode = (code: number): number => (code >= UPPER_A && code <= UPPER_Z ? code + 32 : code);

/** Compiles a policy pattern into a matcher; a pattern without `*` is an exact comparison. */
export function compileGlob(pattern: string, options: GlobOptions): GlobMatcher {
  const fold = options.caseInsensitive;
  if (!isGlob(pattern)) {
    if (!fold) return (value) => value === pattern;
    const expected = foldAscii(pattern);
    return (value) => value.length === expected.length && foldAscii(value) === expected;
  }
  const tokens = tokenize(pattern, fold);
  return tokens.length < 32 ? createSmallMatcher(tokens, fold) : createLargeMatcher(tokens, fold);
}

/**
 * Splits a pattern into literal code units (≥ 0) and wildcards ({@link STAR} = -1,
 * {@link GLOBSTAR} = -2); a run of two or more `*` is one `**`. Shared with
 * `policy diff`'s containment check, so both read a pattern alike.
 */
export function tokenize(pattern: string, fold: boolean): number[] {
  const tokens: number[] = [];
  for (let i = 0; i < pattern.length; ) {
    const code = pattern.charCodeAt(i);
    if (code !== ASTERISK) {
      tokens.push(fold ? foldCode(code) : code);
      i += 1;
      continue;
    }
    let end = i;
    while (end < pattern.length && pattern.charCodeAt(end) === ASTERISK) end += 1;
    tokens.push(end - i === 1 ? STAR : GLOBSTAR);
    i = end;
  }
  return tokens;
}

/**
 * Patterns of fewer than 32 tokens: the state set is one 32-bit integer.
 * Bit i set = the first i tokens can match the value read so far.
 */
function createSmallMatcher(tokens: readonly number[], fold: boolean): GlobMatcher {
  const literals = new Map<number, number>();
  let stars = 0;
  let globstars = 0;
  tokens.forEach((token, i) => {
    if (token === STAR) stars |= 1 << i;
    else if (token === GLOBSTAR) globstars |= 1 << i;
    else literals.set(token, (literals.get(token) ?? 0) | (1 << i));
  });
  const wild = stars | globstars;
  const accept = 1 << tokens.length;
  // A wildcard may match nothing: state i (before it) also reaches i + 1. Wildcards never sit side by side, so one step closes.
  const close = (states: number): number => states | ((states & wild) << 1);
  const start = close(1);
  return (value) => {
    let states = start;
    for (let i = 0; i < value.length; i += 1) {
      const raw = value.charCodeAt(i);
      const code = fold ? foldCode(raw) : raw;
      let next = ((states & (literals.get(code) ?? 0)) << 1) | (states & globstars);
      if (code !== SLASH) next |= states & stars;
      states = close(next);
      if (states === 0) return false;
    }
    return (states & accept) !== 0;
  };
}

/**
 * Any pattern length: the same simulation over a multi-word bit set. Every
 * mask lives in one Uint32Array (`words` words each: stars, globstars, then
 * one per distinct literal), so a compiled pattern holds one typed array
 * however many characters it has; a fleet of 10,000 policies has thousands.
 */
function createLargeMatcher(tokens: readonly number[], fold: boolean): GlobMatcher {
  const words = (tokens.length + 1 + 31) >>> 5;
  const literalSlot = new Map<number, number>();
  for (const token of tokens) if (token >= 0 && !literalSlot.has(token)) literalSlot.set(token, literalSlot.size + 2);
  const masks = new Uint32Array(words * (literalSlot.size + 2));
  const STARS = 0;
  const GLOBSTARS = words;
  tokens.forEach((token, i) => {
    const at = (token === STAR ? 0 : token === GLOBSTAR ? 1 : (literalSlot.get(token) ?? 0)) * words + (i >>> 5);
    masks[at]! |= 1 << (i & 31);
  });
  const acceptWord = tokens.length >>> 5;
  const acceptBit = 1 << (tokens.length & 31);
  return (value) => {
    let states = new Uint32Array(words);
    let next = new Uint32Array(words);
    states[0] = 1;
    closeLarge(states, masks, words);
    for (let i = 0; i < value.length; i += 1) {
      const raw = value.charCodeAt(i);
      const code = fold ? foldCode(raw) : raw;
      const slot = literalSlot.get(code);
      const literal = slot === undefined ? -1 : slot * words;
      let any = 0;
      let carry = 0;
      for (let w = 0; w < words; w += 1) {
        const current = states[w]!;
        const moved = literal < 0 ? 0 : current & masks[literal + w]!;
        const stay = (current & masks[GLOBSTARS + w]!) | (code === SLASH ? 0 : current & masks[STARS + w]!);
        next[w] = (moved << 1) | carry | stay;
        carry = moved >>> 31;
        any |= next[w]!;
      }
      if (any === 0) return false;
      closeLarge(next, masks, words);
      [states, next] = [next, states];
    }
    return (states[acceptWord]! & acceptBit) !== 0;
  };
}

/** Epsilon closure in place: a state before a wildcard also reaches the state after it (`masks`: stars, then globstars, `words` each). */
function closeLarge(states: Uint32Array, masks: Uint32Array, words: number): void {
  let carry = 0;
  for (let w = 0; w < words; w += 1) {
    const wild = states[w]! & (masks[w]! | masks[words + w]!);
    states[w] = states[w]! | (wild << 1) | carry;
    carry = wild >>> 31;
  }
}
