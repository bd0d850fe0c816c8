/**
 * The issue-8 table: every figure of the run with its target, a PASS/FAIL
 * verdict where the issue sets one, and exchange rates as a share of the
 * hello-world rate at the same connection count and of the crypto-only rate
 * (RS256 verify + ES256 sign pairs/s: the better of one thread and the
 * thread pool).
 */
import type { ExchangePoint } from './fleet-service.ts';
import { rateOf } from './load.ts';
import { ISSUE2_CONNECTIONS } from './options.ts';
import { median, type ActionResult } from './phase-action.ts';
import type { AwsResult } from './phase-aws.ts';
import type { CryptoResult } from './phase-crypto.ts';
import type { HelloResult } from './phase-hello.ts';
import type { ScalePoint } from './phase-scale.ts';
import type { TokenResult } from './phase-token.ts';
import { formatCount, formatMB, formatMs, TARGETS } from './report.ts';

/** Whatever the phases that ran measured. */
export interface BenchResults {
  hello?: HelloResult;
  crypto?: CryptoResult;
  token?: TokenResult;
  aws?: AwsResult;
  scale?: ScalePoint[];
  action?: ActionResult;
}

interface Row {
  figure: string;
  measured: string;
  target?: string;
  pass?: boolean;
  ofHello?: string;
  ofCrypto?: string;
}

const COLUMNS = [46, 22, 16, 8, 9, 9];

/** Prints the table; returns the number of FAIL verdicts. */
export function printTable(results: BenchResults): number {
  const rows = [
    ...helloRows(results.hello),
    ...cryptoRows(results.crypto),
    ...exchangeRows('(3) token', results.token?.points, results, true),
    ...exchangeRows('(4) aws', results.aws?.points, results, false),
    ...scaleRows(results.scale),
    ...actionRows(results.action),
  ];
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(COLUMNS[i] ?? 0))
      .join(' ')
      .trimEnd();
  console.log(`\n${line(['figure', 'measured', 'target', 'verdict', '% hello', '% crypto'])}`);
  console.log(line(COLUMNS.map((width) => '-'.repeat(width))));
  for (const row of rows) {
    const verdict = row.pass === undefined ? '' : row.pass ? 'PASS' : 'FAIL';
    console.log(line([row.figure, row.measured, row.target ?? '', verdict, row.ofHello ?? '', row.ofCrypto ?? '']));
  }
  return rows.filter((row) => row.pass === false).length;
}

function helloRows(hello: HelloResult | undefined): Row[] {
  if (hello === undefined) return [{ figure: '(1) hello-world req/s', measured: 'not run' }];
  return [...hello.points].map(([connections, outcome]) => ({
    figure: `(1) hello-world req/s, ${connections} conn`,
    measured: `${formatCount(rateOf(outcome))} (p99 ${outcome.p99.toFixed(1)} ms)`,
  }));
}

function cryptoRows(crypto: CryptoResult | undefined): Row[] {
  if (crypto === undefined) return [{ figure: '(2) crypto only', measured: 'not run' }];
  return [
    { figure: '(2) RS256 verify, one thread', measured: `${crypto.verifyMicros.toFixed(1)} µs` },
    { figure: '(2) ES256 sign (+ DER → r‖s), one thread', measured: `${crypto.signMicros.toFixed(1)} µs` },
    { figure: '(2) verify + sign pairs/s, one thread', measured: formatCount(crypto.pairsPerSecondOneThread) },
    { figure: `(2) pairs/s, thread pool (${crypto.poolCores.toFixed(1)} cores)`, measured: formatCount(crypto.pairsPerSecondPool) },
  ];
}

