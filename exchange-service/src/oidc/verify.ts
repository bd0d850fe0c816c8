/**
 * Subject-token verification (SPEC §3 "Verification"; ATTACKS.md 1–8).
 *
 * Checks run in a fixed order, each failing with its own reason code:
 * size (`malformed`) → structure (`token_invalid`) → `iss` against the
 * configured issuers, byte for byte, before any network fetch
 * (`issuer_untrusted`) → algorithm allow-list, key from that issuer's JWKS
 * only, signature (`token_invalid`) → time with 60 s leeway (`token_expired`)
 * → audience (`audience_mismatch`). Nothing about policies is looked at here.
 */
import { createHash } from 'node:crypto';
import type { IssuerConfig } from '../config.ts';
import { LatchkeyError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { parseCompactJwt, type CheckedPayload, type ParsedJwt } from './compact-jwt.ts';
import { createJwksCache, type JwksCache } from './jwks.ts';
import { checkJwsSignature } from '../jws/algorithms.ts';

/** A token whose signature, issuer, times and audience all checked out. */
export interface VerifiedToken {
  /** The config name of the issuer (e.g. 'github', 'dev'). */
  issuer: string;
  issuerKind: 'github' | 'gitlab' | 'generic';
  /** The verified payload (frozen). */
  claims: Readonly<Record<string, unknown>>;
  /** The jti claim, or 'sha256:' + hex sha256 of the signed part (header.payload) when absent. */
  jti: string;
  /** exp, epoch seconds. */
  expiresAt: number;
  /** Hex sha256 of the raw token, for audit; the token itself is never logged. */
  tokenSha256: string;
}

/** Options of createTokenVerifier; the defaults are built in server.ts. */
export interface TokenVerifierOptions {
  issuers: Readonly<Record<string, IssuerConfig>>;
  /** The only `aud` accepted. */
  audience: string;
  fetch?: typeof fetch;
  /** Clock in ms (default Date.now). */
  now?: () => number;
  logger?: Logger;
  /** Issuer name → local JWKS: that issuer's keys are never fetched. */
  staticKeys?: Readonly<Record<string, { keys: JsonWebKey[] }>>;
  /** One call per JWKS fetch attempt, for metrics. */
  onJwksFetch?: (issuer: string, outcome: 'ok' | 'error') => void;
  /** Tokens longer than this (UTF-8 bytes) are `malformed` before decoding; default 16384. */
  maxTokenBytes?: number;
}

/** Verifies subject tokens against the configured issuers. */
export interface TokenVerifier {
  /** Verifies a subject token; throws only LatchkeyError (reasons in this module's header). */
  verify(token: string): Promise<VerifiedToken>;
  /** Stops background JWKS refreshes. */
  close(): void;
}

/** Clock skew tolerated on exp, nbf and iat (SPEC §3). */
export const LEEWAY_SECONDS = 60;

interface TrustedIssuer {
  name: string;
  kind: VerifiedToken['issuerKind'];
  algorithms: readonly string[];
  keys: JwksCache;
}

/** The algorithms an issuer may sign with: its config, else RS256 for GitHub and RS256/ES256 otherwise. */
export function issuerAlgorithms(config: Pick<IssuerConfig, 'kind' | 'algorithms'>): readonly string[] {
  return config.algorithms ?? (config.kind === 'github' ? ['RS256'] : ['RS256', 'ES256']);
}

/** Builds a verifier over the configured issuers. Throws Error if two issuers share a URL or a static key set names no issuer. */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const now = options.now ?? Date.now;
  const maxTokenBytes = options.maxTokenBytes ?? 16 * 1024;
  const issuers = trustIssuers(options);

  async function verify(token: string): Promise<VerifiedToken> {
    if (typeof token !== 'string') throw new LatchkeyError('malformed', 'subject_token must be a string');
    if (token.length > maxTokenBytes || Buffer.byteLength(token, 'utf8') > maxTokenBytes) {
      throw new LatchkeyError('malformed', `subject_token is larger than ${maxTokenBytes} bytes`);
    }
    const parsed = parseCompactJwt(token);
    const { header, payload } = parsed;
    const issuer = issuers.get(payload.iss);
    if (issuer === undefined) throw new LatchkeyError('issuer_untrusted', `issuer ${quote(payload.iss)} is not trusted`);
    if (!issuer.algorithms.includes(header.alg)) {
      throw new LatchkeyError('token_invalid', `algorithm ${quote(header.alg)} is not allowed for issuer "${issuer.name}"`);
    }
    await checkSignature(parsed, issuer);
    checkTimes(payload, Math.floor(now() / 1000));
    checkAudience(payload.all.aud, options.audience);
    const tokenSha256 = createHash('sha256').update(token).digest('hex');
    return {
      issuer: issuer.name,
      issuerKind: issuer.kind,
      claims: deepFreeze(payload.all),
      // Without a jti, the replay key is the digest of header.payload: an ECDSA signature can be
      // rewritten as (r, n-s) and still verify, so the whole token string is not unique per token.
      jti: payload.jti ?? `sha256:${createHash('sha256').update(parsed.signingInput).digest('hex')}`,
      expiresAt: payload.exp,
      tokenSha256,
    };
  }

  return {
    verify,
    close(): void {
      for (const issuer of issuers.values()) issuer.keys.close();
    },
  };
}

