/**
 * The token exchange's records and commit: a grant is committed with its
 * `granted` record (a credential the store signs is signed in the same
 * transaction), and every refusal or failure appends its own record, so no
 * outcome goes unaudited.
 */
import { buildAuditBody } from '../audit/build.ts';
import type { AuditGrant, AuditRecordBody } from '../audit/record.ts';
import type { LatchkeyError } from '../errors.ts';
import type { MintedCredential } from '../grants/minter.ts';
import type { MintedResponse } from '../grants/token-response.ts';
import type { Logger } from '../log.ts';
import { timed, type Metrics } from '../metrics.ts';
import type { VerifiedToken } from '../oidc/verify.ts';
import type { CompiledPolicy } from '../policy/model/compile.ts';
import type { CommitGrantInput, Store, StoredAuditRecord } from '../store/store.ts';
import type { RequestContext } from './context.ts';

export interface ExchangeRecordDeps {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  /** Wall clock, ms. */
  now: () => number;
  /** Called with every committed record (the `audit.stdout` stream). */
  onAudit?: ((record: AuditRecordBody) => void) | undefined;
}

/** What the exchange knows so far; becomes the audit record whatever the outcome. */
export interface ExchangeState {
  token?: VerifiedToken;
  policy?: CompiledPolicy;
  policySetVersion: string;
  justification: string | null;
}

/** A committed grant's response part: the minter's, with the signed `access_token` where the store signed it. */
export type CommittedResponse = MintedResponse & { access_token: string };

/** Commits the grant; a credential still unsigned is signed in the same transaction and becomes the response's `access_token`. */
export async function commitGrant(deps: ExchangeRecordDeps, input: CommitGrantInput, credential: MintedCredential): Promise<CommittedResponse> {
  const committed = await timed(deps.metrics.storeSeconds, 'commit_grant', () => commitWith(deps.store, input, credential));
  deps.onAudit?.(committed.record);
  return committed.response;
}

async function commitWith(
  store: Store,
  input: CommitGrantInput,
  credential: MintedCredential,
): Promise<{ record: StoredAuditRecord; response: CommittedResponse }> {
  if (credential.unsigned === undefined) {
    // Checked before the commit: a `granted` record must never stand for a credential that cannot be handed out.
    const { access_token: accessToken } = credential.response;
    if (accessToken === undefined) throw new Error(`a ${input.grant.kind} credential without an access token`);
    const record = await store.commitGrant(input);
    return { record, response: { ...credential.response, access_token: accessToken } };
  }
  const signed = await store.commitSignedGrant(input, credential.unsigned);
  return { record: signed.record, response: { access_token: signed.credential, ...credential.response } };
}

/** The record's `grant` member for a granted exchange. */
export function auditGrant(
  id: string,
  policy: CompiledPolicy,
  credential: MintedCredential,
  scope: readonly string[] | null,
  ttl: number,
  expiresAt: number,
): AuditGrant {
  return {
    id,
    kind: policy.grant.kind,
    target: credential.target,
    scope: scope === null ? null : [...scope],
    ttl,
    expires_at: new Date(expiresAt * 1000).toISOString(),
    session_name: credential.sessionName,
    credential_sha256: credential.credentialSha256,
    access_key_id: credential.accessKeyId,
  };
}

/** The exchange's record body for an outcome. */
export function exchangeRecord(
  context: RequestContext,
  state: ExchangeState,
  outcome: AuditRecordBody['outcome'],
  reason: string | null,
  nowMs: number,
): AuditRecordBody {
  return buildAuditBody({
    event: 'exchange',
    outcome,
    reason,
    nowMs,
    requestId: context.requestId,
    clientIp: context.clientIp,
    token: state.token,
    policy: state.policy,
    policySetVersion: state.policySetVersion,
    justification: state.justification,
  });
}

/** Appends the denial/failure record; if the store cannot, the record goes to the operator log instead. */
export async function auditRefusal(
  deps: ExchangeRecordDeps,
  context: RequestContext,
  state: ExchangeState,
  outcome: 'denied' | 'failed',
  error: LatchkeyError,
): Promise<void> {
  const record = exchangeRecord(context, state, outcome, error.reason, deps.now());
  try {
    const committed = await timed(deps.metrics.storeSeconds, 'append_audit', () => deps.store.appendAudit(record));
    deps.onAudit?.(committed);
  } catch (storeFailure) {
    deps.logger.error('audit record not stored', { request_id: context.requestId, error: storeFailure, audit: record });
  }
}
