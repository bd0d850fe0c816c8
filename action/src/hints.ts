/**
 * Errors a person can act on: the service's own words plus, per reason
 * code, one line that says what to change. The text goes to the step's
 * error annotation, so it names inputs and files, not internals.
 */
import { ServiceError } from './exchange-client.ts';
import { IdTokenError } from './id-token.ts';
import { InputError, type Inputs } from './inputs.ts';

/** The `permissions:` block a job needs for the Action to get its OIDC token. */
export const PERMISSIONS_BLOCK = ['permissions:', '  id-token: write   # lets the job request its OIDC token', '  contents: read'].join('\n');

type HintContext = Pick<Inputs, 'policy' | 'audience' | 'url'>;

/** One line per reason code of SPEC §3 (`policy_denied` and `audience_mismatch` are built from the error). */
const HINTS: Readonly<Record<string, (error: ServiceError, inputs: HintContext) => string>> = {
  malformed: () => 'The request was refused as malformed: check the ttl, scope and justification inputs.',
  grant_type: () => 'The service does not speak this version of the token exchange: update the Action or the service.',
  token_invalid: () => "The service could not verify the job's OIDC token: is the service configured for this GitHub instance's issuer?",
  token_expired: () => "The job's OIDC token was outside its validity window: check the runner's clock, then re-run the job.",
  issuer_untrusted: () => "The service does not trust this token issuer: ask its operators to add the issuer to the service's `issuers`.",
  audience_mismatch: (error) => {
    const expected = /this service's audience "((?:[^"\\]|\\.)*)"/.exec(error.description)?.[1];
    return expected === undefined
      ? 'Set the `audience` input to the audience the service expects (its public URL unless configured otherwise).'
      : `Set the \`audience\` input to the audience the service expects: \`audience: ${expected}\`.`;
  },
  token_replayed: () => 'This OIDC token was already exchanged: re-run the job to get a fresh one.',
  policy_unknown: (_error, inputs) =>
    `The service has no policy named "${inputs.policy}" for this issuer: check the \`policy\` input against the policies folder.`,
  policy_denied: (_error, inputs) => `This job's identity does not satisfy policy "${inputs.policy}"; the conditions that failed are listed above.`,
  ttl_exceeded: () => "The `ttl` input asks for more than the policy's `ttl.max`: ask for less, or change the policy.",
  scope_exceeded: () => 'The `scope` input asks for more than the policy grants: ask for less, or change the policy.',
  token_type: () => 'The policy issues a different kind of credential than requested.',
  justification_required: (_error, inputs) => `Policy "${inputs.policy}" requires a reason: add a \`justification:\` input (free text or a ticket reference).`,
  rate_limited: (error) => `The service is rate limiting this repository; gave up after ${error.attempts} attempts (raise \`retries\` or try later).`,
  upstream_unavailable: (error) => `A system behind the service (JWKS, STS, GitHub) is unavailable; gave up after ${error.attempts} attempts.`,
  store_unavailable: (error) => `The service's audit store is unavailable (no credential was issued); gave up after ${error.attempts} attempts.`,
  upstream_denied: () => "The cloud provider refused the service: check the target role's trust policy and the service's permissions.",
  internal: (error) => `The service failed; give its operators the request id ${error.requestId ?? '(none)'}.`,
};

/** The full failure message for the step: what happened, the service's detail, and a hint. */
export function describeFailure(error: unknown, inputs: HintContext | undefined): string {
  if (error instanceof IdTokenError) {
    if (!error.missingPermission) return `${error.message}\nHint: check that the job has \`id-token: write\`:\n${PERMISSIONS_BLOCK}`;
    return `${error.message}.\nHint: give the job permission to request its OIDC token; add to the job (or workflow):\n${PERMISSIONS_BLOCK}`;
  }
  if (error instanceof InputError) return `${error.message}\nHint: see the inputs in action.yml or the README's "Using the Action".`;
  if (error instanceof ServiceError && inputs !== undefined) return describeServiceError(error, inputs);
  return error instanceof Error ? error.message : String(error);
}

function describeServiceError(error: ServiceError, inputs: HintContext): string {
  if (error.status === null) {
    return (
      `could not reach the service at ${inputs.url} after ${error.attempts} attempt${error.attempts === 1 ? '' : 's'}: ${error.description}\n` +
      'Hint: check the `url` input and that the runner can reach the service (network, firewall, DNS); raise `retries` for a flaky network.'
    );
  }
  const label = error.reason ?? error.error ?? `HTTP ${error.status}`;
  const lines = [`latchkey refused policy "${inputs.policy}" (${error.status} ${label}): ${firstLine(error)}`];
  if (error.reason === 'policy_denied') lines.push(...deniedConditions(error.description).map((item) => `  - ${item}`));
  const hint = error.reason === null ? undefined : HINTS[error.reason];
  if (hint !== undefined) lines.push(`Hint: ${hint(error, inputs)}`);
  if (error.requestId !== null) lines.push(`Request id: ${error.requestId}`);
  return lines.join('\n');
}

/** For denials, the heading; the conditions follow as a list. */
function firstLine(error: ServiceError): string {
  if (error.reason === 'policy_denied' && deniedConditions(error.description).length > 0) return 'the job does not satisfy these conditions:';
  return error.description;
}

/** The failed conditions of a `policy_denied` description (`policy denied: a; b`). */
export function deniedConditions(description: string): string[] {
  const match = /^policy denied: (.*)$/s.exec(description);
  if (match === null) return [];
  return (match[1] ?? '').split('; ').filter((item) => item !== '');
}
