/**
 * A loopback OIDC issuer for tests: serves discovery and a JWKS over real HTTP
 * on 127.0.0.1, signs GitHub Actions-shaped tokens with real RSA keys, and can
 * forge every bad token of ATTACKS.md (alg none, HMAC with the public key, an
 * attacker key under a real `kid`, smuggled headers, raw segments…).
 *
 * The JWKS endpoint's behaviour is switchable (`mode`) so tests can exercise a
 * failing upstream, and it counts the requests it serves so tests can prove
 * that something was (or was not) fetched.
 *
 * It also serves the Actions runtime token endpoint (`actionsTokenUrl`) that
 * `core.getIDToken()` calls, so the Action can be run against it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, createHmac, KeyObject, randomBytes, randomUUID, sign as signBytes } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';

/** How the JWKS endpoint answers. `down` also drops discovery requests (the host is unreachable). */
export type JwksMode = 'ok' | 'down' | 'garbage' | 'empty' | 'slow' | 'redirect' | 'huge' | 'error500';

/** How `sign()` builds a token: by default a valid RS256 token; each option forges one thing. */
export interface SignOptions {
  /** Header members over the defaults (`alg`, `typ: JWT`, `kid`); a member set to undefined is removed. */
  header?: Record<string, unknown>;
  /**
   * The `alg` header and the signing algorithm (default RS256). `none` in any case gives an empty
   * signature; RS*, PS* sign with the chosen RSA key; ES256 signs with a P-256 key no JWKS holds;
   * HS* sign with a random secret (or the public key, see `hmacWithPublicKey`).
   */
  alg?: string;
  /** Which RSA key signs: the current one (default), the one before the last rotation, or an attacker's. */
  key?: 'current' | 'attacker' | 'previous';
  /** The `kid` header (default: the signing key's own id; for the attacker key, the current real kid). */
  kid?: string;
  /** The payload segment's content verbatim instead of the JSON of the claims; bytes allow invalid UTF-8. */
  rawPayload?: string | Uint8Array;
  /** The header segment's content verbatim (bypasses `header`, `alg`, `kid`); bytes allow invalid UTF-8. */
  rawHeader?: string | Uint8Array;
  /** HS256 (unless `alg` says otherwise) keyed with the current public key's PEM text: the key-confusion attack. */
  hmacWithPublicKey?: boolean;
  /** Puts the signing key's public JWK in the `jwk` header (self-asserted key). */
  embedJwk?: boolean;
  /** Flips one bit of the signature after signing. */
  corruptSignature?: boolean;
  /** `json` gives the flattened JSON serialisation instead of the compact one. */
  serialization?: 'compact' | 'json';
}

