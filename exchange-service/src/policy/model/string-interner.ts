/**
 * String interning for a policy load: the parsers' strings are V8 slices of
 * each file's text and would keep all of it alive for as long as the policy
 * is loaded (about 4 MB per 10,000 policies), and many policies repeat the
 * same values (an audience, a scope, `refs/heads/main`). A load creates one
 * interner, passes it to every parse, and drops it when done; the policies
 * keep their shared strings.
 */

/** Returns the one copy of `text` this interner holds (made on first sight). */
export type StringInterner = (text: string) => string;

/** The table is emptied when it reaches this many strings, bounding a load's memory. */
const INTERNED_MAX = 100_000;

/** A fresh interner for one load. */
export function createStringInterner(max: number = INTERNED_MAX): StringInterner {
  const interned = new Map<string, string>();
  return (text) => {
    const known = interned.get(text);
    if (known !== undefined) return known;
    if (interned.size >= max) interned.clear();
    // A copy of its own: `text` may be a slice of the whole file, which it would keep alive.
    const own = ` ${text}`.slice(1);
    interned.set(own, own);
    return own;
  };
}

/**
 * A deep copy of parsed YAML data (strings, numbers, booleans, null, arrays,
 * plain objects) that shares no string with the file's text: every string,
 * key or value, goes through `intern`. Undefined members are dropped.
 */
export function copyInterned(value: unknown, intern: StringInterner): unknown {
  if (typeof value === 'string') return intern(value);
  if (Array.isArray(value)) return value.map((item) => copyInterned(item, intern));
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(value)) {
    if (member === undefined) continue;
    // A checked policy has no `__proto__` key (checkData refuses it); should one get here, it stays an own member.
    if (name === '__proto__') Object.defineProperty(copy, name, { value: copyInterned(member, intern), enumerable: true, writable: true, configurable: true });
    else copy[intern(name)] = copyInterned(member, intern);
  }
  return copy;
}
