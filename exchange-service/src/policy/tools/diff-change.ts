/**
 * The unit of `policy diff`: one field of one policy that changed, and which
 * way the access moved. Only a proven containment makes a change narrower;
 * anything undecided is `review` and counts as widened.
 */

/**
 * `wider`: the policy now grants more (or something else); `narrower`: less;
 * `review`: neither direction could be shown (counted as widened);
 * `neutral`: an edit that changes no access (a description, a region, a
 * rewritten pattern list that matches the same values).
 */
export type ChangeEffect = 'wider' | 'narrower' | 'review' | 'neutral';

/** One field of one policy that changed. */
export interface PolicyFieldChange {
  /** What changed: `subject.ref`, `ttl.max`, `grant.aws.role_arn`, `grant.token.scope`, … */
  field: string;
  effect: ChangeEffect;
  /** The values before and after, as written (an empty list: absent). */
  before: readonly string[];
  after: readonly string[];
  /** A short explanation for the reviewer. */
  note?: string | undefined;
}

/** A change record; `note` only when there is one. */
export function change(field: string, effect: ChangeEffect, before: readonly string[], after: readonly string[], note?: string): PolicyFieldChange {
  return note === undefined ? { field, effect, before, after } : { field, effect, before, after, note };
}

/**
 * Compares two lists read as sets (scopes, repositories, managed policy
 * ARNs): additions are one `wider` change, removals one `narrower` change.
 */
export function compareSets(field: string, before: readonly string[], after: readonly string[]): PolicyFieldChange[] {
  const old = new Set(before);
  const now = new Set(after);
  const added = [...now].filter((item) => !old.has(item)).sort();
  const removed = [...old].filter((item) => !now.has(item)).sort();
  const changes: PolicyFieldChange[] = [];
  if (added.length > 0) changes.push(change(field, 'wider', [], added, 'added'));
  if (removed.length > 0) changes.push(change(field, 'narrower', removed, [], 'removed'));
  return changes;
}

/** A number that grows is wider (TTLs); shown with `format`. */
export function compareNumbers(field: string, before: number, after: number, format: (value: number) => string): PolicyFieldChange[] {
  if (before === after) return [];
  return [change(field, after > before ? 'wider' : 'narrower', [format(before)], [format(after)])];
}

/** JSON text with object keys sorted, so equal documents compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
