/**
 * The loader's view of a service configuration: the issuers a policy may
 * name (with their kinds) and the TTL cap. `latchkey policy check --config`
 * and the review Action's `config` input load policies exactly as the
 * service configured by that file would.
 */
import { loadConfig, type Config } from '../../config.ts';
import type { LoadPoliciesOptions } from './load.ts';

/** The loader options a service config gives: its issuers' names and kinds, and its `limits.max_ttl`. */
export function loadOptionsOf(config: Pick<Config, 'issuers' | 'limits'>): LoadPoliciesOptions {
  return {
    issuers: Object.fromEntries(Object.entries(config.issuers).map(([name, issuer]) => [name, { kind: issuer.kind }])),
    maxTtl: config.limits.max_ttl,
  };
}

/** Reads the service config `file` (with `env` overrides, as the service reads it) into loader options; throws ConfigError. */
export function readLoadOptions(file: string, env: NodeJS.ProcessEnv): LoadPoliciesOptions {
  return loadOptionsOf(loadConfig({ file, env }));
}
