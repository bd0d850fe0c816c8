/**
 * The job's OIDC token. The runner offers it only to jobs with
 * `permissions: id-token: write`; without that permission the request
 * variables are absent, which deserves a plain answer rather than the
 * toolkit's "Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable".
 */
import type { ActionRuntime } from './runtime.ts';

/** The OIDC token could not be had; `missingPermission` when the job lacks `id-token: write`. */
export class IdTokenError extends Error {
  override name = 'IdTokenError';
  readonly missingPermission: boolean;

  constructor(message: string, missingPermission: boolean) {
    super(message);
    this.missingPermission = missingPermission;
  }
}

/** Returns a function that fetches a fresh OIDC token for `audience` on each call; throws IdTokenError. */
export function idTokenSource(runtime: ActionRuntime, env: Readonly<Record<string, string | undefined>>, audience: string): () => Promise<string> {
  return async () => {
    if (!env.ACTIONS_ID_TOKEN_REQUEST_URL || !env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) {
      throw new IdTokenError('this job cannot request an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set)', true);
    }
    try {
      return await runtime.getIDToken(audience);
    } catch (error) {
      const detail = error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() : String(error);
      throw new IdTokenError(`could not get the job's OIDC token: ${detail}`, false);
    }
  };
}
