/**
 * `/healthz` (the process is up), `/readyz` (policies loaded and store
 * reachable, else 503 with the reasons) and `/metrics` (Prometheus text).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../request-context.ts';
import type { Metrics } from '../../metrics.ts';

export interface HealthDeps {
  metrics: Metrics;
  /** Reasons the service is not ready; empty when it is. */
  readiness: () => Promise<string[]>;
}

/** The health and metrics routes. */
export function healthRoutes(deps: HealthDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const problems = await deps.readiness();
    return problems.length === 0 ? c.json({ status: 'ready' }) : c.json({ status: 'not_ready', problems }, 503);
  });
  app.get('/metrics', async (c) => {
    const text = await deps.metrics.registry.metrics();
    return c.body(text, 200, { 'Content-Type': deps.metrics.registry.contentType });
  });
  return app;
}
