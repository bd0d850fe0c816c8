/**
 * The issue-2 figures, as `npm run bench` has always printed them: the
 * 10,000-policy token service at 32 connections against the floors
 * (exchanges/s, p99, RSS, start-up), with the hello-world run at the same
 * connection count beside it.
 */
import { describeCores } from './fleet-service.ts';
import { rateOf } from './load.ts';
import { ISSUE2_CONNECTIONS } from './options.ts';
import type { HelloResult } from './phase-hello.ts';
import type { TokenResult } from './phase-token.ts';
import { figure, FLOORS, formatCount, formatMB, formatMs } from './report.ts';
import type { ServiceMetrics } from './service-metrics.ts';

/** Prints the issue-2 block; says so and prints nothing else when the 32-connection point was not run. */
export function printIssue2(token: TokenResult, hello: HelloResult | undefined): void {
  const point = token.points.get(ISSUE2_CONNECTIONS);
  if (point === undefined || token.afterIssue2 === undefined) {
    console.log(`\nissue 2 figures: not measured (they need the ${ISSUE2_CONNECTIONS}-connection token point)`);
    return;
  }
  const { outcome } = point;
  const rate = rateOf(outcome);
  const helloPoint = hello?.points.get(ISSUE2_CONNECTIONS);
  const after = token.afterIssue2;
  const peak = Math.max(after.peak, after.rss);
  const rssFloor = formatMB(FLOORS.rssBytes).replace(/\.0 /, ' ');
  console.log(
    `\nissue 2 figures (${formatCount(token.policies)} policies, ${ISSUE2_CONNECTIONS} connections, ${outcome.seconds.toFixed(1)} s measured after warm-up)`,
  );
  console.log(
    figure('exchanges/s (durable audit)', formatCount(rate), { pass: rate >= FLOORS.exchangesPerSecond, floor: `≥ ${formatCount(FLOORS.exchangesPerSecond)}` }),
  );
  console.log(figure('exchange latency p50', formatMs(outcome.p50)));
  console.log(figure('exchange latency p99', formatMs(outcome.p99), { pass: outcome.p99 <= FLOORS.p99Ms, floor: `≤ ${FLOORS.p99Ms} ms` }));
  console.log(figure('CPU during load', describeCores(point.cores)));
  if (helloPoint !== undefined) {
    console.log(figure('hello-world requests/s', formatCount(rateOf(helloPoint))));
    console.log(figure('hello-world latency p50 / p99', `${formatMs(helloPoint.p50)} / ${formatMs(helloPoint.p99)}`));
    console.log(figure('exchange / hello-world', `${((100 * rate) / rateOf(helloPoint)).toFixed(1)} %`));
  }
  console.log(figure('service RSS after start-up (idle)', formatMB(token.afterStartup.rss)));
  console.log(figure('service RSS after load', formatMB(after.rss), { pass: after.rss <= FLOORS.rssBytes, floor: `≤ ${rssFloor}` }));
  console.log(figure('service RSS peak (VmHWM)', formatMB(peak), { pass: peak <= FLOORS.rssBytes, floor: `≤ ${rssFloor}` }));
  printMetrics(token.metrics);
  console.log(
    figure(`start-up, ${formatCount(token.policies)} policies`, `${formatCount(token.startupMs)} ms`, {
      pass: token.startupMs <= FLOORS.startupMs,
      floor: `≤ ${formatCount(FLOORS.startupMs)} ms`,
    }),
  );
  console.log(figure('tokens sent (each once)', `${formatCount(token.tokensSent)}, pre-minted in ${token.mintSeconds.toFixed(1)} s (not measured)`));
  console.log(figure('JWKS fetches by the service', formatCount(token.jwksRequests)));
}

/** Where the memory and time go, by the service's own account (no floors; read after the last point). */
function printMetrics(metrics: ServiceMetrics | undefined): void {
  if (metrics === undefined) return console.log(figure('service /metrics', 'unavailable'));
  const mb = (bytes: number | undefined): string => (bytes === undefined ? '?' : formatMB(bytes));
  console.log(figure('  V8 heap used / total (end)', `${mb(metrics.heapUsed)} / ${mb(metrics.heapTotal)} (external ${mb(metrics.external)})`));
  for (const [operation, { count, mean }] of metrics.storeMeans) {
    console.log(figure(`  store ${operation}, mean`, `${(mean * 1000).toFixed(2)} ms over ${formatCount(count)}`));
  }
}
