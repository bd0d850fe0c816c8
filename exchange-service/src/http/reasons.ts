/**
 * The one table from a reason to an HTTP status and an RFC 6749 / 8693 /
 * 7009 / 7662 `error` (SPEC §3). Only the app's onError reads it.
 */
import { LatchkeyError, type Reason } from '../errors.ts';

/** The OAuth `error` values the service answers with. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'unsupported_grant_type'
  | 'invalid_target'
  | 'invalid_scope'
  | 'slow_down'
  | 'temporarily_unavailable'
  | 'server_error'
  | 'invalid_token'
  | 'unsupported_token_type'
  | 'not_found';

export type ErrorStatus = 400 | 401 | 404 | 413 | 429 | 500 | 502 | 503;

interface ReasonAnswer {
  status: ErrorStatus;
  error: OAuthErrorCode;
}

/** SPEC §3's table: reason → HTTP status and OAuth `error`. */
export const REASON_ANSWERS: Readonly<Record<Reason, ReasonAnswer>> = {
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
  unauthorized: { status: 401, error: 'invalid_token' },
  not_found: { status: 404, error: 'not_found' },
  rate_limited: { status: 429, error: 'slow_down' },
  upstream_unavailable: { status: 503, error: 'temporarily_unavailable' },
  store_unavailable: { status: 503, error: 'temporarily_unavailable' },
  upstream_denied: { status: 502, error: 'server_error' },
  internal: { status: 500, error: 'server_error' },
};

/** Seconds a 503 asks the client to wait when the error names no time of its own. */
const DEFAULT_RETRY_AFTER = 5;

/** A request body over the size limit: `malformed`, answered 413 rather than 400. */
export class BodyTooLargeError extends LatchkeyError {
  constructor(maxBytes: number) {
    super('malformed', `request body is larger than ${maxBytes} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** The answer for an error: status, `error`, and `Retry-After` seconds where one applies. */
export function answerFor(error: LatchkeyError): ReasonAnswer & { retryAfter: number | undefined } {
  const answer = REASON_ANSWERS[error.reason];
  const status = error instanceof BodyTooLargeError ? 413 : answer.status;
  const retryAfter = error.retryAfter ?? (status === 503 ? DEFAULT_RETRY_AFTER : undefined);
  return { status, error: answer.error, retryAfter };
}
