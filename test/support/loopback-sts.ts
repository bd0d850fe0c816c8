/**
 * A loopback AWS STS for tests: speaks the real Query protocol (a form-encoded
 * `Action=AssumeRole&Version=2011-06-15&…` POST) and answers with STS's real
 * XML shapes, so the real `@aws-sdk/client-sts` talks to it over HTTP.
 *
 * Every request must carry a SigV4 `Authorization` header scoped to `sts`;
 * when the server knows the caller's secret it also recomputes the signature
 * (SignatureDoesNotMatch otherwise). It checks AssumeRole's parameters the
 * way STS does (ValidationError), records every request it receives, parsed,
 * and can be told to fail, stall, drop the connection or send a raw body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';

/** A scripted STS error response. */
export interface StsFailure {
  /** The STS error code (`Throttling`, `AccessDenied`, `IDPCommunicationError`, …). */
  code: string;
  /** HTTP status (default 400). */
  status?: number;
  message?: string;
  /** Default `Sender` below 500, `Receiver` from 500. */
  type?: 'Sender' | 'Receiver';
}

/** What the next request gets instead of the normal handling (after the signature check). */
export type StsScript = { fail: StsFailure } | { drop: true } | { raw: string; status?: number };

/** The SigV4 `Authorization` header, parsed. */
export interface SigV4Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** One request as the server received it. */
export interface RecordedStsRequest {
  /** Every form parameter, verbatim. */
  params: Readonly<Record<string, string>>;
  action: string | undefined;
  roleArn: string | undefined;
  roleSessionName: string | undefined;
  durationSeconds: number | undefined;
  sourceIdentity: string | undefined;
  policy: string | undefined;
  /** `Tags.member.N.Key/Value`, in N order. */
  tags: Array<{ key: string; value: string }>;
  /** `PolicyArns.member.N.arn`, in N order. */
  policyArns: string[];
  authorization: SigV4Authorization | null;
}

/** Credentials the server handed out (so tests can prove they never reach a log). */
export interface IssuedStsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
  assumedRoleArn: string;
}

export interface LoopbackSts {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Every request received, in order (including refused ones). */
  readonly requests: readonly RecordedStsRequest[];
  readonly issued: readonly IssuedStsCredentials[];
  /** How long every response is held, ms (default 0). `close()` ends held responses. */
  delayMs: number;
  /** The next `count` requests fail with `failure`. */
  failNext(count: number, failure: StsFailure): void;
  /** The next `count` requests get their connection destroyed without a response. */
  dropNext(count: number): void;
  /** Queues arbitrary behaviours for the next requests, in order. */
  script(...steps: StsScript[]): void;
  close(): Promise<void>;
}

export interface LoopbackStsOptions {
  /** The caller's credentials: when given, signatures are recomputed and checked, not just parsed. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Clock for `Expiration`, ms (default Date.now). */
  now?: () => number;
}

const NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/;

type LiveSts = { -readonly [K in keyof LoopbackSts]: LoopbackSts[K] } & { requests: RecordedStsRequest[]; issued: IssuedStsCredentials[] };

/** Starts the loopback STS on 127.0.0.1. Call `close()` when done. */
export async function startLoopbackSts(options: LoopbackStsOptions = {}): Promise<LoopbackSts> {
  const now = options.now ?? Date.now;
  const queue: StsScript[] = [];
  const held = new Set<NodeJS.Timeout>();
  const sts: LiveSts = {
    url: '',
    requests: [],
    issued: [],
    delayMs: 0,
    failNext: (count, failure) => queue.push(...Array.from({ length: count }, () => ({ fail: failure }))),
    dropNext: (count) => queue.push(...Array.from({ length: count }, (): StsScript => ({ drop: true }))),
    script: (...steps) => queue.push(...steps),
    async close() {
      for (const timer of held) clearTimeout(timer);
      held.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const request = recordRequest(req, body);
    sts.requests.push(request);
    const respond = (): void => answer({ sts, queue, options, now }, req, res, body, request);
    if (sts.delayMs <= 0) return respond();
    const timer = setTimeout(() => {
      held.delete(timer);
      respond();
    }, sts.delayMs);
    held.add(timer);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sts.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return sts;
}

interface AnswerContext {
  sts: LiveSts;
  queue: StsScript[];
  options: LoopbackStsOptions;
  now: () => number;
}

function answer(context: AnswerContext, req: IncomingMessage, res: ServerResponse, body: Buffer, request: RecordedStsRequest): void {
  if (req.method !== 'POST') return sendError(res, { code: 'InvalidAction', status: 400, message: 'STS Query requests are POSTs here' });
  const authProblem = checkAuthorization(req, body, request.authorization, context.options.credentials);
  if (authProblem !== null) return sendError(res, authProblem);
  const step = context.queue.shift();
  if (step !== undefined) {
    if ('drop' in step) return void req.socket.destroy();
    if ('raw' in step) return void res.writeHead(step.status ?? 200, { 'content-type': 'text/xml' }).end(step.raw);
    return sendError(res, step.fail);
  }
  const invalid = validateAssumeRole(request);
  if (invalid !== null) return sendError(res, invalid);
  const issued = issueCredentials(request, context.now());
  context.sts.issued.push(issued);
  res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() }).end(successXml(request, issued));
}

