/**
 * Phase 5, policy-set scaling: for each policy count (10, 1,000, 100,000 by
 * default) a fresh fleet and service, started one after the other: load
 * time (spawn → listening, policy loading included) and resident memory once
 * loaded (now, and the peak while loading). Then short token-exchange runs
 * at 32 connections whose p50 must not grow with the count (the policy
 * lookup is by name). The runs are interleaved (10, 1,000, 100,000, 10, …)
 * and pooled per count, so a shift in the machine's background load lands on
 * every count alike rather than on whichever ran during it.
 */
import { join } from 'node:path';
import type { ChildServer, ProcessMemory } from './child.ts';
import type { Cleanup } from './cleanup.ts';
import { createExchangeDriver, startFleetService, type ExchangeDriver, type ExchangePoint } from './fleet-service.ts';
import { startBenchIssuer } from './issuer.ts';
import { combineOutcomes, rateOf } from './load.ts';
import { ISSUE2_CONNECTIONS, type BenchOptions } from './options.ts';
import { formatCount, formatMB } from './report.ts';

/** One policy count's figures. */
export interface ScalePoint {
  policies: number;
  fleetSeconds: number;
  loadMs: number;
  /** VmRSS and VmHWM once listening. */
  loaded: ProcessMemory;
  /** The pooled exchange runs. */
  point: ExchangePoint;
}

/** At most this many rounds per count (each at least a second long). */
const MAX_ROUNDS = 4;

interface Running {
  policies: number;
  fleetSeconds: number;
  service: ChildServer;
  loaded: ProcessMemory;
  driver: ExchangeDriver;
  runs: ExchangePoint[];
}

/** Starts every count's service, then drives them in interleaved rounds. */
export async function runScalePhase(options: BenchOptions, dir: string, cleanup: Cleanup): Promise<ScalePoint[]> {
  const issuer = await startBenchIssuer();
  const unregister = cleanup.add('scale issuer', issuer.close);
  const running: Running[] = [];
  try {
    for (const policies of options.scale) {
      const name = `service, ${formatCount(policies)} policies`;
      const { service, fleetSeconds } = await startFleetService({ name, dir: join(dir, `scale-${policies}`), policies, grant: 'token', issuer, cleanup });
      const loaded = service.memory();
      console.log(`    RSS once loaded ${formatMB(loaded.rss)} (peak while loading ${formatMB(loaded.peak)})`);
      running.push({ policies, fleetSeconds, service, loaded, driver: createExchangeDriver({ service, issuer, policies, tokens: options.tokens }), runs: [] });
    }
    if (options.warmup > 0) for (const entry of running) await entry.driver.warmUp(ISSUE2_CONNECTIONS, options.warmup);
    const rounds = Math.min(MAX_ROUNDS, options.scaleDuration);
    const seconds = Math.max(1, Math.round(options.scaleDuration / rounds));
    console.log(`  exchanges at ${ISSUE2_CONNECTIONS} connections: ${rounds} rounds of ${seconds} s per count, interleaved…`);
    for (let round = 0; round < rounds; round++) {
      for (const entry of running) entry.runs.push(await entry.driver.point(ISSUE2_CONNECTIONS, seconds));
    }
    return running.map(summarise);
  } finally {
    for (const entry of running) await entry.service.stop();
    await issuer.close();
    unregister();
  }
}

function summarise(entry: Running): ScalePoint {
  const outcome = combineOutcomes(entry.runs.map((run) => run.outcome));
  // Cores are rates: pool them weighted by each run's window.
  const pooled = (pick: (run: ExchangePoint) => Map<string, number>): Map<string, number> => {
    const total = new Map<string, number>();
    for (const run of entry.runs)
      for (const [name, value] of pick(run)) total.set(name, (total.get(name) ?? 0) + (value * run.outcome.seconds) / outcome.seconds);
    return total;
  };
  console.log(
    `  ${formatCount(entry.policies)} policies: ${formatCount(rateOf(outcome))}/s, p50 ${outcome.p50.toFixed(2)} ms, p99 ${outcome.p99.toFixed(2)} ms over ${outcome.seconds.toFixed(1)} s`,
  );
  return {
    policies: entry.policies,
    fleetSeconds: entry.fleetSeconds,
    loadMs: entry.service.startupMs,
    loaded: entry.loaded,
    point: {
      connections: ISSUE2_CONNECTIONS,
      outcome,
      cores: pooled((run) => run.cores),
      serviceThreads: pooled((run) => run.serviceThreads),
      minted: entry.runs.reduce((sum, run) => sum + run.minted, 0),
    },
  };
}
