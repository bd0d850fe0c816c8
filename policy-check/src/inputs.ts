/**
 * The review action's inputs, read once from the `INPUT_*` variables the
 * runner sets and validated by one schema, and the pull request the run is
 * for, read from the event payload the runner writes to `GITHUB_EVENT_PATH`.
 */
import * as z from 'zod/mini';

/** The names in `policy-check/action.yml`. */
export const INPUT_NAMES = ['policies', 'base', 'config', 'strict', 'comment', 'github-token'] as const;

/** `true | True | TRUE | false | False | FALSE`, as the runner's YAML 1.2 core schema has it. */
const boolean = (fallback: boolean) =>
  z._default(
    z.pipe(
      z.enum(['true', 'True', 'TRUE', 'false', 'False', 'FALSE'], { error: 'must be true or false' }),
      z.transform((value) => value.toLowerCase() === 'true'),
    ),
    fallback,
  );

const RawInputs = z.object({
  policies: z._default(z.string(), 'policies'),
  base: z.optional(z.string().check(z.refine((value) => !value.startsWith('-'), 'must be a git revision, not an option'))),
  config: z.optional(z.string()),
  strict: boolean(false),
  comment: boolean(true),
  'github-token': z.optional(z.string()),
});

/** The validated inputs. */
export interface ReviewInputs {
  /** The policies folder, as given (relative to the workspace). */
  policies: string;
  /** The revision to diff from, if given. */
  base: string | undefined;
  /** A service configuration file, if given. */
  config: string | undefined;
  strict: boolean;
  comment: boolean;
  /** Undefined when blank (then no comment is posted). */
  token: string | undefined;
}

/** Inputs that do not validate; the message names each bad input. */
export class InputError extends Error {
  override name = 'InputError';
}

/** The variable the runner sets for an input (`github-token` → `INPUT_GITHUB-TOKEN`). */
export const inputVariable = (name: string): string => `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;

/** Reads and validates every input from `env`; throws InputError. */
export function readInputs(env: Readonly<Record<string, string | undefined>>): ReviewInputs {
  const raw: Record<string, string> = {};
  for (const name of INPUT_NAMES) {
    const value = env[inputVariable(name)]?.trim();
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const result = RawInputs.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${String(issue.path[0] ?? 'inputs')}: ${issue.message}`);
    throw new InputError(`invalid inputs:\n${lines.join('\n')}`);
  }
  const data = result.data;
  return { policies: data.policies, base: data.base, config: data.config, strict: data.strict, comment: data.comment, token: data['github-token'] };
}

/** The pull request a run is for. */
export interface PullRequest {
  owner: string;
  repo: string;
  number: number;
  /** The base branch's commit when the event fired. */
  baseSha: string;
  /** The base branch's name (`main`), for people; undefined when the payload lacks it. */
  baseRef: string | undefined;
}

const PullRequestEvent = z.object({
  pull_request: z.object({
    number: z.number().check(z.int(), z.positive()),
    base: z.object({ sha: z.string().check(z.regex(/^[0-9a-f]{40,64}$/)), ref: z.optional(z.string()) }),
  }),
});

/** Events whose payload carries the pull request (`pull_request_target` runs the base branch's workflow). */
export const PULL_REQUEST_EVENTS: readonly string[] = ['pull_request', 'pull_request_target'];

/**
 * The pull request of a `pull_request` run: its number and base commit from
 * the event payload, its repository from `GITHUB_REPOSITORY`. Undefined for
 * other events or when the runner's files say nothing usable.
 */
export async function readPullRequest(
  env: Readonly<Record<string, string | undefined>>,
  readTextFile: (path: string) => Promise<string>,
): Promise<PullRequest | undefined> {
  const path = env.GITHUB_EVENT_PATH;
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!PULL_REQUEST_EVENTS.includes(env.GITHUB_EVENT_NAME ?? '') || path === undefined || path === '') return undefined;
  if (owner === undefined || owner === '' || repo === undefined || repo === '' || rest.length > 0) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(await readTextFile(path));
  } catch {
    return undefined;
  }
  const event = PullRequestEvent.safeParse(payload);
  if (!event.success) return undefined;
  const { number, base } = event.data.pull_request;
  return { owner, repo, number, baseSha: base.sha, baseRef: base.ref };
}
