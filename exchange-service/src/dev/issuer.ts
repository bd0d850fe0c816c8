/**
 * The dev issuers (SPEC §7): OIDC issuers served by the service itself,
 * `dev` at `/dev/oidc` and `ghes` at `/dev/ghes/_services/token` (the path
 * shape of a GitHub Enterprise Server's issuer, `https://HOST/_services/token`),
 * so that every issuer the shipped examples name works under `npm start`.
 * Both sign with one RS256 key that lives in the keys folder, so that
 * `latchkey dev token` (another process) can sign GitHub-shaped tokens.
 */
import { randomUUID, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SignJWT, type JWK } from 'jose';
import { createKeyFile, readKeyFile, type SigningKey } from '../jws/signing-keys.ts';

const KEY_FILE = 'dev-issuer.json';

/** The dev issuers' names, as the service config and policies spell them. */
export const DEV_ISSUER_NAMES = ['dev', 'ghes'] as const;
/** A dev issuer's name. */
export type DevIssuerName = (typeof DEV_ISSUER_NAMES)[number];

/** Where each dev issuer is served, below the service's public URL. */
export const DEV_ISSUER_PATHS: Readonly<Record<DevIssuerName, string>> = {
  dev: '/dev/oidc',
  ghes: '/dev/ghes/_services/token',
};

/** The dev issuer's URL for a service at `publicUrl`. */
export const devIssuerUrl = (publicUrl: string, name: DevIssuerName = 'dev'): string => `${publicUrl.replace(/\/+$/, '')}${DEV_ISSUER_PATHS[name]}`;

/** True for the name of a dev issuer. */
export const isDevIssuerName = (name: string): name is DevIssuerName => (DEV_ISSUER_NAMES as readonly string[]).includes(name);

/**
 * The verifier's static keys for the dev issuers the configuration names at
 * their dev URLs (an issuer of the same name configured elsewhere, such as a
 * real GHES, keeps its own JWKS).
 */
export function devStaticKeys(issuers: Readonly<Record<string, { url: string }>>, publicUrl: string, publicJwk: JWK): Record<string, { keys: JsonWebKey[] }> {
  const names = DEV_ISSUER_NAMES.filter((name) => issuers[name]?.url === devIssuerUrl(publicUrl, name));
  return Object.fromEntries(names.map((name) => [name, { keys: [publicJwk as JsonWebKey] }]));
}

/** Loads the dev issuer key, creating it on first use. */
export async function loadDevIssuerKey(keysDir: string, create = true): Promise<SigningKey | undefined> {
  const existing = await readKeyFile(join(keysDir, KEY_FILE));
  if (existing !== undefined || !create) return existing;
  return createKeyFile(keysDir, 'RS256', KEY_FILE);
}

/** GitHub Actions-shaped claims for a push to acme/webapp's main branch (what the example policies grant). */
export function defaultDevClaims(nowSeconds: number): Record<string, unknown> {
  return {
    sub: 'repo:acme/webapp:ref:refs/heads/main',
    jti: randomUUID(),
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: nowSeconds + 300,
    repository: 'acme/webapp',
    repository_id: '892341',
    repository_owner: 'acme',
    repository_owner_id: '1342004',
    repository_visibility: 'private',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: randomBytes(20).toString('hex'),
    workflow: 'deploy',
    workflow_ref: 'acme/webapp/.github/workflows/deploy.yml@refs/heads/main',
    job_workflow_ref: 'acme/webapp/.github/workflows/deploy.yml@refs/heads/main',
    event_name: 'push',
    run_id: String(Math.floor(nowSeconds * 10 + Math.random() * 10)),
    run_number: '1',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
    runner_environment: 'github-hosted',
  };
}

export interface DevTokenOptions {
  key: SigningKey;
  issuer: string;
  audience: string;
  /** Claims over the defaults; a claim set to null is removed. */
  claims?: Record<string, unknown>;
  nowSeconds?: number;
}

/** Signs a dev token. */
export async function signDevToken(options: DevTokenOptions): Promise<string> {
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { ...defaultDevClaims(now), iss: options.issuer, aud: options.audience };
  for (const [name, value] of Object.entries(options.claims ?? {})) {
    if (value === null) delete claims[name];
    else claims[name] = value;
  }
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: options.key.kid }).sign(options.key.privateKey);
}
