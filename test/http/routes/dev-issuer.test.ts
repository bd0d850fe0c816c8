/**
 * A dev issuer's discovery and JWKS routes (SPEC §7), mounted where the
 * service mounts them: a token `signDevToken` signs verifies against the keys
 * the discovery document points at, with the issuer it names.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { devIssuerRoutes } from '../../../exchange-service/src/http/routes/dev-issuer.ts';
import { DEV_ISSUER_PATHS, devIssuerUrl, loadDevIssuerKey, signDevToken } from '../../../exchange-service/src/dev/issuer.ts';
import type { SigningKey } from '../../../exchange-service/src/jws/signing-keys.ts';

const PUBLIC_URL = 'http://127.0.0.1:8080';

describe('dev issuer routes', () => {
  let dir: string;
  let key: SigningKey;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-dev-issuer-'));
    key = (await loadDevIssuerKey(dir))!;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const name of ['dev', 'ghes'] as const) {
    it(`${name}: discovery names the issuer and a JWKS that verifies its tokens`, async () => {
      const url = devIssuerUrl(PUBLIC_URL, name);
      const app = new Hono().route(DEV_ISSUER_PATHS[name], devIssuerRoutes({ url, jwks: { keys: [key.publicJwk] } }));
      const discovery = await app.request(`${DEV_ISSUER_PATHS[name]}/.well-known/openid-configuration`);
      assert.equal(discovery.status, 200);
      const document = (await discovery.json()) as { issuer: string; jwks_uri: string; id_token_signing_alg_values_supported: string[] };
      assert.equal(document.issuer, url);
      assert.deepEqual(document.id_token_signing_alg_values_supported, ['RS256']);
      assert.ok(document.jwks_uri.startsWith(`${url}/`), document.jwks_uri);
      const jwks = (await (await app.request(new URL(document.jwks_uri).pathname)).json()) as JSONWebKeySet;
      const token = await signDevToken({ key, issuer: url, audience: PUBLIC_URL });
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: url, audience: PUBLIC_URL, algorithms: ['RS256'] });
      assert.equal(payload.repository, 'acme/webapp');
      assert.deepEqual(await (await app.request(`${DEV_ISSUER_PATHS[name]}/jwks`)).json(), jwks, 'the older /jwks path serves the same keys');
    });
  }

  it('the GHES stand-in has the path shape of a GHES issuer', () => {
    assert.equal(devIssuerUrl('http://127.0.0.1:8080/', 'ghes'), 'http://127.0.0.1:8080/dev/ghes/_services/token');
    assert.equal(devIssuerUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080/dev/oidc');
  });
});
