/**
 * The policy file format (SPEC §2) as one zod schema: the single source of
 * truth for validation, the inferred type and the JSON Schema editors use.
 * Every object is strict, so a typo (`subjet:`) is an error instead of a
 * silently dropped condition.
 */
import * as z from 'zod';
import { parseDuration } from '../../duration.ts';

/** What duration text looks like (`30s`, `10m`, `1h`, `1h30m`); the JSON Schema carries it as `pattern`. */
const DURATION_SHAPE = /^(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?$/;
/** Issuer names as the service config spells them. */
const ISSUER_NAME = /^[a-z0-9][a-z0-9_-]*$/;
/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/;
const POLICY_ARN = /^arn:aws[a-z-]*:iam::(?:aws|[0-9]{12}):policy\/[\w+=,.@/-]{1,512}$/;
const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-[0-9]+$/;

/** A mapping key. (zod drops `__proto__` keys from records silently, so the loader refuses them before zod sees them.) */
const Key = z.string().min(1, { error: 'a key cannot be empty' });

const Duration = z
  .string({ error: 'expected a duration such as 30s, 10m or 1h' })
  .regex(DURATION_SHAPE, { error: 'expected a duration such as 30s, 10m or 1h', abort: true })
  .refine((text) => parseDuration(text) !== undefined, { error: 'expected a positive duration such as 30s, 10m or 1h' });

const NUMBER_HINT = 'expected a string or a non-empty list of strings (quote numbers and booleans: "892341")';

/** One subject condition: a pattern or a list of patterns (any may match). */
const Patterns = z.union(
  [
    z.string().min(1, { error: 'a pattern cannot be empty' }),
    z.array(z.string().min(1, { error: 'a pattern cannot be empty' })).min(1, { error: 'a list needs at least one pattern' }),
  ],
  { error: NUMBER_HINT },
);

const Subject = z
  .record(Key, Patterns, { error: 'expected a mapping of claim names to patterns' })
  .refine((subject) => Object.keys(subject).length > 0, { error: 'subject must name at least one claim' });

const Ttl = z.strictObject({ default: Duration, max: Duration });

const TokenGrant = z.strictObject({
  audience: z.string().min(1),
  scope: z.array(z.string().regex(SCOPE_TOKEN, { error: 'a scope is printable ASCII without spaces, quotes or backslashes' })).default([]),
});

const AwsGrant = z.strictObject({
  role_arn: z.string().regex(ROLE_ARN, { error: 'expected an IAM role ARN (arn:aws:iam::123456789012:role/NAME)' }),
  region: z.string().regex(AWS_REGION, { error: 'expected an AWS region such as eu-west-1' }).optional(),
  // JSON values only: STS receives the document as JSON text.
  session_policy: z.record(Key, z.json(), { error: 'expected an IAM policy document (a mapping)' }).optional(),
  managed_session_policies: z.array(z.string().regex(POLICY_ARN, { error: 'expected an IAM policy ARN' })).default([]),
  tags: z.record(Key.pipe(z.string().max(128)), z.string().max(256)).default({}),
});

/**
 * An empty `repositories` list or `permissions` map would mean "everything the
 * installation can reach" to GitHub's API, so both must name something.
 */
const GithubGrant = z.strictObject({
  repositories: z.array(z.string().min(1)).min(1, { error: 'name at least one repository' }),
  permissions: z.record(Key, z.string().min(1)).refine((permissions) => Object.keys(permissions).length > 0, { error: 'name at least one permission' }),
});

const GRANT_KINDS = ['token', 'aws', 'github'] as const;

const Grant = z.strictObject({ token: TokenGrant.optional(), aws: AwsGrant.optional(), github: GithubGrant.optional() }).superRefine((grant, ctx) => {
  const present = GRANT_KINDS.filter((kind) => grant[kind] !== undefined);
  if (present.length !== 1) {
    const found = present.length === 0 ? 'none' : present.join(', ');
    ctx.addIssue({ code: 'custom', message: `grant must have exactly one of token, aws, github (found: ${found})` });
  }
});

/** A policy file as written (after defaults). */
export const PolicyFile = z.strictObject({
  /** Editors' schema hint; ignored. */
  $schema: z.string().optional(),
  version: z.literal(1, { error: 'version must be 1' }),
  description: z.string().min(1, { error: 'describe what the policy grants and why' }),
  issuer: z.string().regex(ISSUER_NAME, { error: 'issuer names are lower-case letters, digits, - and _' }).default('github'),
  subject: Subject,
  ttl: Ttl,
  justification: z.enum(['optional', 'required']).default('optional'),
  grant: Grant,
});
/** A validated policy file (defaults applied; durations still as text). */
export type PolicyFile = z.infer<typeof PolicyFile>;

/** Hover text for editors, kept here so the JSON Schema and the zod schema stay one thing. */
const DESCRIPTIONS: ReadonlyArray<readonly [z.ZodType, string]> = [
  [PolicyFile, 'A latchkey policy: one grant, the claims a CI job must present to get it, and for how long.'],
  [
    Subject,
    'Claim name → pattern or list of patterns. Every key must hold; a list holds if any item does. `*` matches within one path segment, `**` across `/`.',
  ],
  [Ttl, 'How long a grant lives: `default` when the request names no ttl, `max` the most it may ask for (30s, 10m, 1h).'],
  [Grant, 'Exactly one grant kind.'],
  [TokenGrant, 'A JWT access token (RFC 9068) for `audience`, with `scope`.'],
  [AwsGrant, 'AWS STS AssumeRole into `role_arn` (TTL between 15m and 12h).'],
  [GithubGrant, 'A GitHub App installation token limited to `repositories` and `permissions`.'],
];

/** The policy file JSON Schema (draft 2020-12, input shape: defaulted keys are optional), for `policy schema` and editors. */
export function policyJsonSchema(): Record<string, unknown> {
  const metadata = z.registry<{ description?: string }>();
  for (const [schema, description] of DESCRIPTIONS) metadata.add(schema, { description });
  const schema = z.toJSONSchema(PolicyFile, {
    io: 'input',
    metadata,
    override: ({ zodSchema, jsonSchema }) => {
      // "Exactly one grant kind" is a refinement zod cannot express in JSON Schema; say it directly.
      if (zodSchema === Grant) Object.assign(jsonSchema, { minProperties: 1, maxProperties: 1 });
    },
  });
  return { ...schema, title: 'latchkey policy' };
}
