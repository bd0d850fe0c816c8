/**
 * The `token` grant: an RFC 9068 JWT access token signed by the service (ES256).
 * Signed with node:crypto directly, synchronously: an ES256 signature costs
 * about 25 µs, less than a round trip through libuv's thread pool (whose
 * wake-ups cost more on a small machine); the JWS compact form is simple
 * enough to build here.
 */
import { createHash, sign } from 'node:crypto';
import { derToP1363 } from './ecdsa-signature.ts';
import type { SigningKey } from './signing-keys.ts';
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

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs a JWS compact serialisation with an ES256 key (RFC 7515 §7.1, RFC 7518 §3.4 signature form). */
export function signCompactJwt(key: SigningKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  if (key.alg !== 'ES256') throw new Error(`unsupported signing algorithm ${key.alg}`);
  const input = `${encode({ ...header, alg: key.alg, kid: key.kid })}.${encode(payload)}`;
  const der = sign('sha256', Buffer.from(input), key.keyObject);
  return `${input}.${derToP1363(der, 32).toString('base64url')}`;
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
      const jwt = signCompactJwt(options.signingKey(), { typ: 'at+jwt' }, claims);
      return {
        response: { access_token: jwt, issued_token_type: JWT_TOKEN_TYPE, token_type: 'Bearer' },
        credentialSha256: createHash('sha256').update(jwt).digest('hex'),
        target: policy.grant.audience,
        sessionName: null,
        accessKeyId: null,
      };
    },
  };
}
