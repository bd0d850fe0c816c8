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
import { GIVE_UP, SPECIAL_KEYS, giveUp, keyLength, readScalarOrFlow } from './yaml-subset-inline.ts';

/** Returned when the text is outside the subset: parse it with the full YAML parser. */
export const OUTSIDE_SUBSET: unique symbol = Symbol('outside the YAML subset');

/** Nesting deeper than this is left to the full parser. */
const MAX_DEPTH = 32;

interface Line {
  indent: number;
  text: string;
}

const NOT_PRINTABLE_ASCII = /[^\n\x20-\x7e]/;
const SPACE = 0x20;
const HASH = 0x23;
const PERCENT = 0x25;
const COLON = 0x3a;

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
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let indent = start;
    while (text.charCodeAt(indent) === SPACE) indent += 1;
    const first = text.charCodeAt(indent);
    if (indent < end && first !== HASH) {
      if (indent === start && (first === PERCENT || text.startsWith('---', start) || text.startsWith('...', start))) return undefined;
      let last = end;
      while (text.charCodeAt(last - 1) === SPACE) last -= 1;
      lines.push({ indent: indent - start, text: text.slice(indent, last) });
    }
    start = end + 1;
  }
  return lines;
}

interface Reader {
  lines: Line[];
  pos: number;
  depth: number;
}

const isSequenceLine = (text: string): boolean => text === '-' || text.startsWith('- ');

/** `key:` followed by a space or the end of the line: the key's length, else 0. */
function blockKeyLength(text: string): number {
  const length = keyLength(text, 0);
  if (length === 0 || text.charCodeAt(length) !== COLON) return 0;
  return length + 1 === text.length || text.charCodeAt(length + 1) === SPACE ? length : 0;
}

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
    const length = blockKeyLength(line.text);
    if (length === 0) giveUp();
    const key = line.text.slice(0, length);
    if (SPECIAL_KEYS.has(key) || Object.hasOwn(map, key)) giveUp();
    let valueStart = length + 1;
    while (line.text.charCodeAt(valueStart) === SPACE) valueStart += 1;
    const rest = line.text.slice(valueStart);
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
    if (blockKeyLength(itemText) > 0) {
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
