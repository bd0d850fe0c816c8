/** The `duplicate-subject` lint rule: it compares policies with each other, not one policy alone. */
import { FOLDED_CLAIMS } from '../model/claims.ts';
import type { CompiledPolicy, IssuerKind } from '../model/compile.ts';
import { foldAscii } from '../model/glob.ts';
import type { LintFinding } from './lint-rules.ts';

/**
 * Policies of one issuer whose subjects hold for exactly the same tokens as
 * another's (same claims, same patterns in any order; GitHub's case-folded
 * claims compared folded): a copy that was meant to differ.
 */
export function lintDuplicateSubjects(
  policies: Iterable<CompiledPolicy>,
  issuerKindOf: (policy: CompiledPolicy) => IssuerKind,
): Map<CompiledPolicy, LintFinding[]> {
  const groups = new Map<string, CompiledPolicy[]>();
  for (const policy of policies) {
    const key = subjectKey(policy, issuerKindOf(policy) === 'github');
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [policy]);
    else group.push(policy);
  }
  const found = new Map<CompiledPolicy, LintFinding[]>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (const policy of group) {
      const others = group.filter((other) => other !== policy).map((other) => other.name);
      found.set(policy, [
        {
          rule: 'duplicate-subject',
          path: ['subject'],
          at: 'key',
          message: `the subject is the same as ${others.join(', ')}'s (issuer ${policy.issuer}): the same jobs get both grants`,
          fix: 'tell the policies apart with a condition (workflow_ref, environment), or merge them if one grant is meant',
        },
      ]);
    }
  }
  return found;
}

function subjectKey(policy: CompiledPolicy, github: boolean): string {
  const conditions = policy.conditions.map((condition) => {
    const fold = github && FOLDED_CLAIMS.has(condition.claim);
    const patterns = [...new Set(condition.patterns.map((pattern) => (fold ? foldAscii(pattern) : pattern)))].sort();
    return [condition.claim, patterns] as const;
  });
  conditions.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([policy.issuer, conditions]);
}
