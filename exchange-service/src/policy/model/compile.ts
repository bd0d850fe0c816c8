/**
 * Compiles a validated policy file into what the exchange evaluates (SPEC §2),
 * rejecting ambiguity up front: an unconstrained GitHub repository, a `*` in
 * the owner, TTLs outside the limits. Conditions and their matchers are
 * built on first use and kept, so an exchange only runs them.
 */
import { formatDuration, parseDuration } from '../../duration.ts';
import { isGlob } from './glob.ts';
import type { IssuerKind } from './claims.ts';
import { compileCondition, type CompiledCondition } from './condition.ts';
import type { PolicyFile } from './schema.ts';
import { checkAwsGrantShape } from '../../grants/aws-limits.ts';

// Defined with the code they describe; re-exported as part of the compiled policy's shape.
export type { IssuerKind } from './claims.ts';
export type { CompiledCondition } from './condition.ts';

/** A policy ready to evaluate. */
export interface CompiledPolicy {
  name: string;
  file: string;
  /** Hex SHA-256 of the file's bytes. */
  digest: string;
  issuer: string;
  description: string;
  /** One per subject key, in file order. */
  conditions: readonly CompiledCondition[];
  /** Seconds. */
  ttl: { default: number; max: number };
  justification: 'optional' | 'required';
  grant: TokenGrant | AwsGrant | GithubGrant;
  /** True when subject.event_name explicitly lists pull_request_target. */
  allowsPullRequestTarget: boolean;
}

/** A JWT access token for `audience` (RFC 9068), with `scope`. */
export interface TokenGrant {
  kind: 'token';
  audience: string;
  scope: readonly string[];
}

/** STS AssumeRole into `roleArn`, narrowed by the session policies, with extra session tags. */
export interface AwsGrant {
  kind: 'aws';
  roleArn: string;
  region?: string;
  sessionPolicy?: Record<string, unknown>;
  managedSessionPolicies: readonly string[];
  tags: Readonly<Record<string, string>>;
}

/** A GitHub App installation token limited to `repositories` and `permissions`. */
export interface GithubGrant {
  kind: 'github';
  repositories: readonly string[];
  permissions: Readonly<Record<string, string>>;
}

/** What the service decides about a policy: its issuer's kind and the TTL cap. */
export interface CompileOptions {
  issuerKind: IssuerKind;
  /** The service's `limits.max_ttl`, seconds; unchecked when absent. */
  maxTtl?: number | undefined;
}

/** Where the policy came from. */
export interface PolicySource {
  name: string;
  file: string;
  digest: string;
}

/** A rule the policy breaks, at a path into the file (`['subject', 'repository', 1]`). */
export interface CompileProblem {
  path: readonly (string | number)[];
  message: string;
}

/** A compiled policy, or every rule it breaks. */
export type CompileResult = { ok: true; policy: CompiledPolicy } | { ok: false; problems: readonly CompileProblem[] };

/** STS AssumeRole's shortest DurationSeconds. */
export const AWS_MIN_TTL = 900;
/** STS AssumeRole's longest DurationSeconds (a role's own maximum may be lower). */
export const AWS_MAX_TTL = 12 * 3600;

/** Claims a GitHub policy must constrain at least one of (SPEC §2). */
const REPOSITORY_CLAIMS = ['repository', 'repository_id', 'repository_owner', 'repository_owner_id'] as const;
const ID_CLAIMS = new Set(['repository_id', 'repository_owner_id']);

const PULL_REQUEST_TARGET = 'pull_request_target';

/** Checks the rules a schema cannot express; returns every problem found. */
export function checkPolicy(file: PolicyFile, options: CompileOptions): CompileProblem[] {
  const problems: CompileProblem[] = [];
  if (options.issuerKind === 'github') problems.push(...checkRepositoryConstraint(file));
  problems.push(...checkTtl(file, options));
  return problems;
}

function checkRepositoryConstraint(file: PolicyFile): CompileProblem[] {
  const problems: CompileProblem[] = [];
  if (!REPOSITORY_CLAIMS.some((claim) => Object.hasOwn(file.subject, claim))) {
    problems.push({
      path: ['subject'],
      message: `a GitHub policy must constrain the repository: name one of ${REPOSITORY_CLAIMS.join(', ')} (any GitHub account can mint tokens for its own repositories)`,
    });
  }
  for (const claim of REPOSITORY_CLAIMS) {
    const value = file.subject[claim];
    if (value === undefined) continue;
    const list = typeof value === 'string' ? [value] : value;
    list.forEach((pattern, index) => {
      const path = typeof value === 'string' ? ['subject', claim] : ['subject', claim, index];
      const message = wildcardProblem(claim, pattern);
      if (message !== undefined) problems.push({ path, message });
    });
  }
  return problems;
}

function wildcardProblem(claim: string, pattern: string): string | undefined {
  if (!isGlob(pattern)) return undefined;
  if (ID_CLAIMS.has(claim)) return `${JSON.stringify(pattern)}: an ID is written exactly, without "*"`;
  const slash = pattern.indexOf('/');
  const owner = claim === 'repository' && slash !== -1 ? pattern.slice(0, slash) : pattern;
  if (!isGlob(owner)) return undefined;
  return `${JSON.stringify(pattern)} has a "*" in the owner part: name the owner exactly (any GitHub account can mint tokens)`;
}

