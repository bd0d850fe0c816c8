/**
 * The one-line values of the YAML subset (see yaml-subset.ts): plain
 * scalars resolved as the YAML 1.2 core schema does, quoted scalars without
 * escapes, and flow sequences and mappings. Anything else gives up.
 */

/** Thrown to give up; a constant, so giving up costs no stack trace. */
export const GIVE_UP = Object.freeze({ outsideSubset: true });

/** Gives up on the subset: the caller uses the full parser. */
export function giveUp(): never {
  throw GIVE_UP;
}

const MAX_FLOW_DEPTH = 32;

/** Keys the core schema would not read as plain strings, and `__proto__`, which the full parser special-cases. */
export const SPECIAL_KEYS: ReadonlySet<string> = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', '__proto__']);
/** Characters that cannot start a plain scalar here (YAML indicators, plus `-`, `?`, `:` kept simple). */
const PLAIN_FIRST_FORBIDDEN: ReadonlySet<string> = new Set('-?:,[]{}#&*!|>\'"%@`'.split(''));
const FLOW_INDICATORS: ReadonlySet<string> = new Set([',', '[', ']', '{', '}']);
/** First characters of the plain scalars the core schema may read as something other than a string. */
const MAYBE_NOT_STRING: ReadonlySet<string> = new Set('0123456789+-.~nNtTfF'.split(''));

// YAML 1.2 core schema resolution of plain scalars.
const CORE_NULL = /^(?:~|[Nn]ull|NULL)$/;
const CORE_BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_OTHER_NUMBER = /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

const isLetter = (code: number): boolean => (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f /* _ */ || code === 0x24; /* $ */
const isKeyTail = (code: number): boolean => isLetter(code) || (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x2f || code === 0x2d; /* . / - */

/** The length of a plain key (`[A-Za-z_$][A-Za-z0-9_$./-]*`) at `start`, or 0. */
export function keyLength(text: string, start: number): number {
  if (!isLetter(text.charCodeAt(start))) return 0;
  let end = start + 1;
  while (isKeyTail(text.charCodeAt(end))) end += 1;
  return end - start;
}

/** A scalar or flow collection filling the rest of a line, with an optional trailing comment. */
export function readScalarOrFlow(text: string): unknown {
  const first = text[0];
  if (first === '"' || first === "'" || first === '[' || first === '{') {
    const cursor = { text, i: 0, depth: 0 };
    const value = first === '[' || first === '{' ? readFlow(cursor) : readQuoted(cursor);
    const rest = text.slice(cursor.i);
    if (rest !== '' && !/^ +#/.test(rest)) giveUp();
    return value;
  }
  const comment = text.indexOf(' #');
  const plain = comment === -1 ? text : text.slice(0, comment).trimEnd();
  if (plain.includes(': ') || plain.endsWith(':')) giveUp();
  return resolvePlain(plain);
}

function resolvePlain(plain: string): unknown {
  if (plain === '' || PLAIN_FIRST_FORBIDDEN.has(plain[0]!)) giveUp();
  if (!MAYBE_NOT_STRING.has(plain[0]!)) return plain;
  if (CORE_NULL.test(plain)) return null;
  if (CORE_BOOL.test(plain)) return plain[0] === 't' || plain[0] === 'T';
  if (CORE_INT.test(plain)) return parseInt(plain, 10);
  if (CORE_OTHER_NUMBER.test(plain)) giveUp();
  return plain;
}

interface Cursor {
  text: string;
  i: number;
  depth: number;
}

function readQuoted(cursor: Cursor): string {
  const { text } = cursor;
  const quote = text[cursor.i];
  let value = '';
  let i = cursor.i + 1;
  for (;;) {
    const end = text.indexOf(quote!, i);
    if (end === -1) giveUp();
    const chunk = text.slice(i, end);
    if (quote === '"' && chunk.includes('\\')) giveUp();
    value += chunk;
    if (quote === "'" && text[end + 1] === "'") {
      value += "'";
      i = end + 2;
      continue;
    }
    cursor.i = end + 1;
    return value;
  }
}

const skipSpaces = (cursor: Cursor): void => {
  while (cursor.text.charCodeAt(cursor.i) === 0x20) cursor.i += 1;
};

/** `[a, b]` or `{k: v}` on one line; no trailing commas, empty entries or comments inside. */
function readFlow(cursor: Cursor): unknown {
  if (++cursor.depth > MAX_FLOW_DEPTH) giveUp();
  const isMap = cursor.text[cursor.i] === '{';
  const close = isMap ? '}' : ']';
  const seq: unknown[] = [];
  const map: Record<string, unknown> = {};
  cursor.i += 1;
  skipSpaces(cursor);
  if (cursor.text[cursor.i] === close) {
    cursor.i += 1;
    cursor.depth -= 1;
    return isMap ? map : seq;
  }
  for (;;) {
    if (isMap) {
      const key = readFlowKey(cursor);
      if (Object.hasOwn(map, key)) giveUp();
      map[key] = readFlowItem(cursor);
    } else {
      seq.push(readFlowItem(cursor));
    }
    skipSpaces(cursor);
    const next = cursor.text[cursor.i];
    cursor.i += 1;
    if (next === close) break;
    if (next !== ',') giveUp();
    skipSpaces(cursor);
    if (cursor.text[cursor.i] === close) giveUp();
  }
  cursor.depth -= 1;
  return isMap ? map : seq;
}

function readFlowKey(cursor: Cursor): string {
  const length = keyLength(cursor.text, cursor.i);
  if (length === 0) giveUp();
  const end = cursor.i + length;
  const key = cursor.text.slice(cursor.i, end);
  if (SPECIAL_KEYS.has(key) || cursor.text[end] !== ':' || cursor.text[end + 1] !== ' ') giveUp();
  cursor.i = end + 2;
  skipSpaces(cursor);
  return key;
}

function readFlowItem(cursor: Cursor): unknown {
  const { text } = cursor;
  const first = text[cursor.i];
  if (first === '[' || first === '{') return readFlow(cursor);
  if (first === '"' || first === "'") return readQuoted(cursor);
  let j = cursor.i;
  for (; j < text.length; j += 1) {
    const ch = text[j]!;
    if (FLOW_INDICATORS.has(ch)) break;
    if (ch === ':' && (j + 1 === text.length || text[j + 1] === ' ' || FLOW_INDICATORS.has(text[j + 1]!))) break;
    if (ch === '#' && text[j - 1] === ' ') giveUp();
  }
  const plain = text.slice(cursor.i, j).trimEnd();
  cursor.i = j;
  return resolvePlain(plain);
}
