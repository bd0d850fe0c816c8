/**
 * Reads and parses a `/token` (and `/revoke`) body at the edge: size-capped
 * before parsing (a lying or absent Content-Length cannot get past the cap),
 * form or JSON, every parameter a single string, then one zod schema.
 */
import type { Readable } from 'node:stream';
import * as z from 'zod';
import { OAuthError, fail } from '../errors.ts';

export const TokenRequest = z.object({
  grant_type: z.string(),
  subject_token: z.string().min(1),
  subject_token_type: z.enum(['urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt']),
  audience: z.string().min(1).max(512),
  requested_token_type: z.string().max(256).optional(),
  scope: z.string().max(2048).optional(),
  ttl: z.string().regex(/^[1-9]\d{0,6}$/, 'ttl must be a whole number of seconds').transform(Number).optional(),
  justification: z.string().max(1000).optional(),
});
export type TokenRequest = z.infer<typeof TokenRequest>;

/** What {@link readBodyCapped} reads on the Node server: the request's own stream. */
export type NodeBody = Pick<Readable, 'on' | 'off' | 'readableEnded'>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the raw body, refusing more than `maxBytes` whatever the headers say. */
export async function readBodyCapped(request: Request, maxBytes: number, incoming?: NodeBody): Promise<string> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    fail('malformed', `request body is larger than ${maxBytes} bytes`, { status: 413 });
  }
  // On the Node server, read the socket stream itself: wrapping it in a web ReadableStream costs more than the parse.
  const chunks = incoming !== undefined ? await readNodeBody(incoming, maxBytes) : request.body === null ? [] : await readWebBody(request.body, maxBytes);
  try {
    return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  } catch {
    return fail('malformed', 'request body is not valid UTF-8');
  }
}

const tooLarge = (maxBytes: number): OAuthError => new OAuthError('malformed', `request body is larger than ${maxBytes} bytes`, { status: 413 });

/**
 * The chunks of a Node request stream, by its events (an async iterator per
 * request costs more than the rest of the read). Past `maxBytes` the read
 * fails with 413 and the rest of the body is left to flow away unread.
 */
function readNodeBody(incoming: NodeBody, maxBytes: number): Promise<Uint8Array[]> {
  if (incoming.readableEnded) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const done = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Uint8Array): void => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        // Stop collecting; the rest flows to no listener, and the 413 still reaches the client.
        done();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(chunks);
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const onClose = (): void => {
      done();
      reject(new OAuthError('malformed', 'the request body ended early'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}

async function readWebBody(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of webChunks(body)) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return chunks;
}

async function* webChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Parses form or JSON into single-valued string parameters; duplicates and non-strings are malformed. */
export function parseParameters(body: string, contentType: string | null): Record<string, string> {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json') return parseJsonParameters(body);
  if (type === 'application/x-www-form-urlencoded') return parseFormParameters(body);
  return fail('malformed', 'Content-Type must be application/x-www-form-urlencoded or application/json');
}

function parseFormParameters(body: string): Record<string, string> {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(body)) {
    if (name in params) fail('malformed', `parameter ${JSON.stringify(name.slice(0, 64))} is repeated`);
    params[name] = value;
  }
  return params;
}

function parseJsonParameters(body: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return fail('malformed', 'request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('malformed', 'request body must be a JSON object');
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value === 'number' && name === 'ttl') params[name] = String(value);
    else if (typeof value === 'string') params[name] = value;
    else fail('malformed', `parameter ${JSON.stringify(name.slice(0, 64))} must be a string`);
  }
  if (hasDuplicateTopLevelKey(body)) fail('malformed', 'a parameter is repeated');
  return params;
}

/** JSON.parse keeps the last of two equal keys; a repeated parameter must be refused, not silently picked. */
function hasDuplicateTopLevelKey(body: string): boolean {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(body.slice(i, j + 1)) as string;
        if (seen.has(key)) return true;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      if (depth === 1 && ch === '{') expectKey = true;
    } else if (ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 1) expectKey = true;
  }
  return false;
}

/** Validates the `/token` parameters; a wrong grant_type is its own reason, checked first. */
export function parseTokenRequest(params: Record<string, string>, maxTokenBytes: number): TokenRequest {
  const grantType = params.grant_type;
  if (grantType !== undefined && grantType !== 'urn:ietf:params:oauth:grant-type:token-exchange') {
    fail('grant_type', 'grant_type must be urn:ietf:params:oauth:grant-type:token-exchange');
  }
  if ((params.subject_token?.length ?? 0) > maxTokenBytes) fail('malformed', `subject_token is larger than ${maxTokenBytes} bytes`);
  const result = TokenRequest.safeParse(params);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') ?? 'body';
    const missing = issue?.code === 'invalid_type' && params[field] === undefined;
    throw new OAuthError('malformed', missing ? `missing parameter ${field}` : `invalid ${field}: ${issue?.message ?? 'bad value'}`);
  }
  return result.data;
}
