/**
 * The main step, orchestration only: read the inputs, exchange the job's
 * OIDC token for a grant, mask every secret before anything else is
 * written, then keep the grant id for the post step, export the variables,
 * set the outputs and add the summary row.
 */
import { createExchangeClient, type ExchangeClientOptions } from './exchange-client.ts';
import { planCredential } from './credentials.ts';
import { describeFailure } from './hints.ts';
import { idTokenSource } from './id-token.ts';
import { readInputs, type Inputs } from './inputs.ts';
import type { ActionRuntime } from './runtime.ts';
import { grantSummary } from './summary.ts';

/** The names the main step keeps in the step state for the post step (never a secret). */
export const STATE = { grantId: 'grant_id', exported: 'exported', policy: 'policy' } as const;

export interface ActionDeps {
  runtime: ActionRuntime;
  /** The process environment (the runner's `INPUT_*`, `ACTIONS_ID_TOKEN_REQUEST_*`). */
  env: Readonly<Record<string, string | undefined>>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/** Runs the main step; failures are reported through `runtime.setFailed`, never thrown. */
export async function run(deps: ActionDeps): Promise<void> {
  const { runtime } = deps;
  let inputs: Inputs | undefined;
  try {
    inputs = readInputs(deps.env);
    const client = createExchangeClient(clientOptions(deps, inputs));
    const grant = await client.exchange({
      policy: inputs.policy,
      subjectToken: idTokenSource(runtime, deps.env, inputs.audience),
      ttl: inputs.ttl,
      scope: inputs.scope,
      justification: inputs.justification,
    });
    const plan = planCredential(grant, inputs);
    for (const secret of plan.secrets) runtime.setSecret(secret);
    runtime.saveState(STATE.grantId, grant.grant_id);
    runtime.saveState(STATE.policy, grant.policy);
    runtime.saveState(STATE.exported, Object.keys(plan.env).join(','));
    for (const [name, value] of Object.entries(plan.env)) runtime.exportVariable(name, value);
    for (const [name, value] of Object.entries(plan.outputs)) runtime.setOutput(name, value);
    runtime.info(
      `latchkey: ${plan.kind} grant ${grant.grant_id} from policy "${grant.policy}", expires ${grant.expires_at}` +
        (Object.keys(plan.env).length > 0 ? `; exported ${Object.keys(plan.env).join(', ')}` : ''),
    );
    if (!inputs.exportEnv && !inputs.outputCredentials) {
      runtime.warning('export-env and output-credentials are both false: no later step can use this credential');
    }
    await writeSummary(
      runtime,
      grantSummary({ policy: grant.policy, kind: plan.kind, target: plan.target, expiresAt: grant.expires_at, grantId: grant.grant_id }),
    );
  } catch (error) {
    runtime.setFailed(describeFailure(error, inputs));
  }
}

/** The client settings shared by the main and post steps. */
export function clientOptions(deps: ActionDeps, inputs: Inputs): ExchangeClientOptions {
  return {
    url: inputs.url,
    retries: inputs.retries,
    onRetry: (notice) => deps.runtime.info(`latchkey: attempt ${notice.attempt} failed (${notice.cause}); retrying in ${(notice.delayMs / 1000).toFixed(1)} s`),
    ...(deps.fetch !== undefined ? { fetch: deps.fetch } : {}),
    ...(deps.sleep !== undefined ? { sleep: deps.sleep } : {}),
    ...(deps.random !== undefined ? { random: deps.random } : {}),
    ...(deps.now !== undefined ? { now: deps.now } : {}),
  };
}

/** A summary that cannot be written (no `GITHUB_STEP_SUMMARY` outside a runner) is a warning, not a failure. */
export async function writeSummary(runtime: ActionRuntime, markdown: string): Promise<void> {
  try {
    await runtime.appendSummary(markdown);
  } catch (error) {
    runtime.warning(`could not write the job summary: ${error instanceof Error ? error.message : String(error)}`);
  }
}
