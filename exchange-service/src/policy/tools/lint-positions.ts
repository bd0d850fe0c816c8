/**
 * Where a lint finding is in its file: the policy text is parsed again with
 * the full `yaml` parser (the loader's fast subset reader keeps no
 * positions), and a path into the document (`['subject', 'event_name', 1]`)
 * becomes a 1-based line and column.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';

/** A path into a policy document: mapping keys and list indexes. */
export type DocumentPath = readonly (string | number)[];

/** Point at a mapping key (`subject:`) or at the node it names (a scalar value, a list item). */
export type PositionTarget = 'key' | 'value';

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** Finds positions in one file's text. */
export interface PositionLocator {
  /**
   * The position of the node at `path`, or of the key that names it; where
   * the path leaves the document (a scalar where a list was expected), the
   * deepest node that exists.
   */
  locate(path: DocumentPath, at: PositionTarget): Position;
}

/** Parses `text` once for any number of lookups. A text the parser cannot read answers 1:1 for every path. */
export function createPositionLocator(text: string): PositionLocator {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const start: Position = { line: 1, column: 1 };
  if (doc.errors.length > 0) return { locate: () => start };
  return {
    locate(path, at) {
      const offset = nodeOffset(doc, path, at);
      if (offset === undefined) return start;
      const { line, col } = lineCounter.linePos(offset);
      return { line, column: col };
    },
  };
}

/** The offset of the node at `path` (or of its key), or of its deepest existing ancestor. */
function nodeOffset(doc: Document, path: DocumentPath, at: PositionTarget): number | undefined {
  let node: unknown = resolve(doc, doc.contents);
  let offset = rangeStart(node);
  for (const [index, segment] of path.entries()) {
    const step = childOf(doc, node, segment);
    if (step === undefined) break;
    const last = index === path.length - 1;
    offset = (last && at === 'key' ? rangeStart(step.key) : undefined) ?? rangeStart(step.value) ?? offset;
    node = step.value;
  }
  return offset;
}

/** The child node under `segment`, with the key node that names it when the parent is a mapping. */
function childOf(doc: Document, node: unknown, segment: string | number): { key?: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((item) => (isScalar(item.key) ? String(item.key.value) : undefined) === String(segment));
    if (pair === undefined) return undefined;
    // `key:` with no value: the key is all there is to point at.
    const value = pair.value === null ? pair.key : resolve(doc, pair.value);
    return { key: pair.key, value };
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item: unknown = node.items[segment];
    return item === undefined || item === null ? undefined : { value: resolve(doc, item) };
  }
  return undefined;
}

/** Follows an alias (`*base`) to its anchored node, so positions point at what the alias stands for. */
function resolve(doc: Document, node: unknown): unknown {
  return isAlias(node) ? (node.resolve(doc) ?? node) : node;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}
