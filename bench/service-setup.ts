/**
 * The service's temporary world: the policy fleet on disk and a config file
 * that loads it with watching off, an SQLite store (durable audit as by
 * default) and the rate limits disabled.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fleetEntry, policyText } from './fleet.ts';

/** The `aud` the bench tokens carry and the service expects. */
export const SERVICE_AUDIENCE = 'https://latchkey.bench.internal';

/** Writes `count` policy files below `dir`; returns the folder. */
export function writeFleet(dir: string, count: number): string {
  const policiesDir = join(dir, 'policies');
  for (let index = 0; index < count; index++) {
    const file = join(policiesDir, `${fleetEntry(index).name}.yaml`);
    if (index < 100) mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, policyText(index));
  }
  return policiesDir;
}

/** Writes the service config for the fleet in `dir` and the issuer at `issuerUrl`; returns its path. */
export function writeServiceConfig(dir: string, policiesDir: string, issuerUrl: string): string {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = {
    public_url: SERVICE_AUDIENCE,
    listen: { host: '127.0.0.1', port: 0 },
    issuers: { github: { url: issuerUrl } },
    policies: { dir: policiesDir, watch: false },
    store: { url: `sqlite:${join(dir, 'data', 'latchkey.db')}` },
    signing: { keys_dir: join(dir, 'keys') },
    limits: { per_repository_per_minute: 0, per_client_ip_per_minute: 0 },
  };
  const file = join(dir, 'latchkey.yaml');
  // JSON is YAML; the service reads it like any other config file.
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** The environment for a child: ours without LATCHKEY_* overrides, so only the config file decides. */
export function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
}
