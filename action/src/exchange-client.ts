/**
 * Talks to the exchange service: `POST /token` and `POST /revoke`, with
 * retries only where they can help (429, 503, network errors), bounded by
 * `retries`: the service's `Retry-After` when it sends one, else jittered
 * exponential backoff.
 * Every other answer fails at once as a typed ServiceError.
 */
import { parseTokenResponse, type TokenResponse } from './token-response.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** What the service said when it refused, or why it could not be reached. */
export class ServiceError extends Error {
  override name = 'ServiceError';
  /** HTTP status; null when no answer came (network error, timeout). */
  readonly status: number | null;
  /** The RFC 6749 `error` and latchkey `reason`, when the body carried them. */
  readonly error: string | null;
  readonly reason: string | null;
  /** The service's `error_description` (or what went wrong on the way). */
  readonly description: string;
  readonly requestId: string | null;
  /** How many requests were made before giving up. */
  readonly attempts: number;

  constructor(fields: {
    status: number | null;
    error?: string | null;
    reason?: string | null;
    description: string;
    requestId?: string | null;
    attempts: number;
  }) {
    super(
      fields.status === null
        ? `could not reach the service: ${fields.description}`
        : `${fields.status} ${fields.reason ?? fields.error ?? ''}: ${fields.description}`,
    );
    this.status = fields.status;
    this.error = fields.error ?? null;
    this.reason = fields.reason ?? null;
    this.description = fields.description;
    this.requestId = fields.requestId ?? null;
    this.attempts = fields.attempts;
  }
}

/** A retry about to happen, for the log. */
export interface RetryNotice {
  /** The attempt that failed (1 for the first). */
  attempt: number;
  delayMs: number;
  /** `503 upstream_unavailable`, `network error: …` */
  cause: string;
}

export interface ExchangeClientOptions {
  /** The service's base URL, without a trailing slash. */
  url: string;
  /** Retries after the first attempt (the `retries` input). */
  retries: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1), for jitter. */
  random?: () => number;
  /** Wall clock, ms (for `Retry-After` dates). */
  now?: () => number;
  /** First backoff step in ms (default 1000); doubles each retry. */
  baseDelayMs?: number;
  /** Upper bound of any one wait in ms, `Retry-After` included (default 30 s). */
  maxDelayMs?: number;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  onRetry?: (notice: RetryNotice) => void;
}

export interface ExchangeRequest {
  policy: string;
  /** Called once per attempt: each attempt sends a fresh OIDC token (a token is exchanged at most once). */
  subjectToken: () => Promise<string>;
  ttl?: number | undefined;
  scope?: string | undefined;
  justification?: string | undefined;
}

export interface RevokeRequest {
  grantId: string;
  subjectToken: () => Promise<string>;
}

export interface ExchangeClient {
  /** Exchanges the job's OIDC token for a grant; throws ServiceError. */
  exchange(request: ExchangeRequest): Promise<TokenResponse>;
  /** Revokes a grant by id with a fresh OIDC token of the same run; throws ServiceError. */
  revoke(request: RevokeRequest): Promise<void>;
}

/** Creates a client for one service. */
export function createExchangeClient(options: ExchangeClientOptions): ExchangeClient {
  const send = (path: string, form: () => Promise<Record<string, string>>): Promise<Response> => sendWithRetries(options, path, form);
  return {
    async exchange(request) {
      const response = await send('/token', async () => ({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await request.subjectToken(),
        subject_token_type: ID_TOKEN_TYPE,
        audience: request.policy,
        ...(request.ttl !== undefined ? { ttl: String(request.ttl) } : {}),
        ...(request.scope !== undefined ? { scope: request.scope } : {}),
        ...(request.justification !== undefined ? { justification: request.justification } : {}),
      }));
      return readGrant(response);
    },
    async revoke(request) {
      const response = await send('/revoke', async () => ({
        token: request.grantId,
        token_type_hint: 'grant_id',
        subject_token: await request.subjectToken(),
      }));
      await response.body?.cancel();
    },
  };
}

