/**
 * The dev issuer's discovery document and JWKS, mounted at `/dev/oidc`
 * only under `serve --dev` (loopback only).
 */
import { Hono } from 'hono';
import type { JWK } from 'jose';
import type { AppEnv } from '../app.ts';

export interface DevIssuerDeps {
  url: string;
  jwks: { keys: JWK[] };
}

/** Discovery + JWKS for the dev issuer. */
export function devIssuerRoutes(deps: DevIssuerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/.well-known/openid-configuration', (c) =>
    c.json({
      issuer: deps.url,
      jwks_uri: `${deps.url}/jwks`,
      subject_types_supported: ['public'],
      response_types_supported: ['id_token'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'repository', 'repository_id', 'ref', 'workflow_ref', 'run_id', 'actor'],
    }),
  );
  app.get('/jwks', (c) => c.json(deps.jwks));
  return app;
}
