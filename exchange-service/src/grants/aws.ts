/**
 * The `aws` grant (SPEC §2, §3): STS AssumeRole by the service's own AWS
 * identity into the policy's role, scoped by the policy's session policies,
 * tagged with the run's identity and the grant id, and named so CloudTrail
 * leads back to the run and the audit record.
 *
 * Failures (ATTACKS.md 31–32): throttling, `IDPCommunicationError`, 5xx and
 * network errors are retried (bounded, full-jitter backoff) and then answer
 * 503 `upstream_unavailable`; any other refusal answers 502 `upstream_denied`
 * at once, with STS's message only in the operator log; the whole call,
 * retries included, must finish within `timeoutMs` or it answers 503. A 200
 * whose credential lacks any field answers 502 (it is not transient, and no
 * partial credential is ever returned).
 */
import { createHash } from 'node:crypto';
import type { AssumeRoleCommandInput, AssumeRoleCommandOutput, STSClient, Tag } from '@aws-sdk/client-sts';
import { LatchkeyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { claimText } from '../policy/model/claims.ts';
import type { AwsGrant } from '../policy/model/compile.ts';
import type { AwsCredentialResponse } from './token-response.ts';
import type { Minter, MintRequest, MintedCredential } from './minter.ts';
import {
  AUTOMATIC_TAG_KEYS,
  MAX_SESSION_TAGS,
  MAX_TAG_KEY_CHARS,
  MAX_TAG_VALUE_CHARS,
  STS_MAX_DURATION,
  STS_MIN_DURATION,
  minifiedPolicy,
  toRoleSessionName,
  toSourceIdentity,
  toTagText,
} from './aws-limits.ts';

/** The `issued_token_type` of `aws` grants. */
export const AWS_CREDENTIALS_TOKEN_TYPE = 'urn:latchkey:token-type:aws-credentials';

/** STS error codes worth another attempt (besides 429, 5xx and network failures). */
const TRANSIENT_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'IDPCommunicationError',
  'ServiceUnavailable',
  'InternalFailure',
  'InternalError',
]);
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 2000;

export interface AwsMinterOptions {
  /** The STS client's region, and the `region` returned when the policy names none. */
  region: string;
  /** An STS-compatible URL (tests, VPC endpoints, GovCloud, China); null: the SDK's default, which honours `AWS_ENDPOINT_URL_STS`. */
  endpoint?: string | null;
  /** Budget for one AssumeRole, retries and backoff included, in ms (default 10 000). */
  timeoutMs?: number;
  /** Attempts for transient failures, the first included (default 3). */
  maxAttempts?: number;
  logger: Logger;
  /** A prebuilt client (custom credentials, tests); give it `maxAttempts: 1`, since this minter retries itself. */
  client?: STSClient;
  /** Wall clock in ms (default Date.now), for the time budget. */
  now?: () => number;
}

interface CallSettings {
  timeoutMs: number;
  maxAttempts: number;
  now: () => number;
  logger: Logger;
}

/** One AssumeRole call on the SDK's client, abortable. */
type SendAssumeRole = (input: AssumeRoleCommandInput, signal: AbortSignal) => Promise<AssumeRoleCommandOutput>;

/**
 * Loads the AWS SDK and builds the client. Deferred to the first `aws`
 * grant: a service that issues only tokens never loads the SDK (measured:
 * about 5 MB of resident memory and its load time at start-up).
 */
async function connectSts(options: AwsMinterOptions): Promise<SendAssumeRole> {
  const sdk = await import('@aws-sdk/client-sts');
  const endpoint = options.endpoint ?? undefined;
  // maxAttempts 1: retries are ours, so they are bounded by one budget and classified by STS code.
  const client = options.client ?? new sdk.STSClient({ region: options.region, maxAttempts: 1, ...(endpoint === undefined ? {} : { endpoint }) });
  return (input, signal) => client.send(new sdk.AssumeRoleCommand(input), { abortSignal: signal });
}