/** The grant in a success body; a body that is not one is a ServiceError naming what is wrong with it. */
async function readGrant(response: Response): Promise<TokenResponse> {
  const unexpected = (problem: string): ServiceError =>
    new ServiceError({ status: response.status, description: `the service answered ${response.status} with an unexpected body: ${problem}`, attempts: 1 });
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw unexpected('it is not JSON');
  }
  const parsed = parseTokenResponse(body);
  if (!parsed.ok) throw unexpected(parsed.problem);
  return parsed.response;
}

/** POSTs the form until it succeeds, fails for good, or the retries are spent. */
async function sendWithRetries(options: ExchangeClientOptions, path: string, form: () => Promise<Record<string, string>>): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    // Outside the attempt: a failure to build the form (no OIDC token) is not the service's and is never retried.
    const body = new URLSearchParams(await form()).toString();
    const result = await attemptOnce(options, path, body, attempt);
    if (result instanceof Response) return result;
    if (!result.retryable || attempt > options.retries) throw result.failure;
    const delayMs = backoff(options, attempt, result.retryAfterMs);
    const { failure } = result;
    options.onRetry?.({
      attempt,
      delayMs,
      cause: failure.status === null ? `network error: ${failure.description}` : `${failure.status} ${failure.reason ?? failure.error ?? ''}`.trim(),
    });
    await (options.sleep ?? defaultSleep)(delayMs);
  }
}

interface FailedAttempt {
  failure: ServiceError;
  retryable: boolean;
  retryAfterMs?: number | undefined;
}

/** One request: the response when it succeeded, else what failed and whether another try may help. */
async function attemptOnce(options: ExchangeClientOptions, path: string, body: string, attempt: number): Promise<Response | FailedAttempt> {
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(`${options.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (error) {
    return { failure: networkError(error, attempt), retryable: true };
  }
  if (response.ok) return response;
  const failure = await errorFromResponse(response, attempt);
  const retryable = response.status === 429 || response.status === 503;
  return { failure, retryable, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), (options.now ?? Date.now)()) };
}

/**
 * How long to wait before retry `attempt` + 1. The service's `Retry-After`,
 * when given, is followed (plus up to 250 ms of jitter so clients told the
 * same thing do not return in step); otherwise full jitter over an
 * exponential step, base · 2^(attempt−1). Never more than `maxDelayMs`.
 */
export function backoff(
  options: Pick<ExchangeClientOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
  attempt: number,
  retryAfterMs: number | undefined,
): number {
  const max = options.maxDelayMs ?? 30_000;
  const random = options.random ?? Math.random;
  if (retryAfterMs !== undefined) return Math.min(max, retryAfterMs + Math.floor(random() * 250));
  const step = Math.min(max, (options.baseDelayMs ?? 1000) * 2 ** (attempt - 1));
  return Math.floor(random() * step);
}

/** `Retry-After` as delay-seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

async function errorFromResponse(response: Response, attempt: number): Promise<ServiceError> {
  const text = await response.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): described by status below.
  }
  const field = (name: string): string | null => (typeof body[name] === 'string' ? (body[name] as string) : null);
  return new ServiceError({
    status: response.status,
    error: field('error'),
    reason: field('reason'),
    description: field('error_description') ?? `HTTP ${response.status}${text === '' ? '' : `: ${text.slice(0, 200).replace(/\s+/g, ' ')}`}`,
    requestId: field('request_id') ?? response.headers.get('x-request-id'),
    attempts: attempt,
  });
}

function networkError(error: unknown, attempt: number): ServiceError {
  const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause : error) : undefined;
  const code = cause !== undefined && 'code' in cause ? String(cause.code) : undefined;
  const description = error instanceof Error && error.name === 'TimeoutError' ? 'the request timed out' : (code ?? cause?.message ?? 'request failed');
  return new ServiceError({ status: null, description, attempts: attempt });
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
