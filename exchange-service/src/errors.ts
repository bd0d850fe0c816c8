/**
 * The closed set of reason codes (SPEC §3's error table) and the one error
 * class that carries a reason, in the manner of jose's coded errors. Every
 * layer throws {@link LatchkeyError}; none of them knows HTTP. The edge
 * (`http/reasons.ts`) alone maps a reason to a status and an OAuth `error`.
 */

/** Every reason code the service may answer with. */
export type Reason =
  | 'malformed'
  | 'grant_type'
  | 'token_invalid'
  | 'token_expired'
  | 'issuer_untrusted'
  | 'audience_mismatch'
  | 'token_replayed'
  | 'policy_unknown'
  | 'policy_denied'
  | 'ttl_exceeded'
  | 'scope_exceeded'
  | 'token_type'
  | 'justification_required'
  | 'unauthorized'
  | 'not_found'
  | 'rate_limited'
  | 'upstream_unavailable'
  | 'store_unavailable'
  | 'upstream_denied'
  | 'internal';

/** Reasons that say the service or a peer failed, not that the caller was refused: audited as `failed`, not `denied`. */
const FAILURES: ReadonlySet<Reason> = new Set<Reason>(['rate_limited', 'upstream_unavailable', 'store_unavailable', 'upstream_denied', 'internal']);

/** True when `reason` is a failure (retry later) rather than a refusal of this request. */
export const isFailure = (reason: Reason): boolean => FAILURES.has(reason);

export interface LatchkeyErrorOptions {
  /** Seconds after which a retry may succeed (rate limits, unavailable peers). */
  retryAfter?: number;
  /** Detail for the operator log only; never sent to the client. Must hold no secret. */
  logDetail?: string;
  cause?: unknown;
}

/** An error the client may see: `message` is sent verbatim, so it must hold no secret. */
export class LatchkeyError extends Error {
  readonly reason: Reason;
  readonly retryAfter: number | undefined;
  readonly logDetail: string | undefined;

  constructor(reason: Reason, description: string, options: LatchkeyErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LatchkeyError';
    this.reason = reason;
    this.retryAfter = options.retryAfter;
    this.logDetail = options.logDetail;
  }
}

/** Shorthand used throughout: `fail('token_invalid', 'signature does not verify')`. */
export const fail = (reason: Reason, description: string, options?: LatchkeyErrorOptions): never => {
  throw new LatchkeyError(reason, description, options);
};

/**
 * The store could not answer or commit: `store_unavailable`, the caller may
 * retry. The one place store failures become an error a client sees;
 * `outcome` says what the caller did not get.
 */
export function storeUnavailable(error: unknown, outcome?: string): LatchkeyError {
  if (error instanceof LatchkeyError) return error;
  return new LatchkeyError('store_unavailable', `the store is unavailable; ${outcome === undefined ? '' : `${outcome}; `}try again`, { cause: error });
}