/** Creates the minter for `aws` grants. */
export function createAwsMinter(options: AwsMinterOptions): Minter {
  let connecting: Promise<SendAssumeRole> | undefined;
  const sts = (): Promise<SendAssumeRole> => {
    connecting ??= connectSts(options).catch((error: unknown) => {
      connecting = undefined; // a later grant tries again
      throw error;
    });
    return connecting;
  };
  const settings: CallSettings = {
    timeoutMs: options.timeoutMs ?? 10_000,
    maxAttempts: Math.max(1, options.maxAttempts ?? 3),
    now: options.now ?? Date.now,
    logger: options.logger,
  };
  return {
    kind: 'aws',
    tokenTypes: [AWS_CREDENTIALS_TOKEN_TYPE],
    mintsRemotely: true,
    async mint(request: MintRequest): Promise<MintedCredential> {
      const { policy, grantId } = request;
      if (policy.grant.kind !== 'aws') throw new Error(`aws minter given a ${policy.grant.kind} grant`);
      if (request.ttl < STS_MIN_DURATION || request.ttl > STS_MAX_DURATION) {
        throw new LatchkeyError('ttl_exceeded', `aws sessions last ${STS_MIN_DURATION} to ${STS_MAX_DURATION} seconds; ${request.ttl} was asked for`);
      }
      const input = buildAssumeRoleInput(request, policy.grant, settings.logger);
      const log = settings.logger.child({ grant_id: grantId, role_arn: input.RoleArn });
      const { output, attempts } = await assumeRole(await sts(), input, { ...settings, logger: log });
      const credential = toCredential(output, policy.grant.region ?? options.region, attempts);
      log.info('aws session issued', {
        session_name: input.RoleSessionName,
        source_identity: input.SourceIdentity ?? null,
        access_key_id: credential.access_key_id,
        attempts,
      });
      return {
        response: { access_token: credential.session_token, issued_token_type: AWS_CREDENTIALS_TOKEN_TYPE, token_type: 'N_A', aws: credential },
        credentialSha256: createHash('sha256').update(credential.session_token).digest('hex'),
        target: policy.grant.roleArn,
        sessionName: input.RoleSessionName ?? null,
        accessKeyId: credential.access_key_id,
      };
    },
  };
}

/** AssumeRole's parameters for a request: duration, session name, source identity, tags, session policies. */
function buildAssumeRoleInput(request: MintRequest, grant: AwsGrant, logger: Logger): AssumeRoleCommandInput {
  const claims = request.token.claims;
  const sourceIdentity = toSourceIdentity(claimText(claims.actor));
  return {
    RoleArn: grant.roleArn,
    RoleSessionName: toRoleSessionName(claimText(claims.repository), claimText(claims.run_id), request.grantId),
    DurationSeconds: request.ttl,
    ...(sourceIdentity === null ? {} : { SourceIdentity: sourceIdentity }),
    Tags: sessionTags(request, grant, logger),
    ...(grant.sessionPolicy === undefined ? {} : { Policy: minifiedPolicy(grant.sessionPolicy) }),
    ...(grant.managedSessionPolicies.length === 0 ? {} : { PolicyArns: grant.managedSessionPolicies.map((arn) => ({ arn })) }),
  };
}

/**
 * The automatic tags (absent claims skipped) then the policy's; a policy tag
 * that would repeat a key (STS compares keys case-insensitively) or pass the
 * 50-tag cap is dropped with a warning (the policy check reports both at load).
 */
function sessionTags(request: MintRequest, grant: AwsGrant, logger: Logger): Tag[] {
  const tags: Tag[] = [{ Key: 'latchkey:grant-id', Value: request.grantId }];
  for (const key of AUTOMATIC_TAG_KEYS) {
    if (key === 'latchkey:grant-id') continue;
    const value = claimText(request.token.claims[key]);
    if (value !== null && value !== '') tags.push({ Key: key, Value: toTagText(value, MAX_TAG_VALUE_CHARS) });
  }
  const used = new Set<string>(AUTOMATIC_TAG_KEYS.map((key) => key.toLowerCase()));
  const dropped: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(grant.tags)) {
    const key = toTagText(rawKey, MAX_TAG_KEY_CHARS);
    if (key === '' || /^aws:/i.test(key) || used.has(key.toLowerCase()) || tags.length >= MAX_SESSION_TAGS) {
      dropped.push(rawKey);
      continue;
    }
    used.add(key.toLowerCase());
    tags.push({ Key: key, Value: toTagText(rawValue, MAX_TAG_VALUE_CHARS) });
  }
  if (dropped.length > 0) logger.warn('aws session tags dropped', { grant_id: request.grantId, policy: request.policy.name, tags: dropped });
  return tags;
}

