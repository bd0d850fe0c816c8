/**
 * The benchmark suite (`npm run bench`), one run on one machine:
 *
 *   hello   (1) hello-world Hono requests/s: the HTTP ceiling
 *   crypto  (2) RS256 verify + ES256 sign per second, in-process
 *   token   (3) `token` exchanges/s, p50/p99 at each connection count, durable
 *               SQLite audit, 10,000 policies (also the issue-2 figures)
 *   aws     (4) the same for `aws` grants against the loopback STS
 *   scale   (5) 10 / 1,000 / 100,000 policies: load time, RSS, exchange p50
 *   action  (6) the Action's main step wall time on loopback; bundle sizes
 *
 * then the issue-2 block (PASS/FAIL against its floors) and a table of every
 * figure with its target and the exchange rates as shares of (1) and (2).
 * Services run as child processes; tokens are pre-minted on worker threads
 * before each load point (not measured); the load generator shares the cores.
 *
 * Exit 0 when it ran (a FAIL verdict is a report, not an error); exit 1 on an
 * error: a non-200 response, a phase that could not run.
 *
 *   npm run bench -- [--quick] [--only hello,crypto,token,aws,scale,action,postgres]
 *                    [--duration 6] [--warmup 1] [--connections 1,32,128]
 *                    [--policies 10000] [--scale 10,1000,100000] [--scale-duration 4]
 *                    [--action-runs 10] [--tokens N] [--cpu-prof DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCleanup, cleanUpOnSignals, type Cleanup } from './cleanup.ts';
import type { LoadOutcome } from './load.ts';
import { parseBenchOptions, PHASES, USAGE, type BenchOptions, type Phase } from './options.ts';
import { runActionPhase } from './phase-action.ts';
import { runAwsPhase } from './phase-aws.ts';
import { runCryptoPhase } from './phase-crypto.ts';
import { runHelloPhase } from './phase-hello.ts';
import { runScalePhase } from './phase-scale.ts';
import { runTokenPhase } from './phase-token.ts';
import { runPostgresPhase } from './phase-postgres.ts';
import { describeLoadAverage, describeMachine, formatCount, formatFailures } from './report.ts';
import { printIssue2 } from './report-issue2.ts';
import { printTable, type BenchResults } from './report-table.ts';

const TITLES: Record<Phase, string> = {
  hello: '(1) hello-world baseline',
  crypto: '(2) crypto only',
  token: '(3) token exchanges',
  aws: '(4) aws exchanges (loopback STS)',
  scale: '(5) policy-set scaling',
  action: '(6) the Action',
  postgres: '(7) PostgreSQL: SQLite vs one and two replicas (bench/postgres.bench.ts)',
};

/** Runs one phase into `results`; an error is reported and the run goes on (so one broken phase loses only its figures). */
async function runPhase(phase: Phase, options: BenchOptions, dir: string, cleanup: Cleanup, results: BenchResults): Promise<boolean> {
  if (!options.phases.has(phase)) return true;
  const started = performance.now();
  console.log(`\n${TITLES[phase]}`);
  try {
    if (phase === 'hello') results.hello = await runHelloPhase(options, cleanup);
    if (phase === 'crypto') results.crypto = await runCryptoPhase(options);
    if (phase === 'token') results.token = await runTokenPhase(options, dir, cleanup);
    if (phase === 'aws') results.aws = await runAwsPhase(options, dir, cleanup);
    if (phase === 'scale') results.scale = await runScalePhase(options, dir, cleanup);
    if (phase === 'action') results.action = await runActionPhase(options, dir, cleanup);
    if (phase === 'postgres') await runPostgresPhase(options);
    console.log(`  (${((performance.now() - started) / 1000).toFixed(0)} s; ${describeLoadAverage(true)})`);
    return true;
  } catch (error) {
    console.log(`  ERROR: the ${phase} phase failed: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

/** Every load run of the results, named, for the failure check. */
function allOutcomes(results: BenchResults): Array<[string, LoadOutcome | undefined]> {
  const runs: Array<[string, LoadOutcome | undefined]> = [
    ['hello warm-up', results.hello?.warmup],
    ['token warm-up', results.token?.warmup],
  ];
  for (const [connections, outcome] of results.hello?.points ?? []) runs.push([`hello-world, ${connections} connections`, outcome]);
  for (const [connections, point] of results.token?.points ?? []) runs.push([`token, ${connections} connections`, point.outcome]);
  for (const [connections, point] of results.aws?.points ?? []) runs.push([`aws, ${connections} connections`, point.outcome]);
  for (const point of results.scale ?? []) runs.push([`scale, ${formatCount(point.policies)} policies`, point.point.outcome]);
  return runs;
}

/** Prints every non-200 response by run; returns true when there was none. */
function printFailures(results: BenchResults): boolean {
  let clean = true;
  for (const [name, outcome] of allOutcomes(results)) {
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
    options = parseBenchOptions();
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  const cleanup = createCleanup();
  cleanUpOnSignals(cleanup);
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  cleanup.add('temporary folder', () => rmSync(dir, { recursive: true, force: true }));
  const started = performance.now();
  try {
    console.log(describeMachine());
    console.log(`at start: ${describeLoadAverage()}`);
    console.log(
      `phases: ${[...options.phases].join(', ')}; ${options.duration} s per load point after ${options.warmup} s warm-up${options.quick ? ' (--quick)' : ''}`,
    );
    const results: BenchResults = {};
    let ran = true;
    for (const phase of PHASES) {
      ran = (await runPhase(phase, options, dir, cleanup, results)) && ran;
    }
    if (results.token !== undefined) printIssue2(results.token, results.hello);
    const fails = printTable(results);
    console.log(`\n${describeMachine()}`);
    console.log(`at end: ${describeLoadAverage()}; ${((performance.now() - started) / 1000).toFixed(0)} s in all; ${fails} FAIL verdict(s)`);
    const clean = printFailures(results);
    return ran && clean ? 0 : 1;
  } finally {
    await cleanup.run();
  }
}

// Exit explicitly: a figure is reported even if some library leaves a handle open.
process.exit(await main());
