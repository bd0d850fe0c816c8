/**
 * `policy explain`: the exchange's decision for a set of claims, policy by
 * policy and condition by condition. It runs the service's own checks, in
 * the order exchange.ts runs them, that depend on the claims alone: the
 * token's issuer among the configured ones (byte for byte), `trust.owners`,
 * the policy's issuer against the token's, then evaluatePolicy (every
 * subject condition and the pull_request_target rule). Signature, times,
 * audience, replay and rate limits need the live service and are not judged.
 */
import { formatDuration } from '../../duration.ts';
import { isTrustedOwner, ownerOf } from '../model/claims.ts';
import { evaluatePolicy, showValue, type ConditionResult } from '../model/evaluate.ts';
import { grantTarget } from './diff-grant.ts';
import type { CompiledPolicy, IssuerKind } from '../model/compile.ts';

/** An issuer of the service config: its name, `url` (the `iss` its tokens carry) and kind. */
export interface ExplainIssuer {
  name: string;
  url: string;
  kind: IssuerKind;
}

/** What the service config adds to the decision; without it the token's issuer is not checked. */
export interface ExplainOptions {
  issuers?: readonly ExplainIssuer[] | undefined;
  /** The config's `trust.owners`. */
  trustedOwners?: readonly string[] | undefined;
  /** Explain only the policy of this name. */
  policy?: string | undefined;
}

/** A check before the subject conditions: `checked` is false when the config needed for it was not given. */
export interface GateResult {
  ok: boolean;
  checked: boolean;
  /** People's wording; claim values in it went through showValue. */
  why: string;
}

/** The token's `iss` against the configured issuers. */
export interface TokenIssuerResult extends GateResult {
  /** The configured issuer's name, when `iss` is one. */
  name?: string | undefined;
}

/** What a policy grants: kind, target (audience, role ARN, repositories) and TTLs in seconds. */
export interface GrantSummary {
  kind: CompiledPolicy['grant']['kind'];
  target: string;
  ttl: { default: number; max: number };
  scope?: readonly string[] | undefined;
  justification: CompiledPolicy['justification'];
}

/** One policy's verdict and why. */
export interface PolicyExplanation {
  name: string;
  file: string;
  issuer: string;
  granted: boolean;
  /** The policy's issuer against the token's (SPEC §3: `policy_unknown` when they differ). */
  issuerMatch: GateResult;
  /** One per subject key, in file order. */
  conditions: readonly ConditionResult[];
  /** Rules beyond the subject keys that failed (the pull_request_target rule). */
  rules: readonly ConditionResult[];
  grant: GrantSummary;
}

/** The decision for every policy explained. */
export interface Explanation {
  issuer: TokenIssuerResult;
  /** `trust.owners`, when the config sets it and the token's issuer is GitHub-kind. */
  owner?: GateResult | undefined;
  policies: PolicyExplanation[];
  /** Names of the policies that grant, sorted. */
  granted: string[];
  /** The `policy` option named no policy in the set. */
  unknownPolicy?: string | undefined;
}

/** What a policy grants, for people: kind, target, TTLs, scope. */
export function summarizeGrant(policy: CompiledPolicy): GrantSummary {
  const { grant } = policy;
  const base = { kind: grant.kind, target: grantTarget(grant), ttl: { ...policy.ttl }, justification: policy.justification };
  if (grant.kind === 'token') return { ...base, scope: grant.scope };
  if (grant.kind === 'github') return { ...base, scope: Object.entries(grant.permissions).map(([name, level]) => `${name}:${level}`) };
  return base;
}

/** `15m (max 30m)` */
export const ttlText = (ttl: { default: number; max: number }): string => `${formatDuration(ttl.default)} (max ${formatDuration(ttl.max)})`;

