/**
 * `/.well-known/jwks.json` (the keys that sign `token` grants) and
 * `/.well-known/oauth-authorization-server` (RFC 8414 metadata).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../request-context.ts';
import type { SigningKeyRing } from '../../jws/signing-keys.ts';

export interface WellKnownDeps {
  publicUrl: string;
  signingKeys: () => SigningKeyRing;
}

/** The discovery routes. */
export function wellKnownRoutes(deps: WellKnownDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const base = deps.publicUrl.replace(/\/+$/, '');
  app.get('/.well-known/jwks.json', (c) => c.json(deps.signingKeys().jwks));
  app.get('/.well-known/oauth-authorization-server', (c) =>
    c.json({
      issuer: deps.publicUrl,
      token_endpoint: `${base}/token`,
      revocation_endpoint: `${base}/revoke`,
      introspection_endpoint: `${base}/introspect`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: ['urn:ietf:params:oauth:grant-type:token-exchange'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint_auth_methods_supported: ['bearer'],
    }),
  );
  return app;
}
