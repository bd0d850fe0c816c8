/**
 * Grants in `policy diff`: a different kind, role or audience is wider (it
 * is other access, whatever else stays); more scopes, repositories or
 * permissions are wider, fewer narrower; session tags may feed ABAC
 * conditions, so any tag change needs review; a region is only where the
 * credential is used, a neutral edit.
 */
import { change, compareSets, type PolicyFieldChange } from './diff-change.ts';
import { compareSessionPolicies } from './diff-session-policy.ts';
import type { AwsGrant, CompiledPolicy, GithubGrant } from '../model/compile.ts';

type Grant = CompiledPolicy['grant'];

/** GitHub App permission levels, least to most. */
const GITHUB_LEVELS = ['read', 'write', 'admin'];

/** The changes between two grants. */
export function compareGrants(before: Grant, after: Grant): PolicyFieldChange[] {
  if (before.kind !== after.kind) {
    return [change('grant', 'wider', [`${before.kind} ${grantTarget(before)}`], [`${after.kind} ${grantTarget(after)}`], 'a different kind of grant')];
  }
  if (before.kind === 'token' && after.kind === 'token') {
    const audience =
      before.audience === after.audience ? [] : [change('grant.token.audience', 'wider', [before.audience], [after.audience], 'a different audience')];
    return [...audience, ...compareSets('grant.token.scope', before.scope, after.scope)];
  }
  if (before.kind === 'aws' && after.kind === 'aws') return compareAws(before, after);
  if (before.kind === 'github' && after.kind === 'github') return compareGithub(before, after);
  return [];
}

/** What a grant gives access to: an audience, a role ARN, repositories. */
export function grantTarget(grant: Grant): string {
  if (grant.kind === 'token') return grant.audience;
  if (grant.kind === 'aws') return grant.roleArn;
  return grant.repositories.join(', ');
}

function compareAws(before: AwsGrant, after: AwsGrant): PolicyFieldChange[] {
  const changes: PolicyFieldChange[] = [];
  if (before.roleArn !== after.roleArn) changes.push(change('grant.aws.role_arn', 'wider', [before.roleArn], [after.roleArn], 'a different role'));
  changes.push(...compareSessionPolicies(before, after));
  const tags = (grant: AwsGrant): string[] =>
    Object.entries(grant.tags)
      .map(([key, value]) => `${key}=${value}`)
      .sort();
  if (tags(before).join('\n') !== tags(after).join('\n')) {
    changes.push(change('grant.aws.tags', 'review', tags(before), tags(after), 'session tags changed: IAM conditions on tags may grant more'));
  }
  if (before.region !== after.region)
    changes.push(change('grant.aws.region', 'neutral', before.region === undefined ? [] : [before.region], after.region === undefined ? [] : [after.region]));
  return changes;
}

function compareGithub(before: GithubGrant, after: GithubGrant): PolicyFieldChange[] {
  const changes = compareSets('grant.github.repositories', before.repositories, after.repositories);
  const names = [...new Set([...Object.keys(before.permissions), ...Object.keys(after.permissions)])].sort();
  for (const name of names) {
    const was = Object.hasOwn(before.permissions, name) ? before.permissions[name] : undefined;
    const is = Object.hasOwn(after.permissions, name) ? after.permissions[name] : undefined;
    if (was === is) continue;
    const field = `grant.github.permissions.${name}`;
    const list = (level: string | undefined): string[] => (level === undefined ? [] : [level]);
    if (was === undefined) changes.push(change(field, 'wider', [], list(is), 'permission added'));
    else if (is === undefined) changes.push(change(field, 'narrower', list(was), [], 'permission removed'));
    else changes.push(change(field, levelEffect(was, is), [was], [is]));
  }
  return changes;
}

function levelEffect(was: string, is: string): PolicyFieldChange['effect'] {
  const from = GITHUB_LEVELS.indexOf(was);
  const to = GITHUB_LEVELS.indexOf(is);
  if (from === -1 || to === -1) return 'review';
  return to > from ? 'wider' : 'narrower';
}
