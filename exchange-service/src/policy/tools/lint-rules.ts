/**
 * The lint rules of `policy check` (SPEC §2): things the service loads but a
 * reviewer should look at twice. Each rule has a stable id, and each finding
 * a one-line message, a one-line fix and the path of the node it is about.
 * Rules read the compiled policy (what the service would enforce), never
 * the YAML text; positions come later from lint-positions.ts.
 */
import { formatDuration } from '../../duration.ts';
import { compileGlob } from '../model/glob.ts';
import type { CompiledCondition, CompiledPolicy, IssuerKind } from '../model/compile.ts';
import type { DocumentPath, PositionTarget } from './lint-positions.ts';
import { allowedActions, isEveryAction, isServiceWildcard, writeReason } from './lint-grant.ts';
import { minifiedPolicy } from '../../grants/aws-limits.ts';

/** One thing a rule found in one policy. */
export interface LintFinding {
  rule: string;
  path: DocumentPath;
  at: PositionTarget;
  message: string;
  fix: string;
}

/** A rule over one policy. `github`-only rules read GitHub's claim names and run only for GitHub-kind issuers. */
interface PolicyRule {
  id: string;
  githubOnly: boolean;
  check(policy: CompiledPolicy): LintFinding[];
}

/** `ttl.max` above this draws a warning (seconds). */
export const LONG_TTL = 3600;
/**
 * Inline session policy, managed policy ARNs and policy tags together above
 * this many characters draw a warning: STS packs them with the service's own
 * session tags into a binary form with a limit of its own, reported only when
 * it refuses a session (PackedPolicyTooLarge).
 */
export const PACKED_SIZE_WARNING = 1536;

const SUBJECT: DocumentPath = ['subject'];
/** A ref GitHub puts in tokens of `pull_request` runs. */
const PULL_REQUEST_REF = 'refs/pull/1/merge';

const conditionOf = (policy: CompiledPolicy, claim: string): CompiledCondition | undefined => policy.conditions.find((condition) => condition.claim === claim);
/** A condition written as `*` or `**` constrains nothing. */
const constrains = (condition: CompiledCondition | undefined): boolean =>
  condition !== undefined && !condition.patterns.some((pattern) => /^\*+$/.test(pattern));
const finding = (rule: string, path: DocumentPath, at: PositionTarget, message: string, fix: string): LintFinding => ({ rule, path, at, message, fix });

const unboundRepositoryId: PolicyRule = {
  id: 'unbound-repository-id',
  githubOnly: true,
  check(policy) {
    if (conditionOf(policy, 'repository_id') !== undefined || conditionOf(policy, 'repository_owner_id') !== undefined) return [];
    return [
      finding(
        this.id,
        SUBJECT,
        'key',
        'the subject binds the repository by name only (no repository_id or repository_owner_id): a repository or owner re-created under the same name would match',
        'add repository_id: "<id>" (the id field of GET /repos/OWNER/REPO), or repository_owner_id for an owner-wide policy',
      ),
    ];
  },
};

const repositoryGlob: PolicyRule = {
  id: 'repository-glob',
  githubOnly: true,
  check(policy) {
    const condition = conditionOf(policy, 'repository');
    if (condition === undefined) return [];
    return condition.patterns.flatMap((pattern, index) =>
      !pattern.includes('*')
        ? []
        : [
            finding(
              this.id,
              ['subject', 'repository', index],
              'value',
              `repository pattern ${JSON.stringify(pattern)} also matches repositories created later`,
              'list the repositories by name, or bind the whole owner with repository_owner and repository_owner_id if that is meant',
            ),
          ],
    );
  },
};

const unconstrainedRef: PolicyRule = {
  id: 'unconstrained-ref',
  githubOnly: true,
  check(policy) {
    if (policy.grant.kind === 'token') return [];
    if (['ref', 'environment', 'workflow_ref', 'job_workflow_ref'].some((claim) => constrains(conditionOf(policy, claim)))) return [];
    return [
      finding(
        this.id,
        SUBJECT,
        'key',
        `${policy.grant.kind === 'aws' ? 'an aws' : 'a github'} grant with no ref, environment or workflow_ref condition: jobs on any branch, tag or pull request can get it`,
        'add ref: refs/heads/main, a protected environment, or workflow_ref (job_workflow_ref for a reusable workflow) pinned to a ref',
      ),
    ];
  },
};

const pullRequestTarget: PolicyRule = {
  id: 'pull-request-target',
  githubOnly: true,
  check(policy) {
    const index = conditionOf(policy, 'event_name')?.patterns.indexOf('pull_request_target') ?? -1;
    if (index === -1) return [];
    return [
      finding(
        this.id,
        ['subject', 'event_name', index],
        'value',
        "event_name allows pull_request_target, whose runs have the base repository's privileges but act on pull requests from forks",
        'remove pull_request_target; give pull_request jobs a separate read-only policy',
      ),
    ];
  },
};

