/**
 * The token exchange decision (SPEC §3 `POST /token`): verify, decide, mint,
 * audit. The checks run in the order of the SPEC's error table, so nothing
 * about a policy is revealed before the subject token is verified, and a
 * credential is returned only after its `granted` record is committed.
 */
import { LatchkeyError, fail, isFailure, storeUnavailable } from '../errors.ts';
import type { GrantIdSource } from '../grants/grant-id.ts';
import type { TokenResponse } from '../grants/token-response.ts';
import { timed } from '../metrics.ts';
import { LEEWAY_SECONDS, type TokenVerifier, type VerifiedToken } from '../oidc/verify.ts';
import { claimText } from '../policy/model/claims.ts';
import type { PolicySet } from '../policy/load/load.ts';
import { ReplayError, type CommitGrantInput, type JtiClaim } from '../store/store.ts';
import type { RequestContext } from './context.ts';
import { checkPolicy, type Approved, type PolicyCheckDeps } from './exchange-policy.ts';
import {
  auditGrant,
  auditRefusal,
  type CommittedResponse,
  commitGrant,
  exchangeRecord,
  type ExchangeRecordDeps,
  type ExchangeState,
} from './exchange-record.ts';
import { TOKEN_EXCHANGE, type TokenRequest } from './exchange-request.ts';
import type { RateDecision, RateLimiter } from './rate-limit.ts';

export interface ExchangeDeps extends PolicyCheckDeps, ExchangeRecordDeps {
  verifier: TokenVerifier;
  /** The policy set in force (swapped atomically on reload). */
  policies: () => PolicySet;
  /** Grant ids for the decision's time. */
  newGrantId: GrantIdSource;
  repositoryLimiter: RateLimiter;
  clientIpLimiter: RateLimiter;
}

/** Decides one parsed `/token` request; throws {@link LatchkeyError} for every refusal. */
export type Exchange = (request: TokenRequest, context: RequestContext) => Promise<TokenResponse>;

/** Creates the exchange function the `/token` route calls with a parsed body. */
export function createExchange(deps: ExchangeDeps): Exchange {
  return async function exchange(request, context) {
    const started = performance.now();
    const set = deps.policies();
    const state: ExchangeState = { policySetVersion: set.version, justification: request.justification ?? null };
    try {
      const response = await decide(deps, set, request, context, state);
      observe(deps, state, 'granted', null, started);
      return response;
    } catch (error) {
      const known = error instanceof LatchkeyError ? error : internalError(deps, context, error);
      const outcome = isFailure(known.reason) ? 'failed' : 'denied';
      await auditRefusal(deps, context, state, outcome, known);
      observe(deps, state, outcome, known.reason, started);
      throw known;
    }
  };
}

async function decide(deps: ExchangeDeps, set: PolicySet, request: TokenRequest, context: RequestContext, state: ExchangeState): Promise<TokenResponse> {
  if (request.grant_type !== TOKEN_EXCHANGE) fail('grant_type', `grant_type must be ${TOKEN_EXCHANGE}`);
  const ipKey = `ip:${context.clientIp ?? 'unknown'}`;
  const ipBudget = await limit(deps.clientIpLimiter.peek(ipKey));
  if (!ipBudget.allowed) fail('rate_limited', 'too many failed requests from this address', { retryAfter: ipBudget.retryAfter });
  let token: VerifiedToken;
  try {
    token = await deps.verifier.verify(request.subject_token);
  } catch (error) {
    // Requests that fail verification spend the client IP's budget, never a repository's. If the
    // count cannot be stored, the verification failure is still the answer.
    await deps.clientIpLimiter.hit(ipKey).catch(() => undefined);
    throw error;
  }
  state.token = token;
  const repository = claimText(token.claims.repository_id) ?? claimText(token.claims.repository) ?? token.issuer;
  const repoBudget = await limit(deps.repositoryLimiter.hit(`${token.issuer}:${repository}`));
  if (!repoBudget.allowed) fail('rate_limited', 'rate limit for this repository exceeded', { retryAfter: repoBudget.retryAfter });
  const nowSeconds = Math.floor(deps.now() / 1000);
  const replay = replayCheck(deps, token, nowSeconds);
  let approved: Approved;
  try {
    approved = checkPolicy(deps, set, request, token, (policy) => {
      state.policy = policy;
    });
  } catch (error) {
    // The table's order: a replayed token is refused as replayed before anything about a policy.
    await replay.check();
    throw error;
  }
  if (approved.minter.mintsRemotely) await replay.check();
  return grant(deps, context, state, approved, token, nowSeconds);
}