function exchangeRows(label: string, points: Map<number, ExchangePoint> | undefined, results: BenchResults, targets: boolean): Row[] {
  if (points === undefined) return [{ figure: `${label} exchanges/s`, measured: 'not run' }];
  const rows: Row[] = [];
  for (const connections of [...points.keys()].sort((a, b) => a - b)) {
    const { outcome } = points.get(connections) as ExchangePoint;
    const rate = rateOf(outcome);
    const hello = results.hello?.points.get(connections);
    const judged = targets && connections === ISSUE2_CONNECTIONS;
    rows.push({
      figure: `${label} exchanges/s, ${connections} conn`,
      measured: formatCount(rate),
      ...(judged ? { target: `≥ ${formatCount(TARGETS.exchangesPerSecond)}`, pass: rate >= TARGETS.exchangesPerSecond } : {}),
      ...(hello === undefined ? {} : { ofHello: percent(rate, rateOf(hello)) }),
      ...(results.crypto === undefined ? {} : { ofCrypto: percent(rate, cryptoCeiling(results.crypto)) }),
    });
    rows.push({
      figure: `${label} p50 / p99, ${connections} conn`,
      measured: `${outcome.p50.toFixed(2)} / ${outcome.p99.toFixed(2)} ms`,
      ...(judged ? { target: `p99 ≤ ${TARGETS.p99Ms} ms`, pass: outcome.p99 <= TARGETS.p99Ms } : {}),
    });
  }
  return rows;
}

function scaleRows(scale: ScalePoint[] | undefined): Row[] {
  if (scale === undefined) return [{ figure: '(5) policy-set scaling', measured: 'not run' }];
  const smallest = scale[0];
  const largest = scale.at(-1);
  const rows: Row[] = [];
  for (const point of scale) {
    const n = formatCount(point.policies);
    const big = point.policies >= 100_000;
    const p50 = point.point.outcome.p50;
    const growth = smallest === undefined ? 0 : p50 / smallest.point.outcome.p50 - 1;
    const judgeP50 = point === largest && smallest !== undefined && smallest !== largest;
    rows.push(
      {
        figure: `(5) load time, ${n} policies`,
        measured: `${formatCount(point.loadMs)} ms`,
        ...(big ? { target: `≤ ${formatCount(TARGETS.largeLoadMs)} ms`, pass: point.loadMs <= TARGETS.largeLoadMs } : {}),
      },
      {
        figure: `(5) RSS loaded / peak, ${n} policies`,
        measured: `${(point.loaded.rss / 1e6).toFixed(1)} / ${formatMB(point.loaded.peak)}`,
        ...(big ? { target: `peak ≤ ${formatMB(TARGETS.largeRssBytes).replace('.0', '')}`, pass: point.loaded.peak <= TARGETS.largeRssBytes } : {}),
      },
      {
        figure: `(5) exchange p50, ${n} policies, ${ISSUE2_CONNECTIONS} conn`,
        measured: point === smallest ? formatMs(p50) : `${formatMs(p50)} (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %)`,
        ...(judgeP50 ? { target: `≤ +${TARGETS.p50Growth * 100} % of ${formatCount(smallest.policies)}`, pass: growth <= TARGETS.p50Growth } : {}),
      },
    );
  }
  return rows;
}

function actionRows(action: ActionResult | undefined): Row[] {
  if (action === undefined) return [{ figure: '(6) the Action', measured: 'not run' }];
  const main = median(action.mainMs);
  const total = action.bundleBytes.main + action.bundleBytes.post;
  const kb = (bytes: number): string => `${(bytes / 1000).toFixed(0)}`;
  return [
    {
      figure: `(6) Action main step, median of ${action.runs}`,
      measured: `${main.toFixed(0)} ms`,
      target: `≤ ${TARGETS.actionMainMs} ms`,
      pass: main <= TARGETS.actionMainMs,
    },
    { figure: `(6) Action post step, median of ${action.runs}`, measured: `${median(action.postMs).toFixed(0)} ms` },
    {
      figure: '(6) bundles main.js + post.js',
      measured: `${kb(total)} kB (${kb(action.bundleBytes.main)} + ${kb(action.bundleBytes.post)})`,
      target: `≤ ${formatCount(TARGETS.bundleBytes / 1000)} kB`,
      pass: total <= TARGETS.bundleBytes,
    },
  ];
}

/** The crypto-only rate the exchanges are compared with: the better of the two ways (the pool's can lose to one thread on a busy machine). */
export const cryptoCeiling = (crypto: CryptoResult): number => Math.max(crypto.pairsPerSecondPool, crypto.pairsPerSecondOneThread);

const percent = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)} %`;
