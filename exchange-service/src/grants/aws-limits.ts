/**
 * STS AssumeRole's own limits, in one place: the policy compiler calls
 * {@link checkAwsGrant} so a policy STS would refuse is a load error, and the
 * `aws` minter shapes token claims into names and tags STS accepts.
 */
import { formatDuration } from '../duration.ts';

/** DurationSeconds bounds (15 min to 12 h; the role's own maximum may be lower). */
export const STS_MIN_DURATION = 900;
export const STS_MAX_DURATION = 12 * 3600;
/** Characters of the minified inline session policy. */
export const MAX_SESSION_POLICY_CHARS = 2048;
export const MAX_MANAGED_SESSION_POLICIES = 10;
export const MAX_SESSION_TAGS = 50;
export const MAX_TAG_KEY_CHARS = 128;
export const MAX_TAG_VALUE_CHARS = 256;

/** Session tags the service sets on every `aws` session (SPEC §2), in the order sent. */
export const AUTOMATIC_TAG_KEYS = ['latchkey:grant-id', 'repository', 'repository_id', 'ref', 'workflow', 'run_id', 'actor', 'environment'] as const;
/** Tags a policy may add: the rest of STS's 50 after the automatic ones. */
export const MAX_POLICY_TAGS = MAX_SESSION_TAGS - AUTOMATIC_TAG_KEYS.length;

/** STS's character set for tag keys and values. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_DISALLOWED = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;
/** RoleSessionName and SourceIdentity: `[\w+=,.@-]{2,64}` (`\w` is ASCII here, as in STS). */
const NAME_DISALLOWED = /[^\w+=,.@-]/g;
const NAME_MIN = 2;
const NAME_MAX = 64;

const PARTITIONS = '(?:aws|aws-cn|aws-us-gov)';
/** `arn:aws:iam::123456789012:role/optional/path/name`: IAM paths are printable ASCII between slashes. */
const ROLE_ARN = new RegExp(`^arn:${PARTITIONS}:iam::\\d{12}:role(/(?:[\\x21-\\x7E]*/)?)([\\w+=,.@-]{1,64})$`);
const POLICY_ARN = new RegExp(`^arn:${PARTITIONS}:iam::(?:aws|\\d{12}):policy(/(?:[\\x21-\\x7E]*/)?)([\\w+=,.@-]{1,128})$`);
const MAX_IAM_PATH = 512;

/** The `aws` grant as written in a policy file. */
export interface AwsGrantInput {
  role_arn: string;
  session_policy?: unknown;
  managed_session_policies?: string[];
  tags?: Record<string, string>;
}

/**
 * Checks an `aws` grant and its TTLs (seconds) against STS's limits; returns
 * one human-readable problem per violation, empty when STS would accept it.
 * (STS also caps the packed size of policies plus tags; that is only known
 * when it answers, as PackedPolicyTooLarge.)
 */
export function checkAwsGrant(grant: AwsGrantInput, ttl: { default: number; max: number }): string[] {
  return [...checkTtl(ttl), ...checkAwsGrantShape(grant)];
}

/** The same checks without the TTLs (the policy compiler checks those with positions of its own). */
export function checkAwsGrantShape(grant: AwsGrantInput): string[] {
  return [
    ...checkRoleArn(grant.role_arn),
    ...checkSessionPolicy(grant.session_policy),
    ...checkManagedPolicies(grant.managed_session_policies ?? []),
    ...checkTags(grant.tags ?? {}),
  ];
}

function checkTtl(ttl: { default: number; max: number }): string[] {
  const problems: string[] = [];
  for (const [name, seconds] of [
    ['ttl.default', ttl.default],
    ['ttl.max', ttl.max],
  ] as const) {
    if (seconds < STS_MIN_DURATION)
      problems.push(`${name} ${formatDuration(seconds)} is below 15m, the shortest session STS grants (aws grants live 15m to 12h)`);
    if (seconds > STS_MAX_DURATION)
      problems.push(`${name} ${formatDuration(seconds)} is above 12h, the longest session STS grants (aws grants live 15m to 12h)`);
  }
  return problems;
}

function checkRoleArn(arn: string): string[] {
  const match = ROLE_ARN.exec(arn);
  if (match === null)
    return [
      `role_arn ${JSON.stringify(arn)} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME; partitions aws, aws-cn, aws-us-gov; names of 1-64 characters from A-Z a-z 0-9 _+=,.@-)`,
    ];
  const path = match[1] ?? '/';
  return path.length > MAX_IAM_PATH ? [`role_arn's path is ${path.length} characters; IAM allows ${MAX_IAM_PATH}`] : [];
}

function checkSessionPolicy(policy: unknown): string[] {
  if (policy === undefined) return [];
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy))
    return ['session_policy must be an IAM policy document (a mapping with Version and Statement)'];
  const text = minifiedPolicy(policy as Record<string, unknown>);
  const problems: string[] = [];
  if (text.length > MAX_SESSION_POLICY_CHARS) {
    problems.push(
      `session_policy is ${text.length} characters as minified JSON; STS allows ${MAX_SESSION_POLICY_CHARS} (use managed_session_policies for larger ones)`,
    );
  }
  const outside = [...text].find((c) => (c.codePointAt(0) ?? 0) > 0xff);
  if (outside !== undefined) problems.push(`session_policy contains ${JSON.stringify(outside)}; STS accepts only characters U+0020 to U+00FF in policies`);
  return problems;
}