/** The allow-list: issuer URL (exactly as configured) → issuer, each with its own key cache. */
function trustIssuers(options: TokenVerifierOptions): Map<string, TrustedIssuer> {
  const byUrl = new Map<string, TrustedIssuer>();
  for (const name of Object.keys(options.staticKeys ?? {})) {
    if (options.issuers[name] === undefined) throw new Error(`static keys given for unknown issuer "${name}"`);
  }
  for (const [name, config] of Object.entries(options.issuers)) {
    const other = byUrl.get(config.url);
    if (other !== undefined) throw new Error(`issuers "${other.name}" and "${name}" have the same url`);
    const algorithms = issuerAlgorithms(config);
    const staticKeys = options.staticKeys?.[name];
    const keys = createJwksCache({
      issuer: name,
      config,
      algorithms,
      logger: (options.logger ?? silentLogger).child({ issuer: name }),
      ...(staticKeys !== undefined ? { staticKeys } : {}),
      ...(options.fetch !== undefined ? { fetch: options.fetch } : {}),
      ...(options.now !== undefined ? { now: options.now } : {}),
      ...(options.onJwksFetch !== undefined ? { onFetch: options.onJwksFetch } : {}),
    });
    byUrl.set(config.url, { name, kind: config.kind, algorithms, keys });
  }
  return byUrl;
}

/**
 * The signature, with a key resolved only from the issuer's own cache for the
 * (already allowed) `alg`. The payload verified is the one parsed before: the
 * signing input is the very bytes it was decoded from, so nothing is decoded twice.
 */
async function checkSignature(token: ParsedJwt, issuer: TrustedIssuer): Promise<void> {
  const key = await issuer.keys.getKey(token.header.kid, token.header.alg);
  checkJwsSignature(token.header.alg, key, token.signingInput, token.signature);
}

function checkTimes(payload: CheckedPayload, nowSeconds: number): void {
  if (payload.exp + LEEWAY_SECONDS <= nowSeconds) {
    throw new LatchkeyError('token_expired', `token expired ${nowSeconds - payload.exp} s ago`);
  }
  if (payload.nbf !== undefined && payload.nbf > nowSeconds + LEEWAY_SECONDS) {
    throw new LatchkeyError('token_expired', `token is not valid for another ${payload.nbf - nowSeconds} s (nbf)`);
  }
  if (payload.iat > nowSeconds + LEEWAY_SECONDS) {
    throw new LatchkeyError('token_expired', `token was issued ${payload.iat - nowSeconds} s in the future (iat)`);
  }
}

/** `aud` must be exactly the service audience: the string, or an array of that one value. */
function checkAudience(aud: unknown, audience: string): void {
  const matches = aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience);
  if (!matches) {
    const shown = aud === undefined ? 'missing' : quote(aud);
    throw new LatchkeyError('audience_mismatch', `token audience ${shown} is not this service's audience ${quote(audience)}`);
  }
}

/** Attacker-controlled text in a description: JSON-quoted (no control characters) and bounded. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
