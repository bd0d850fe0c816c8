/**
 * Exchange throughput benchmark (`npm run bench`).
 *
 * Starts the service as a child process (`latchkey serve --config …`) with a
 * fleet of token-grant policies (10,000 by default), an SQLite store with the
 * default durable audit, rate limits off and policy watching off; drives
 * `POST /token` with pre-minted RS256 tokens (each sent once) on autocannon;
 * then drives a hello-world Hono server the same way as the baseline. Prints
 * the figures with PASS/FAIL against the issue's floors.
 *
 * Exit 0 when it ran (even if a floor fails: it is a report); exit 1 on an
 * error: any non-200 response, a child that would not start, a setup failure.
 *
 *   npm run bench -- [--duration 10] [--connections 32] [--policies 10000]
 *                    [--warmup 1] [--tokens N] [--cpu-prof DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createCleanup, cleanUpOnSignals, type Cleanup } from './cleanup.ts';
import { spawnServer, type ChildServer, type ProcessMemory } from './child.ts';
import { startBenchIssuer } from './issuer.ts';
import { driveExchanges, driveHello, type LoadOptions, type LoadOutcome } from './load.ts';
import { mintTokens, type TokenPool } from './mint.ts';
import { describeMachine, figure, FLOORS, formatCount, formatFailures, formatMB } from './report.ts';
import { fetchServiceMetrics, type ServiceMetrics } from './service-metrics.ts';
import { childEnv, SERVICE_AUDIENCE, writeFleet, writeServiceConfig } from './service-setup.ts';

/** Tokens minted per second of load (warm-up included): well above the service's expected rate. */
const TOKENS_PER_SECOND = 8_000;
const REPO_ROOT = resolve(import.meta.dirname, '..');

interface BenchOptions {
  duration: number;
  connections: number;
  policies: number;
  warmup: number;
  tokens: number;
  cpuProfDir: string | undefined;
}

interface ExchangePhase {
  startupMs: number;
  mintSeconds: number;
  pool: TokenPool;
  warmup: LoadOutcome | undefined;
  load: LoadOutcome;
  afterStartup: ProcessMemory;
  afterLoad: ProcessMemory;
  metrics: ServiceMetrics | undefined;
  /** CPU cores used during the measured load: the service, and this process (the load generator). */
  serviceCores: number;
  driverCores: number;
  jwksRequests: number;
}

interface HelloPhase {
  warmup: LoadOutcome | undefined;
  load: LoadOutcome;
}

function parseOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '32' },
      policies: { type: 'string', default: '10000' },
      warmup: { type: 'string', default: '1' },
      tokens: { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  const number = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${text}"`);
    return value;
  };
  const duration = number('duration', values.duration, 1);
  const warmup = number('warmup', values.warmup, 0);
  const minimum = (duration + warmup) * TOKENS_PER_SECOND;
  return {
    duration, warmup,
    connections: number('connections', values.connections, 1),
    policies: number('policies', values.policies, 1),
    tokens: values.tokens === undefined ? minimum : number('tokens', values.tokens, 1),
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
  };
}