/** A running loopback issuer (see the module comment). */
export interface TestIssuer {
  /** http://127.0.0.1:<port>, also the tokens' `iss`. */
  readonly url: string;
  /** The current key id. */
  readonly kid: string;
  /** GitHub-shaped default claims for the issuer's audience, with overrides (a key set to undefined is removed). */
  claims(overrides?: Record<string, unknown>): Record<string, unknown>;
  /** Signs claims (defaults from claims()) with the current key, RS256, unless options say otherwise. */
  sign(overrides?: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** New key pair and kid; the JWKS serves the old and the new key, or only the new one with `{ drop: true }`. */
  rotate(options?: { drop?: boolean }): Promise<void>;
  /** The key set the JWKS endpoint serves in `ok` mode (e.g. to pass as a verifier's static keys). */
  keySet(): { keys: JsonWebKey[] };
  /** The JWKS endpoint's behaviour; settable at any time. */
  mode: JwksMode;
  /** How long `slow` mode holds a JWKS response, in ms (default 10 s; `close()` ends it early). */
  slowMs: number;
  /** JWKS requests served (including failed ones and the target of `redirect`). */
  readonly jwksRequests: number;
  /** Discovery document requests served. */
  readonly discoveryRequests: number;
  /** Requests to the Actions token endpoint that carried the right runtime token. */
  readonly actionsTokenRequests: number;
  /** The bearer the Actions token endpoint requires (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`). */
  readonly runtimeToken: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_URL`: GET it with `&audience=…` and the bearer for `{"value": <jwt>}`. */
  readonly actionsTokenUrl: string;
  close(): Promise<void>;
}

/** Options of startTestIssuer. */
export interface TestIssuerOptions {
  /** The default `aud` (default http://127.0.0.1:8080, the service's default audience). */
  audience?: string;
  /** The default `owner/name` (default acme/webapp); sets repository, repository_owner, sub and workflow refs. */
  repository?: string;
  /** Clock for default `iat`/`nbf`/`exp`, in ms (default Date.now). */
  now?: () => number;
}

interface RsaKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JsonWebKey;
  publicPem: string;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

async function createRsaKey(): Promise<RsaKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const jwk: JWK = await exportJWK(publicKey);
  return {
    kid,
    privateKey: KeyObject.from(privateKey),
    publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } as JsonWebKey,
    publicPem: await exportSPKI(publicKey),
  };
}

async function createEcKey(): Promise<KeyObject> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return KeyObject.from(privateKey);
}

const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

/** Removes keys whose value is undefined (the "set to undefined to remove" convention). */
function merge(base: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base, ...overrides };
  for (const [name, value] of Object.entries(out)) if (value === undefined) delete out[name];
  return out;
}

function defaultClaims(issuer: string, audience: string, repository: string, nowSeconds: number): Record<string, unknown> {
  const owner = repository.split('/')[0] ?? repository;
  const workflowRef = `${repository}/.github/workflows/deploy.yml@refs/heads/main`;
  return {
    iss: issuer,
    aud: audience,
    sub: `repo:${repository}:ref:refs/heads/main`,
    jti: randomUUID(),
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: nowSeconds + 300,
    repository,
    repository_id: '892341',
    repository_owner: owner,
    repository_owner_id: '1342004',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: randomBytes(20).toString('hex'),
    workflow: 'deploy',
    workflow_ref: workflowRef,
    job_workflow_ref: workflowRef,
    event_name: 'push',
    run_id: '1234567890',
    run_number: '42',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
    runner_environment: 'github-hosted',
    head_ref: '',
    base_ref: '',
  };
}

/** Signs `input` for `alg`; see SignOptions.alg for which key each family uses. */
function signatureFor(alg: string, input: string, key: RsaKey, ecKey: KeyObject | undefined, options: SignOptions): Buffer {
  if (alg.toLowerCase() === 'none') return Buffer.alloc(0);
  const bits = alg.slice(2);
  const hash = `sha${bits}`;
  if (alg.startsWith('HS')) {
    const secret = options.hmacWithPublicKey ? key.publicPem : randomBytes(32);
    return createHmac(hash, secret).update(input).digest();
  }
  if (alg.startsWith('RS')) return signBytes(hash, Buffer.from(input), key.privateKey);
  if (alg.startsWith('PS')) {
    return signBytes(hash, Buffer.from(input), { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 });
  }
  if (alg === 'ES256' && ecKey !== undefined) return signBytes('sha256', Buffer.from(input), { key: ecKey, dsaEncoding: 'ieee-p1363' });
  throw new Error(`test issuer cannot sign with alg ${alg}`);
}

/** Builds one token; `kid` is the header's default key id. Every forgery is an option here. */
function signToken(claims: Record<string, unknown>, options: SignOptions, key: RsaKey, kid: string, ec?: KeyObject): string {
  const alg = options.alg ?? (options.hmacWithPublicKey ? 'HS256' : 'RS256');
  const header = merge({ alg, typ: 'JWT', kid: options.kid ?? kid }, options.header);
  if (options.embedJwk) header.jwk = key.publicJwk;
  const headerSegment = b64url(options.rawHeader ?? JSON.stringify(header));
  const payloadSegment = b64url(options.rawPayload ?? JSON.stringify(claims));
  const input = `${headerSegment}.${payloadSegment}`;
  const signature = signatureFor(alg, input, key, ec, options);
  if (options.corruptSignature && signature.length > 0) signature[0] = (signature[0] ?? 0) ^ 0x01;
  if (options.serialization === 'json') {
    return JSON.stringify({ protected: headerSegment, payload: payloadSegment, signature: b64url(signature) });
  }
  return `${input}.${b64url(signature)}`;
}

/** The issuer as its HTTP handlers see it: counters writable. */
type LiveIssuer = { -readonly [K in keyof TestIssuer]: TestIssuer[K] };

/** Starts the issuer on 127.0.0.1 with a fresh RSA key. Call `close()` when done. */
export async function startTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  const audience = options.audience ?? 'http://127.0.0.1:8080';
  const now = options.now ?? Date.now;
  const keys = { current: await createRsaKey(), previous: undefined as RsaKey | undefined, served: [] as RsaKey[] };
  keys.served = [keys.current];
  // Made on first use: most tests never forge, and RSA key generation is the slow part of starting.
  let attacker: Promise<RsaKey> | undefined;
  let ecKey: Promise<KeyObject> | undefined;
  const pending = new Set<NodeJS.Timeout>();

  const issuer: LiveIssuer = {
    url: '',
    actionsTokenUrl: '',
    runtimeToken: randomBytes(24).toString('hex'),
    mode: 'ok',
    slowMs: 10_000,
    jwksRequests: 0,
    discoveryRequests: 0,
    actionsTokenRequests: 0,
    get kid(): string {
      return keys.current.kid;
    },
    claims: (overrides) => merge(defaultClaims(issuer.url, audience, options.repository ?? 'acme/webapp', Math.floor(now() / 1000)), overrides),
    async sign(overrides, signOptions = {}) {
      const which = signOptions.key ?? 'current';
      if (which === 'previous' && keys.previous === undefined) throw new Error('test issuer: no previous key (call rotate() first)');
      const key = which === 'attacker' ? await (attacker ??= createRsaKey()) : which === 'previous' ? (keys.previous as RsaKey) : keys.current;
      const ec = signOptions.alg?.startsWith('ES') ? await (ecKey ??= createEcKey()) : undefined;
      // The attacker reuses the real current kid; the issuer's own keys carry their own.
      return signToken(issuer.claims(overrides), signOptions, key, which === 'attacker' ? keys.current.kid : key.kid, ec);
    },
    async rotate(rotateOptions = {}) {
      keys.previous = keys.current;
      keys.current = await createRsaKey();
      keys.served = rotateOptions.drop ? [keys.current] : [keys.current, keys.previous];
    },
    keySet: () => ({ keys: keys.served.map((key) => ({ ...key.publicJwk })) }),
    async close() {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const mintForRunner = (aud: string): string => signToken(issuer.claims({ aud }), {}, keys.current, keys.current.kid);
  const server: Server = createServer((req, res) => route(issuer, { pending, mintForRunner, audience }, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  issuer.url = `http://127.0.0.1:${port}`;
  issuer.actionsTokenUrl = `${issuer.url}/actions-token?api-version=2.0`;
  return issuer;
}

interface RouteContext {
  /** Held `slow` responses, cleared on close. */
  pending: Set<NodeJS.Timeout>;
  mintForRunner(aud: string): string;
  audience: string;
}

function route(issuer: LiveIssuer, context: RouteContext, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', issuer.url);
  if (req.method !== 'GET') return send(res, 405, { error: 'method not allowed' });
  switch (url.pathname) {
    case '/.well-known/openid-configuration':
      issuer.discoveryRequests += 1;
      if (issuer.mode === 'down') return void req.socket.destroy();
      return send(res, 200, discoveryDocument(issuer.url));
    case '/.well-known/jwks':
      issuer.jwksRequests += 1;
      return serveJwks(issuer, context, req, res);
    case '/moved-jwks':
      issuer.jwksRequests += 1;
      return send(res, 200, issuer.keySet());
    case '/actions-token': {
      if (req.headers.authorization !== `Bearer ${issuer.runtimeToken}`) return send(res, 401, { message: 'bad runtime token' });
      issuer.actionsTokenRequests += 1;
      return send(res, 200, { value: context.mintForRunner(url.searchParams.get('audience') ?? context.audience), count: 1 });
    }
    default:
      return send(res, 404, { error: 'not found' });
  }
}

function serveJwks(issuer: LiveIssuer, context: RouteContext, req: IncomingMessage, res: ServerResponse): void {
  switch (issuer.mode) {
    case 'ok':
      return send(res, 200, issuer.keySet());
    case 'down':
      return void req.socket.destroy();
    case 'garbage':
      return void res.writeHead(200, JSON_HEADERS).end('{"keys": [ this is not json');
    case 'empty':
      return send(res, 200, { keys: [] });
    case 'slow': {
      const timer = setTimeout(() => {
        context.pending.delete(timer);
        send(res, 200, issuer.keySet());
      }, issuer.slowMs);
      context.pending.add(timer);
      return;
    }
    case 'redirect':
      return void res.writeHead(302, { location: `${issuer.url}/moved-jwks` }).end();
    case 'huge':
      return sendHuge(res, issuer.keySet());
    case 'error500':
      return send(res, 500, { error: 'internal' });
  }
}

function discoveryDocument(url: string): Record<string, unknown> {
  return {
    issuer: url,
    jwks_uri: `${url}/.well-known/jwks`,
    subject_types_supported: ['public', 'pairwise'],
    response_types_supported: ['id_token'],
    claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository', 'repository_id', 'repository_owner'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid'],
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, JSON_HEADERS).end(JSON.stringify(body));
}

/** A valid JWKS padded past 256 KiB, streamed without Content-Length so only counting bytes can catch it. */
function sendHuge(res: ServerResponse, keySet: { keys: JsonWebKey[] }): void {
  res.writeHead(200, JSON_HEADERS);
  res.write(`{"keys":${JSON.stringify(keySet.keys)},"padding":"`);
  const chunk = 'x'.repeat(16 * 1024);
  for (let i = 0; i < 20; i++) res.write(chunk);
  res.end('"}');
}
