/**
 * Structural checks on an unverified compact JWT (ATTACKS.md 1–4, 7): exactly
 * three canonical, unpadded base64url segments; a UTF-8 JSON object header and
 * payload; no header that asks us to trust a key, an extension or a nested
 * token; the time claims present as safe integers. Everything here is
 * `token_invalid` and happens before any key lookup or network fetch.
 */
import { LatchkeyError } from '../errors.ts';
import { KID_PATTERN } from './jwk-set.ts';

/** The header fields the verifier relies on, after the checks. */
export interface CheckedHeader {
  alg: string;
  kid: string;
}

/** The payload claims the verifier relies on, after the checks; `all` is every claim. */
export interface CheckedPayload {
  iss: string;
  exp: number;
  iat: number;
  nbf: number | undefined;
  jti: string | undefined;
  all: Record<string, unknown>;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Headers that point at keys or certificates elsewhere: never followed, so never accepted. */
const KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256'];

const invalid = (description: string): never => {
  throw new LatchkeyError('token_invalid', description);
};

/** A structurally sound compact JWT, not yet verified. */
export interface ParsedJwt {
  header: CheckedHeader;
  payload: CheckedPayload;
  /** What the signature covers: the ASCII bytes of `header.payload`. */
  signingInput: Buffer;
  /** The decoded signature. */
  signature: Buffer;
}

/** Parses and checks a compact JWT's structure; throws LatchkeyError `token_invalid`. */
export function parseCompactJwt(token: string): ParsedJwt {
  if (token.trimStart().startsWith('{')) invalid('JSON-serialised JWS is not accepted; send the compact form');
  const parts = token.split('.');
  if (parts.length === 5) invalid('encrypted tokens (JWE) are not accepted');
  if (parts.length !== 3) invalid(`token has ${parts.length} dot-separated parts, not 3`);
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = checkHeader(decodeJsonObject(headerPart, 'header'));
  const payload = checkPayload(decodeJsonObject(payloadPart, 'payload'));
  const signature = decodeSegment(signaturePart, 'signature');
  // Every character is base64url or '.' by now, so latin1 gives the ASCII bytes without a UTF-8 pass.
  const signingInput = Buffer.from(token.slice(0, headerPart.length + 1 + payloadPart.length), 'latin1');
  return { header, payload, signingInput, signature };
}

/** Strict base64url: no padding, `+`, `/` or whitespace, and canonical (re-encodes to the same text). */
function decodeSegment(segment: string, name: string): Buffer {
  if (!BASE64URL.test(segment)) invalid(`token ${name} is not unpadded base64url`);
  const bytes = Buffer.from(segment, 'base64url');
  // Non-canonical spellings (stray trailing bits) would let one signature stand for several token strings.
  if (bytes.toString('base64url') !== segment) invalid(`token ${name} is not canonical base64url`);
  return bytes;
}

/** Strict UTF-8 (a fatal decoder keeps no state between whole-buffer calls, so one serves every token). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeJsonObject(segment: string, name: string): Record<string, unknown> {
  const bytes = decodeSegment(segment, name);
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(bytes));
  } catch {
    return invalid(`token ${name} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(`token ${name} is not a JSON object`);
  return value as Record<string, unknown>;
}

function checkHeader(header: Record<string, unknown>): CheckedHeader {
  const { alg, kid, cty } = header;
  if (typeof alg !== 'string' || alg === '') return invalid('token header has no alg');
  if (alg.toLowerCase() === 'none') invalid('unsigned tokens (alg "none") are not accepted');
  if ('enc' in header) invalid('encrypted tokens (JWE) are not accepted');
  if ('crit' in header) invalid('token header "crit" is not supported');
  if ('b64' in header) invalid('token header "b64" is not supported');
  for (const name of KEY_HEADERS) {
    if (name in header) invalid(`token header "${name}" is not accepted: keys come only from the issuer's JWKS`);
  }
  if (typeof cty === 'string' && ['jwt', 'application/jwt'].includes(cty.toLowerCase())) {
    invalid('nested tokens (cty JWT) are not accepted');
  }
  if (kid === undefined) return invalid('token header has no kid');
  if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
    return invalid('token kid has characters outside [A-Za-z0-9._~-] or is longer than 256');
  }
  return { alg, kid };
}

function checkPayload(payload: Record<string, unknown>): CheckedPayload {
  const { iss, exp, iat, nbf, jti } = payload;
  if (typeof iss !== 'string') return invalid('token has no iss claim');
  if (!isSafeInteger(exp)) return invalid('token exp claim is missing or not an integer');
  if (!isSafeInteger(iat)) return invalid('token iat claim is missing or not an integer');
  if (nbf !== undefined && !isSafeInteger(nbf)) return invalid('token nbf claim is not an integer');
  if (jti !== undefined && (typeof jti !== 'string' || jti === '')) return invalid('token jti claim is not a non-empty string');
  return { iss, exp, iat, nbf, jti, all: payload };
}

const isSafeInteger = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value);
