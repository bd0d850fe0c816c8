/**
 * AWS session policies in `policy diff`. A session's permissions are the
 * role's, cut down to what its session policies (the inline document and
 * the managed ARNs together) allow; with none, the role's full permissions.
 * A new session policy is narrower only when it is shown to allow no more:
 * every Allow statement covered by an old one (actions and resources by
 * IAM wildcard containment, conditions no looser) and every old Deny kept.
 * Anything else that changed is wider or needs review.
 */
import { allContained, classify, foldTokens, globsContained, iamGlobTokens, type Containment } from './diff-glob.ts';
import { canonicalJson, change, type PolicyFieldChange } from './diff-change.ts';
import type { AwsGrant } from '../model/compile.ts';

/** One statement, normalised: lists for the action and resource fields, `Sid` dropped. */
interface Statement {
  effect: 'Allow' | 'Deny';
  action?: string[] | undefined;
  notAction?: string[] | undefined;
  resource?: string[] | undefined;
  notResource?: string[] | undefined;
  condition?: unknown;
  /** The statement without its Sid, for equality. */
  key: string;
}

/** What limits a session: the inline document's statements (undefined: none or unreadable) and managed ARNs. */
interface Restriction {
  inline: Record<string, unknown> | undefined;
  managed: readonly string[];
}

const FIELD = 'grant.aws.session_policy';

/** The change in the session policies of an aws grant, if any. */
export function compareSessionPolicies(before: AwsGrant, after: AwsGrant): PolicyFieldChange[] {
  const old: Restriction = { inline: before.sessionPolicy, managed: before.managedSessionPolicies };
  const now: Restriction = { inline: after.sessionPolicy, managed: after.managedSessionPolicies };
  const oldText = describeSessionPolicies(before);
  const nowText = describeSessionPolicies(after);
  if (
    canonicalJson(old.inline ?? null) === canonicalJson(now.inline ?? null) &&
    canonicalJson([...old.managed].sort()) === canonicalJson([...now.managed].sort())
  )
    return [];
  const verdict = classify(restrictionWithin(now, old), restrictionWithin(old, now));
  if (verdict === 'equal') return [change(FIELD, 'neutral', oldText, nowText, 'rewritten: allows the same')];
  if (verdict === 'narrower') return [change(FIELD, 'narrower', oldText, nowText)];
  if (verdict === 'wider')
    return [change(FIELD, 'wider', oldText, nowText, isUnrestricted(now) ? "no session policy now: the role's full permissions" : undefined)];
  return [change(FIELD, 'review', oldText, nowText, 'changed: could not show that it allows no more')];
}

/** The session policies as short lines for people: `Allow s3:PutObject on arn:aws:s3:::bucket/*`. */
export function describeSessionPolicies(grant: AwsGrant): string[] {
  const lines: string[] = [];
  if (grant.sessionPolicy !== undefined) {
    const statements = parseStatements(grant.sessionPolicy);
    if (statements === undefined) lines.push(`inline ${canonicalJson(grant.sessionPolicy)}`);
    else lines.push(...statements.map(describeStatement));
  }
  lines.push(...grant.managedSessionPolicies.map((arn) => `managed ${arn}`));
  return lines.length === 0 ? ["none (the role's full permissions)"] : lines;
}

function describeStatement(statement: Statement): string {
  const actions = statement.action !== undefined ? statement.action.join(', ') : `all but ${(statement.notAction ?? []).join(', ')}`;
  const resources =
    statement.resource !== undefined
      ? statement.resource.join(', ')
      : statement.notResource !== undefined
        ? `all but ${statement.notResource.join(', ')}`
        : '(no resource)';
  return `${statement.effect} ${actions} on ${resources}${statement.condition === undefined ? '' : ` if ${canonicalJson(statement.condition)}`}`;
}

const isUnrestricted = (restriction: Restriction): boolean => restriction.inline === undefined && restriction.managed.length === 0;

/** Does `inner` allow no more than `outer`? */
function restrictionWithin(inner: Restriction, outer: Restriction): Containment {
  if (isUnrestricted(outer)) return true;
  if (isUnrestricted(inner)) return false;
  if (!inner.managed.every((arn) => outer.managed.includes(arn))) return false;
  if (inner.inline === undefined) return true;
  if (outer.inline === undefined) return false;
  const innerStatements = parseStatements(inner.inline);
  const outerStatements = parseStatements(outer.inline);
  if (innerStatements === undefined || outerStatements === undefined) return canonicalJson(inner.inline) === canonicalJson(outer.inline) ? true : undefined;
  return statementsWithin(innerStatements, outerStatements);
}

function statementsWithin(inner: readonly Statement[], outer: readonly Statement[]): Containment {
  const innerDenies = new Set(inner.filter((s) => s.effect === 'Deny').map((s) => s.key));
  if (!outer.filter((s) => s.effect === 'Deny').every((s) => innerDenies.has(s.key))) return false;
  const answers = inner
    .filter((s) => s.effect === 'Allow')
    .map((allow) => {
      const covered = outer.filter((s) => s.effect === 'Allow').map((candidate) => allowCovered(allow, candidate));
      return covered.includes(true) ? true : covered.includes(undefined) ? undefined : false;
    });
  return allContained(answers);
}

/** Is everything `inner` allows also allowed by `outer`? (IAM actions compare case-insensitively, resources exactly.) */
function allowCovered(inner: Statement, outer: Statement): Containment {
  if (inner.key === outer.key) return true;
  const negated = (s: Statement): boolean => s.notAction !== undefined || s.notResource !== undefined || s.action === undefined || s.resource === undefined;
  if (negated(inner) || negated(outer)) return false;
  if (outer.condition !== undefined && canonicalJson(outer.condition) !== canonicalJson(inner.condition)) return false;
  const actions = globsContained(
    inner.action!.map((a) => foldTokens(iamGlobTokens(a))),
    outer.action!.map((a) => foldTokens(iamGlobTokens(a))),
  );
  const resources = globsContained(inner.resource!.map(iamGlobTokens), outer.resource!.map(iamGlobTokens));
  return allContained([actions, resources]);
}

/** The document's statements, or undefined when it is not the usual IAM shape. */
function parseStatements(document: Record<string, unknown>): Statement[] | undefined {
  const raw = document.Statement;
  const list = Array.isArray(raw) ? raw : raw !== undefined ? [raw] : undefined;
  if (list === undefined) return undefined;
  const statements: Statement[] = [];
  for (const item of list) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
    const { Sid: _sid, ...rest } = item as Record<string, unknown>;
    const effect = rest.Effect;
    if (effect !== 'Allow' && effect !== 'Deny') return undefined;
    const fields = {
      action: stringList(rest.Action),
      notAction: stringList(rest.NotAction),
      resource: stringList(rest.Resource),
      notResource: stringList(rest.NotResource),
    };
    if (Object.values(fields).includes(null)) return undefined;
    statements.push({ effect, ...(fields as Record<keyof typeof fields, string[] | undefined>), condition: rest.Condition, key: canonicalJson(rest) });
  }
  return statements;
}

/** A string or list of strings as a list; undefined when absent; null when it is something else. */
function stringList(value: unknown): string[] | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  return null;
}