function checkTtl(file: PolicyFile, options: CompileOptions): CompileProblem[] {
  const problems: CompileProblem[] = [];
  const ttlDefault = parseDuration(file.ttl.default);
  const ttlMax = parseDuration(file.ttl.max);
  if (ttlDefault === undefined)
    problems.push({ path: ['ttl', 'default'], message: `${JSON.stringify(file.ttl.default)} is not a duration (use 30s, 10m, 1h)` });
  if (ttlMax === undefined) problems.push({ path: ['ttl', 'max'], message: `${JSON.stringify(file.ttl.max)} is not a duration (use 30s, 10m, 1h)` });
  if (ttlDefault === undefined || ttlMax === undefined) return problems;
  if (ttlDefault > ttlMax) problems.push({ path: ['ttl', 'default'], message: `${file.ttl.default} is above ttl.max (${file.ttl.max})` });
  if (options.maxTtl !== undefined && ttlMax > options.maxTtl) {
    problems.push({ path: ['ttl', 'max'], message: `${file.ttl.max} is above the service's limits.max_ttl (${formatDuration(options.maxTtl)})` });
  }
  if (file.grant.aws !== undefined) {
    if (ttlDefault < AWS_MIN_TTL)
      problems.push({ path: ['ttl', 'default'], message: `${file.ttl.default} is below 15m, the shortest session STS grants (aws grants live 15m to 12h)` });
    if (ttlMax > AWS_MAX_TTL)
      problems.push({ path: ['ttl', 'max'], message: `${file.ttl.max} is above 12h, the longest session STS grants (aws grants live 15m to 12h)` });
    // STS's own limits (ARN forms, session policy size, managed ARNs, tags) are load errors, not exchange-time surprises.
    for (const message of checkAwsGrantShape(file.grant.aws)) problems.push({ path: ['grant', 'aws'], message });
  }
  return problems;
}

/** Checks and compiles a policy. */
export function compilePolicy(file: PolicyFile, source: PolicySource, options: CompileOptions): CompileResult {
  const problems = checkPolicy(file, options);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, policy: buildPolicy(file, source, options.issuerKind) };
}

/**
 * Builds the compiled form of a policy that {@link checkPolicy} found no
 * problem with. Its `conditions` are built on first access: loading 100,000
 * policies should not build a million conditions that no exchange may read.
 */
export function buildPolicy(file: PolicyFile, source: PolicySource, issuerKind: IssuerKind): CompiledPolicy {
  return new BuiltPolicy(file, source, issuerKind);
}

class BuiltPolicy implements CompiledPolicy {
  readonly name: string;
  readonly file: string;
  readonly digest: string;
  readonly issuer: string;
  readonly description: string;
  readonly ttl: { default: number; max: number };
  readonly justification: 'optional' | 'required';
  readonly grant: TokenGrant | AwsGrant | GithubGrant;
  readonly allowsPullRequestTarget: boolean;
  readonly #subject: PolicyFile['subject'];
  readonly #issuerKind: IssuerKind;
  #conditions: readonly CompiledCondition[] | undefined;

  constructor(file: PolicyFile, source: PolicySource, issuerKind: IssuerKind) {
    this.name = source.name;
    this.file = source.file;
    this.digest = source.digest;
    this.issuer = file.issuer;
    this.description = file.description;
    this.ttl = { default: parseDuration(file.ttl.default) ?? 0, max: parseDuration(file.ttl.max) ?? 0 };
    this.justification = file.justification;
    this.grant = buildGrant(file.grant);
    const eventNames = file.subject.event_name;
    this.allowsPullRequestTarget = eventNames === PULL_REQUEST_TARGET || (Array.isArray(eventNames) && eventNames.includes(PULL_REQUEST_TARGET));
    this.#subject = file.subject;
    this.#issuerKind = issuerKind;
  }

  get conditions(): readonly CompiledCondition[] {
    this.#conditions ??= Object.entries(this.#subject).map(([claim, value]) =>
      compileCondition(claim, typeof value === 'string' ? [value] : value, this.#issuerKind),
    );
    return this.#conditions;
  }
}

function buildGrant(grant: PolicyFile['grant']): CompiledPolicy['grant'] {
  if (grant.token !== undefined) return { kind: 'token', audience: grant.token.audience, scope: grant.token.scope };
  if (grant.aws !== undefined) {
    const aws = grant.aws;
    return {
      kind: 'aws',
      roleArn: aws.role_arn,
      ...(aws.region === undefined ? {} : { region: aws.region }),
      ...(aws.session_policy === undefined ? {} : { sessionPolicy: aws.session_policy }),
      managedSessionPolicies: aws.managed_session_policies,
      tags: aws.tags,
    };
  }
  if (grant.github !== undefined) return { kind: 'github', repositories: grant.github.repositories, permissions: grant.github.permissions };
  throw new Error('a policy grant has no kind (the schema should have refused it)');
}
