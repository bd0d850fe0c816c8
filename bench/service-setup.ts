/**
 * A service's temporary world: the policy fleet on disk and a config file
 * that loads it with watching off, an SQLite store (durable audit as by
 * default) and the rate limits disabled; for aws fleets, the loopback STS
 * as `aws.endpoint` and the service's own (bench) AWS identity.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fleetEntry, policyText, type FleetGrant } from './fleet.ts';

/** The `aud` the bench tokens carry and the service expects. */
export const SERVICE_AUDIENCE = 'https://latchkey.bench.internal';

/** The service's AWS identity in the aws phase; the loopback STS checks SigV4 signatures made with it. */
export const BENCH_AWS_CREDENTIALS = { accessKeyId: 'AKIALATCHKEYBENCH001', secretAccessKey: 'latchkey/bench+secret=key000000000000000' };

/** Writes `count` policy files below `dir` (each policy granting `grant`); returns the folder. */
export function writeFleet(dir: string, count: number, grant: FleetGrant = 'token'): string {
  const policiesDir = join(dir, 'policies');
  for (let index = 0; index < count; index++) {
    const file = join(policiesDir, `${fleetEntry(index).name}.yaml`);
    if (index < 100) mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, policyText(index, grant));
  }
  return policiesDir;
}

/** Extra service settings. */
export interface ServiceConfigOptions {
  /** The loopback STS for aws grants. */
  awsEndpoint?: string;
}

/** Writes the service config for the fleet in `dir` and the issuer at `issuerUrl`; returns its path. */
export function writeServiceConfig(dir: string, policiesDir: string, issuerUrl: string, options: ServiceConfigOptions = {}): string {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = {
    public_url: SERVICE_AUDIENCE,
    listen: { host: '127.0.0.1', port: 0 },
    issuers: { github: { url: issuerUrl } },
    policies: { dir: policiesDir, watch: false },
    store: { url: `sqlite:${join(dir, 'data', 'latchkey.db')}` },
    signing: { keys_dir: join(dir, 'keys') },
    limits: { per_repository_per_minute: 0, per_client_ip_per_minute: 0 },
    ...(options.awsEndpoint === undefined ? {} : { aws: { region: 'us-east-1', endpoint: options.awsEndpoint } }),
  };
  const file = join(dir, 'latchkey.yaml');
  // JSON is YAML; the service reads it like any other config file.
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** AWS_* variables dropped from a child's environment: only the bench's identity may reach the SDK. */
const AWS_VARIABLES = /^AWS_/;

/**
 * The environment for a child: ours without LATCHKEY_* overrides (so only
 * the config file decides) and without AWS_* settings; with `aws`, the bench
 * identity, no instance metadata and no shared config files.
 */
export function childEnv(options: { aws?: boolean } = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_') && !AWS_VARIABLES.test(name)));
  if (options.aws !== true) return env;
  const nowhere = join(tmpdir(), 'latchkey-bench-no-aws-config');
  return {
    ...env,
    AWS_ACCESS_KEY_ID: BENCH_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: BENCH_AWS_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: join(nowhere, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(nowhere, 'credentials'),
  };
}