/** The inline session policy exactly as sent to STS: minified JSON. */
export function minifiedPolicy(policy: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(policy);
}

function checkManagedPolicies(arns: readonly string[]): string[] {
  const problems: string[] = [];
  if (arns.length > MAX_MANAGED_SESSION_POLICIES)
    problems.push(`managed_session_policies names ${arns.length} policies; STS allows ${MAX_MANAGED_SESSION_POLICIES}`);
  for (const arn of arns) {
    const match = POLICY_ARN.exec(arn);
    if (match === null)
      problems.push(
        `managed_session_policies: ${JSON.stringify(arn)} is not an IAM policy ARN (arn:aws:iam::123456789012:policy/NAME or arn:aws:iam::aws:policy/NAME)`,
      );
    else if ((match[1] ?? '/').length > MAX_IAM_PATH)
      problems.push(`managed_session_policies: ${JSON.stringify(arn)} has a path over ${MAX_IAM_PATH} characters`);
  }
  return problems;
}

function checkTags(tags: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  const keys = Object.keys(tags);
  if (keys.length > MAX_POLICY_TAGS) {
    problems.push(
      `tags has ${keys.length} entries; STS allows ${MAX_SESSION_TAGS} session tags and the service sets ${AUTOMATIC_TAG_KEYS.length}, so at most ${MAX_POLICY_TAGS}`,
    );
  }
  const automatic = new Set<string>(AUTOMATIC_TAG_KEYS.map((key) => key.toLowerCase()));
  const seen = new Map<string, string>();
  for (const key of keys) {
    const value = tags[key] ?? '';
    const shown = JSON.stringify(key);
    if (key.length < 1 || key.length > MAX_TAG_KEY_CHARS) problems.push(`tag key ${shown} must be 1-${MAX_TAG_KEY_CHARS} characters`);
    if (!TAG_TEXT.test(key)) problems.push(`tag key ${shown} may hold only letters, digits, spaces and _ . : / = + - @`);
    if (/^aws:/i.test(key)) problems.push(`tag key ${shown}: keys starting with "aws:" are reserved by AWS`);
    if (automatic.has(key.toLowerCase()))
      problems.push(`tag key ${shown} is set by the service on every session (${AUTOMATIC_TAG_KEYS.join(', ')}; keys compare case-insensitively)`);
    const earlier = seen.get(key.toLowerCase());
    if (earlier !== undefined) problems.push(`tag keys ${JSON.stringify(earlier)} and ${shown} differ only in case; STS treats them as the same key`);
    seen.set(key.toLowerCase(), key);
    if (value.length > MAX_TAG_VALUE_CHARS) problems.push(`tag ${shown}'s value is ${value.length} characters; STS allows ${MAX_TAG_VALUE_CHARS}`);
    if (!TAG_TEXT.test(value)) problems.push(`tag ${shown}'s value may hold only letters, digits, spaces and _ . : / = + - @`);
  }
  return problems;
}

/**
 * Shapes text into STS's tag character set and length: each character STS
 * refuses (control characters, quotes, `#`, `*`, …) becomes `_`, and the
 * result is cut to `max` characters (code points, so a surrogate pair is never split).
 */
export function toTagText(text: string, max: number): string {
  return [...text.replace(TAG_DISALLOWED, '_')].slice(0, max).join('');
}

/**
 * The RoleSessionName for a run: `owner.repo@run_id` (`/` becomes `.`, other
 * characters outside `[\w+=,.@-]` become `-`), cut from the repository side
 * so the run id survives; `fallback` (the grant id) when neither claim is present.
 */
export function toRoleSessionName(repository: string | null, runId: string | null, fallback: string): string {
  const run = runId === null ? '' : toName(runId).slice(0, NAME_MAX - 2);
  const repo = repository === null ? '' : toName(repository.replaceAll('/', '.'));
  let name: string;
  if (repo !== '' && run !== '') name = `${repo.slice(0, NAME_MAX - run.length - 1)}@${run}`;
  else name = repo !== '' ? repo : run;
  if (name.length < NAME_MIN) name = `latchkey-${toName(fallback)}`;
  return name.slice(0, NAME_MAX);
}

/**
 * The SourceIdentity for an actor, or null when there is none. Characters
 * outside `[\w+=,.@-]` become `-`; a one-character name is padded with `_`
 * (a character GitHub logins never contain, so the padding is unambiguous).
 */
export function toSourceIdentity(actor: string | null): string | null {
  if (actor === null || actor === '') return null;
  const name = toName(actor).slice(0, NAME_MAX);
  return name.length < NAME_MIN ? name.padEnd(NAME_MIN, '_') : name;
}

const toName = (text: string): string => text.replace(NAME_DISALLOWED, '-');
