/**
 * What a grant becomes in the job: the values to mask, the variables to
 * export (the names configure-aws-credentials uses for `aws`; the
 * `token-env-name` input otherwise) and the step outputs.
 */
import type { TokenResponse } from './token-response.ts';
import type { Inputs } from './inputs.ts';

const AWS_TOKEN_TYPE = 'urn:latchkey:token-type:aws-credentials';
const GITHUB_TOKEN_TYPE = 'urn:latchkey:token-type:github-token';

export type GrantKind = 'aws' | 'token' | 'github';

/** A grant laid out for the runner. */
export interface CredentialPlan {
  kind: GrantKind;
  /** What the credential is for: the role ARN or the token's audience; '' when unknown. */
  target: string;
  /** Every secret value, to be masked before anything else is written. */
  secrets: string[];
  /** Variables for later steps (empty when `export-env` is false). */
  env: Record<string, string>;
  outputs: Record<string, string>;
}

/** The grant kind, from the response's `issued_token_type`. */
export function grantKind(response: TokenResponse): GrantKind {
  if (response.issued_token_type === AWS_TOKEN_TYPE) return 'aws';
  if (response.issued_token_type === GITHUB_TOKEN_TYPE) return 'github';
  return 'token';
}

/** Lays out a grant; throws Error when an `aws` grant comes without its `aws` object. */
export function planCredential(response: TokenResponse, inputs: Pick<Inputs, 'exportEnv' | 'outputCredentials' | 'tokenEnvName'>): CredentialPlan {
  const kind = grantKind(response);
  const outputs: Record<string, string> = { 'grant-id': response.grant_id, 'expires-at': response.expires_at, policy: response.policy };
  if (kind === 'aws') {
    const aws = response.aws;
    if (aws === undefined) throw new Error('the service issued an aws grant without credentials');
    const env = {
      AWS_ACCESS_KEY_ID: aws.access_key_id,
      AWS_SECRET_ACCESS_KEY: aws.secret_access_key,
      AWS_SESSION_TOKEN: aws.session_token,
      AWS_REGION: aws.region,
      AWS_DEFAULT_REGION: aws.region,
    };
    if (inputs.outputCredentials) {
      Object.assign(outputs, {
        'aws-access-key-id': aws.access_key_id,
        'aws-secret-access-key': aws.secret_access_key,
        'aws-session-token': aws.session_token,
      });
    }
    return {
      kind,
      target: aws.assumed_role_arn ?? '',
      secrets: unique([aws.access_key_id, aws.secret_access_key, aws.session_token, response.access_token]),
      env: inputs.exportEnv ? env : {},
      outputs,
    };
  }
  if (inputs.outputCredentials) outputs.token = response.access_token;
  return {
    kind,
    target: kind === 'token' ? jwtAudience(response.access_token) : '',
    secrets: [response.access_token],
    env: inputs.exportEnv ? { [inputs.tokenEnvName]: response.access_token } : {},
    outputs,
  };
}

/** The `aud` of a JWT access token (read, not verified: it is only shown in the summary). */
function jwtAudience(jwt: string): string {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: unknown };
    if (typeof payload.aud === 'string') return payload.aud;
    return Array.isArray(payload.aud) ? payload.aud.filter((item) => typeof item === 'string').join(', ') : '';
  } catch {
    return '';
  }
}

const unique = (values: string[]): string[] => [...new Set(values)];
