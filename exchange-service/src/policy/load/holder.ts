/**
 * The policy set in force and its reloads (SPEC §4): a new set replaces the
 * old only when every file validates; otherwise the old set stays, the error
 * is logged, `/readyz` reports it and a metric counts it. Never fails open.
 */
import { loadPolicies, watchPolicies, PolicyLoadError, type PolicySet, type LoadPoliciesOptions } from './load.ts';
import type { Metrics } from '../../metrics.ts';
import type { Logger } from '../../log.ts';

export interface PolicyHolderOptions extends LoadPoliciesOptions {
  dir: string;
  watch: boolean;
  metrics: Metrics;
  logger: Logger;
}

export interface PolicyHolder {
  current: () => PolicySet;
  /** Reloads now (SIGHUP); resolves true when the new set took effect. */
  reload: () => Promise<boolean>;
  /** Why the set in force is not the folder's current content, if it is not. */
  problems: () => string[];
  close: () => void;
}

/** Loads the initial set (throwing PolicyLoadError if it is invalid) and keeps it current. */
export async function createPolicyHolder(options: PolicyHolderOptions): Promise<PolicyHolder> {
  const loadOptions: LoadPoliciesOptions = { ...(options.issuers ? { issuers: options.issuers } : {}), ...(options.maxTtl ? { maxTtl: options.maxTtl } : {}) };
  let current = await loadPolicies(options.dir, loadOptions);
  let lastError: PolicyLoadError | undefined;
  const { metrics, logger } = options;

  const publish = (set: PolicySet): void => {
    metrics.policySetInfo.reset();
    metrics.policySetInfo.set({ version: set.version }, 1);
    metrics.policyCount.set(set.policies.size);
  };
  const accept = (result: PolicySet | PolicyLoadError): boolean => {
    if (result instanceof PolicyLoadError) {
      lastError = result;
      metrics.policyReloadFailures.inc();
      logger.error('policy reload refused; the previous set stays in force', {
        policy_set_version: current.version,
        problems: result.problems.map((p) => `${p.file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.message}`),
      });
      return false;
    }
    const changed = result.version !== current.version || result.policies.size !== current.policies.size;
    current = result;
    lastError = undefined;
    publish(result);
    logger.info('policies loaded', { policies: result.policies.size, policy_set_version: result.version, changed });
    return true;
  };
  publish(current);

  const watcher = options.watch ? watchPolicies(options.dir, loadOptions, accept) : undefined;
  return {
    current: () => current,
    reload: async () => {
      try {
        return accept(await loadPolicies(options.dir, loadOptions));
      } catch (error) {
        if (error instanceof PolicyLoadError) return accept(error);
        throw error;
      }
    },
    problems: () => (lastError === undefined ? [] : [`policy reload failed (${lastError.problems.length} problem(s)); serving policy set ${current.version}`]),
    close: () => watcher?.close(),
  };
}