/** The service phase: fleet, tokens, start-up, warm-up, measured load, memory. */
async function benchExchanges(options: BenchOptions, dir: string, cleanup: Cleanup): Promise<ExchangePhase> {
  const issuer = await startBenchIssuer();
  cleanup.add('issuer', issuer.close);
  const policiesDir = writeFleet(dir, options.policies);
  const configFile = writeServiceConfig(dir, policiesDir, issuer.url);
  const threads = availableParallelism();
  console.log(`pre-minting ${formatCount(options.tokens)} RS256 tokens on ${threads} worker threads…`);
  const lifetime = 900 + options.duration + options.warmup;
  const { pool, seconds: mintSeconds } = await mintTokens({ issuer, audience: SERVICE_AUDIENCE, count: options.tokens, policyCount: options.policies, lifetime, threads });
  console.log(`  done in ${mintSeconds.toFixed(1)} s (${formatCount(options.tokens / mintSeconds)} tokens/s; not part of the figures)`);

  const profile = options.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir];
  const service = await spawnServer({
    name: 'service', cwd: REPO_ROOT, env: childEnv(), cleanup,
    args: [...profile, join(REPO_ROOT, 'exchange-service/bin/latchkey.js'), 'serve', '--config', configFile],
  });
  checkPolicyCount(service, options.policies);
  const afterStartup = service.memory();
  console.log(`service listening at ${service.url} after ${formatCount(service.startupMs)} ms`);
  const load: LoadOptions = { url: service.url, connections: options.connections, duration: options.duration };
  const warmup = options.warmup > 0 ? await driveExchanges({ ...load, duration: options.warmup }, pool) : undefined;
  console.log(`driving POST /token: ${options.connections} connections for ${options.duration} s…`);
  const cpuBefore = { service: service.cpuSeconds(), driver: process.cpuUsage() };
  const measured = await driveExchanges(load, pool);
  const afterLoad = service.memory();
  const serviceCores = (service.cpuSeconds() - cpuBefore.service) / measured.seconds;
  const driver = process.cpuUsage(cpuBefore.driver);
  const driverCores = (driver.user + driver.system) / 1e6 / measured.seconds;
  const metrics = await fetchServiceMetrics(service.url).catch(() => undefined);
  await stopService(service, options.cpuProfDir);
  return { startupMs: service.startupMs, mintSeconds, pool, warmup, load: measured, afterStartup, afterLoad, metrics, serviceCores, driverCores, jwksRequests: issuer.jwksRequests() };
}

function checkPolicyCount(service: ChildServer, expected: number): void {
  const loaded = service.listening.policies;
  if (typeof loaded === 'number' && loaded !== expected) throw new Error(`the service loaded ${loaded} policies, expected ${expected}`);
}

async function stopService(service: ChildServer, cpuProfDir: string | undefined): Promise<void> {
  const code = await service.stop(cpuProfDir === undefined ? 10_000 : 30_000);
  if (code !== 0) console.log(`  note: the service exited with ${code === null ? 'a signal (killed after the grace period)' : `code ${code}`}`);
  if (cpuProfDir !== undefined) console.log(`  CPU profile written to ${cpuProfDir}`);
}

/** The baseline phase: hello-world Hono in its own process, driven the same way. */
async function benchHello(options: BenchOptions, cleanup: Cleanup): Promise<HelloPhase> {
  const hello = await spawnServer({ name: 'hello-world server', cwd: REPO_ROOT, env: childEnv(), cleanup, args: [join(REPO_ROOT, 'bench/hello-server.ts')] });
  const load: LoadOptions = { url: hello.url, connections: options.connections, duration: options.duration };
  const warmup = options.warmup > 0 ? await driveHello({ ...load, duration: options.warmup }) : undefined;
  console.log(`driving GET / on hello-world: ${options.connections} connections for ${options.duration} s…`);
  const measured = await driveHello(load);
  await hello.stop();
  return { warmup, load: measured };
}

