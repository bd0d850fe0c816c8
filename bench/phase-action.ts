/**
 * Phase 6, the Action: the committed bundle's main step run as the runner
 * runs it (see action-step.ts) against a running service on loopback, its
 * OIDC token from the bench issuer's Actions endpoint; the median wall time
 * of the main step (spawn → exit: Node start, bundle load, ID token,
 * exchange, exported variables) and of the post step (revocation), and the
 * bundles' sizes.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { prepareAction, type TimedStep } from './action-step.ts';
import type { Cleanup } from './cleanup.ts';
import { fleetEntry } from './fleet.ts';
import { startFleetService } from './fleet-service.ts';
import { startBenchIssuer } from './issuer.ts';
import type { BenchOptions } from './options.ts';
import { SERVICE_AUDIENCE } from './service-setup.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');
/** The policies of the Action's service (a small fleet: start-up is not what this phase measures). */
const POLICIES = 10;

/** What the Action phase measured. */
export interface ActionResult {
  runs: number;
  mainMs: number[];
  postMs: number[];
  bundleBytes: { main: number; post: number };
}

/** Starts a service and runs the main and post steps `options.actionRuns` times each. */
export async function runActionPhase(options: BenchOptions, dir: string, cleanup: Cleanup): Promise<ActionResult> {
  const bundleBytes = { main: statSync(join(REPO_ROOT, 'action/dist/main.js')).size, post: statSync(join(REPO_ROOT, 'action/dist/post.js')).size };
  const issuer = await startBenchIssuer({ actionsPolicyIndex: 0 });
  const unregister = cleanup.add('action issuer', issuer.close);
  try {
    const { service } = await startFleetService({
      name: 'action service',
      dir: join(dir, 'action-service'),
      policies: POLICIES,
      grant: 'token',
      issuer,
      cleanup,
    });
    try {
      const steps = await prepareAction(join(dir, 'action-runner'));
      const inputs = { url: service.url, policy: fleetEntry(0).name, audience: SERVICE_AUDIENCE };
      const job = { ACTIONS_ID_TOKEN_REQUEST_URL: issuer.actionsTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: issuer.runtimeToken };
      const mainMs: number[] = [];
      const postMs: number[] = [];
      for (let run = 0; run < options.actionRuns; run++) {
        const main = checked('main', await steps.main(inputs, job), (step) => (step.env.LATCHKEY_TOKEN ?? '').startsWith('eyJ'));
        const post = checked('post', await steps.post(main, inputs, job), (step) => step.env.LATCHKEY_TOKEN === '');
        mainMs.push(main.wallMs);
        postMs.push(post.wallMs);
      }
      const spread = (values: number[]): string =>
        `median ${median(values).toFixed(0)} ms (${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)})`;
      console.log(`  ${options.actionRuns} runs: main step ${spread(mainMs)}, post step ${spread(postMs)}; ${issuer.actionsTokenRequests()} ID tokens served`);
      return { runs: options.actionRuns, mainMs, postMs, bundleBytes };
    } finally {
      await service.stop();
    }
  } finally {
    await issuer.close();
    unregister();
  }
}

/** Throws with the step's output unless it exited 0 and `exported` holds. */
function checked(name: string, step: TimedStep, exported: (step: TimedStep) => boolean): TimedStep {
  if (step.exitCode === 0 && exported(step)) return step;
  throw new Error(`the Action's ${name} step failed (exit ${step.exitCode}):\n${step.stdout}\n${step.stderr}`);
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
