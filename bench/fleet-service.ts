/**
 * A service over a generated fleet, in its own child process, and the
 * exchange load points driven against it. Tokens are minted before each
 * point (never during one), sized from the best rate seen so far on this
 * service, so a run mints about what it sends rather than a fixed worst case.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { latchkeyCommand, spawnServer, type ChildServer } from './child.ts';
import type { Cleanup } from './cleanup.ts';
import type { FleetGrant } from './fleet.ts';
import type { BenchIssuer } from './issuer.ts';
import { driveExchanges, rateOf, type LoadOutcome } from './load.ts';
import { mintTokens, type TokenPool } from './mint.ts';
import { ISSUE2_CONNECTIONS } from './options.ts';
import { formatCount } from './report.ts';
import { childEnv, SERVICE_AUDIENCE, writeFleet, writeServiceConfig } from './service-setup.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

/** How to start a fleet service. */
export interface FleetServiceOptions {
  /** For messages: `token service`, `service, 100,000 policies`. */
  name: string;
  /** A folder of its own (fleet, config, store, keys). */
  dir: string;
  policies: number;
  grant: FleetGrant;
  issuer: BenchIssuer;
  cleanup: Cleanup;
  awsEndpoint?: string | undefined;
  cpuProfDir?: string | undefined;
}

/** A started fleet service. */
export interface FleetService {
  service: ChildServer;
  /** Seconds spent writing the policy files (not measured). */
  fleetSeconds: number;
}

/** Writes the fleet and config, starts `latchkey serve`, and checks it loaded every policy. */
export async function startFleetService(options: FleetServiceOptions): Promise<FleetService> {
  mkdirSync(options.dir, { recursive: true });
  const writing = performance.now();
  const policiesDir = writeFleet(options.dir, options.policies, options.grant);
  const fleetSeconds = (performance.now() - writing) / 1000;
  const configFile = writeServiceConfig(
    options.dir,
    policiesDir,
    options.issuer.url,
    options.awsEndpoint === undefined ? {} : { awsEndpoint: options.awsEndpoint },
  );
  const profile = options.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir];
  const service = await spawnServer({
    name: options.name,
    cwd: REPO_ROOT,
    env: childEnv({ aws: options.grant === 'aws' }),
    cleanup: options.cleanup,
    args: [...profile, ...latchkeyCommand(REPO_ROOT), 'serve', '--config', configFile],
  });
  const loaded = service.listening.policies;
  if (typeof loaded === 'number' && loaded !== options.policies) {
    await service.stop(3_000);
    throw new Error(`${options.name} loaded ${loaded} policies, expected ${options.policies}`);
  }
  console.log(
    `  ${options.name}: ${formatCount(options.policies)} policies written in ${fleetSeconds.toFixed(1)} s; listening after ${formatCount(service.startupMs)} ms`,
  );
  return { service, fleetSeconds };
}

/** One measured exchange load point. */
export interface ExchangePoint {
  connections: number;
  outcome: LoadOutcome;
  /** CPU cores used during the point, by process: `service`, `bench` (the load generator), and any watched side process. */
  cores: Map<string, number>;
  /** The service's CPU cores during the point by thread name. */
  serviceThreads: Map<string, number>;
  minted: number;
}

/** Drives exchanges against one service, minting before each run. */
export interface ExchangeDriver {
  /** A run whose figures are discarded (JIT, caches, JWKS fetch); it seeds the rate estimate. */
  warmUp(connections: number, seconds: number): Promise<LoadOutcome>;
  point(connections: number, seconds: number): Promise<ExchangePoint>;
  /** Seconds spent minting so far (not measured). */
  mintSeconds(): number;
  /** Tokens sent so far, warm-ups included. */
  sent(): number;
}

/** What the driver needs. */
export interface ExchangeDriverOptions {
  service: ChildServer;
  issuer: BenchIssuer;
  policies: number;
  /** Tokens per run instead of the estimate. */
  tokens?: number | undefined;
  /** Other processes whose CPU is reported per point (the loopback STS). */
  watch?: ReadonlyArray<{ name: string; cpuSeconds(): number }>;
}

/** Assumed rate before anything was measured (only the warm-up uses it). */
const FIRST_GUESS_PER_SECOND = 5_000;
/** Tokens minted per expected exchange: the margin against a faster point than the estimate. */
const SAFETY = 1.5;
/** A point whose tokens ran out before this share of its duration is measured again. */
const RERUN_BELOW = 0.8;