function recordRequest(req: IncomingMessage, body: Buffer): RecordedStsRequest {
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) params[name] = value;
  const tags: RecordedStsRequest['tags'] = [];
  for (let n = 1; params[`Tags.member.${n}.Key`] !== undefined; n += 1) {
    tags.push({ key: params[`Tags.member.${n}.Key`] ?? '', value: params[`Tags.member.${n}.Value`] ?? '' });
  }
  const policyArns: string[] = [];
  for (let n = 1; params[`PolicyArns.member.${n}.arn`] !== undefined; n += 1) policyArns.push(params[`PolicyArns.member.${n}.arn`] ?? '');
  const duration = params.DurationSeconds;
  return {
    params,
    tags,
    policyArns,
    action: params.Action,
    roleArn: params.RoleArn,
    roleSessionName: params.RoleSessionName,
    durationSeconds: duration === undefined ? undefined : Number(duration),
    sourceIdentity: params.SourceIdentity,
    policy: params.Policy,
    authorization: parseAuthorization(req.headers.authorization),
  };
}

function parseAuthorization(header: string | undefined): SigV4Authorization | null {
  const match = header === undefined ? null : AUTHORIZATION.exec(header);
  if (match === null) return null;
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = match;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** Null when the request is signed for STS (and, with a known secret, signed correctly). */
function checkAuthorization(
  req: IncomingMessage,
  body: Buffer,
  auth: SigV4Authorization | null,
  credentials: LoopbackStsOptions['credentials'],
): StsFailure | null {
  if (auth === null) return { code: 'MissingAuthenticationToken', status: 403, message: 'Request is missing a SigV4 Authentication Token' };
  if (auth.service !== 'sts') return { code: 'SignatureDoesNotMatch', status: 403, message: `Credential should be scoped to correct service: 'sts'.` };
  if (!auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-amz-date')) {
    return { code: 'SignatureDoesNotMatch', status: 403, message: 'host and x-amz-date must be signed' };
  }
  if (credentials === undefined) return null;
  if (auth.accessKeyId !== credentials.accessKeyId)
    return { code: 'InvalidClientTokenId', status: 403, message: 'The security token included in the request is invalid.' };
  const expected = computeSignature(req, body, auth, credentials.secretAccessKey);
  return expected === auth.signature
    ? null
    : { code: 'SignatureDoesNotMatch', status: 403, message: 'The request signature we calculated does not match the signature you provided.' };
}

/** SigV4 as AWS specifies it: canonical request, string to sign, derived key. */
function computeSignature(req: IncomingMessage, body: Buffer, auth: SigV4Authorization, secret: string): string {
  const url = new URL(req.url ?? '/', 'http://sts.invalid');
  const query = [...url.searchParams]
    .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
    .sort()
    .join('&');
  const headerValue = (name: string): string => {
    const raw = req.headers[name];
    return (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().replace(/\s+/g, ' ');
  };
  const canonicalHeaders = auth.signedHeaders.map((name) => `${name}:${headerValue(name)}\n`).join('');
  const payloadHash = headerValue('x-amz-content-sha256') || sha256(body);
  const canonicalRequest = [req.method ?? 'POST', url.pathname || '/', query, canonicalHeaders, auth.signedHeaders.join(';'), payloadHash].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', headerValue('x-amz-date'), scope, sha256(canonicalRequest)].join('\n');
  let key: Buffer = Buffer.from(`AWS4${secret}`);
  for (const part of [auth.date, auth.region, auth.service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const rfc3986 = (text: string): string => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** AssumeRole's documented parameter constraints; the first violation, as STS reports it. */
function validateAssumeRole(request: RecordedStsRequest): StsFailure | null {
  const invalid = (message: string): StsFailure => ({ code: 'ValidationError', message: `1 validation error detected: ${message}` });
  if (request.action !== 'AssumeRole') return { code: 'InvalidAction', message: `Could not find operation ${request.action ?? ''} for version 2011-06-15` };
  if (request.params.Version !== '2011-06-15') return { code: 'InvalidAction', message: 'unsupported Version' };
  if (request.roleArn === undefined || !ROLE_ARN.test(request.roleArn))
    return invalid(`Value '${request.roleArn ?? ''}' at 'roleArn' failed to satisfy constraint`);
  if (request.roleSessionName === undefined || !NAME_PATTERN.test(request.roleSessionName)) {
    return invalid(
      `Value '${request.roleSessionName ?? ''}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  const duration = request.durationSeconds;
  if (duration !== undefined && !(Number.isInteger(duration) && duration >= 900 && duration <= 43200)) {
    return invalid(`Value '${duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200`);
  }
  if (request.sourceIdentity !== undefined && (!NAME_PATTERN.test(request.sourceIdentity) || /^aws:/i.test(request.sourceIdentity))) {
    return invalid(`Value '${request.sourceIdentity}' at 'sourceIdentity' failed to satisfy constraint`);
  }
  if (request.policy !== undefined) {
    if (request.policy.length > 2048) return invalid(`Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048`);
    try {
      JSON.parse(request.policy);
    } catch {
      return { code: 'MalformedPolicyDocument', message: 'The policy is not in the valid JSON format.' };
    }
  }
  if (request.policyArns.length > 10) return invalid(`Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10`);
  return validateTags(request.tags, invalid);
}

function validateTags(tags: RecordedStsRequest['tags'], invalid: (message: string) => StsFailure): StsFailure | null {
  if (tags.length > 50) return invalid(`Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50`);
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    if (key.length < 1 || key.length > 128 || !TAG_TEXT.test(key)) return invalid(`Value '${key}' at 'tags.key' failed to satisfy constraint`);
    if (value.length > 256 || !TAG_TEXT.test(value)) return invalid(`Value '${value}' at 'tags.value' failed to satisfy constraint`);
    if (/^aws:/i.test(key)) return invalid(`Value '${key}' at 'tags.key': tag keys cannot start with aws:`);
    if (seen.has(key.toLowerCase()))
      return { code: 'InvalidParameterValue', message: 'Duplicate tag keys found. Please note that Tag keys are case insensitive.' };
    seen.add(key.toLowerCase());
  }
  return null;
}

function issueCredentials(request: RecordedStsRequest, nowMs: number): IssuedStsCredentials {
  const [, partition = 'aws', account = '', roleName = ''] = ROLE_ARN.exec(request.roleArn ?? '') ?? [];
  const expiration = new Date(nowMs + (request.durationSeconds ?? 3600) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    accessKeyId: `ASIA${randomBytes(10).toString('hex').toUpperCase().slice(0, 16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `FwoGZXIvYXdzE${randomBytes(240).toString('base64')}`,
    expiration,
    assumedRoleArn: `arn:${partition}:sts::${account}:assumed-role/${roleName}/${request.roleSessionName ?? ''}`,
  };
}

function successXml(request: RecordedStsRequest, issued: IssuedStsCredentials): string {
  const roleId = `AROA${randomBytes(8).toString('hex').toUpperCase()}`;
  const source = request.sourceIdentity === undefined ? '' : `\n    <SourceIdentity>${xml(request.sourceIdentity)}</SourceIdentity>`;
  return `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>${source}
    <AssumedRoleUser>
      <Arn>${xml(issued.assumedRoleArn)}</Arn>
      <AssumedRoleId>${roleId}:${xml(request.roleSessionName ?? '')}</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>${issued.accessKeyId}</AccessKeyId>
      <SecretAccessKey>${xml(issued.secretAccessKey)}</SecretAccessKey>
      <SessionToken>${xml(issued.sessionToken)}</SessionToken>
      <Expiration>${issued.expiration}</Expiration>
    </Credentials>
    <PackedPolicySize>${Math.min(100, request.tags.length * 2)}</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>${randomUUID()}</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>
`;
}

function sendError(res: ServerResponse, failure: StsFailure): void {
  const status = failure.status ?? 400;
  const type = failure.type ?? (status >= 500 ? 'Receiver' : 'Sender');
  const requestId = randomUUID();
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }).end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>${type}</Type>
    <Code>${xml(failure.code)}</Code>
    <Message>${xml(failure.message ?? failure.code)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`);
}

const xml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
