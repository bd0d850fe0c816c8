/**
 * The post step (job end): revoke the grant by its id with a fresh OIDC
 * token of the same run (no secret was kept in the step state), blank the
 * variables the main step exported, and note the outcome in the summary.
 * A failed revocation is a warning: it never fails the job.
 */
import { createExchangeClient } from './exchange-client.ts';
import { describeFailure } from './hints.ts';
import { idTokenSource } from './id-token.ts';
import { readInputs, type Inputs } from './inputs.ts';
import { clientOptions, STATE, writeSummary, type ActionDeps } from './main.ts';
import { revocationSummary } from './summary.ts';

/** Runs the post step; never fails the job. */
export async function runPost(deps: ActionDeps): Promise<void> {
  const { runtime } = deps;
  const grantId = runtime.getState(STATE.grantId);
  if (grantId === '') {
    runtime.info('latchkey: no grant was issued in this job; nothing to revoke');
    return;
  }
  let inputs: Inputs;
  try {
    inputs = readInputs(deps.env);
  } catch (error) {
    runtime.warning(`latchkey: grant ${grantId} was not revoked: ${describeFailure(error, undefined)}`);
    return;
  }
  if (!inputs.revoke) {
    runtime.info(`latchkey: revoke is false; grant ${grantId} stays valid until it expires`);
    return;
  }
  const outcome = await revoke(deps, inputs, grantId);
  blankExported(deps, runtime.getState(STATE.exported));
  await writeSummary(runtime, revocationSummary(grantId, outcome));
}

async function revoke(deps: ActionDeps, inputs: Inputs, grantId: string): Promise<{ revoked: true; at: string } | { revoked: false; why: string }> {
  const { runtime } = deps;
  try {
    const client = createExchangeClient(clientOptions(deps, inputs));
    await client.revoke({ grantId, subjectToken: idTokenSource(runtime, deps.env, inputs.audience) });
    const at = new Date((deps.now ?? Date.now)()).toISOString();
    runtime.info(`latchkey: revoked grant ${grantId}`);
    return { revoked: true, at };
  } catch (error) {
    const why = describeFailure(error, inputs);
    runtime.warning(`latchkey: could not revoke grant ${grantId}; it stays valid until it expires.\n${why}`);
    return { revoked: false, why: why.split('\n')[0] ?? why };
  }
}

/** Sets each exported variable to '' for the rest of the job (other actions' post steps). */
function blankExported(deps: ActionDeps, exported: string): void {
  const names = exported.split(',').filter((name) => name !== '');
  for (const name of names) deps.runtime.exportVariable(name, '');
  if (names.length > 0) deps.runtime.info(`latchkey: cleared ${names.join(', ')}`);
}