/** Creates the driver; the rate estimate starts at the first warm-up. */
export function createExchangeDriver(options: ExchangeDriverOptions): ExchangeDriver {
  let next = 0;
  let best = 0;
  let minting = 0;
  const pools: TokenPool[] = [];
  const mint = async (count: number): Promise<TokenPool> => {
    const { pool, seconds } = await mintTokens({
      issuer: options.issuer,
      audience: SERVICE_AUDIENCE,
      count,
      offset: next,
      policyCount: options.policies,
      lifetime: 900,
      threads: availableParallelism(),
    });
    next += count;
    minting += seconds;
    pools.push(pool);
    return pool;
  };
  const measure = async (connections: number, seconds: number, count: number): Promise<ExchangePoint> => {
    const pool = await mint(count);
    const watched = [{ name: 'service', cpuSeconds: () => options.service.cpuSeconds() }, ...(options.watch ?? [])];
    const threadsBefore = options.service.threadCpuSeconds();
    const { outcome, cores } = await driveWithCpu(watched, () => driveExchanges({ url: options.service.url, connections, duration: seconds }, pool));
    const serviceThreads = new Map([...options.service.threadCpuSeconds()].map(([name, s]) => [name, (s - (threadsBefore.get(name) ?? 0)) / outcome.seconds]));
    best = Math.max(best, rateOf(outcome));
    return { connections, outcome, cores, serviceThreads, minted: count };
  };
  const expected = (connections: number): number => best * (connections >= 64 ? 1.3 : connections >= 32 ? 1 : Math.max(0.5, connections / 32));
  return {
    async warmUp(connections, seconds) {
      const pool = await mint(options.tokens ?? Math.ceil(FIRST_GUESS_PER_SECOND * seconds));
      const outcome = await driveExchanges({ url: options.service.url, connections, duration: seconds }, pool);
      best = Math.max(best, rateOf(outcome));
      return outcome;
    },
    async point(connections, seconds) {
      let result = await measure(connections, seconds, options.tokens ?? Math.ceil(expected(connections) * seconds * SAFETY) + 500);
      // An estimate from a cold warm-up can fall short: when the pool ran out early, mint for the rate just seen and measure again.
      const short = result.outcome.exhaustedAt;
      if (options.tokens === undefined && short !== undefined && short < seconds * RERUN_BELOW) {
        console.log(`    (the ${formatCount(result.minted)} tokens lasted ${short.toFixed(1)} s; minting for ${formatCount(best)}/s and measuring again)`);
        const first = result.outcome.failures;
        result = await measure(connections, seconds, Math.ceil(best * seconds * SAFETY) + 500);
        for (const [what, n] of first) result.outcome.failures.set(what, (result.outcome.failures.get(what) ?? 0) + n);
      }
      return result;
    },
    mintSeconds: () => minting,
    sent: () => pools.reduce((sum, pool) => sum + pool.used(), 0),
  };
}

/** Runs `drive`, reporting the CPU cores each watched process and this one (`bench`) used meanwhile. */
async function driveWithCpu(
  watched: ReadonlyArray<{ name: string; cpuSeconds(): number }>,
  drive: () => Promise<LoadOutcome>,
): Promise<{ outcome: LoadOutcome; cores: Map<string, number> }> {
  const before = watched.map((entry) => entry.cpuSeconds());
  const benchBefore = process.cpuUsage();
  const outcome = await drive();
  const bench = process.cpuUsage(benchBefore);
  const cores = new Map(watched.map((entry, i) => [entry.name, (entry.cpuSeconds() - (before[i] ?? 0)) / outcome.seconds]));
  cores.set('bench', (bench.user + bench.system) / 1e6 / outcome.seconds);
  return { outcome, cores };
}

/** The order to drive connection counts in: the issue-2 count first (its memory figure comes right after it), then the rest, most first. */
export function pointOrder(connections: readonly number[], first: number): number[] {
  const rest = connections.filter((c) => c !== first).sort((a, b) => b - a);
  return connections.includes(first) ? [first, ...rest] : rest;
}

/** `MainThread 0.90 cores 533 µs, latchkey-sqlite 0.29 cores 174 µs, …`, busiest first, idle threads left out. */
export function describeThreads(point: ExchangePoint): string {
  const rate = rateOf(point.outcome);
  return [...point.serviceThreads]
    .filter(([, cores]) => cores >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([name, cores]) => `${name} ${cores.toFixed(2)} (${formatCount((cores * 1e6) / rate)} µs)`)
    .join(', ');
}

/** `service 1.21 / bench 0.35 cores`. */
export function describeCores(cores: Map<string, number>): string {
  return [...cores].map(([name, value]) => `${name} ${value.toFixed(2)}`).join(' / ') + ' cores';
}

/** A warm-up, then every connection count once (in {@link pointOrder}); `afterPoint` runs right after each. */
export async function runLoadPoints(
  driver: ExchangeDriver,
  options: { connections: readonly number[]; duration: number; warmup: number; label: string },
  afterPoint: (point: ExchangePoint) => void = () => {},
): Promise<{ warmup: LoadOutcome | undefined; points: Map<number, ExchangePoint> }> {
  const warmupConnections = options.connections.includes(ISSUE2_CONNECTIONS) ? ISSUE2_CONNECTIONS : Math.max(...options.connections);
  const warmup = options.warmup > 0 ? await driver.warmUp(warmupConnections, options.warmup) : undefined;
  const points = new Map<number, ExchangePoint>();
  for (const connections of pointOrder(options.connections, ISSUE2_CONNECTIONS)) {
    const point = await driver.point(connections, options.duration);
    console.log(
      `  ${options.label}: ${connections} conn for ${options.duration} s: ${formatCount(rateOf(point.outcome))}/s, p50 ${point.outcome.p50.toFixed(2)} ms, p99 ${point.outcome.p99.toFixed(2)} ms (${describeCores(point.cores)})`,
    );
    console.log(`    service threads, CPU per exchange: ${describeThreads(point)}`);
    if (point.outcome.exhaustedAt !== undefined)
      console.log(`    note: the ${formatCount(point.minted)} tokens ran out after ${point.outcome.exhaustedAt.toFixed(1)} s; the rate uses that window`);
    afterPoint(point);
    points.set(connections, point);
  }
  return { warmup, points };
}
