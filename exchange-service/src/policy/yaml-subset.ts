/**
 * A fast reader for the plain subset of YAML that policy files are almost
 * always written in, because the full parser costs ~150 µs a file and a
 * policy folder may hold 100,000 of them.
 *
 * It accepts only: printable ASCII and newlines; a block mapping at the top;
 * nested block mappings and sequences (also `- key: value` items); one-line
 * plain, single- and double-quoted (no escapes) scalars; one-line flow
 * sequences and mappings; comments. Plain scalars resolve as YAML 1.2's core
 * schema does (null, booleans, decimal integers, otherwise strings).
 *
 * Anything else (tabs, CRLF, anchors, tags, block scalars, multi-line
 * scalars, escapes, odd keys, duplicate keys, floats, ...) returns
 * {@link OUTSIDE_SUBSET} and the caller uses the full parser, which also
 * reports errors with their positions. Within the subset the result equals
 * the `yaml` package's `toJS()` (tested differentially).
 */

/** Returned when the text is outside the subset: parse it with the full YAML parser. */
export const OUTSIDE_SUBSET: unique symbol = Symbol('outside the YAML subset');

interface Line {
  indent: number;
  text: string;
}

/** Thrown internally to give up; a constant, so giving up costs no stack trace. */
const GIVE_UP = Object.freeze({ outsideSubset: true });
const MAX_DEPTH = 32;

const NOT_PRINTABLE_ASCII = /[^\n\x20-\x7e]/;
const BLOCK_KEY = /^([A-Za-z_$][A-Za-z0-9_$./-]*):(?: +|$)/;
const FLOW_KEY = /[A-Za-z_$][A-Za-z0-9_$./-]*/y;
/** Keys the core schema would not read as plain strings, and `__proto__`, which the full parser special-cases. */
const SPECIAL_KEYS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', '__proto__']);
/** Characters that cannot start a plain scalar here (YAML indicators, plus `-`, `?`, `:` kept simple). */
const PLAIN_FIRST_FORBIDDEN = new Set('-?:,[]{}#&*!|>\'"%@`'.split(''));
const FLOW_INDICATORS = new Set([',', '[', ']', '{', '}']);

// YAML 1.2 core schema resolution of plain scalars.
const CORE_NULL = /^(?:~|[Nn]ull|NULL)$/;
const CORE_BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_OTHER_NUMBER = /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

function giveUp(): never {
  throw GIVE_UP;
}

/** Parses `text` if it lies in the subset, else returns {@link OUTSIDE_SUBSET}. */
export function parseYamlSubset(text: string): unknown {
  if (NOT_PRINTABLE_ASCII.test(text)) return OUTSIDE_SUBSET;
  const lines = contentLines(text);
  if (lines === undefined || lines.length === 0 || lines[0]!.indent !== 0) return OUTSIDE_SUBSET;
  const reader = { lines, pos: 0, depth: 0 };
  try {
    const value = readBlockMap(reader, 0);
    return reader.pos === lines.length ? value : OUTSIDE_SUBSET;
  } catch (error) {
    if (error === GIVE_UP) return OUTSIDE_SUBSET;
    throw error;
  }
}

/** The lines that hold content (no blank or comment-only lines); undefined on document markers or directives. */
function contentLines(text: string): Line[] | undefined {
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    let indent = 0;
    while (raw.charCodeAt(indent) === 0x20) indent += 1;
    if (indent === raw.length || raw.charCodeAt(indent) === 0x23 /* # */) continue;
    if (indent === 0 && (raw.startsWith('---') || raw.startsWith('...') || raw.startsWith('%'))) return undefined;
    lines.push({ indent, text: raw.slice(indent).trimEnd() });
  }
  return lines;
}

interface Reader {
  lines: Line[];
  pos: number;
  depth: number;
}

const isSequenceLine = (text: string): boolean => text === '-' || text.startsWith('- ');

function readBlockNode(reader: Reader, indent: number): unknown {
  if (++reader.depth > MAX_DEPTH) giveUp();
  const line = reader.lines[reader.pos]!;
  const value = isSequenceLine(line.text) ? readBlockSequence(reader, indent) : readBlockMap(reader, indent);
  reader.depth -= 1;
  return value;
}

function readBlockMap(reader: Reader, indent: number): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  while (reader.pos < reader.lines.length) {
    const line = reader.lines[reader.pos]!;
    if (line.indent < indent) break;
    if (line.indent > indent || isSequenceLine(line.text)) giveUp();
    const match = BLOCK_KEY.exec(line.text);
    if (match === null) giveUp();
    const key = match[1]!;
    if (SPECIAL_KEYS.has(key) || Object.hasOwn(map, key)) giveUp();
    const rest = line.text.slice(match[0].length);
    reader.pos += 1;
    map[key] = rest === '' || rest.startsWith('#') ? readNestedValue(reader, indent) : readInlineValue(reader, rest, indent);
  }
  return map;
}

/** The value of `key:` with nothing after it: a deeper block, a sequence at the same indent, or null. */
function readNestedValue(reader: Reader, indent: number): unknown {
  const next = reader.lines[reader.pos];
  if (next === undefined) return null;
  if (next.indent > indent) return readBlockNode(reader, next.indent);
  if (next.indent === indent && isSequenceLine(next.text)) return readBlockSequence(reader, indent);
  return null;
}

/** A one-line value; a deeper line after it would be a continuation, which the subset leaves out. */
function readInlineValue(reader: Reader, text: string, indent: number): unknown {
  const value = readScalarOrFlow(text);
  const next = reader.lines[reader.pos];
  if (next !== undefined && next.indent > indent) giveUp();
  return value;
}

function readBlockSequence(reader: Reader, indent: number): unknown[] {
  const items: unknown[] = [];
  while (reader.pos < reader.lines.length) {
    const line = reader.lines[reader.pos]!;
    if (line.indent < indent || (line.indent === indent && !isSequenceLine(line.text))) break;
    if (line.indent > indent || line.text === '-') giveUp();
    const after = line.text.slice(2);
    let spaces = 0;
    while (after.charCodeAt(spaces) === 0x20) spaces += 1;
    const itemText = after.slice(spaces);
    if (itemText.startsWith('#') || isSequenceLine(itemText)) giveUp();
    if (BLOCK_KEY.test(itemText)) {
      // `- key: value`: a mapping whose keys sit at the column after the dash.
      const column = indent + 2 + spaces;
      reader.lines[reader.pos] = { indent: column, text: itemText };
      items.push(readBlockNode(reader, column));
    } else {
      reader.pos += 1;
      items.push(readInlineValue(reader, itemText, indent));
    }
  }
  return items;
}

/** A scalar or flow collection filling the rest of a line, with an optional trailing comment. */
function readScalarOrFlow(text: string): unknown {
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
  if (++cursor.depth > MAX_DEPTH) giveUp();
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
  FLOW_KEY.lastIndex = cursor.i;
  const match = FLOW_KEY.exec(cursor.text);
  if (match === null) giveUp();
  const key = match[0];
  const end = cursor.i + key.length;
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
