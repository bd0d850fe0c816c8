/**
 * Phase 3, `token` exchanges (and the issue-2 figures): the service with a
 * fleet of token-grant policies (10,000 by default) and the default durable
 * audit on SQLite, driven at each connection count with pre-minted RS256
 * tokens. Memory is read at start-up and right after the 32-connection
 * point (the issue-2 run); `--cpu-prof` profiles this service only.
 */
import { join } from 'node:path';
import type { ProcessMemory } from './child.ts';
import type { Cleanup } from './cleanup.ts';
import { createExchangeDriver, runLoadPoints, startFleetService, type ExchangePoint } from './fleet-service.ts';
import { startBenchIssuer } from './issuer.ts';
import type { LoadOutcome } from './load.ts';
import { ISSUE2_CONNECTIONS, type BenchOptions } from './options.ts';
import { fetchServiceMetrics, type ServiceMetrics } from './service-metrics.ts';

/** What the token phase measured. */
export interface TokenResult {
  policies: number;
  startupMs: number;
  afterStartup: ProcessMemory;
  /** Right after the issue-2 point (32 connections); undefined when it was not run. */
  afterIssue2: ProcessMemory | undefined;
  metrics: ServiceMetrics | undefined;
  warmup: LoadOutcome | undefined;
  points: Map<number, ExchangePoint>;
  mintSeconds: number;
  tokensSent: number;
  jwksRequests: number;
}

/** Starts the token service, drives every point, stops it. */
export async function runTokenPhase(options: BenchOptions, dir: string, cleanup: Cleanup): Promise<TokenResult> {
  const issuer = await startBenchIssuer();
  const unregister = cleanup.add('token issuer', issuer.close);
  try {
    const { service } = await startFleetService({
      name: 'token service',
      dir: join(dir, 'token'),
      policies: options.policies,
      grant: 'token',
      issuer,
      cleanup,
      cpuProfDir: options.cpuProfDir,
    });
    const afterStartup = service.memory();
    const driver = createExchangeDriver({ service, issuer, policies: options.policies, tokens: options.tokens });
    let afterIssue2: ProcessMemory | undefined;
    const { warmup, points } = await runLoadPoints(driver, { ...options, label: 'token' }, (point) => {
      if (point.connections === ISSUE2_CONNECTIONS) afterIssue2 = service.memory();
    });
    const metrics = await fetchServiceMetrics(service.url).catch(() => undefined);
    const code = await service.stop(options.cpuProfDir === undefined ? 10_000 : 30_000);
    if (code !== 0) console.log(`  note: the token service exited with ${code === null ? 'a signal (killed after the grace period)' : `code ${code}`}`);
    if (options.cpuProfDir !== undefined) console.log(`  CPU profile written to ${options.cpuProfDir} (the main thread's file has the lowest thread id)`);
    return {
      policies: options.policies,
      startupMs: service.startupMs,
      afterStartup,
      afterIssue2,
      metrics,
      warmup,
      points,
      mintSeconds: driver.mintSeconds(),
      tokensSent: driver.sent(),
      jwksRequests: issuer.jwksRequests(),
    };
  } finally {
    await issuer.close();
    unregister();
  }
}
