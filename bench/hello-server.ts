/**
 * The baseline: a hello-world Hono app on @hono/node-server, the same stack
 * the service runs on, in its own process. Logs the same `listening` line as
 * the service and exits on SIGTERM/SIGINT.
 *
 *   node bench/hello-server.ts
 */
import { Hono } from 'hono';
import { serve } from '@hono/node-server';

const app = new Hono();
app.get('/', (c) => c.text('Hello, world!'));

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'listening', url: `http://127.0.0.1:${info.port}` })}\n`);
});

const stop = (): void => {
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
