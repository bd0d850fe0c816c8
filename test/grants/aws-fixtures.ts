/**
 * Shared parts of the `aws` grant tests: a real STS client aimed at a
 * loopback STS, mint requests built from claims, and the Query form STS
 * expects, so tests can compare exactly what was sent.
 */
import { Writable } from 'node:stream';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsGrant, CompiledPolicy } from '../../exchange-service/src/policy/model/compile.ts';
import type { VerifiedToken } from '../../exchange-service/src/oidc/verify.ts';
import type { MintRequest } from '../../exchange-service/src/grants/minter.ts';
import { createLogger, type Logger } from '../../exchange-service/src/log.ts';

/** The service's own (test) AWS identity; the loopback STS verifies signatures made with it. */
export const SERVICE_CREDENTIALS = { accessKeyId: 'AKIALATCHKEYTEST0001', secretAccessKey: 'latchkey/test+secret=key0000000000000000' };

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/webapp-deploy';

/** A real STS client for the loopback STS: SigV4 with the test identity, no SDK retries (the minter retries). */
export function stsClient(endpoint: string, region = 'us-east-1'): STSClient {
  return new STSClient({ region, endpoint, credentials: SERVICE_CREDENTIALS, maxAttempts: 1 });
}

/** GitHub Actions-shaped claims of a deploy run. */
export const RUN_CLAIMS: Readonly<Record<string, unknown>> = {
  sub: 'repo:acme/webapp:environment:production',
  repository: 'acme/webapp',
  repository_id: '892341',
  repository_owner: 'acme',
  ref: 'refs/heads/main',
  workflow: 'deploy',
  workflow_ref: 'acme/webapp/.github/workflows/deploy.yml@refs/heads/main',
  run_id: '1234567890',
  run_attempt: '1',
  actor: 'octocat',
  environment: 'production',
  runner_environment: 'github-hosted',
};

/** An `aws` grant with the given parts (no session policy, no managed policies, no tags by default). */
export function awsGrant(parts: Partial<Omit<AwsGrant, 'kind'>> = {}): AwsGrant {
  return { kind: 'aws', roleArn: ROLE_ARN, managedSessionPolicies: [], tags: {}, ...parts };
}

/** A mint request as the exchange makes it, for `grant` and claims (`undefined` removes a claim). */
export function mintRequest(grant: AwsGrant, claims: Record<string, unknown> = {}, ttl = 900, grantId = '5b0c1f4e-8a62-4d8e-9a51-0d7f3c9e2a11'): MintRequest {
  const merged: Record<string, unknown> = { ...RUN_CLAIMS, ...claims };
  for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
  const policy: CompiledPolicy = {
    name: 'webapp/deploy-prod',
    file: 'webapp/deploy-prod.yaml',
    digest: '0'.repeat(64),
    issuer: 'github',
    description: 'test',
    conditions: [],
    ttl: { default: 900, max: 3600 },
    justification: 'optional',
    grant,
    allowsPullRequestTarget: false,
  };
  const token: VerifiedToken = {
    issuer: 'github',
    issuerKind: 'github',
    claims: Object.freeze(merged),
    jti: 'jti-1',
    expiresAt: 2_000_000_000,
    tokenSha256: 'f'.repeat(64),
  };
  return { grantId, policy, token, ttl, scope: null, now: 1_790_000_000 };
}

/** The parts of an AssumeRole call, for {@link assumeRoleForm}. */
export interface ExpectedCall {
  roleArn?: string;
  sessionName: string;
  duration: number;
  sourceIdentity?: string;
  policy?: string;
  policyArns?: string[];
  tags: Array<[string, string]>;
}

/** The exact Query form the SDK sends for a call (what the loopback STS records as `params`). */
export function assumeRoleForm(call: ExpectedCall): Record<string, string> {
  const form: Record<string, string> = {
    Action: 'AssumeRole',
    Version: '2011-06-15',
    RoleArn: call.roleArn ?? ROLE_ARN,
    RoleSessionName: call.sessionName,
    DurationSeconds: String(call.duration),
  };
  if (call.sourceIdentity !== undefined) form.SourceIdentity = call.sourceIdentity;
  if (call.policy !== undefined) form.Policy = call.policy;
  for (const [i, arn] of (call.policyArns ?? []).entries()) form[`PolicyArns.member.${i + 1}.arn`] = arn;
  call.tags.forEach(([key, value], i) => {
    form[`Tags.member.${i + 1}.Key`] = key;
    form[`Tags.member.${i + 1}.Value`] = value;
  });
  return form;
}

/** A logger whose lines land in `lines` (to prove no secret is ever logged). */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', stream }), lines };
}
