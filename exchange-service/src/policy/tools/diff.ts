/**
 * `policy diff`: what access changes between two loaded policy sets, policy
 * by policy — added, removed, widened, narrowed — and the lint warnings the
 * change introduces. Pure functions over loaded sets; reading git
 * revisions is git-revision.ts, the Markdown is diff-markdown.ts.
 *
 * A policy with any wider or undecided change is widened (its narrower
 * changes are listed with it); one with only narrower changes is narrowed;
 * one whose edits change no access is edited.
 */
import { formatDuration } from '../../duration.ts';
import { change, compareNumbers, type PolicyFieldChange } from './diff-change.ts';
import { compareGrants, grantTarget } from './diff-grant.ts';
import { compareSubjects } from './diff-subject.ts';
import type { CompiledPolicy } from '../model/compile.ts';
import type { PolicyProblem } from '../load/load.ts';

export type { ChangeEffect, PolicyFieldChange } from './diff-change.ts';

/** A lint warning as the diff needs it (lint.ts's LintWarning has these fields and more). */
export interface DiffLintWarning {
  rule: string;
  policy: string;
  file: string;
  line: number;
  message: string;
}

/** One revision's policy set. */
export interface DiffSide {
  /** The policies by name; undefined when the set does not load. */
  policies: ReadonlyMap<string, CompiledPolicy> | undefined;
  /** Why the set does not load (empty when it does). */
  problems: readonly PolicyProblem[];
  /** The set's lint warnings; undefined when lint did not run. */
  warnings?: readonly DiffLintWarning[] | undefined;
  /** Shows a file path (from a temporary checkout to `policies/…`); default: as it is. */
  displayFile?: ((file: string) => string) | undefined;
}

/** An added or removed policy, summarised. */
export interface PolicySummary {
  name: string;
  file: string;
  issuer: string;
  kind: CompiledPolicy['grant']['kind'];
  target: string;
  /** `15m (max 30m)` */
  ttl: string;
  justification: CompiledPolicy['justification'];
  /** `claim: pattern | pattern`, in file order. */
  subject: string[];
}

/** A policy present on both sides whose file changed. */
export interface PolicyChange {
  name: string;
  file: string;
  changes: PolicyFieldChange[];
}

/** Everything `policy diff` reports, sorted by policy name. */
export interface PolicyDiff {
  added: PolicySummary[];
  removed: PolicySummary[];
  widened: PolicyChange[];
  narrowed: PolicyChange[];
  /** Edited without an access change (description, region, a rewritten pattern list). */
  edited: PolicyChange[];
  /** Policies on both sides with no change at all, or the same file digest. */
  unchanged: number;
  /** Head warnings whose (policy, rule) the base did not have. */
  introducedWarnings: DiffLintWarning[];
  /** False when lint did not run on the head. */
  linted: boolean;
  baseProblems: PolicyProblem[];
  headProblems: PolicyProblem[];
  /** False when the head does not load: nothing was compared. */
  compared: boolean;
}

/** Compares two versions of one policy, field by field. */
export function comparePolicies(before: CompiledPolicy, after: CompiledPolicy): PolicyFieldChange[] {
  const changes: PolicyFieldChange[] = [];
  if (before.issuer !== after.issuer) changes.push(change('issuer', 'wider', [before.issuer], [after.issuer], "trusts another issuer's tokens"));
  changes.push(...compareSubjects(before, after));
  changes.push(...compareNumbers('ttl.max', before.ttl.max, after.ttl.max, formatDuration));
  changes.push(...compareNumbers('ttl.default', before.ttl.default, after.ttl.default, formatDuration));
  if (before.justification !== after.justification) {
    changes.push(change('justification', after.justification === 'optional' ? 'wider' : 'narrower', [before.justification], [after.justification]));
  }
  changes.push(...compareGrants(before.grant, after.grant));
  if (before.description !== after.description) changes.push(change('description', 'neutral', [before.description], [after.description]));
  return changes;
}

/** Diffs two sides. Without a loadable head nothing is compared; without a loadable base every head policy counts as added. */
export function diffPolicySets(base: DiffSide, head: DiffSide): PolicyDiff {
  const diff: PolicyDiff = {
    added: [],
    removed: [],
    widened: [],
    narrowed: [],
    edited: [],
    unchanged: 0,
    introducedWarnings: [],
    linted: head.warnings !== undefined,
    baseProblems: displayProblems(base),
    headProblems: displayProblems(head),
    compared: head.policies !== undefined,
  };
  if (head.policies === undefined) return diff;
  const old = base.policies ?? new Map<string, CompiledPolicy>();
  const now = head.policies;
  for (const name of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const was = old.get(name);
    const is = now.get(name);
    if (was === undefined) diff.added.push(summarize(is!, head));
    else if (is === undefined) diff.removed.push(summarize(was, base));
    else classifyChange(diff, { name, file: show(head, is.file), changes: was.digest === is.digest ? [] : comparePolicies(was, is) });
  }
  diff.introducedWarnings = introducedWarnings(base, head);
  return diff;
}

function classifyChange(diff: PolicyDiff, policy: PolicyChange): void {
  const effects = new Set(policy.changes.map((item) => item.effect));
  if (effects.has('wider') || effects.has('review')) diff.widened.push(policy);
  else if (effects.has('narrower')) diff.narrowed.push(policy);
  else if (effects.has('neutral')) diff.edited.push(policy);
  else diff.unchanged += 1;
}

/** Warnings on the head whose (policy, rule) pair the base did not have, sorted by policy, rule and line. */
function introducedWarnings(base: DiffSide, head: DiffSide): DiffLintWarning[] {
  if (head.warnings === undefined) return [];
  const key = (warning: DiffLintWarning): string => `${warning.policy}\0${warning.rule}`;
  const before = new Set((base.warnings ?? []).map(key));
  return head.warnings
    .filter((warning) => !before.has(key(warning)))
    .map((warning) => ({ rule: warning.rule, policy: warning.policy, file: show(head, warning.file), line: warning.line, message: warning.message }))
    .sort((a, b) => compareText(a.policy, b.policy) || compareText(a.rule, b.rule) || a.line - b.line);
}

function summarize(policy: CompiledPolicy, side: DiffSide): PolicySummary {
  return {
    name: policy.name,
    file: show(side, policy.file),
    issuer: policy.issuer,
    kind: policy.grant.kind,
    target: grantTarget(policy.grant),
    ttl: `${formatDuration(policy.ttl.default)} (max ${formatDuration(policy.ttl.max)})`,
    justification: policy.justification,
    subject: policy.conditions.map((condition) => `${condition.claim}: ${condition.patterns.join(' | ')}`),
  };
}

function displayProblems(side: DiffSide): PolicyProblem[] {
  return side.problems.map((problem) => ({ ...problem, file: show(side, problem.file) }));
}

const show = (side: DiffSide, file: string): string => side.displayFile?.(file) ?? file;
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
