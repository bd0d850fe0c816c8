/**
 * Prometheus metrics (SPEC §3 `/metrics`), on a registry owned by the app
 * instance rather than prom-client's global one, so tests and replicas in one
 * process never share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  exchanges: Counter<'policy' | 'outcome' | 'reason'>;
  exchangeSeconds: Histogram<'outcome'>;
  policySetInfo: Gauge<'version'>;
  policyCount: Gauge;
  policyReloadFailures: Counter;
  jwksFetches: Counter<'issuer' | 'outcome'>;
  storeSeconds: Histogram<'operation'>;
}

/** Creates the service's metrics on a fresh registry. */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'latchkey_' });
  const registers = [registry];
  return {
    registry,
    exchanges: new Counter({
      name: 'latchkey_exchanges_total',
      help: 'Token exchanges by policy, outcome (granted, denied, failed) and reason.',
      labelNames: ['policy', 'outcome', 'reason'],
      registers,
    }),
    exchangeSeconds: new Histogram({
      name: 'latchkey_exchange_duration_seconds',
      help: 'Time from request to response for POST /token.',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    policySetInfo: new Gauge({
      name: 'latchkey_policy_set_info',
      help: 'The policy set in force (value 1, version label).',
      labelNames: ['version'],
      registers,
    }),
    policyCount: new Gauge({ name: 'latchkey_policies', help: 'Policies in the set in force.', registers }),
    policyReloadFailures: new Counter({
      name: 'latchkey_policy_reload_failures_total',
      help: 'Policy reloads refused because the new set did not validate (the old set stayed in force).',
      registers,
    }),
    jwksFetches: new Counter({
      name: 'latchkey_jwks_fetches_total',
      help: 'JWKS fetches by issuer and outcome.',
      labelNames: ['issuer', 'outcome'],
      registers,
    }),
    storeSeconds: new Histogram({
      name: 'latchkey_store_duration_seconds',
      help: 'Store operation latency, including the durable commit.',
      labelNames: ['operation'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
  };
}

/** Times a promise into a histogram. */
export async function timed<T>(histogram: Histogram<'operation'>, operation: string, work: () => Promise<T>): Promise<T> {
  const end = histogram.startTimer({ operation });
  try {
    return await work();
  } finally {
    end();
  }
}
