/**
 * A loopback OIDC issuer for the benchmark: serves discovery and a JWKS on
 * 127.0.0.1 for one RSA key, and hands out that key as PKCS#8 PEM so worker
 * threads can pre-mint tokens in parallel.
 *
 * The tests' issuer (test/support/oidc-issuer.ts) keeps its private key in a
 * closure and signs on the calling thread, which is too slow for the tens of
 * thousands of tokens a load run needs; this one does only the happy path.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

/** A running bench issuer. */
export interface BenchIssuer {
  /** http://127.0.0.1:<port>, also the tokens' `iss`. */
  url: string;
  /** The signing key's id (the JWT header's `kid`). */
  kid: string;
  /** The private key, PKCS#8 PEM, for the minting workers. */
  privateKeyPem: string;
  /** JWKS requests served (the service should fetch once and cache). */
  jwksRequests(): number;
  close(): Promise<void>;
}

/** Starts the issuer with a fresh RSA-2048 key (the size GitHub's OIDC keys use). */
export async function startBenchIssuer(): Promise<BenchIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
  let url = '';
  let jwksServed = 0;
  const server: Server = createServer((req, res) => {
    const headers = { 'content-type': 'application/json', 'cache-control': 'max-age=300' };
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, headers).end(JSON.stringify(discovery(url)));
    } else if (req.url === '/.well-known/jwks') {
      jwksServed += 1;
      res.writeHead(200, headers).end(jwks);
    } else {
      res.writeHead(404, headers).end('{"error":"not found"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kid,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    jwksRequests: () => jwksServed,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
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
