/**
 * Subject conditions in `policy diff`: a dropped condition widens, an added
 * one narrows, and a changed pattern list is compared by what it matches
 * (glob containment), not by its text. The comparison holds whatever the
 * issuer's kind: a change counts as narrower only if it is narrower both
 * under exact comparison and under GitHub's ASCII case folding.
 */
import { allContained, classify, foldTokens, globsContained, policyGlobTokens, type Containment, type GlobTokens } from './diff-glob.ts';
import { FOLDED_CLAIMS, WORKFLOW_REF_CLAIMS, foldPatternOwnerRepoPrefix } from '../model/claims.ts';
import { foldAscii } from '../model/glob.ts';
import { change, type PolicyFieldChange } from './diff-change.ts';
import type { CompiledPolicy } from '../model/compile.ts';

const PULL_REQUEST_TARGET = 'pull_request_target';

/** The changes to `subject` between two versions of a policy, by claim name. */
export function compareSubjects(before: CompiledPolicy, after: CompiledPolicy): PolicyFieldChange[] {
  const old = new Map(before.conditions.map((condition) => [condition.claim, condition.patterns]));
  const now = new Map(after.conditions.map((condition) => [condition.claim, condition.patterns]));
  const claims = [...new Set([...old.keys(), ...now.keys()])].sort();
  const changes: PolicyFieldChange[] = [];
  for (const claim of claims) {
    const field = `subject.${claim}`;
    const was = old.get(claim);
    const is = now.get(claim);
    if (is === undefined) changes.push(change(field, 'wider', was ?? [], [], 'condition removed: any value now passes'));
    else if (was === undefined) changes.push(change(field, 'narrower', [], is, 'condition added'));
    else {
      const compared = comparePatterns(claim, was, is);
      if (compared !== undefined) changes.push(compared);
    }
  }
  if (before.allowsPullRequestTarget !== after.allowsPullRequestTarget) mergePullRequestTarget(changes, after.allowsPullRequestTarget);
  return changes;
}

/** One claim's pattern lists compared by the values they match; undefined when the text is the same. */
export function comparePatterns(claim: string, before: readonly string[], after: readonly string[]): PolicyFieldChange | undefined {
  if (sameList(before, after)) return undefined;
  const field = `subject.${claim}`;
  const afterInBefore = patternsContained(claim, after, before);
  const beforeInAfter = patternsContained(claim, before, after);
  const verdict = classify(afterInBefore, beforeInAfter);
  if (verdict === 'equal') return change(field, 'neutral', before, after, 'rewritten: matches the same values');
  if (verdict === 'narrower') return change(field, 'narrower', before, after);
  if (verdict === 'wider') return change(field, 'wider', before, after);
  return change(field, 'review', before, after, reviewNote(claim, before, after, afterInBefore, beforeInAfter));
}

function reviewNote(claim: string, before: readonly string[], after: readonly string[], afterInBefore: Containment, beforeInAfter: Containment): string {
  if (afterInBefore === undefined || beforeInAfter === undefined) return 'changed: could not decide whether this widens';
  const folded = (list: readonly string[]): string => [...new Set(list.map(foldAscii))].sort().join('\n');
  if (FOLDED_CLAIMS.has(claim) && folded(before) === folded(after)) return 'changed only in letter case (the same values for GitHub issuers, which fold case)';
  return 'changed: now matches values it did not before';
}

/**
 * `after` ⊆ `before` as the service matches: exactly, and also with GitHub's
 * folding for the claims it folds. The folded check compares the folded
 * patterns, which is enough to show containment of the folded matches.
 */
function patternsContained(claim: string, inner: readonly string[], outer: readonly string[]): Containment {
  const exact = globsContained(inner.map(policyGlobTokens), outer.map(policyGlobTokens));
  const fold = githubFolding(claim);
  if (fold === undefined) return exact;
  return allContained([exact, globsContained(inner.map(fold), outer.map(fold))]);
}

function githubFolding(claim: string): ((pattern: string) => GlobTokens) | undefined {
  if (FOLDED_CLAIMS.has(claim)) return (pattern) => foldTokens(policyGlobTokens(pattern));
  if (WORKFLOW_REF_CLAIMS.has(claim)) return (pattern) => policyGlobTokens(foldPatternOwnerRepoPrefix(pattern));
  return undefined;
}

/**
 * Listing pull_request_target by name turns on an event the service denies
 * otherwise: a change of its own, folded into the event_name change when
 * both point the same way.
 */
function mergePullRequestTarget(changes: PolicyFieldChange[], allowedNow: boolean): void {
  const effect = allowedNow ? 'wider' : 'narrower';
  const note = allowedNow
    ? "now lists pull_request_target: jobs for fork pull requests run with the base repository's privileges"
    : 'no longer lists pull_request_target';
  const index = changes.findIndex((item) => item.field === 'subject.event_name');
  const existing = changes[index];
  if (existing !== undefined && (existing.effect === effect || existing.effect === 'neutral')) {
    changes[index] = { ...existing, effect, note: existing.note === undefined || existing.effect === 'neutral' ? note : `${existing.note}; ${note}` };
    return;
  }
  changes.push(
    allowedNow ? change('subject.event_name', effect, [], [PULL_REQUEST_TARGET], note) : change('subject.event_name', effect, [PULL_REQUEST_TARGET], [], note),
  );
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((item, i) => item === b[i]);
