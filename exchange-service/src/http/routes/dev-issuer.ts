/**
 * A dev issuer's discovery document and JWKS (SPEC §7), mounted only under
 * `serve --dev` (loopback only): `dev` at `/dev/oidc`, `ghes` at
 * `/dev/ghes/_services/token`. The keys are served where GitHub serves its
 * own (`/.well-known/jwks`) and, as before, at `/jwks`.
 */
import { Hono } from 'hono';
import type { JWK } from 'jose';
import type { AppEnv } from '../request-context.ts';

export interface DevIssuerDeps {
  /** The issuer URL (the tokens' `iss`), which is where these routes are mounted. */
  url: string;
  jwks: { keys: JWK[] };
}

/** The claims GitHub Actions tokens carry that the dev tokens carry too. */
const CLAIMS_SUPPORTED = [
  'sub',
  'aud',
  'exp',
  'iat',
  'iss',
  'jti',
  'nbf',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'repository_visibility',
  'ref',
  'ref_type',
  'sha',
  'workflow',
  'workflow_ref',
  'job_workflow_ref',
  'environment',
  'event_name',
  'run_id',
  'run_number',
  'run_attempt',
  'actor',
  'actor_id',
  'runner_environment',
];

/** Discovery + JWKS for one dev issuer. */
export function devIssuerRoutes(deps: DevIssuerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/.well-known/openid-configuration', (c) =>
    c.json({
      issuer: deps.url,
      jwks_uri: `${deps.url}/.well-known/jwks`,
      subject_types_supported: ['public'],
      response_types_supported: ['id_token'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: CLAIMS_SUPPORTED,
    }),
  );
  app.get('/.well-known/jwks', (c) => c.json(deps.jwks));
  app.get('/jwks', (c) => c.json(deps.jwks));
  return app;
}
