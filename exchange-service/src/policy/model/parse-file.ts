/**
 * One policy file's bytes → a validated, rule-checked PolicyFile, or every
 * problem in it with its line and column. No I/O, so the loader can run it
 * inline or on worker threads.
 *
 * Most files go through the fast YAML subset reader; any file outside it,
 * and any file with a problem, is parsed with the full `yaml` parser so that
 * each problem points at the node (or, for an unknown key, the key) at fault.
 */
import { hash } from 'node:crypto';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type * as z from 'zod';
import { PolicyFile } from './schema.ts';
import { checkPolicy, type CompileProblem, type IssuerKind } from './compile.ts';
import { schemaKeysAt, unknownKeyMessage } from './did-you-mean.ts';
import { copyInterned, type StringInterner } from './string-interner.ts';
import { OUTSIDE_SUBSET, parseYamlSubset } from './yaml-subset.ts';

/** Something wrong with a policy file, where it is. */
export interface PolicyProblem {
  file: string;
  line?: number;
  column?: number;
  message: string;
}

/** The service settings a policy is checked against. */
export interface ParseFileOptions {
  /** The service's issuers by name; when absent, every issuer name is accepted and treated as kind github. */
  issuers?: Readonly<Record<string, { kind: IssuerKind }>> | undefined;
  /** The service's `limits.max_ttl`, seconds. */
  maxTtl?: number | undefined;
}

/** A checked policy file (with its digest), or its problems. */
export type ParsedFile = { ok: true; policy: PolicyFile; issuerKind: IssuerKind; digest: string } | { ok: false; problems: PolicyProblem[]; digest: string };

type Path = readonly PropertyKey[];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses, validates and checks one file; `file` is the path problems are
 * reported under. The policy shares no string with the file's text: its
 * strings go through the load's `intern` (see string-interner.ts).
 */
export function parsePolicyBytes(bytes: Uint8Array, file: string, options: ParseFileOptions, intern: StringInterner): ParsedFile {
  const digest = hash('sha256', bytes, 'hex');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, digest, problems: [{ file, line: 1, column: 1, message: 'the file is not valid UTF-8' }] };
  }
  const result = parsePolicyText(text, file, options);
  return result.ok ? { ...result, policy: copyInterned(result.policy, intern) as PolicyFile, digest } : { ok: false, digest, problems: result.problems };
}

/** A checked policy file's content, or its problems. */
export type ParsedText = { ok: true; policy: PolicyFile; issuerKind: IssuerKind } | { ok: false; problems: PolicyProblem[] };

/** Parses, validates and checks one file's text. */
export function parsePolicyText(text: string, file: string, options: ParseFileOptions): ParsedText {
  try {
    return parseChecked(text, file, options);
  } catch (error) {
    // Pathological files (nesting deep enough to exhaust the stack) are problems too, never a crash.
    if (!(error instanceof RangeError)) throw error;
    return { ok: false, problems: [{ file, line: 1, column: 1, message: `the file cannot be read: ${error.message}` }] };
  }
}

function parseChecked(text: string, file: string, options: ParseFileOptions): ParsedText {
  let data = parseYamlSubset(text);
  let full: FullParse | undefined;
  if (data === OUTSIDE_SUBSET) {
    full = parseFull(text);
    if (full.problems.length > 0) return { ok: false, problems: full.problems.map((p) => ({ file, ...p })) };
    data = full.data;
  }
  // The subset reader never yields a `__proto__` key; the full parser keeps it as an own property.
  const checked = checkData(data, options, full !== undefined);
  if (checked.ok) return checked;
  const located = full ?? parseFull(text);
  return { ok: false, problems: checked.problems.map((problem) => ({ file, ...located.locate(problem.path, problem.at), message: problem.message })) };
}

interface PathProblem {
  path: Path;
  message: string;
  /** Point at the key (unknown keys) or at the value. */
  at: 'key' | 'value';
}

