/**
 * Evaluates a compiled policy against a verified token's claims (SPEC §2),
 * condition by condition, and words a denial without revealing the policy.
 */
import { claimText } from './claims.ts';
import type { CompiledPolicy } from './compile.ts';
import { showValue } from './show-value.ts';

// Where the service's callers have always found it.
export { showValue } from './show-value.ts';

/** The outcome of one condition. */
export interface ConditionResult {
  claim: string;
  ok: boolean;
  /** The token's value; undefined when the claim is absent. */
  actual: unknown;
  expected: readonly string[];
  /** Names the token's value only, e.g. `ref "refs/heads/dev" is not allowed`. */
  why: string;
}

/** The policy's verdict: granted only if every condition holds. */
export interface Evaluation {
  granted: boolean;
  conditions: readonly ConditionResult[];
}

/** How much a denial says: the token's failing values, also what was expected, or nothing. */
export type DenialDetail = 'conditions' | 'full' | 'none';

const PULL_REQUEST_TARGET = 'pull_request_target';

/** Checks every condition (all must hold) and the pull_request_target rule. */
export function evaluatePolicy(policy: CompiledPolicy, claims: Readonly<Record<string, unknown>>): Evaluation {
  const conditions: ConditionResult[] = policy.conditions.map((condition) => {
    // Own properties only: a claim named `constructor` must not read Object.prototype's.
    const actual = Object.hasOwn(claims, condition.claim) ? claims[condition.claim] : undefined;
    const base = { claim: condition.claim, actual, expected: condition.patterns };
    const text = claimText(actual) ?? undefined;
    if (text === undefined) return { ...base, ok: false, why: wrongType(condition.claim, actual) };
    const ok = condition.match(text);
    return { ...base, ok, why: `${condition.claim} ${showValue(text)} is ${ok ? 'allowed' : 'not allowed'}` };
  });
  const prt = pullRequestTargetResult(policy, claims, conditions);
  if (prt !== undefined) conditions.push(prt);
  return { granted: conditions.every((condition) => condition.ok), conditions };
}

/**
 * `pull_request_target` runs with the base repository's privileges on behalf
 * of a fork's author: denied unless the policy lists the event by name (a
 * glob such as `pull_request*` does not count).
 */
function pullRequestTargetResult(
  policy: CompiledPolicy,
  claims: Readonly<Record<string, unknown>>,
  results: readonly ConditionResult[],
): ConditionResult | undefined {
  const event = Object.hasOwn(claims, 'event_name') ? claims.event_name : undefined;
  if (event !== PULL_REQUEST_TARGET || policy.allowsPullRequestTarget) return undefined;
  // Already denied by the policy's own event_name condition: one reason is enough.
  if (results.some((result) => result.claim === 'event_name' && !result.ok)) return undefined;
  const listed = policy.conditions.find((condition) => condition.claim === 'event_name');
  return {
    claim: 'event_name',
    ok: false,
    actual: event,
    expected: listed?.patterns ?? [],
    why: `event_name "${PULL_REQUEST_TARGET}" is not allowed unless the policy names it explicitly`,
  };
}

function wrongType(claim: string, value: unknown): string {
  if (value === undefined) return `claim ${claim} is missing`;
  if (value === null) return `claim ${claim} is null, not a string`;
  if (Array.isArray(value)) return `claim ${claim} is an array, not a string`;
  return `claim ${claim} is ${typeof value === 'object' ? 'an object' : `a ${typeof value}`}, not a string`;
}

/**
 * Words a denial for the client. `conditions` names each failed condition
 * with the token's own value only; `full` adds what the policy expected;
 * `none` says only that the policy was not satisfied.
 */
export function describeDenial(evaluation: Evaluation, mode: DenialDetail): string {
  if (mode === 'none') return 'the token does not satisfy the policy';
  const failed = evaluation.conditions.filter((condition) => !condition.ok);
  if (failed.length === 0) return evaluation.granted ? 'the token satisfies the policy' : 'policy denied';
  const reasons = failed.map((condition) =>
    mode === 'full' && condition.expected.length > 0 ? `${condition.why} (expected ${expectedText(condition.expected)})` : condition.why,
  );
  return `policy denied: ${reasons.join('; ')}`;
}

function expectedText(expected: readonly string[]): string {
  const shown = expected.map(showValue);
  return shown.length === 1 ? shown[0]! : `one of ${shown.join(', ')}`;
}