/** A limiter's answer; counters live in the store, so a store that cannot count is a 503 like any other store failure. */
async function limit(decision: Promise<RateDecision>): Promise<RateDecision> {
  try {
    return await decision;
  } catch (error) {
    throw storeUnavailable(error, 'no credential was issued');
  }
}

/**
 * The replay pre-check (SPEC: `token_replayed` comes before the policy
 * checks). It reads the store only where its answer matters: before a
 * denial is reported, and before a remote mint. A local grant relies on the
 * atomic claim in commitGrant instead, sparing every honest exchange a read.
 */
function replayCheck(deps: ExchangeDeps, token: VerifiedToken, nowSeconds: number): { check(): Promise<void> } {
  let checked = false;
  return {
    async check() {
      if (checked) return;
      checked = true;
      let replayed: boolean;
      try {
        replayed = await timed(deps.metrics.storeSeconds, 'is_replayed', () => deps.store.isReplayed(jtiClaim(token), nowSeconds));
      } catch (error) {
        throw storeUnavailable(error, 'no credential was issued');
      }
      if (replayed) fail('token_replayed', 'this subject token was already exchanged');
    },
  };
}

/** The subject token's replay claim, remembered until the token is no longer acceptable (exp plus the leeway). */
function jtiClaim(token: VerifiedToken): JtiClaim {
  return { issuer: token.issuer, jti: token.jti, jtiExpiresAt: token.expiresAt + LEEWAY_SECONDS };
}

/** Mints, then commits the grant with its record; only then does the credential leave. */
async function grant(
  deps: ExchangeDeps,
  context: RequestContext,
  state: ExchangeState,
  approved: Approved,
  token: VerifiedToken,
  nowSeconds: number,
): Promise<TokenResponse> {
  const { policy, minter, ttl, scope } = approved;
  const grantId = deps.newGrantId(deps.now());
  const credential = await minter.mint({ grantId, policy, token, ttl, scope, now: nowSeconds });
  const expiresAt = nowSeconds + ttl;
  const record = exchangeRecord(context, state, 'granted', null, deps.now());
  record.grant = auditGrant(grantId, policy, credential, scope, ttl, expiresAt);
  const input: CommitGrantInput = {
    ...jtiClaim(token),
    record,
    grant: {
      id: grantId,
      policy: policy.name,
      kind: policy.grant.kind,
      issuer: token.issuer,
      subject: claimText(token.claims.sub),
      repository_id: claimText(token.claims.repository_id),
      run_id: claimText(token.claims.run_id),
      run_attempt: claimText(token.claims.run_attempt),
      credential_sha256: credential.credentialSha256,
      issued_at: nowSeconds,
      expires_at: expiresAt,
      revoked_at: null,
      last_used_at: null,
    },
  };
  let response: CommittedResponse;
  try {
    response = await commitGrant(deps, input, credential);
  } catch (error) {
    if (error instanceof ReplayError) fail('token_replayed', 'this subject token was already exchanged');
    throw storeUnavailable(error, 'no credential was issued');
  }
  return {
    ...response,
    expires_in: ttl,
    grant_id: grantId,
    policy: policy.name,
    expires_at: new Date(expiresAt * 1000).toISOString().replace('.000Z', 'Z'),
    ...(scope !== null && scope.length > 0 ? { scope: scope.join(' ') } : {}),
  };
}

function internalError(deps: ExchangeDeps, context: RequestContext, error: unknown): LatchkeyError {
  deps.logger.error('exchange failed', { request_id: context.requestId, error });
  return new LatchkeyError('internal', 'internal error', { cause: error });
}

function observe(deps: ExchangeDeps, state: ExchangeState, outcome: string, reason: string | null, started: number): void {
  deps.metrics.exchanges.inc({ policy: state.policy?.name ?? '', outcome, reason: reason ?? '' });
  deps.metrics.exchangeSeconds.observe({ outcome }, (performance.now() - started) / 1000);
}