/** One AssumeRole with bounded retries of transient failures, all within `timeoutMs`. */
async function assumeRole(
  send: SendAssumeRole,
  input: AssumeRoleCommandInput,
  settings: CallSettings,
): Promise<{ output: AssumeRoleCommandOutput; attempts: number }> {
  const deadline = settings.now() + settings.timeoutMs;
  for (let attempt = 1; ; attempt += 1) {
    const remaining = deadline - settings.now();
    if (remaining <= 0) throw timedOut(settings, attempt - 1);
    const result = await sendWithin(send, input, remaining);
    if (result.ok) return { output: result.output, attempts: attempt };
    if (result.timedOut) throw timedOut(settings, attempt);
    const failure = classify(result.error);
    const detail = `STS ${failure.code}: ${failure.message} (attempt ${attempt} of ${settings.maxAttempts})`;
    if (!failure.transient) {
      throw new LatchkeyError('upstream_denied', `AWS STS refused to assume the role (${failure.code})`, { logDetail: detail });
    }
    const delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
    if (attempt >= settings.maxAttempts)
      throw new LatchkeyError('upstream_unavailable', `AWS STS is unavailable (${failure.code}); try again`, { logDetail: detail });
    if (settings.now() + delay >= deadline) throw timedOut(settings, attempt, detail);
    settings.logger.warn('aws sts call failed; retrying', { code: failure.code, attempt, delay_ms: Math.round(delay) });
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

type SendResult = { ok: true; output: AssumeRoleCommandOutput } | { ok: false; timedOut: boolean; error: unknown };

/**
 * Sends once, giving up after `ms`: the request is aborted and, whatever the
 * SDK is doing (resolving credentials included), the caller moves on.
 */
async function sendWithin(send: SendAssumeRole, input: AssumeRoleCommandInput, ms: number): Promise<SendResult> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<SendResult>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve({ ok: false, timedOut: true, error: undefined });
    }, ms);
  });
  const sent = send(input, abort.signal).then(
    (output): SendResult => ({ ok: true, output }),
    (error: unknown): SendResult => ({ ok: false, timedOut: abort.signal.aborted, error }),
  );
  try {
    return await Promise.race([sent, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function timedOut(settings: CallSettings, attempts: number, last?: string): LatchkeyError {
  return new LatchkeyError('upstream_unavailable', 'AWS STS did not answer in time; try again', {
    logDetail: `STS call exceeded ${settings.timeoutMs} ms (${attempts} attempt${attempts === 1 ? '' : 's'}${last === undefined ? '' : `; last: ${last}`})`,
  });
}

interface Classified {
  transient: boolean;
  code: string;
  message: string;
}

/** STS errors by code and status; failures without an HTTP status are network failures. */
function classify(error: unknown): Classified {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  const status = fields.$metadata?.httpStatusCode;
  const raw = [fields.Code, fields.code, fields.name].find((value) => typeof value === 'string' && value !== '') as string | undefined;
  // The code reaches the client's description, so it is kept to what an STS code looks like.
  const code =
    (raw ?? 'NetworkError')
      .replace(/Exception$/, '')
      .replace(/[^\w.-]/g, '')
      .slice(0, 64) || 'Unknown';
  const message = (typeof fields.message === 'string' ? fields.message : String(error)).slice(0, 500);
  if (status === undefined) return { transient: true, code, message };
  return { transient: TRANSIENT_CODES.has(code) || status === 429 || status >= 500, code: status >= 200 && status < 300 ? 'InvalidResponse' : code, message };
}

/** The whole credential, or 502: a response missing any part is never passed on. */
function toCredential(output: AssumeRoleCommandOutput, region: string, attempts: number): AwsCredentialResponse {
  const credentials = output.Credentials;
  const expiration = credentials?.Expiration;
  const parts = {
    AccessKeyId: credentials?.AccessKeyId,
    SecretAccessKey: credentials?.SecretAccessKey,
    SessionToken: credentials?.SessionToken,
    Expiration: expiration instanceof Date && !Number.isNaN(expiration.getTime()) ? expiration.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined,
    'AssumedRoleUser.Arn': output.AssumedRoleUser?.Arn,
  };
  const missing = Object.entries(parts)
    .filter(([, value]) => typeof value !== 'string' || value === '')
    .map(([name]) => name);
  if (missing.length > 0) {
    throw new LatchkeyError('upstream_denied', 'AWS STS returned an incomplete credential', {
      logDetail: `STS AssumeRole response lacks ${missing.join(', ')} (attempt ${attempts})`,
    });
  }
  return {
    access_key_id: parts.AccessKeyId as string,
    secret_access_key: parts.SecretAccessKey as string,
    session_token: parts.SessionToken as string,
    expiration: parts.Expiration as string,
    region,
    assumed_role_arn: parts['AssumedRoleUser.Arn'] as string,
  };
}
