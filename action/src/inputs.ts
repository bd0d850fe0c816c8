/**
 * Every input of `action.yml`, read once from the `INPUT_*` variables the
 * runner sets and validated by one schema. The rest of the Action works
 * with the typed result and never reads an input itself.
 */
import * as z from 'zod/mini';
import { parseDuration } from './duration.ts';

/** The names in `action.yml`, as workflow authors write them. */
export const INPUT_NAMES = [
  'url',
  'policy',
  'audience',
  'ttl',
  'justification',
  'scope',
  'export-env',
  'output-credentials',
  'revoke',
  'retries',
  'token-env-name',
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

const POLICY_NAME = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True for hosts that never leave the machine: the only ones allowed plain http. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** Records a problem with the value being transformed (zod/mini's transform context). */
function reject(ctx: z.core.ParsePayload, input: unknown, message: string): never {
  ctx.issues.push({ code: 'custom', message, input });
  return z.NEVER;
}

/** The service URL: https (http only on loopback, since the job's OIDC token travels to it), no trailing slash. */
const serviceUrl = z.pipe(
  z.string(),
  z.transform((value: string, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return reject(ctx, value, `"${value}" is not a URL`);
    }
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname)))) {
      return reject(ctx, value, 'must be an https:// URL (http:// only for 127.0.0.1 or localhost)');
    }
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      return reject(ctx, value, 'must not carry credentials, a query or a fragment');
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  }),
);

/** `true | True | TRUE | false | False | FALSE`, as the runner's YAML 1.2 core schema has it. */
const boolean = (fallback: boolean) =>
  z._default(
    z.pipe(
      z.enum(['true', 'True', 'TRUE', 'false', 'False', 'FALSE'], { error: 'must be true or false' }),
      z.transform((value) => value.toLowerCase() === 'true'),
    ),
    fallback,
  );

/** Seconds (`900`) or a duration (`15m`, `1h`). */
const ttl = z.pipe(
  z.string(),
  z.transform((value: string, ctx) => {
    const seconds = /^\d+$/.test(value) ? Number(value) : parseDuration(value);
    if (seconds === undefined || seconds <= 0 || !Number.isSafeInteger(seconds)) return reject(ctx, value, `"${value}" is not a duration (use 900, 15m or 1h)`);
    return seconds;
  }),
);

/** 0 to 10 retries. */
const retries = z.pipe(
  z.string(),
  z.transform((value: string, ctx) => {
    if (!/^\d+$/.test(value) || Number(value) > 10) return reject(ctx, value, 'must be a whole number from 0 to 10');
    return Number(value);
  }),
);

/** The raw inputs, keyed by their `action.yml` names; absent (or blank) inputs are undefined. */
const RawInputs = z.object({
  url: serviceUrl,
  policy: z.string().check(z.regex(POLICY_NAME, 'must be a policy name such as webapp/deploy-prod')),
  audience: z.optional(z.string()),
  ttl: z.optional(ttl),
  justification: z.optional(z.string().check(z.maxLength(1000, 'must be at most 1,000 characters'))),
  scope: z.optional(
    z.pipe(
      z.string(),
      z.transform((value: string) =>
        value
          .split(/[\s,]+/)
          .filter((item) => item !== '')
          .join(' '),
      ),
    ),
  ),
  'export-env': boolean(true),
  'output-credentials': boolean(false),
  revoke: boolean(true),
  retries: z._default(retries, 3),
  'token-env-name': z._default(z.string().check(z.regex(ENV_NAME, 'must be an environment variable name (letters, digits, _)')), 'LATCHKEY_TOKEN'),
});

/** The validated inputs the Action works with. */
export interface Inputs {
  /** The service's base URL, without a trailing slash. */
  url: string;
  policy: string;
  /** The `aud` of the job's OIDC token: the `audience` input, else `url`. */
  audience: string;
  /** Seconds wanted, if given. */
  ttl: number | undefined;
  justification: string | undefined;
  /** Space-separated scope, if given. */
  scope: string | undefined;
  exportEnv: boolean;
  outputCredentials: boolean;
  revoke: boolean;
  retries: number;
  tokenEnvName: string;
}

/** Inputs that do not validate; the message names each bad input. */
export class InputError extends Error {
  override name = 'InputError';
}

/** The variable the runner sets for an input (`export-env` → `INPUT_EXPORT-ENV`). */
export const inputVariable = (name: string): string => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;

/** Reads and validates every input from `env` (the runner's `INPUT_*` variables); throws InputError. */
export function readInputs(env: Readonly<Record<string, string | undefined>>): Inputs {
  const raw: Record<string, string> = {};
  for (const name of INPUT_NAMES) {
    const value = env[inputVariable(name)]?.trim();
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const result = RawInputs.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'inputs');
      const message = issue.code === 'invalid_type' && raw[name] === undefined ? 'is required' : issue.message;
      return `  ${name}: ${message}`;
    });
    throw new InputError(`invalid inputs:\n${lines.join('\n')}`);
  }
  const data = result.data;
  return {
    url: data.url,
    policy: data.policy,
    audience: data.audience ?? data.url,
    ttl: data.ttl,
    justification: data.justification,
    scope: data.scope === '' ? undefined : data.scope,
    exportEnv: data['export-env'],
    outputCredentials: data['output-credentials'],
    revoke: data.revoke,
    retries: data.retries,
    tokenEnvName: data['token-env-name'],
  };
}
