/**
 * `policy check`'s lint (SPEC §2): loads the folder with the service's own
 * loader (so load errors are exactly the service's), then runs the lint
 * rules over the loaded set and places each finding at the line and column
 * of the node it is about.
 */
import { hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { CompiledPolicy, IssuerKind } from '../model/compile.ts';
import { loadPolicies, type LoadPoliciesOptions, type PolicySet } from '../load/load.ts';
import { createPositionLocator, type PositionLocator } from './lint-positions.ts';
import { lintDuplicateSubjects } from './lint-duplicates.ts';
import { lintPolicy, type LintFinding } from './lint-rules.ts';

/** A lint warning: the service loads the policy, but a reviewer should look at it. */
export interface LintWarning {
  /** Stable id, e.g. `unbound-repository-id`. */
  rule: string;
  /** Policy name. */
  policy: string;
  /** Path as the loader reports it. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** One line. */
  message: string;
  /** One line. */
  fix: string;
}

/** Files read at once while placing warnings. */
const READ_CONCURRENCY = 16;

/**
 * Loads DIR with the service's loader (throws PolicyLoadError on errors,
 * exactly like loadPolicies) and lints the loaded set. Warnings sorted by
 * file, line, column, rule.
 */
export async function lintPolicies(dir: string, options: LoadPoliciesOptions = {}): Promise<{ set: PolicySet; warnings: LintWarning[] }> {
  const set = await loadPolicies(dir, options);
  return { set, warnings: await lintPolicySet(set, options) };
}

/** Lints an already loaded set; `options` are the ones it was loaded with (they give each issuer's kind). */
export async function lintPolicySet(set: PolicySet, options: Pick<LoadPoliciesOptions, 'issuers'> = {}): Promise<LintWarning[]> {
  const kindOf = (policy: CompiledPolicy): IssuerKind => options.issuers?.[policy.issuer]?.kind ?? 'github';
  const findings = new Map<CompiledPolicy, LintFinding[]>();
  for (const policy of set.policies.values()) {
    const found = lintPolicy(policy, kindOf(policy));
    if (found.length > 0) findings.set(policy, found);
  }
  for (const [policy, found] of lintDuplicateSubjects(set.policies.values(), kindOf)) findings.set(policy, [...(findings.get(policy) ?? []), ...found]);
  const warnings: LintWarning[] = [];
  const entries = [...findings];
  for (let start = 0; start < entries.length; start += READ_CONCURRENCY) {
    const batch = entries.slice(start, start + READ_CONCURRENCY);
    const placed = await Promise.all(batch.map(async ([policy, found]) => place(policy, found, await locatorFor(policy))));
    warnings.push(...placed.flat());
  }
  return warnings.sort(compareWarnings);
}

/** A locator over the policy's file, if the file still holds what was loaded; otherwise every warning sits at 1:1. */
async function locatorFor(policy: CompiledPolicy): Promise<PositionLocator> {
  const start: PositionLocator = { locate: () => ({ line: 1, column: 1 }) };
  try {
    const bytes = await readFile(policy.file);
    if (hash('sha256', bytes, 'hex') !== policy.digest) return start;
    return createPositionLocator(new TextDecoder().decode(bytes));
  } catch {
    return start;
  }
}

function place(policy: CompiledPolicy, found: readonly LintFinding[], locator: PositionLocator): LintWarning[] {
  return found.map((item) => ({
    rule: item.rule,
    policy: policy.name,
    file: policy.file,
    ...locator.locate(item.path, item.at),
    message: item.message,
    fix: item.fix,
  }));
}

function compareWarnings(a: LintWarning, b: LintWarning): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);
}