const pullRequestWrite: PolicyRule = {
  id: 'pull-request-write',
  githubOnly: true,
  check(policy) {
    const reason = writeReason(policy.grant);
    if (reason === undefined || !admitsPullRequests(policy)) return [];
    const events = conditionOf(policy, 'event_name');
    const index = events?.patterns.findIndex((pattern) => compileGlob(pattern, { caseInsensitive: false })('pull_request')) ?? -1;
    const where: DocumentPath = index === -1 ? SUBJECT : ['subject', 'event_name', index];
    const what = events === undefined ? 'pull_request jobs can get (no event_name, ref or workflow_ref excludes them)' : 'event_name allows pull_request on';
    return [
      finding(
        this.id,
        where,
        index === -1 ? 'key' : 'value',
        `${what} a grant that can write (${reason}); pull request code is unreviewed`,
        'limit event_name to [push, workflow_dispatch] or ref to a branch, or make the grant read-only',
      ),
    ];
  },
};

/** True unless event_name, ref or workflow_ref rules out the tokens of `pull_request` runs. */
function admitsPullRequests(policy: CompiledPolicy): boolean {
  const events = conditionOf(policy, 'event_name');
  if (events !== undefined && !events.match('pull_request')) return false;
  const ref = conditionOf(policy, 'ref');
  if (ref !== undefined && !ref.match(PULL_REQUEST_REF)) return false;
  const workflow = conditionOf(policy, 'workflow_ref');
  // workflow_ref ends in `@<ref>`; a pattern whose ref part cannot be a pull request ref rules them out.
  return (
    workflow === undefined ||
    workflow.patterns.some((pattern) => {
      const at = pattern.lastIndexOf('@');
      return at === -1 || compileGlob(pattern.slice(at + 1), { caseInsensitive: false })(PULL_REQUEST_REF);
    })
  );
}

const unconstrainedRunner: PolicyRule = {
  id: 'unconstrained-runner-environment',
  githubOnly: true,
  check(policy) {
    if (constrains(conditionOf(policy, 'runner_environment'))) return [];
    return [
      finding(
        this.id,
        SUBJECT,
        'key',
        'no runner_environment condition: jobs on any runner can get this grant, self-hosted ones included',
        'add runner_environment: github-hosted (or self-hosted, if the job runs on your own runners)',
      ),
    ];
  },
};

const longTtl: PolicyRule = {
  id: 'long-ttl',
  githubOnly: false,
  check(policy) {
    if (policy.ttl.max <= LONG_TTL) return [];
    return [
      finding(
        this.id,
        ['ttl', 'max'],
        'value',
        `ttl.max is ${formatDuration(policy.ttl.max)}, above 1h: a leaked credential stays usable that long`,
        'lower ttl.max to 1h or less; a longer job can exchange again',
      ),
    ];
  },
};

const unjustifiedWildcard: PolicyRule = {
  id: 'unjustified-wildcard-action',
  githubOnly: false,
  check(policy) {
    if (policy.grant.kind !== 'aws' || policy.justification === 'required') return [];
    return allowedActions(policy.grant).flatMap((item) =>
      !item.notAction && !isEveryAction(item.action)
        ? []
        : [
            finding(
              this.id,
              item.path,
              item.notAction ? 'key' : 'value',
              `the session policy allows ${item.notAction ? 'every action but those under NotAction' : 'every action ("*")'} and justification is optional`,
              'set justification: required, or list the actions the job needs',
            ),
          ],
    );
  },
};

const serviceWildcard: PolicyRule = {
  id: 'service-wildcard-action',
  githubOnly: false,
  check(policy) {
    if (policy.grant.kind !== 'aws') return [];
    return allowedActions(policy.grant).flatMap((item) => {
      if (item.notAction || !isServiceWildcard(item.action)) return [];
      const service = item.action.slice(0, item.action.indexOf(':'));
      return [
        finding(
          this.id,
          item.path,
          'value',
          `the session policy allows every ${service} action (${JSON.stringify(item.action)})`,
          `list the ${service} actions the job needs`,
        ),
      ];
    });
  },
};

const packedSize: PolicyRule = {
  id: 'aws-packed-size',
  githubOnly: false,
  check(policy) {
    const grant = policy.grant;
    if (grant.kind !== 'aws' || grant.sessionPolicy === undefined) return [];
    const tags = Object.entries(grant.tags).reduce((sum, [key, value]) => sum + key.length + value.length, 0);
    const size = minifiedPolicy(grant.sessionPolicy).length + grant.managedSessionPolicies.join('').length + tags;
    if (size < PACKED_SIZE_WARNING) return [];
    return [
      finding(
        this.id,
        ['grant', 'aws', 'session_policy'],
        'key',
        `session policy, managed policy ARNs and tags come to ${size} characters: STS may refuse sessions as PackedPolicyTooLarge (it packs them with the service's own tags), seen only at exchange time`,
        'move statements into a managed policy attached to the role, or shorten the inline session policy',
      ),
    ];
  },
};

const POLICY_RULES: readonly PolicyRule[] = [
  unboundRepositoryId,
  repositoryGlob,
  unconstrainedRef,
  pullRequestTarget,
  pullRequestWrite,
  unconstrainedRunner,
  longTtl,
  unjustifiedWildcard,
  serviceWildcard,
  packedSize,
];

/** Every rule id, the set-wide `duplicate-subject` included. */
export const LINT_RULE_IDS: readonly string[] = [...POLICY_RULES.map((rule) => rule.id), 'duplicate-subject'];

/** Runs every per-policy rule that applies to the issuer's kind. */
export function lintPolicy(policy: CompiledPolicy, issuerKind: IssuerKind): LintFinding[] {
  return POLICY_RULES.filter((rule) => !rule.githubOnly || issuerKind === 'github').flatMap((rule) => rule.check(policy));
}
