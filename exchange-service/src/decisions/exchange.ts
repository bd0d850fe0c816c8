/**
 * The token exchange decision (SPEC §3 `POST /token`): verify, decide, mint,
 * audit. The checks run in the order of the SPEC's error table, so nothing
 * about a policy is revealed before the subject token is verified, and a
 * credential is returned only after its `granted` record is committed.
 */
import { newGrantId } from '../grants/grant-id.ts';
import { LatchkeyError, fail } from '../errors.ts';
import { evaluatePolicy, describeDenial, showValue } from '../policy/model/evaluate.ts';
import type { AuditRecordBody, AuditGrant } from '../audit/record.ts';
import { buildAuditBody, claimText } from '../audit/build.ts';
import { ReplayError, StoreUnavailableError, type CommitGrantInput, type JtiClaim, type Store, type StoredAuditRecord } from '../store/store.ts';
import type { CompiledPolicy } from '../policy/model/compile.ts';
import type { PolicySet } from '../policy/load/load.ts';
import { LEEWAY_SECONDS, type TokenVerifier, type VerifiedToken } from '../oidc/verify.ts';
import type { Minter, MintedCredential } from '../grants/minter.ts';
import { timed, type Metrics } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { RateDecision, RateLimiter } from './rate-limit.ts';
import type { TokenRequest } from '../http/body.ts';
import type { Config } from '../config.ts';

export interface ExchangeDeps {
  verifier: TokenVerifier;
  /** The policy set in force (swapped atomically on reload). */
  policies: () => PolicySet;
  store: Store;
  minters: ReadonlyMap<string, Minter>;
  metrics: Metrics;
  logger: Logger;
  /** Wall clock, ms. */
  now: () => number;
  explainDenials: Config['explain_denials'];
  /** Owners (ASCII case-insensitive) whose tokens are considered at all; undefined: any. */
  trustedOwners?: readonly string[] | undefined;
  repositoryLimiter: RateLimiter;
  clientIpLimiter: RateLimiter;
  /** Called with every committed record (the `audit.stdout` stream). */
  onAudit?: ((record: AuditRecordBody) => void) | undefined;
}

export interface RequestContext {
  requestId: string;
  clientIp: string | null;
}

/** What the decision knows so far; becomes the audit record whatever the outcome. */
interface Decision {
  token?: VerifiedToken;
  policy?: CompiledPolicy;
  policySetVersion: string;
  justification: string | null;
}

export type Exchange = (request: TokenRequest, context: RequestContext) => Promise<Record<string, unknown>>;

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Creates the exchange function the `/token` route calls with a parsed body. */
export function createExchange(deps: ExchangeDeps): Exchange {
  return async function exchange(request, context) {
    const started = performance.now();
    const set = deps.policies();
    const decision: Decision = { policySetVersion: set.version, justification: request.justification ?? null };
    try {
      const response = await decide(deps, set, request, context, decision);
      observe(deps, decision, 'granted', null, started);
      return response;
    } catch (error) {
      const known = error instanceof LatchkeyError ? error : internalError(deps, context, error);
      const outcome = known.status >= 500 || known.status === 429 ? 'failed' : 'denied';
      await auditFailure(deps, context, decision, outcome, known);
      observe(deps, decision, outcome, known.reason, started);
      throw known;
    }
  };
}

async function decide(deps: ExchangeDeps, set: PolicySet, request: TokenRequest, context: RequestContext, decision: Decision): Promise<Record<string, unknown>> {
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
  decision.token = token;
  const repository = claimText(token.claims.repository_id) ?? claimText(token.claims.repository) ?? token.issuer;
  const repoBudget = await limit(deps.repositoryLimiter.hit(`${token.issuer}:${repository}`));
  if (!repoBudget.allowed) fail('rate_limited', 'rate limit for this repository exceeded', { retryAfter: repoBudget.retryAfter });
  const nowSeconds = Math.floor(deps.now() / 1000);
  const replay = replayCheck(deps, token, nowSeconds);
  let approved: Approved;
  try {
    approved = approve(deps, set, request, decision, token);
  } catch (error) {
    // The table's order: a replayed token is refused as replayed before anything about a policy.
    await replay.check();
    throw error;
  }
  if (approved.minter.mintsRemotely) await replay.check();
  return grant(deps, context, decision, approved, token, nowSeconds);
}

/** A limiter's answer; counters live in the store, so a store that cannot count is a 503 like any other store failure. */
async function limit(decision: Promise<RateDecision>): Promise<RateDecision> {
  try {
    return await decision;
  } catch (error) {
    throw storeError(error);
  }
}

/** What approval settled: the policy, its minter, the granted TTL and scope. */
interface Approved {
  policy: CompiledPolicy;
  minter: Minter;
  ttl: number;
  scope: readonly string[] | null;
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
        throw storeError(error);
      }
      if (replayed) fail('token_replayed', 'this subject token was already exchanged');
    },
  };
}

/** The subject token's replay claim, remembered until the token is no longer acceptable (exp plus the leeway). */
function jtiClaim(token: VerifiedToken): JtiClaim {
  return { issuer: token.issuer, jti: token.jti, jtiExpiresAt: token.expiresAt + LEEWAY_SECONDS };
}

