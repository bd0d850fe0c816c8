/**
 * Phase 4, `aws` exchanges: the service with a fleet of aws-grant policies
 * calling `sts:AssumeRole` through the real AWS SDK on the loopback STS
 * (its own process; real Query protocol, SigV4 checked), with durable audit
 * on SQLite, driven at each connection count like the token phase.
 */
import { join, resolve } from 'node:path';
import { spawnServer, type ChildServer } from './child.ts';
import type { Cleanup } from './cleanup.ts';
import { createExchangeDriver, runLoadPoints, startFleetService, type ExchangePoint } from './fleet-service.ts';
import { startBenchIssuer } from './issuer.ts';
import type { BenchOptions } from './options.ts';
import { childEnv } from './service-setup.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

/** What the aws phase measured. */
export interface AwsResult {
  policies: number;
  startupMs: number;
  points: Map<number, ExchangePoint>;
  /** Sessions the loopback STS issued (from its exit line), when it said. */
  stsIssued: number | undefined;
  mintSeconds: number;
}

/** Starts the STS and the aws service, drives every point, stops both. */
export async function runAwsPhase(options: BenchOptions, dir: string, cleanup: Cleanup): Promise<AwsResult> {
  const sts = await spawnServer({ name: 'loopback STS', cwd: REPO_ROOT, env: childEnv(), cleanup, args: [join(REPO_ROOT, 'bench/sts-server.ts')] });
  const issuer = await startBenchIssuer();
  const unregister = cleanup.add('aws issuer', issuer.close);
  try {
    const { service } = await startFleetService({
      name: 'aws service',
      dir: join(dir, 'aws'),
      policies: options.policies,
      grant: 'aws',
      issuer,
      cleanup,
      awsEndpoint: sts.url,
    });
    const driver = createExchangeDriver({
      service,
      issuer,
      policies: options.policies,
      tokens: options.tokens,
      watch: [{ name: 'sts', cpuSeconds: () => sts.cpuSeconds() }],
    });
    const { points } = await runLoadPoints(driver, { ...options, label: 'aws' });
    await service.stop();
    return { policies: options.policies, startupMs: service.startupMs, points, stsIssued: await stopSts(sts), mintSeconds: driver.mintSeconds() };
  } finally {
    await sts.stop(3_000);
    await issuer.close();
    unregister();
  }
}

/** Stops the STS and reads the session count from its `stopped` line. */
async function stopSts(sts: ChildServer): Promise<number | undefined> {
  await sts.stop(3_000);
  // The reader may see the last line just after the exit event.
  await new Promise((resolve) => setTimeout(resolve, 50));
  for (const line of sts.tail().reverse()) {
    if (!line.includes('"stopped"')) continue;
    const issued = (JSON.parse(line) as { issued?: unknown }).issued;
    return typeof issued === 'number' ? issued : undefined;
  }
  return undefined;
}
