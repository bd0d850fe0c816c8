/**
 * The benchmark's synthetic organisation: one repository and one token-grant
 * policy per index, and which policy the n-th token targets. Pure functions,
 * shared by the policy generator and the minting workers so both agree.
 */

/** The owner every repository belongs to (one issuer, one organisation). */
export const OWNER = 'acme';
const OWNER_ID = '1342004';

/** One policy of the fleet and the repository whose tokens satisfy it. */
export interface FleetEntry {
  /** The policy name (its path below the policies folder, no extension). */
  name: string;
  repository: string;
  repositoryId: string;
}

/** The fleet entry at `index` (0-based). */
export function fleetEntry(index: number): FleetEntry {
  const app = `app-${String(index).padStart(5, '0')}`;
  return {
    name: `team-${String(index % 100).padStart(2, '0')}/${app}`,
    repository: `${OWNER}/${app}`,
    repositoryId: String(2_000_000 + index),
  };
}

/** What a fleet's policies grant: an access token signed by the service, or an STS session. */
export type FleetGrant = 'token' | 'aws';

/** The account of every role the aws fleet names (the loopback STS accepts any). */
const AWS_ACCOUNT = '123456789012';

/**
 * The policy file for `index`. Four shapes alternate (exact ref, a ref list
 * with a glob, a workflow glob, an environment) so evaluation is not one
 * code path; every shape grants the tokens minted by `tokenClaims`.
 */
export function policyText(index: number, grant: FleetGrant = 'token'): string {
  const { repository, repositoryId } = fleetEntry(index);
  const extra =
    [
      ['  ref: refs/heads/main', '  event_name: [push, workflow_dispatch]'],
      ['  ref: [refs/heads/main, "refs/heads/release/*"]'],
      [`  workflow_ref: "${repository}/.github/workflows/*.yml@refs/heads/main"`],
      ['  ref: refs/heads/main', '  environment: production'],
    ][index % 4] ?? [];
  return [
    'version: 1',
    `description: Bench policy ${index}.`,
    'issuer: github',
    'subject:',
    `  repository: ${repository}`,
    `  repository_id: "${repositoryId}"`,
    `  repository_owner_id: "${OWNER_ID}"`,
    ...extra,
    '  runner_environment: github-hosted',
    ...(grant === 'token' ? tokenGrant() : awsGrant(index)),
    '',
  ].join('\n');
}

function tokenGrant(): string[] {
  return ['ttl: { default: 10m, max: 30m }', 'grant:', `  token: { audience: https://artifacts.acme.internal, scope: ["artifacts:read", "artifacts:write"] }`];
}

/** An STS session in the app's own role, narrowed to its bucket (STS sessions last 15 minutes at least). */
function awsGrant(index: number): string[] {
  const app = `app-${String(index).padStart(5, '0')}`;
  return [
    'ttl: { default: 15m, max: 1h }',
    'grant:',
    '  aws:',
    `    role_arn: arn:aws:iam::${AWS_ACCOUNT}:role/${app}-deploy`,
    '    region: eu-west-1',
    '    session_policy:',
    '      Version: "2012-10-17"',
    '      Statement:',
    '        - Effect: Allow',
    '          Action: ["s3:PutObject", "s3:GetObject"]',
    `          Resource: "arn:aws:s3:::acme-${app}/*"`,
    `    tags: { team: "team-${String(index % 100).padStart(2, '0')}" }`,
  ];
}

/** Which policy the `tokenIndex`-th token targets: a stride walk that visits every policy. */
export function targetOf(tokenIndex: number, policyCount: number): number {
  const stride = gcd(7919, policyCount) === 1 ? 7919 : 1;
  return (tokenIndex * stride) % policyCount;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** GitHub Actions-shaped claims for a token that satisfies policy `index`. */
export function tokenClaims(options: {
  issuer: string;
  audience: string;
  index: number;
  runId: number;
  jti: string;
  sha: string;
  iat: number;
  exp: number;
}): Record<string, unknown> {
  const { repository, repositoryId } = fleetEntry(options.index);
  const workflowRef = `${repository}/.github/workflows/deploy.yml@refs/heads/main`;
  return {
    jti: options.jti,
    sub: `repo:${repository}:environment:production`,
    aud: options.audience,
    ref: 'refs/heads/main',
    sha: options.sha,
    repository,
    repository_owner: OWNER,
    repository_owner_id: OWNER_ID,
    run_id: String(options.runId),
    run_number: '1',
    run_attempt: '1',
    repository_visibility: 'private',
    repository_id: repositoryId,
    actor_id: '583231',
    actor: 'octocat',
    workflow: 'deploy',
    head_ref: '',
    base_ref: '',
    event_name: 'push',
    ref_protected: 'true',
    ref_type: 'branch',
    workflow_ref: workflowRef,
    workflow_sha: options.sha,
    job_workflow_ref: workflowRef,
    job_workflow_sha: options.sha,
    environment: 'production',
    runner_environment: 'github-hosted',
    iss: options.issuer,
    nbf: options.iat,
    iat: options.iat,
    exp: options.exp,
  };
}
