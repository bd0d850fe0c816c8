/**
 * The Action's view of the service's `/token` success body (SPEC §3): the
 * one schema the answer is parsed through where it enters the Action, and
 * the type inferred from it. Fields the service adds later are allowed (and
 * dropped); a body that does not fit is described field by field, by path
 * and kind only: the values are credentials and never reach a message.
 */
import * as z from 'zod/mini';

const nonEmpty = () => z.string().check(z.minLength(1));

/** The `aws` object of an `aws` grant: the STS session the service assumed. */
export const AwsCredentials = z.object({
  access_key_id: nonEmpty(),
  secret_access_key: nonEmpty(),
  session_token: nonEmpty(),
  expiration: z.optional(z.string()),
  region: nonEmpty(),
  assumed_role_arn: z.optional(z.string()),
});
export type AwsCredentials = z.infer<typeof AwsCredentials>;

/** A grant as the service answers it: `token` and `github` grants, and `aws` grants with their `aws` object. */
export const TokenResponse = z.object({
  access_token: nonEmpty(),
  issued_token_type: z.string(),
  token_type: z.string(),
  expires_in: z.number(),
  grant_id: nonEmpty(),
  policy: z.string(),
  expires_at: z.string(),
  scope: z.optional(z.string()),
  aws: z.optional(AwsCredentials),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

/** The response, or what is wrong with the body (`grant_id is missing; aws.region is empty`). */
export type TokenResponseResult = { ok: true; response: TokenResponse } | { ok: false; problem: string };

/** Parses a `/token` success body; never throws. */
export function parseTokenResponse(body: unknown): TokenResponseResult {
  const result = TokenResponse.safeParse(body);
  if (result.success) return { ok: true, response: result.data };
  return { ok: false, problem: result.error.issues.map((issue) => describeIssue(issue, body)).join('; ') };
}

/** One issue as `field is …`; zod/mini carries no messages of its own, and the value itself is never shown. */
function describeIssue(issue: z.core.$ZodIssue, body: unknown): string {
  const field = issue.path.length === 0 ? 'the body' : issue.path.map(String).join('.');
  if (issue.code === 'invalid_type') {
    const value = valueAt(body, issue.path);
    return value === undefined ? `${field} is missing` : `${field} is ${kindOf(value)}, not ${issue.expected}`;
  }
  if (issue.code === 'too_small') return `${field} is empty`;
  return `${field} is invalid`;
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** `a number`, `null`, `an array`: the kind of a value, not the value. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const kind = typeof value;
  return kind === 'object' ? 'an object' : `a ${kind}`;
}
