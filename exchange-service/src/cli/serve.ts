/**
 * `latchkey serve [--config FILE] [--dev]`: runs the service until SIGTERM or
 * SIGINT (which drain in-flight requests); SIGHUP reloads the policies.
 */
import { parseArgs } from 'node:util';
import { ConfigError, IssuerConfig, isLoopbackHost, loadConfig, type Config } from '../config.ts';
import { PolicyLoadError } from '../policy/index.ts';
import { coalescingStream, createLogger } from '../log.ts';
import { startServer } from '../server.ts';
import { devIssuerUrl } from '../dev/issuer.ts';
import type { CliIo } from './io.ts';

/**
 * Adds the dev issuers to a loopback configuration, or explains why it
 * cannot: `dev`, and `ghes` (a stand-in for a GitHub Enterprise Server, so
 * the shipped GHES example loads) unless the configuration names its own `ghes`.
 */
export function withDevIssuer(config: Config): Config {
  if (!isLoopbackHost(config.listen.host)) {
    throw new ConfigError(`--dev is refused unless the service listens on loopback (listen.host is "${config.listen.host}")`);
  }
  const dev = IssuerConfig.parse({ url: devIssuerUrl(config.public_url, 'dev'), kind: 'github' });
  const ghes = config.issuers.ghes ?? IssuerConfig.parse({ url: devIssuerUrl(config.public_url, 'ghes'), kind: 'github' });
  return { ...config, issuers: { ...config.issuers, dev, ghes } };
}

/** Runs `serve`; resolves with the exit code after a clean shutdown. */
export async function runServe(args: string[], io: CliIo): Promise<number> {
  let values: { config?: string | undefined; dev?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string' }, dev: { type: 'boolean' } }, allowPositionals: false }));
  } catch (error) {
    io.stderr.write(`latchkey serve: ${(error as Error).message}\nusage: latchkey serve [--config FILE] [--dev]\n`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig({ file: values.config, env: io.env });
    if (values.dev) config = withDevIssuer(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`latchkey serve: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const logger = createLogger({ level: config.log.level, stream: coalescingStream(io.stderr) });
  let server;
  try {
    server = await startServer(config, { dev: values.dev === true, logger, auditStream: io.stdout });
  } catch (error) {
    if (error instanceof PolicyLoadError) {
      const lines = error.problems.map((p) => `  ${p.file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.message}`);
      io.stderr.write(`latchkey serve: refusing to start, the policy set is invalid:\n${lines.join('\n')}\n`);
      return 1;
    }
    logger.error('start-up failed', { error });
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info('shutting down', { signal });
      process.off('SIGHUP', reload);
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          resolve(1);
        },
      );
    };
    const reload = () => void server.reloadPolicies();
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', reload);
  });
}
