/**
 * OAuthError and the closed set of reason codes from SPEC §3's error table.
 * Handlers throw these; the app's single onError turns them into RFC 6749 §5.2 JSON.
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
  | 'rate_limited'
  | 'upstream_unavailable'
  | 'store_unavailable'
  | 'upstream_denied'
  | 'internal';

/** The RFC 6749 / 8693 / 7009 `error` values the service uses. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'unsupported_grant_type'
  | 'invalid_target'
  | 'invalid_scope'
  | 'slow_down'
  | 'temporarily_unavailable'
  | 'server_error'
  | 'invalid_token'
  | 'unsupported_token_type';

interface ReasonShape {
  status: 400 | 401 | 413 | 429 | 500 | 502 | 503;
  error: OAuthErrorCode;
}

/** SPEC §3's table: reason → HTTP status and OAuth `error`. */
export const REASONS: Readonly<Record<Reason, ReasonShape>> = {
  malformed: { status: 400, error: 'invalid_request' },
  grant_type: { status: 400, error: 'unsupported_grant_type' },
  token_invalid: { status: 400, error: 'invalid_request' },
  token_expired: { status: 400, error: 'invalid_request' },
  issuer_untrusted: { status: 400, error: 'invalid_request' },
  audience_mismatch: { status: 400, error: 'invalid_request' },
  token_replayed: { status: 400, error: 'invalid_request' },
  policy_unknown: { status: 400, error: 'invalid_target' },
  policy_denied: { status: 400, error: 'invalid_request' },
  ttl_exceeded: { status: 400, error: 'invalid_request' },
  scope_exceeded: { status: 400, error: 'invalid_scope' },
  token_type: { status: 400, error: 'invalid_request' },
  justification_required: { status: 400, error: 'invalid_request' },
  rate_limited: { status: 429, error: 'slow_down' },
  upstream_unavailable: { status: 503, error: 'temporarily_unavailable' },
  store_unavailable: { status: 503, error: 'temporarily_unavailable' },
  upstream_denied: { status: 502, error: 'server_error' },
  internal: { status: 500, error: 'server_error' },
};

export interface OAuthErrorOptions {
  /** Seconds for a `Retry-After` header (429 and 503). */
  retryAfter?: number;
  /** Overrides the status from the table (e.g. 413 for an oversized body). */
  status?: ReasonShape['status'];
  /** Detail for the operator log only; never sent to the client. Must hold no secret. */
  logDetail?: string;
  cause?: unknown;
}

/** An error the client may see: `description` is sent verbatim, so it must hold no secret. */
export class OAuthError extends Error {
  readonly reason: Reason;
  readonly error: OAuthErrorCode;
  readonly status: ReasonShape['status'];
  readonly retryAfter: number | undefined;
  readonly logDetail: string | undefined;

  constructor(reason: Reason, description: string, options: OAuthErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.reason = reason;
    this.error = REASONS[reason].error;
    this.status = options.status ?? REASONS[reason].status;
    this.retryAfter = options.retryAfter ?? (this.status === 503 ? 5 : undefined);
    this.logDetail = options.logDetail;
  }
}

/** Shorthand used throughout: `fail('token_invalid', 'signature does not verify')`. */
export const fail = (reason: Reason, description: string, options?: OAuthErrorOptions): never => {
  throw new OAuthError(reason, description, options);
};
