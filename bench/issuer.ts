/**
 * A loopback OIDC issuer for the benchmark: serves discovery and a JWKS on
 * 127.0.0.1 for one RSA key, hands out that key as PKCS#8 PEM so worker
 * threads can pre-mint tokens in parallel, and serves the Actions runtime's
 * ID-token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`) for the Action phase.
 *
 * The tests' issuer (test/support/oidc-issuer.ts) keeps its private key in a
 * closure and signs on the calling thread, which is too slow for the tens of
 * thousands of tokens a load run needs; this one does only the happy path.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { tokenClaims } from './fleet.ts';

/** A running bench issuer. */
export interface BenchIssuer {
  /** http://127.0.0.1:<port>, also the tokens' `iss`. */
  url: string;
  /** The signing key's id (the JWT header's `kid`). */
  kid: string;
  /** The private key, PKCS#8 PEM, for the minting workers. */
  privateKeyPem: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_URL`: GET it with `&audience=…` and the runtime bearer for `{"value": <jwt>}`. */
  actionsTokenUrl: string;
  /** `ACTIONS_ID_TOKEN_REQUEST_TOKEN`. */
  runtimeToken: string;
  /** JWKS requests served (the service should fetch once and cache). */
  jwksRequests(): number;
  /** ID tokens handed out by the Actions endpoint. */
  actionsTokenRequests(): number;
  close(): Promise<void>;
}

/** Which fleet policy the Actions endpoint's tokens satisfy (default 0). */
export interface BenchIssuerOptions {
  actionsPolicyIndex?: number;
}

interface IssuerState {
  url: string;
  kid: string;
  privateKey: KeyObject;
  jwks: string;
  runtimeToken: string;
  policyIndex: number;
  jwksServed: number;
  actionsServed: number;
}

/** Starts the issuer with a fresh RSA-2048 key (the size GitHub's OIDC keys use). */
export async function startBenchIssuer(options: BenchIssuerOptions = {}): Promise<BenchIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const state: IssuerState = {
    url: '',
    kid,
    privateKey,
    runtimeToken: randomBytes(24).toString('hex'),
    policyIndex: options.actionsPolicyIndex ?? 0,
    jwks: JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] }),
    jwksServed: 0,
    actionsServed: 0,
  };
  const server: Server = createServer((req, res) => route(state, req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: state.url,
    kid,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    actionsTokenUrl: `${state.url}/actions-token?api-version=2.0`,
    runtimeToken: state.runtimeToken,
    jwksRequests: () => state.jwksServed,
    actionsTokenRequests: () => state.actionsServed,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function route(state: IssuerState, req: IncomingMessage, res: ServerResponse): void {
  const headers = { 'content-type': 'application/json', 'cache-control': 'max-age=300' };
  const url = new URL(req.url ?? '/', state.url);
  if (url.pathname === '/.well-known/openid-configuration') {
    res.writeHead(200, headers).end(JSON.stringify(discovery(state.url)));
  } else if (url.pathname === '/.well-known/jwks') {
    state.jwksServed += 1;
    res.writeHead(200, headers).end(state.jwks);
  } else if (url.pathname === '/actions-token' && req.headers.authorization === `Bearer ${state.runtimeToken}`) {
    state.actionsServed += 1;
    const audience = url.searchParams.get('audience') ?? state.url;
    res.writeHead(200, headers).end(JSON.stringify({ count: 1, value: signActionsToken(state, audience) }));
  } else {
    res.writeHead(404, headers).end('{"error":"not found"}');
  }
}

/** A fresh RS256 token for the Actions policy, valid for five minutes, as the runtime hands a job. */
function signActionsToken(state: IssuerState, audience: string): string {
  const iat = Math.floor(Date.now() / 1000);
  const claims = tokenClaims({
    issuer: state.url,
    audience,
    index: state.policyIndex,
    runId: 8_000_000_000 + state.actionsServed,
    jti: randomUUID(),
    sha: randomBytes(20).toString('hex'),
    iat,
    exp: iat + 300,
  });
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: 'RS256', typ: 'JWT', kid: state.kid })}.${encode(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), state.privateKey).toString('base64url')}`;
}

function discovery(url: string): Record<string, unknown> {
  return {
    issuer: url,
    jwks_uri: `${url}/.well-known/jwks`,
    subject_types_supported: ['public', 'pairwise'],
    response_types_supported: ['id_token'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid'],
  };
}
