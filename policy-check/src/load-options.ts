/**
 * How policies are loaded for both the check and the diff: as the service
 * configured by the `config` input would load them, and on the main thread
 * only (the loader's worker file is not part of the bundle).
 */
import { resolve } from 'node:path';
import { readLoadOptions, type LoadPoliciesOptions } from '../../exchange-service/src/policy/index.ts';

/**
 * The loader options: with a config file (relative to `cwd`), its issuers'
 * names and kinds and its `limits.max_ttl`, exactly as `latchkey policy
 * check --config` takes them; always `threads: 0`. Throws ConfigError.
 */
export function policyLoadOptions(config: string | undefined, cwd: string, env: NodeJS.ProcessEnv): LoadPoliciesOptions {
  // The bundle has no load-worker file for `new Worker(new URL(...))`: never start one.
  if (config === undefined) return { threads: 0 };
  return { ...readLoadOptions(resolve(cwd, config), env), threads: 0 };
}
