/**
 * Keys and tokens for every JWS algorithm the verifier supports, for tests
 * that need more than the loopback issuer's RSA keys: one RSA-2048 key (no
 * `alg` member, so it serves RS* and PS*), one key per NIST curve and an
 * Ed25519 key, published as a JWKS on a real loopback HTTP server, and a
 * signer that builds tokens with node:crypto and lets a test tamper with any
 * part of them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, generateKeyPairSync, randomUUID, sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';

/** Every algorithm the verifier implements. */
export const ALL_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type Algorithm = (typeof ALL_ALGORITHMS)[number];

/** The published key each algorithm signs with by default. */
export const KID_OF: Readonly<Record<Algorithm, string>> = {
  RS256: 'rsa',
  RS384: 'rsa',
  RS512: 'rsa',
  PS256: 'rsa',
  PS384: 'rsa',
  PS512: 'rsa',
  ES256: 'ec-p256',
  ES384: 'ec-p384',
  ES512: 'ec-p521',
  EdDSA: 'ed25519',
};

/** A signing key and its public JWK. */
export interface TestKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: JsonWebKey;
}

/** How `signInput` signs: the defaults are what the algorithm prescribes; each option breaks one thing. */
export interface SignatureOptions {
  /** RSA-PSS salt length in bytes (default: the digest's length, RFC 7518 §3.5). */
  saltLength?: number;
  /** ECDSA signature encoding (default ieee-p1363, the JWS r‖s form). */
  dsaEncoding?: 'der' | 'ieee-p1363';
  /** Digest override (e.g. sha384 under an ES256 header). */
  digest?: string;
}

/** Generates one key of each kind; `jwk.alg` is set for the single-algorithm keys. */
export function createTestKeys(): Map<string, TestKey> {
  const pairs: [string, ReturnType<typeof generateKeyPairSync>, string | undefined][] = [
    ['rsa', generateKeyPairSync('rsa', { modulusLength: 2048 }), undefined],
    ['ec-p256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'],
    ['ec-p384', generateKeyPairSync('ec', { namedCurve: 'P-384' }), 'ES384'],
    ['ec-p521', generateKeyPairSync('ec', { namedCurve: 'P-521' }), 'ES512'],
    ['ed25519', generateKeyPairSync('ed25519'), 'EdDSA'],
  ];
  return new Map(pairs.map(([kid, pair, alg]) => [kid, toTestKey(kid, pair, alg)]));
}

/** A key of the same kind as `kid`'s but unpublished (an attacker's), under the same kid. */
export function createImpostor(kid: string): TestKey {
  const pair =
    kid === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : kid === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' }[kid] ?? 'P-256' });
  return toTestKey(kid, pair, undefined);
}

function toTestKey(kid: string, pair: { privateKey: KeyObject; publicKey: KeyObject }, alg: string | undefined): TestKey {
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...(alg === undefined ? {} : { alg }) } as JsonWebKey;
  return { kid, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk };
}

/** Signs `input` the way `alg` prescribes, unless `options` say otherwise. */
export function signInput(alg: string, privateKey: KeyObject, input: string, options: SignatureOptions = {}): Buffer {
  const bits = alg.slice(2);
  const digest = options.digest ?? `sha${bits}`;
  const data = Buffer.from(input);
  if (alg === 'EdDSA') return sign(null, data, privateKey);
  let key: SignKeyObjectInput = { key: privateKey };
  if (alg.startsWith('PS')) key = { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: options.saltLength ?? Number(bits) / 8 };
  if (alg.startsWith('ES')) key = { key: privateKey, dsaEncoding: options.dsaEncoding ?? 'ieee-p1363' };
  return sign(digest, data, key);
}

const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

/** What `mintToken` may change from a well-formed token. */
export interface MintOptions extends SignatureOptions {
  /** The `kid` header (default: the algorithm's published key). */
  kid?: string;
  /** Signs with this key instead of the published one. */
  key?: TestKey;
  /** Rewrites the signature bytes after signing. */
  tamper?: (signature: Buffer) => Buffer;
}

/** A compact JWT for `alg` over `claims`, signed with the published key unless `options` say otherwise. */
export function mintToken(keys: ReadonlyMap<string, TestKey>, alg: Algorithm, claims: Record<string, unknown>, options: MintOptions = {}): string {
  const kid = options.kid ?? KID_OF[alg];
  const key = options.key ?? keys.get(KID_OF[alg]);
  if (key === undefined) throw new Error(`no key for ${alg}`);
  const input = `${b64url(JSON.stringify({ alg, typ: 'JWT', kid }))}.${b64url(JSON.stringify(claims))}`;
  const signature = signInput(alg, key.privateKey, input, options);
  return `${input}.${b64url(options.tamper?.(signature) ?? signature)}`;
}

/** GitHub-shaped claims for `issuer` and `audience` at `nowSeconds`, with overrides. */
export function testClaims(issuer: string, audience: string, nowSeconds: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: issuer,
    aud: audience,
    sub: 'repo:acme/webapp:ref:refs/heads/main',
    jti: randomUUID(),
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: nowSeconds + 300,
    repository: 'acme/webapp',
    repository_id: '892341',
    ref: 'refs/heads/main',
    run_id: '1234567890',
    actor: 'octocat',
    ...overrides,
  };
}

/** A loopback server that serves one JWKS document at `/jwks` and counts requests. */
export interface JwksServer {
  /** http://127.0.0.1:<port> (also usable as the issuer URL). */
  url: string;
  jwksUrl: string;
  requests(): number;
  close(): Promise<void>;
}

/** Serves `{ keys }` on 127.0.0.1, port 0. Call `close()` when done. */
export async function serveJwks(keys: readonly JsonWebKey[]): Promise<JwksServer> {
  let requests = 0;
  const body = JSON.stringify({ keys });
  const server: Server = createServer((req, res) => {
    if (req.url !== '/jwks') return void res.writeHead(404).end();
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUrl: `${url}/jwks`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