/** Explains the exchange's decision for `claims` against every policy (or `options.policy`). */
export function explainClaims(
  policies: ReadonlyMap<string, CompiledPolicy>,
  claims: Readonly<Record<string, unknown>>,
  options: ExplainOptions = {},
): Explanation {
  const issuer = checkTokenIssuer(claims, options.issuers);
  const kind = options.issuers?.find((candidate) => candidate.name === issuer.name)?.kind;
  const owner = issuer.ok && kind === 'github' ? checkOwner(claims, options.trustedOwners) : undefined;
  let selected = [...policies.values()];
  if (options.policy !== undefined) {
    const one = policies.get(options.policy);
    if (one === undefined) return { issuer, owner, policies: [], granted: [], unknownPolicy: options.policy };
    selected = [one];
  }
  const explained = selected.map((policy) => explainPolicy(policy, claims, issuer, owner));
  const granted = explained
    .filter((policy) => policy.granted)
    .map((policy) => policy.name)
    .sort();
  return { issuer, owner, policies: explained, granted };
}

function explainPolicy(
  policy: CompiledPolicy,
  claims: Readonly<Record<string, unknown>>,
  issuer: TokenIssuerResult,
  owner: GateResult | undefined,
): PolicyExplanation {
  const issuerMatch = matchIssuer(policy, issuer);
  const evaluation = evaluatePolicy(policy, claims);
  const granted = issuer.ok && (owner?.ok ?? true) && issuerMatch.ok && evaluation.granted;
  // evaluatePolicy lists the subject keys first, then any rule that failed.
  const count = policy.conditions.length;
  return {
    name: policy.name,
    file: policy.file,
    issuer: policy.issuer,
    granted,
    issuerMatch,
    conditions: evaluation.conditions.slice(0, count),
    rules: evaluation.conditions.slice(count),
    grant: summarizeGrant(policy),
  };
}

/** Verification picks the issuer by `iss`, compared byte for byte with the configured URLs (SPEC §3). */
function checkTokenIssuer(claims: Readonly<Record<string, unknown>>, issuers: readonly ExplainIssuer[] | undefined): TokenIssuerResult {
  const iss = Object.hasOwn(claims, 'iss') ? claims.iss : undefined;
  const shown = typeof iss === 'string' ? showValue(iss) : iss === undefined ? '(none)' : `(not a string: ${typeof iss})`;
  if (issuers === undefined) {
    return { ok: true, checked: false, why: `iss ${shown} not checked (no --config): a policy for another issuer would not grant this token` };
  }
  const found = typeof iss === 'string' ? issuers.find((candidate) => candidate.url === iss) : undefined;
  if (found === undefined) return { ok: false, checked: true, why: `iss ${shown} is not a configured issuer (issuer_untrusted): no policy grants` };
  return { ok: true, checked: true, name: found.name, why: `iss ${shown} is the configured issuer "${found.name}"` };
}

/** `trust.owners`: tokens of other owners are refused before any policy is looked at. */
function checkOwner(claims: Readonly<Record<string, unknown>>, trustedOwners: readonly string[] | undefined): GateResult | undefined {
  if (trustedOwners === undefined) return undefined;
  const owner = ownerOf(claims);
  const ok = isTrustedOwner(claims, trustedOwners);
  const shown = owner === null ? '(none)' : showValue(owner);
  return { ok, checked: true, why: `repository owner ${shown} is ${ok ? '' : 'not '}trusted by this service` };
}

/** A policy for another issuer never grants (the exchange answers `policy_unknown`). */
function matchIssuer(policy: CompiledPolicy, issuer: TokenIssuerResult): GateResult {
  if (!issuer.checked) return { ok: true, checked: false, why: `issuer "${policy.issuer}" not checked (no --config)` };
  if (issuer.name === undefined) return { ok: false, checked: true, why: `issuer "${policy.issuer}": the token's issuer is not configured` };
  const ok = issuer.name === policy.issuer;
  return {
    ok,
    checked: true,
    why: ok ? `issuer "${policy.issuer}"` : `the policy is for issuer "${policy.issuer}", the token is from "${issuer.name}" (policy_unknown)`,
  };
}
