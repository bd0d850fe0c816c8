/**
 * The loopback STS (test/support/loopback-sts.ts: the real Query protocol
 * and XML, SigV4 checked against the bench identity) in its own process, so
 * its CPU is not the load generator's. Logs the same `listening` line as the
 * service; on SIGTERM logs how many sessions it issued, then exits.
 *
 *   node bench/sts-server.ts
 */
import { startLoopbackSts } from '../test/support/loopback-sts.ts';
import { BENCH_AWS_CREDENTIALS } from './service-setup.ts';

const sts = await startLoopbackSts({ credentials: BENCH_AWS_CREDENTIALS });
const line = (fields: Record<string, unknown>): void => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', ...fields })}\n`);
};
line({ msg: 'listening', url: sts.url });

const stop = (): void => {
  line({ msg: 'stopped', requests: sts.requests.length, issued: sts.issued.length });
  void sts.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