function checkData(
  data: unknown,
  options: ParseFileOptions,
  mayHaveProto: boolean,
): { ok: true; policy: PolicyFile; issuerKind: IssuerKind } | { ok: false; problems: PathProblem[] } {
  // zod drops `__proto__` keys from records without a word, and a dropped key is a dropped condition.
  const proto = mayHaveProto ? protoKeys(data) : [];
  if (proto.length > 0)
    return { ok: false, problems: proto.map((path) => ({ path, at: 'key', message: withPath(path.slice(0, -1), '"__proto__" is not allowed as a key') })) };
  const parsed = PolicyFile.safeParse(data);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.flatMap((issue) => describeIssue(issue, data)) };
  const issuerKind = issuerKindOf(parsed.data.issuer, options);
  if (issuerKind === undefined) {
    const configured = Object.keys(options.issuers ?? {}).join(', ') || 'none';
    return {
      ok: false,
      problems: [{ path: ['issuer'], at: 'value', message: `issuer "${parsed.data.issuer}" is not configured on this service (configured: ${configured})` }],
    };
  }
  const problems: CompileProblem[] = checkPolicy(parsed.data, { issuerKind, maxTtl: options.maxTtl });
  if (problems.length === 0) return { ok: true, policy: parsed.data, issuerKind };
  return { ok: false, problems: problems.map((problem) => ({ path: problem.path, at: 'value', message: withPath(problem.path, problem.message) })) };
}

function issuerKindOf(issuer: string, options: ParseFileOptions): IssuerKind | undefined {
  if (options.issuers === undefined) return 'github';
  return Object.hasOwn(options.issuers, issuer) ? options.issuers[issuer]!.kind : undefined;
}

interface FullParse {
  data: unknown;
  problems: Array<{ line: number; column: number; message: string }>;
  locate(path: Path, at: 'key' | 'value'): { line: number; column: number };
}

/** The full YAML parser, keeping positions. */
function parseFull(text: string): FullParse {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const problems = doc.errors.map((error) => ({ ...position(error.pos[0]), message: `YAML: ${error.message}` }));
  let data: unknown;
  if (problems.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push({ line: 1, column: 1, message: `YAML: ${(error as Error).message}` });
    }
  }
  return { data, problems, locate: (path, at) => position(nodeOffset(doc, path, at)) };
}

/** The offset of the node at `path` (or of its key), or of its deepest existing ancestor. */
function nodeOffset(doc: Document, path: Path, at: 'key' | 'value'): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [index, segment] of path.entries()) {
    let next: unknown;
    let keyNode: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === segment);
      keyNode = pair?.key;
      next = pair?.value ?? pair?.key;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined || next === null) break;
    // A key, and a mapping or list value, are shown at the key (`subject:`); a scalar value at itself.
    const atKey = index === path.length - 1 && (at === 'key' || isMap(next) || isSeq(next));
    offset = (atKey ? rangeStart(keyNode) : undefined) ?? rangeStart(next) ?? offset;
    node = next;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}

/** `subject.event_name[1]` */
export function formatPath(path: Path): string {
  return path.reduce<string>(
    (text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text === '' ? String(segment) : `${text}.${String(segment)}`),
    '',
  );
}

const withPath = (path: Path, message: string): string => (path.length === 0 ? message : `${formatPath(path)}: ${message}`);

/** Turns a zod issue into located problems with messages people can act on. */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): PathProblem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: [...path, key],
      at: 'key' as const,
      message: withPath(path, unknownKeyMessage(key, schemaKeysAt(PolicyFile, path))),
    }));
  }
  if (issue.code === 'invalid_union') {
    const branch = matchingBranch(issue.errors);
    if (branch !== undefined) return branch.flatMap((inner) => describeIssue({ ...inner, path: [...path, ...inner.path] }, data));
  }
  if (issue.code === 'invalid_type' && valueAt(data, path) === undefined && path.length > 0) {
    const parent = path.slice(0, -1);
    return [{ path: parent, at: 'value', message: withPath(parent, `missing required key "${String(path.at(-1))}"`) }];
  }
  return [{ path, at: 'value', message: withPath(path, issue.message.replace(/^Invalid (input|option): /, '')) }];
}

/** Of a union's branches, the one whose type the value had (its issues are deeper than the root), if exactly one. */
function matchingBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  const typed = branches.filter((issues) => !issues.some((issue) => issue.code === 'invalid_type' && issue.path.length === 0));
  return typed.length === 1 ? typed[0] : undefined;
}

/** Paths of every `__proto__` key (the full YAML parser keeps them as own properties). */
function protoKeys(data: unknown, path: readonly PropertyKey[] = []): Path[] {
  if (data === null || typeof data !== 'object') return [];
  const found: Path[] = Object.hasOwn(data, '__proto__') ? [[...path, '__proto__']] : [];
  for (const [key, value] of Object.entries(data)) found.push(...protoKeys(value, [...path, Array.isArray(data) ? Number(key) : key]));
  return found;
}

function valueAt(data: unknown, path: Path): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}
