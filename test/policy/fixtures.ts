/**
 * Policy texts and helpers shared by the policy tests: policies go through
 * the real parser, schema and compiler, as they do when loaded from disk.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildPolicy, type CompiledPolicy, type IssuerKind } from '../../exchange-service/src/policy/model/compile.ts';
import { parsePolicyText } from '../../exchange-service/src/policy/model/parse-file.ts';

/** SPEC §2's example, as a token grant. */
export const DEPLOY_POLICY = `version: 1
description: Deploy acme/webapp to production from main.
issuer: github
subject:
  repository: acme/webapp
  repository_id: "892341"
  repository_owner_id: "1342004"
  ref: refs/heads/main
  workflow_ref: acme/webapp/.github/workflows/deploy.yml@refs/heads/main
  job_workflow_ref: acme/shared/.github/workflows/deploy.yml@refs/tags/v1
  environment: production
  event_name: [push, workflow_dispatch]
  runner_environment: github-hosted
ttl: { default: 15m, max: 30m }
justification: required
grant:
  token: { audience: https://deploy.internal.example, scope: [deploy] }
`;

/** Claims of a GitHub Actions token that satisfies DEPLOY_POLICY. */
export const DEPLOY_CLAIMS: Readonly<Record<string, unknown>> = {
  iss: 'https://token.actions.githubusercontent.com',
  sub: 'repo:acme/webapp:environment:production',
  repository: 'acme/webapp',
  repository_id: '892341',
  repository_owner: 'acme',
  repository_owner_id: '1342004',
  ref: 'refs/heads/main',
  ref_type: 'branch',
  workflow_ref: 'acme/webapp/.github/workflows/deploy.yml@refs/heads/main',
  job_workflow_ref: 'acme/shared/.github/workflows/deploy.yml@refs/tags/v1',
  environment: 'production',
  event_name: 'push',
  runner_environment: 'github-hosted',
  run_id: '4242',
  actor: 'octocat',
};

/** A minimal valid policy with the given subject lines (YAML, indented two spaces). */
export function policyWithSubject(subjectLines: string, extra = ''): string {
  return `version: 1
description: Test policy.
subject:
${subjectLines}
ttl: { default: 10m, max: 30m }
grant:
  token: { audience: https://internal.example }
${extra}`;
}

/** Parses, checks and compiles a policy text, throwing with the problems when it is invalid. */
export function compileText(text: string, kind: IssuerKind = 'github', name = 'test/policy'): CompiledPolicy {
  const result = parsePolicyText(text, `${name}.yaml`, { issuers: { github: { kind }, dev: { kind } } });
  if (!result.ok) throw new Error(result.problems.map((p) => `${p.line}:${p.column}: ${p.message}`).join('\n'));
  return buildPolicy(result.policy, { name, file: `${name}.yaml`, digest: '0'.repeat(64) }, result.issuerKind);
}

/** Claims with overrides; an override of `undefined` removes the claim. */
export function claimsWith(base: Readonly<Record<string, unknown>>, overrides: Record<string, unknown>): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }
  return claims;
}

/** A temporary folder of policy files; `files` maps relative paths to contents. */
export async function writePolicyDir(files: Record<string, string | Uint8Array>): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-policies-'));
  await writeFiles(dir, files);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes files below `dir`, creating folders. */
export async function writeFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const path = join(dir, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
}
