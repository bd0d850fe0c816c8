/**
 * The policy half of the token exchange, in SPEC §3's table order: the
 * trusted-owner gate, the policy, its conditions, the minter, and what the
 * request may narrow (token type, ttl, scope, justification).
 */
import { fail } from '../errors.ts';
import type { Minter } from '../grants/minter.ts';
import type { Config } from '../config.ts';
import type { VerifiedToken } from '../oidc/verify.ts';
import { isTrustedOwner, ownerOf } from '../policy/model/claims.ts';
import type { CompiledPolicy } from '../policy/model/compile.ts';
import { describeDenial, evaluatePolicy, showValue } from '../policy/model/evaluate.ts';
import type { PolicySet } from '../policy/load/load.ts';
import type { TokenRequest } from './exchange-request.ts';

export interface PolicyCheckDeps {
  minters: ReadonlyMap<string, Minter>;
  explainDenials: Config['explain_denials'];
  /** Owners (ASCII case-insensitive) whose tokens are considered at all; undefined: any. */
  trustedOwners?: readonly string[] | undefined;
}

/** What the policy checks settled: the policy, its minter, the granted TTL and scope. */
export interface Approved {
  policy: CompiledPolicy;
  minter: Minter;
  ttl: number;
  scope: readonly string[] | null;
}

/** Everything about the policy, in the table's order; throws the first failure. `onPolicy` learns the policy once found (for the audit record). */
export function checkPolicy(
  deps: PolicyCheckDeps,
  set: PolicySet,
  request: TokenRequest,
  token: VerifiedToken,
  onPolicy: (policy: CompiledPolicy) => void,
): Approved {
  checkTrustedOwner(deps, token);
  const found = set.policies.get(request.audience);
  if (found === undefined || found.issuer !== token.issuer) fail('policy_unknown', `no policy ${showValue(request.audience)} for this issuer`);
  const policy = found as CompiledPolicy;
  onPolicy(policy);
  const evaluation = evaluatePolicy(policy, token.claims);
  if (!evaluation.granted) fail('policy_denied', describeDenial(evaluation, deps.explainDenials));
  const registered = deps.minters.get(policy.grant.kind);
  if (registered === undefined) fail('upstream_unavailable', `${policy.grant.kind} grants are not enabled on this service`);
  const minter = registered as Minter;
  if (request.requested_token_type !== undefined && !minter.tokenTypes.includes(request.requested_token_type)) {
    fail('token_type', `policy "${policy.name}" issues ${minter.tokenTypes[0]}, not ${showValue(request.requested_token_type)}`);
  }
  const ttl = grantedTtl(policy, request.ttl);
  const scope = grantedScope(policy, request.scope);
  if (policy.justification === 'required' && (request.justification ?? '').trim() === '') {
    fail('justification_required', `policy "${policy.name}" requires a justification`);
  }
  return { policy, minter, ttl, scope };
}

function grantedTtl(policy: CompiledPolicy, requested: number | undefined): number {
  if (requested === undefined) return policy.ttl.default;
  if (requested > policy.ttl.max) fail('ttl_exceeded', `ttl ${requested}s is above the policy's maximum of ${policy.ttl.max}s`);
  return requested;
}

function grantedScope(policy: CompiledPolicy, requested: string | undefined): readonly string[] | null {
  const allowed = policy.grant.kind === 'token' ? policy.grant.scope : null;
  if (requested === undefined || requested.trim() === '') return allowed;
  const wanted = [...new Set(requested.split(' ').filter((item) => item !== ''))];
  const extra = wanted.filter((item) => allowed === null || !allowed.includes(item));
  if (extra.length > 0) fail('scope_exceeded', `scope ${extra.map(showValue).join(', ')} is not granted by policy "${policy.name}"`);
  return wanted;
}

/** `trust.owners` (GitHub tokens only): the same gate `policy explain` reports. */
function checkTrustedOwner(deps: PolicyCheckDeps, token: VerifiedToken): void {
  if (token.issuerKind !== 'github' || isTrustedOwner(token.claims, deps.trustedOwners)) return;
  const owner = ownerOf(token.claims);
  fail('policy_denied', `repository owner ${owner === null ? '(none)' : showValue(owner)} is not trusted by this service`);
}
