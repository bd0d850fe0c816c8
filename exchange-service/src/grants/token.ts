/**
 * The `token` grant: an RFC 9068 JWT access token signed by the service
 * (ES256). The minter builds the token; the store signs it in the
 * transaction that commits the grant (jws.ts), so no access token leaves
 * the service, or outlives a failed commit, without its audit record.
 */
import { unsignedJws } from '../jws/sign.ts';
import type { SigningKey } from '../jws/signing-keys.ts';
import type { Minter, MintRequest, MintedCredential } from './minter.ts';

export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Identity claims copied from the verified subject token into the access token. */
const COPIED_CLAIMS = ['repository', 'repository_id', 'ref', 'workflow_ref', 'run_id', 'actor', 'environment'] as const;

export interface TokenMinterOptions {
  /** `iss` of issued tokens: the service's public URL. */
  issuer: string;
  /** Returns the key to sign with (a function, so a key rotation needs no restart). */
  signingKey: () => SigningKey;
}

/** Creates the minter for `token` grants. */
export function createTokenMinter(options: TokenMinterOptions): Minter {
  return {
    kind: 'token',
    tokenTypes: [JWT_TOKEN_TYPE, ACCESS_TOKEN_TYPE],
    mintsRemotely: false,
    async mint(request: MintRequest): Promise<MintedCredential> {
      const { policy, token, grantId, ttl, now } = request;
      if (policy.grant.kind !== 'token') throw new Error(`token minter given a ${policy.grant.kind} grant`);
      const subject = typeof token.claims.sub === 'string' ? token.claims.sub : token.jti;
      const claims: Record<string, unknown> = {
        iss: options.issuer,
        sub: subject,
        aud: policy.grant.audience,
        exp: now + ttl,
        iat: now,
        jti: grantId,
        client_id: policy.name,
      };
      if (request.scope !== null && request.scope.length > 0) claims.scope = request.scope.join(' ');
      for (const name of COPIED_CLAIMS) {
        const value = token.claims[name];
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') claims[name] = String(value);
      }
      return {
        response: { issued_token_type: JWT_TOKEN_TYPE, token_type: 'Bearer' },
        credentialSha256: null,
        unsigned: unsignedJws(options.signingKey(), { typ: 'at+jwt' }, claims),
        target: policy.grant.audience,
        sessionName: null,
        accessKeyId: null,
      };
    },
  };
}
