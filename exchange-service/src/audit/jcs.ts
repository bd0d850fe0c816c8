/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the byte-exact form the audit
 * chain hashes, so an auditor can recompute it with any language's JCS library.
 *
 * - object members sorted by their names' UTF-16 code units, no whitespace;
 * - strings and numbers serialised exactly as ECMAScript's JSON.stringify does
 *   (RFC 8785 §3.2.2 adopts that serialisation);
 * - input must be I-JSON (RFC 7493): finite numbers, well-formed Unicode
 *   strings (no lone surrogates), plain objects and arrays only.
 */

/** The value cannot be canonicalised (not I-JSON, or not JSON data at all). */
export class CanonicalizationError extends TypeError {
  override name = 'CanonicalizationError';
}

/**
 * Returns the RFC 8785 canonical JSON text of `value`.
 *
 * Object members whose value is `undefined` are left out, as JSON.stringify
 * does; `undefined` (or a function, symbol, bigint) anywhere else, non-finite
 * numbers, lone surrogates, cycles and non-plain objects (Date, Map, class
 * instances) throw {@link CanonicalizationError}.
 */
export function canonicalize(value: unknown): string {
  return serialize(value, '$', new Set());
}

function serialize(value: unknown, path: string, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalizationError(`${path}: ${value} is not an I-JSON number`);
      return JSON.stringify(value);
    case 'string':
      if (!value.isWellFormed()) throw new CanonicalizationError(`${path}: string holds a lone surrogate`);
      return JSON.stringify(value);
    case 'object':
      return serializeContainer(value, path, ancestors);
    default:
      throw new CanonicalizationError(`${path}: ${typeof value} is not JSON data`);
  }
}

function serializeContainer(value: object, path: string, ancestors: Set<object>): string {
  if (ancestors.has(value)) throw new CanonicalizationError(`${path}: cyclic structure`);
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return serializeArray(value, path, ancestors);
    const prototype = Object.getPrototypeOf(value) as unknown;
    if (prototype !== Object.prototype && prototype !== null) {
      throw new CanonicalizationError(`${path}: only plain objects and arrays are JSON data`);
    }
    return serializeObject(value as Record<string, unknown>, path, ancestors);
  } finally {
    ancestors.delete(value);
  }
}

function serializeArray(items: readonly unknown[], path: string, ancestors: Set<object>): string {
  const parts: string[] = [];
  for (let index = 0; index < items.length; index += 1) {
    // A hole or `undefined` has no JSON form; JSON.stringify would silently write null.
    parts.push(serialize(items[index], `${path}[${index}]`, ancestors));
  }
  return `[${parts.join(',')}]`;
}

function serializeObject(object: Record<string, unknown>, path: string, ancestors: Set<object>): string {
  return `{${serializeMembers(object, path, ancestors)
    .map(([, text]) => text)
    .join(',')}}`;
}

/** The members of `object` in canonical order, each as its name and its `"name":value` text. */
function serializeMembers(object: Record<string, unknown>, path: string, ancestors: Set<object>): Array<[string, string]> {
  // Default sort compares UTF-16 code units, which is exactly RFC 8785 §3.2.3.
  const names = Object.keys(object).sort();
  const members: Array<[string, string]> = [];
  for (const name of names) {
    const member = object[name];
    if (member === undefined) continue;
    if (!name.isWellFormed()) throw new CanonicalizationError(`${path}: member name holds a lone surrogate`);
    members.push([name, `${JSON.stringify(name)}:${serialize(member, `${path}.${name}`, ancestors)}`]);
  }
  return members;
}

/**
 * The canonical members of a plain object (what {@link canonicalize} joins
 * between braces), each as its name and its `"name":value` text, in order:
 * for building the canonical text of the object plus one more member without
 * serialising the rest twice.
 */
export function canonicalMembers(object: Record<string, unknown>): Array<[string, string]> {
  const prototype = Object.getPrototypeOf(object) as unknown;
  if (typeof object !== 'object' || object === null || Array.isArray(object) || (prototype !== Object.prototype && prototype !== null)) {
    throw new CanonicalizationError('$: only a plain object has members');
  }
  return serializeMembers(object, '$', new Set([object]));
}