/** Everything about the policy, in the table's order; throws the first failure. */
function approve(deps: ExchangeDeps, set: PolicySet, request: TokenRequest, decision: Decision, token: VerifiedToken): Approved {
  checkTrustedOwner(deps, token);
  const found = set.policies.get(request.audience);
  if (found === undefined || found.issuer !== token.issuer) fail('policy_unknown', `no policy ${showValue(request.audience)} for this issuer`);
  const policy = found as CompiledPolicy;
  decision.policy = policy;
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

async function grant(
  deps: ExchangeDeps, context: RequestContext, decision: Decision, approved: Approved, token: VerifiedToken, nowSeconds: number,
): Promise<Record<string, unknown>> {
  const { policy, minter, ttl, scope } = approved;
  const grantId = newGrantId();
  const credential = await minter.mint({ grantId, policy, token, ttl, scope, now: nowSeconds });
  const expiresAt = nowSeconds + ttl;
  const record = auditBody(context, decision, 'granted', null, deps.now());
  record.grant = auditGrant(grantId, policy, credential, scope, ttl, expiresAt);
  const input: CommitGrantInput = {
    ...jtiClaim(token),
    record,
    grant: {
      id: grantId, policy: policy.name, kind: policy.grant.kind, issuer: token.issuer,
      subject: claimText(token.claims.sub), repository_id: claimText(token.claims.repository_id),
      run_id: claimText(token.claims.run_id), run_attempt: claimText(token.claims.run_attempt),
      credential_sha256: credential.credentialSha256, issued_at: nowSeconds, expires_at: expiresAt,
      revoked_at: null, last_used_at: null,
    },
  };
  let response: Record<string, unknown>;
  try {
    const committed = await timed(deps.metrics.storeSeconds, 'commit_grant', () => commit(deps.store, input, credential));
    deps.onAudit?.(committed.record);
    response = committed.response;
  } catch (error) {
    if (error instanceof ReplayError) fail('token_replayed', 'this subject token was already exchanged');
    throw storeError(error);
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

/** Commits the grant; a credential still unsigned is signed in the same transaction and becomes the response's `access_token`. */
async function commit(store: Store, input: CommitGrantInput, credential: MintedCredential): Promise<{ record: StoredAuditRecord; response: Record<string, unknown> }> {
  if (credential.unsigned === undefined) return { record: await store.commitGrant(input), response: credential.response };
  const signed = await store.commitSignedGrant(input, credential.unsigned);
  return { record: signed.record, response: { access_token: signed.credential, ...credential.response } };
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

function checkTrustedOwner(deps: ExchangeDeps, token: VerifiedToken): void {
  if (deps.trustedOwners === undefined || token.issuerKind !== 'github') return;
  const owner = claimText(token.claims.repository_owner);
  const trusted = owner !== null && deps.trustedOwners.some((name) => asciiLower(name) === asciiLower(owner));
  if (!trusted) fail('policy_denied', `repository owner ${owner === null ? '(none)' : showValue(owner)} is not trusted by this service`);
}

function auditGrant(id: string, policy: CompiledPolicy, credential: MintedCredential, scope: readonly string[] | null, ttl: number, expiresAt: number): AuditGrant {
  return {
    id, kind: policy.grant.kind, target: credential.target, scope: scope === null ? null : [...scope], ttl,
    expires_at: new Date(expiresAt * 1000).toISOString(), session_name: credential.sessionName,
    credential_sha256: credential.credentialSha256, access_key_id: credential.accessKeyId,
  };
}

function auditBody(context: RequestContext, decision: Decision, outcome: AuditRecordBody['outcome'], reason: string | null, nowMs: number): AuditRecordBody {
  return buildAuditBody({
    event: 'exchange', outcome, reason, nowMs, requestId: context.requestId, clientIp: context.clientIp,
    token: decision.token, policy: decision.policy, policySetVersion: decision.policySetVersion, justification: decision.justification,
  });
}

/** Appends the denial/failure record; if the store cannot, the record goes to the operator log instead. */
async function auditFailure(deps: ExchangeDeps, context: RequestContext, decision: Decision, outcome: 'denied' | 'failed', error: LatchkeyError): Promise<void> {
  const record = auditBody(context, decision, outcome, error.reason, deps.now());
  try {
    const committed = await timed(deps.metrics.storeSeconds, 'append_audit', () => deps.store.appendAudit(record));
    deps.onAudit?.(committed);
  } catch (storeFailure) {
    deps.logger.error('audit record not stored', { request_id: context.requestId, error: storeFailure, audit: record });
  }
}

function storeError(error: unknown): LatchkeyError {
  if (error instanceof LatchkeyError) return error;
  if (error instanceof StoreUnavailableError) {
    return new LatchkeyError('store_unavailable', 'the audit store is unavailable; no credential was issued', { cause: error });
  }
  return new LatchkeyError('store_unavailable', 'the audit store could not commit; no credential was issued', { cause: error });
}

function internalError(deps: ExchangeDeps, context: RequestContext, error: unknown): LatchkeyError {
  deps.logger.error('exchange failed', { request_id: context.requestId, error });
  return new LatchkeyError('internal', 'internal error', { cause: error });
}

function observe(deps: ExchangeDeps, decision: Decision, outcome: string, reason: string | null, started: number): void {
  deps.metrics.exchanges.inc({ policy: decision.policy?.name ?? '', outcome, reason: reason ?? '' });
  deps.metrics.exchangeSeconds.observe({ outcome }, (performance.now() - started) / 1000);
}

const asciiLower = (text: string): string => text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
