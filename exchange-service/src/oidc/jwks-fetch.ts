/**
 * Fetching an issuer's key set over HTTP, defensively: OIDC discovery (unless
 * the JWKS URL is configured), a timeout covering the whole exchange, a byte
 * cap counted while streaming, and no redirects (a redirect is a failure).
 * Everything here throws a plain `JwksFetchError`; the cache decides what that
 * means for a request.
 */
import { isLoopbackHost } from '../config.ts';

/** 256 KiB: far above any real JWKS (GitHub's is ~4 KiB), far below anything that hurts. */
export const DEFAULT_MAX_JWKS_BYTES = 256 * 1024;

/** Why a discovery or JWKS fetch failed; the message is safe to log (no response body in it). */
export class JwksFetchError extends Error {
  override name = 'JwksFetchError';
}

/** What bounds one fetch. */
export interface FetchLimits {
  fetch: typeof fetch;
  /** Abort after this many ms (connect, headers and body together). */
  timeoutMs: number;
  maxBytes: number;
  /** Aborts the fetch early (the cache closing). */
  signal?: AbortSignal;
}

/**
 * GETs `url` and parses its JSON body, or throws JwksFetchError: non-200
 * (redirects included: they are never followed), a body over `maxBytes`,
 * invalid UTF-8 or JSON, a timeout or a network error.
 */
export async function fetchJsonBounded(url: string, limits: FetchLimits): Promise<unknown> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const signal = limits.signal === undefined ? timeout : AbortSignal.any([timeout, limits.signal]);
  let response: Response;
  try {
    response = await limits.fetch(url, { redirect: 'manual', signal, headers: { accept: 'application/json' } });
  } catch (error) {
    throw new JwksFetchError(timeout.aborted ? `${url}: timed out after ${limits.timeoutMs} ms` : `${url}: ${describe(error)}`);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {});
    const what = response.status >= 300 && response.status < 400 ? 'redirect not followed' : 'unexpected status';
    throw new JwksFetchError(`${url}: ${what} (HTTP ${response.status})`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > limits.maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new JwksFetchError(`${url}: response of ${declared} bytes exceeds ${limits.maxBytes}`);
  }
  const bytes = await readCapped(response, url, limits, timeout);
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    throw new JwksFetchError(`${url}: response is not valid JSON`);
  }
}

/** Reads the body, counting bytes as they arrive and cancelling the stream once past the cap. */
async function readCapped(response: Response, url: string, limits: FetchLimits, timeout: AbortSignal): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limits.maxBytes) {
        await reader.cancel().catch(() => {});
        throw new JwksFetchError(`${url}: response exceeds ${limits.maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof JwksFetchError) throw error;
    throw new JwksFetchError(timeout.aborted ? `${url}: timed out after ${limits.timeoutMs} ms` : `${url}: ${describe(error)}`);
  }
  return Buffer.concat(chunks);
}

/**
 * Finds the JWKS URL through OIDC Discovery 1.0 §4: `<issuer>/.well-known/openid-configuration`.
 * The document's `issuer` must be the configured URL byte for byte (§4.3), and
 * `jwks_uri` must be https (http only on loopback), like issuer URLs themselves.
 */
export async function discoverJwksUri(issuerUrl: string, limits: FetchLimits): Promise<string> {
  const url = `${issuerUrl.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const document = await fetchJsonBounded(url, limits);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new JwksFetchError(`${url}: discovery document is not a JSON object`);
  }
  const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (issuer !== issuerUrl) throw new JwksFetchError(`${url}: discovery document names another issuer`);
  if (typeof jwksUri !== 'string' || !isAcceptableKeyUrl(jwksUri)) {
    throw new JwksFetchError(`${url}: jwks_uri is missing or not an https URL`);
  }
  return jwksUri;
}

/** https, or http to a loopback host (local testing) — the rule issuer URLs follow. */
function isAcceptableKeyUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return 'request failed';
}
