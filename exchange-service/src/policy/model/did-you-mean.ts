/**
 * Unknown keys, for people: the keys a zod schema allows at a path, and the
 * "did you mean" hint for a key that is not one of them. Used for policy
 * files (parse-file.ts); the service config's walk is the same one.
 */
import * as z from 'zod';

/**
 * The keys the schema allows in the object at `path`: defaults, optionals
 * and nullables are unwrapped, a record's members all have its value
 * schema. Empty when `path` leads to no object of the schema.
 */
export function schemaKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node = schema;
  for (const segment of path) {
    const inner = unwrapSchema(node);
    if (inner instanceof z.ZodObject) {
      const next = (inner.shape as Record<string, z.ZodType>)[String(segment)];
      if (next === undefined) return [];
      node = next;
    } else if (inner instanceof z.ZodRecord) {
      node = inner.valueType as z.ZodType;
    } else {
      return [];
    }
  }
  const inner = unwrapSchema(node);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

/** The schema inside any defaults, optionals and nullables. */
function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

/** `unknown key "subjet" (did you mean "subject"?)`, or with the keys expected when none is near. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const near = known.find((candidate) => editDistance(candidate, key) <= 2);
  const hint = near !== undefined ? ` (did you mean "${near}"?)` : known.length > 0 ? ` (expected one of ${known.join(', ')})` : '';
  return `unknown key "${key}"${hint}`;
}

/** Levenshtein distance, for "did you mean" on short keys. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