/** Prints the figures and verdicts; returns true when no request failed. */
function printReport(options: BenchOptions, service: ExchangePhase, hello: HelloPhase): boolean {
  const rate = service.load.ok / service.load.seconds;
  const helloRate = hello.load.ok / hello.load.seconds;
  const peak = Math.max(service.afterLoad.peak, service.afterLoad.rss);
  const rssFloor = formatMB(FLOORS.rssBytes).replace(/\.0 /, ' ');
  console.log(`\nresults (${formatCount(options.policies)} policies, ${options.connections} connections, ${service.load.seconds.toFixed(1)} s measured after ${options.warmup} s warm-up)`);
  console.log(describeMachine().replace(/^/, '  '));
  console.log(figure('pre-minting (not measured)', `${formatCount(options.tokens)} tokens in ${service.mintSeconds.toFixed(1)} s`));
  console.log(figure('exchanges/s (durable audit)', formatCount(rate), { pass: rate >= FLOORS.exchangesPerSecond, floor: `≥ ${formatCount(FLOORS.exchangesPerSecond)}` }));
  console.log(figure('exchange latency p50', `${service.load.p50} ms`));
  console.log(figure('exchange latency p99', `${service.load.p99} ms`, { pass: service.load.p99 <= FLOORS.p99Ms, floor: `≤ ${FLOORS.p99Ms} ms` }));
  console.log(figure('CPU during load: service / bench', `${service.serviceCores.toFixed(2)} / ${service.driverCores.toFixed(2)} cores`));
  console.log(figure('hello-world requests/s', formatCount(helloRate)));
  console.log(figure('hello-world latency p50 / p99', `${hello.load.p50} / ${hello.load.p99} ms`));
  console.log(figure('exchange / hello-world', `${((100 * rate) / helloRate).toFixed(1)} %`));
  console.log(figure('service RSS after start-up (idle)', formatMB(service.afterStartup.rss)));
  console.log(figure('service RSS after load', formatMB(service.afterLoad.rss), { pass: service.afterLoad.rss <= FLOORS.rssBytes, floor: `≤ ${rssFloor}` }));
  console.log(figure('service RSS peak (VmHWM)', formatMB(peak), { pass: peak <= FLOORS.rssBytes, floor: `≤ ${rssFloor}` }));
  printMetrics(service.metrics);
  console.log(figure(`start-up, ${formatCount(options.policies)} policies`, `${formatCount(service.startupMs)} ms`, { pass: service.startupMs <= FLOORS.startupMs, floor: `≤ ${formatCount(FLOORS.startupMs)} ms` }));
  console.log(figure('tokens sent (each once)', `${formatCount(service.pool.used())} of ${formatCount(service.pool.size)} minted`));
  console.log(figure('JWKS fetches by the service', formatCount(service.jwksRequests)));
  if (service.load.exhaustedAt !== undefined) {
    console.log(`  note: the token pool ran out after ${service.load.exhaustedAt.toFixed(1)} s; rates use that window (mint more with --tokens)`);
  }
  return printFailures([['exchange warm-up', service.warmup], ['exchange', service.load], ['hello warm-up', hello.warmup], ['hello-world', hello.load]]);
}

/** Where the memory and time go, by the service's own account (no floors). */
function printMetrics(metrics: ServiceMetrics | undefined): void {
  if (metrics === undefined) return console.log(figure('service /metrics', 'unavailable'));
  const mb = (bytes: number | undefined): string => (bytes === undefined ? '?' : formatMB(bytes));
  console.log(figure('  of which V8 heap used / total', `${mb(metrics.heapUsed)} / ${mb(metrics.heapTotal)} (external ${mb(metrics.external)})`));
  for (const [operation, { count, mean }] of metrics.storeMeans) {
    console.log(figure(`  store ${operation}, mean`, `${(mean * 1000).toFixed(2)} ms over ${formatCount(count)}`));
  }
}

function printFailures(runs: [string, LoadOutcome | undefined][]): boolean {
  let clean = true;
  for (const [name, outcome] of runs) {
    if (outcome === undefined || outcome.failures.size === 0) continue;
    clean = false;
    const total = [...outcome.failures.values()].reduce((sum, n) => sum + n, 0);
    console.log(`  ERROR: ${formatCount(total)} failed requests in the ${name} run:`);
    for (const line of formatFailures(outcome.failures)) console.log(line);
  }
  console.log(clean ? '  non-200 responses: 0' : '  the run had failures: exit 1');
  return clean;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions();
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\nusage: npm run bench -- [--duration S] [--connections N] [--policies N] [--warmup S] [--tokens N] [--cpu-prof DIR]`);
    return 1;
  }
  const cleanup = createCleanup();
  cleanUpOnSignals(cleanup);
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  cleanup.add('temporary folder', () => rmSync(dir, { recursive: true, force: true }));
  try {
    console.log(describeMachine());
    const service = await benchExchanges(options, dir, cleanup);
    const hello = await benchHello(options, cleanup);
    return printReport(options, service, hello) ? 0 : 1;
  } catch (error) {
    console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await cleanup.run();
  }
}

// Exit explicitly: a figure is reported even if some library leaves a handle open.
process.exit(await main());
