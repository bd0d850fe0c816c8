/**
 * What a grant lets a job do, as far as the policy file says, for the lint
 * rules: whether it can write (and why), and which actions an `aws` session
 * policy allows with wildcards.
 *
 * "Can write" is decided conservatively, from the file alone:
 * - `aws`: no inline `session_policy` (the session has the role's full
 *   permissions; managed session policies are not read), an Allow statement
 *   with `NotAction`, or an allowed action whose name does not start with a
 *   read-only verb (Get, List, Describe, Head, BatchGet, Query, Scan, Search,
 *   View, Lookup).
 * - `token`: a scope with a wildcard, or with one of the words write, admin,
 *   delete, deploy, publish (`artifacts:write`, `deploy:production`).
 * - `github`: any permission `write` or `admin`.
 */
import type { AwsGrant, CompiledPolicy } from '../model/compile.ts';
import type { DocumentPath } from './lint-positions.ts';

/** IAM action names starting with these verbs only read (compared case-insensitively, as IAM does). */
const READ_VERBS = ['get', 'list', 'describe', 'head', 'batchget', 'query', 'scan', 'search', 'view', 'lookup'];
/** Words in a scope that mean it changes something. */
const WRITE_WORDS = new Set(['write', 'admin', 'delete', 'deploy', 'publish']);
const GITHUB_WRITE_LEVELS = new Set(['write', 'admin']);

/** An action an Allow statement of the session policy names, and where. */
export interface AllowedAction {
  /** The action as written (`s3:GetObject`, `s3:*`, `*`), or `NotAction` for a NotAction statement. */
  action: string;
  /** Path from the policy file's root to the action (or to the `NotAction` key). */
  path: DocumentPath;
  notAction: boolean;
}

/** Why the grant can write, in a few words (`token scope "artifacts:write"`), or undefined when it only reads. */
export function writeReason(grant: CompiledPolicy['grant']): string | undefined {
  if (grant.kind === 'token') {
    const scope = grant.scope.find(
      (item) =>
        item.includes('*') ||
        item
          .toLowerCase()
          .split(/[^a-z0-9]+/)
          .some((word) => WRITE_WORDS.has(word)),
    );
    return scope === undefined ? undefined : `token scope ${JSON.stringify(scope)}`;
  }
  if (grant.kind === 'github') {
    const entry = Object.entries(grant.permissions).find(([, level]) => GITHUB_WRITE_LEVELS.has(level.toLowerCase()));
    return entry === undefined ? undefined : `github permission ${entry[0]}: ${entry[1]}`;
  }
  if (grant.sessionPolicy === undefined) return "aws grant without a session_policy (the role's full permissions)";
  const writer = allowedActions(grant).find((item) => item.notAction || !isReadOnlyAction(item.action));
  if (writer === undefined) return undefined;
  return writer.notAction
    ? 'aws session policy allows NotAction (every action but those listed)'
    : `aws session policy allows ${JSON.stringify(writer.action)}`;
}

/** True for `s3:GetObject`, `ec2:Describe*`: the action's name starts with a read-only verb. */
export function isReadOnlyAction(action: string): boolean {
  const colon = action.indexOf(':');
  if (colon === -1) return false;
  const name = action.slice(colon + 1).toLowerCase();
  return READ_VERBS.some((verb) => name.startsWith(verb));
}

/** True for `*` (every action of every service). */
export const isEveryAction = (action: string): boolean => /^\*+$/.test(action);

/** True for `s3:*`: every action of one service. */
export const isServiceWildcard = (action: string): boolean => /^[^:*]+:\*+$/.test(action);

/** Every action the inline session policy's Allow statements name, with its path in the file. */
export function allowedActions(grant: AwsGrant): AllowedAction[] {
  const policy = grant.sessionPolicy;
  if (policy === undefined) return [];
  const base: DocumentPath = ['grant', 'aws', 'session_policy', 'Statement'];
  const statements = policy.Statement;
  // IAM accepts a single statement object as well as a list.
  const list: Array<[unknown, DocumentPath]> = Array.isArray(statements)
    ? statements.map((statement, index) => [statement, [...base, index]])
    : [[statements, base]];
  return list.flatMap(([statement, path]) => statementActions(statement, path));
}

function statementActions(statement: unknown, path: DocumentPath): AllowedAction[] {
  if (typeof statement !== 'object' || statement === null || Array.isArray(statement)) return [];
  const fields = statement as Record<string, unknown>;
  if (fields.Effect !== 'Allow') return [];
  if (fields.NotAction !== undefined) return [{ action: 'NotAction', path: [...path, 'NotAction'], notAction: true }];
  const actions = fields.Action;
  if (typeof actions === 'string') return [{ action: actions, path: [...path, 'Action'], notAction: false }];
  if (!Array.isArray(actions)) return [];
  return actions.flatMap((action, index) => (typeof action === 'string' ? [{ action, path: [...path, 'Action', index], notAction: false }] : []));
}
