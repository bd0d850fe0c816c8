/**
 * Compiles a validated policy file into what the exchange evaluates (SPEC §2),
 * rejecting ambiguity up front: an unconstrained GitHub repository, a `*` in
 * the owner, TTLs outside the limits. Matchers are built once per load, so
 * an exchange only runs them.
 */
import { formatDuration, parseDuration } from '../duration.ts';
import { compileGlob, foldAscii, isGlob, type GlobMatcher } from './glob.ts';
import type { PolicyFile } from './schema.ts';

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

export interface TokenGrant {
  kind: 'token';
  audience: string;
  scope: readonly string[];
}

export interface AwsGrant {
  kind: 'aws';
  roleArn: string;
  region?: string;
  sessionPolicy?: Record<string, unknown>;
  managedSessionPolicies: readonly string[];
  tags: Readonly<Record<string, string>>;
}

export interface GithubGrant {
  kind: 'github';
  repositories: readonly string[];
  permissions: Readonly<Record<string, string>>;
}

/** One subject key: holds when the claim matches any of `patterns`. */
export interface CompiledCondition {
  claim: string;
  /** The patterns as written in the file. */
  patterns: readonly string[];
  match(value: string): boolean;
}

/** How an issuer's claims are shaped; `github` turns on the repository rules and case folding. */
export type IssuerKind = 'github' | 'gitlab' | 'generic';

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

export type CompileResult = { ok: true; policy: CompiledPolicy } | { ok: false; problems: readonly CompileProblem[] };

/** STS AssumeRole's DurationSeconds range. */
export const AWS_MIN_TTL = 900;
export const AWS_MAX_TTL = 12 * 3600;

/** Claims a GitHub policy must constrain at least one of (SPEC §2). */
const REPOSITORY_CLAIMS = ['repository', 'repository_id', 'repository_owner', 'repository_owner_id'] as const;
const ID_CLAIMS = new Set(['repository_id', 'repository_owner_id']);
/** GitHub compares these names case-insensitively (ASCII only). */
const FOLDED_CLAIMS = new Set(['repository', 'repository_owner', 'environment']);
/** Claims of the form `owner/repo/path@ref`: the `owner/repo/` prefix is folded, the rest is exact. */
const WORKFLOW_REF_CLAIMS = new Set(['workflow_ref', 'job_workflow_ref']);

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
  if (ttlDefault === undefined) problems.push({ path: ['ttl', 'default'], message: `${JSON.stringify(file.ttl.default)} is not a duration (use 30s, 10m, 1h)` });
  if (ttlMax === undefined) problems.push({ path: ['ttl', 'max'], message: `${JSON.stringify(file.ttl.max)} is not a duration (use 30s, 10m, 1h)` });
  if (ttlDefault === undefined || ttlMax === undefined) return problems;
  if (ttlDefault > ttlMax) problems.push({ path: ['ttl', 'default'], message: `${file.ttl.default} is above ttl.max (${file.ttl.max})` });
  if (options.maxTtl !== undefined && ttlMax > options.maxTtl) {
    problems.push({ path: ['ttl', 'max'], message: `${file.ttl.max} is above the service's limits.max_ttl (${formatDuration(options.maxTtl)})` });
  }
  if (file.grant.aws !== undefined) {
    if (ttlDefault < AWS_MIN_TTL) problems.push({ path: ['ttl', 'default'], message: `${file.ttl.default} is below 15m, the shortest session STS grants (aws grants live 15m to 12h)` });
    if (ttlMax > AWS_MAX_TTL) problems.push({ path: ['ttl', 'max'], message: `${file.ttl.max} is above 12h, the longest session STS grants (aws grants live 15m to 12h)` });
  }
  return problems;
}

/** Checks and compiles a policy. */
export function compilePolicy(file: PolicyFile, source: PolicySource, options: CompileOptions): CompileResult {
  const problems = checkPolicy(file, options);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, policy: buildPolicy(file, source, options.issuerKind) };
}

/** Builds the compiled form of a policy that {@link checkPolicy} found no problem with. */
export function buildPolicy(file: PolicyFile, source: PolicySource, issuerKind: IssuerKind): CompiledPolicy {
  const conditions = Object.entries(file.subject).map(([claim, value]) => compileCondition(claim, typeof value === 'string' ? [value] : value, issuerKind));
  const eventNames = file.subject.event_name;
  const listed = eventNames === undefined ? [] : typeof eventNames === 'string' ? [eventNames] : eventNames;
  return {
    name: source.name,
    file: source.file,
    digest: source.digest,
    issuer: file.issuer,
    description: file.description,
    conditions,
    ttl: { default: parseDuration(file.ttl.default) ?? 0, max: parseDuration(file.ttl.max) ?? 0 },
    justification: file.justification,
    grant: buildGrant(file.grant),
    allowsPullRequestTarget: listed.includes(PULL_REQUEST_TARGET),
  };
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

/**
 * Builds one condition. For GitHub-kind issuers, `repository`,
 * `repository_owner` and `environment` compare with ASCII case folding, and
 * for `workflow_ref`/`job_workflow_ref` only the `owner/repo/` prefix does:
 * the claim's text up to its second `/` is folded, and so is the pattern's
 * (but never past a `**`, which could reach into the path); the path and
 * ref compare exactly. Every other claim compares exactly.
 */
export function compileCondition(claim: string, patterns: readonly string[], issuerKind: IssuerKind): CompiledCondition {
  // Built on first use: a load of 100,000 policies should not compile matchers an exchange may never run.
  let compiled: ((value: string) => boolean) | undefined;
  return {
    claim,
    patterns,
    match: (value) => (compiled ??= createConditionMatcher(claim, patterns, issuerKind === 'github'))(value),
  };
}

function createConditionMatcher(claim: string, patterns: readonly string[], github: boolean): (value: string) => boolean {
  if (github && WORKFLOW_REF_CLAIMS.has(claim)) {
    const matchers = patterns.map((pattern) => compileGlob(foldPatternOwnerRepoPrefix(pattern), { caseInsensitive: false }));
    return (value) => {
      const folded = foldOwnerRepoPrefix(value);
      return matchers.some((matches) => matches(folded));
    };
  }
  const caseInsensitive = github && FOLDED_CLAIMS.has(claim);
  const matchers: GlobMatcher[] = patterns.map((pattern) => compileGlob(pattern, { caseInsensitive }));
  return (value) => matchers.some((matches) => matches(value));
}

/** ASCII-folds a claim up to and including its second `/` (`Acme/WebApp/.github/...` → `acme/webapp/.github/...`). */
export function foldOwnerRepoPrefix(text: string): string {
  const end = ownerRepoPrefixEnd(text);
  return foldAscii(text.slice(0, end)) + text.slice(end);
}

/**
 * Folds a pattern's `owner/repo/` prefix. A single `*` cannot cross `/`, so
 * the pattern's first two `/` meet the claim's; past a `**` that no longer
 * holds, so folding stops there.
 */
function foldPatternOwnerRepoPrefix(pattern: string): string {
  const globstar = pattern.indexOf('**');
  const end = Math.min(ownerRepoPrefixEnd(pattern), globstar === -1 ? pattern.length : globstar);
  return foldAscii(pattern.slice(0, end)) + pattern.slice(end);
}

function ownerRepoPrefixEnd(text: string): number {
  const first = text.indexOf('/');
  const second = first === -1 ? -1 : text.indexOf('/', first + 1);
  return second === -1 ? text.length : second + 1;
}
