/**
 * The only place that builds real dependencies from the configuration:
 * store, verifier, policies (with reload), signing keys, minters, metrics,
 * and the HTTP server. Returns a handle that reloads and drains.
 */
import type { AddressInfo } from 'node:net';
import type { Server, ServerOptions as HttpServerOptions } from 'node:http';
import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { serviceAudience, type Config } from './config.ts';
import { createExchange } from './decisions/exchange.ts';
import { createMetrics } from './metrics.ts';
import { createRateLimiter } from './decisions/rate-limit.ts';
import { createLogger, type Logger } from './log.ts';
import { openStore, storeOptionsFromConfig } from './store/open.ts';
import type { RequestCounters, Store } from './store/store.ts';
import { createTokenVerifier } from './oidc/verify.ts';
import { loadSigningKeys } from './jws/signing-keys.ts';
import { createTokenMinter } from './grants/token.ts';
import { createAwsMinter } from './grants/aws.ts';
import type { Minter } from './grants/minter.ts';
import { DEV_ISSUER_PATHS, devIssuerUrl, devStaticKeys, loadDevIssuerKey } from './dev/issuer.ts';
import { devIssuerRoutes } from './http/routes/dev-issuer.ts';
import { createPolicyHolder } from './policy/load/holder.ts';
import { startAuditCheckpoints } from './audit/checkpoint-timer.ts';

export interface ServerOptions {
  /** Adds the dev issuer (SPEC §7); refused unless listening on loopback. */
  dev?: boolean;
  logger?: Logger;
  /** Where audit records go when `audit.stdout` is on. */
  auditStream?: Pick<NodeJS.WritableStream, 'write'>;
  now?: () => number;
  /** Wraps the opened store (fault injection in tests; instrumentation). */
  wrapStore?: (store: Store) => Store;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Re-reads the policies folder; the old set stays in force if the new one is invalid. */
  reloadPolicies(): Promise<boolean>;
  /** Stops accepting, finishes in-flight requests, closes the store. */
  close(): Promise<void>;
}

/** Starts the service; rejects (refusing to start) on an invalid policy set or an unusable store. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const now = options.now ?? Date.now;
  const metrics = createMetrics({ processMetrics: true });
  const issuerKinds = Object.fromEntries(Object.entries(config.issuers).map(([name, issuer]) => [name, { kind: issuer.kind }]));
  // What start-up opened so far: undone if a later step fails, so a refused start exits
  // instead of idling on watchers, timers and connections.
  const undo: Array<() => unknown> = [];
  try {
    const policies = await createPolicyHolder({ dir: config.policies.dir, watch: config.policies.watch, issuers: issuerKinds, maxTtl: config.limits.max_ttl, metrics, logger });
    undo.push(() => policies.close());
    const opened = await openStore(config.store.url, { logger, ...storeOptionsFromConfig(config.store) });
    undo.push(() => opened.close());
    const store = options.wrapStore ? options.wrapStore(opened) : opened;
    const signing = await loadSigningKeys(config.signing.keys_dir);
    const devKey = options.dev ? await loadDevIssuerKey(config.signing.keys_dir) : undefined;
    const verifier = createTokenVerifier({
      issuers: config.issuers,
      audience: serviceAudience(config),
      logger,
      now,
      maxTokenBytes: config.limits.max_token_bytes,
      onJwksFetch: (issuer, outcome) => metrics.jwksFetches.inc({ issuer, outcome }),
      ...(devKey !== undefined ? { staticKeys: devStaticKeys(config.issuers, config.public_url, devKey.publicJwk) } : {}),
    });
    undo.push(() => verifier.close());
    const minters = new Map<string, Minter>([
      ['token', createTokenMinter({ issuer: config.public_url, signingKey: () => signing.active })],
      ['aws', createAwsMinter({ region: config.aws.region, endpoint: config.aws.endpoint, logger })],
    ]);
    const auditStream = options.auditStream ?? process.stdout;
    const exchange = createExchange({
      verifier, store, minters, metrics, logger, now,
      policies: policies.current,
      explainDenials: config.explain_denials,
      trustedOwners: config.trust.owners,
      // Counted in the store (shared between replicas on PostgreSQL); through a wrapped store only if it counts.
      repositoryLimiter: createRateLimiter({ limit: config.limits.per_repository_per_minute, counters: countersOf(store, opened), now }),
      clientIpLimiter: createRateLimiter({ limit: config.limits.per_client_ip_per_minute, counters: countersOf(store, opened), now }),
      onAudit: config.audit.stdout ? (record) => auditStream.write(`${JSON.stringify(record)}\n`) : undefined,
    });
    const onGrantAudit = config.audit.stdout ? (record: object) => auditStream.write(`${JSON.stringify(record)}\n`) : undefined;
    const app = createApp({
      revocation: { store, verifier, logger, now, limits: config.limits, onAudit: onGrantAudit },
      introspection: {
        store, logger, now, limits: config.limits, onAudit: onGrantAudit,
        bearer: config.introspection.bearer, publicUrl: config.public_url, signingKeys: () => signing,
      },
      exchange, logger, metrics,
      limits: config.limits,
      publicUrl: config.public_url,
      signingKeys: () => signing,
      readiness: async () => {
        const problems = policies.problems();
        try {
          await store.ping();
        } catch {
          problems.push('store unreachable');
        }
        return problems;
      },
      devIssuer: devKey === undefined ? undefined : { url: devIssuerUrl(config.public_url), jwks: { keys: [devKey.publicJwk] } },
    });
    // The second dev issuer, GHES-shaped (SPEC §7: npm start configures every issuer the shipped examples name).
    if (devKey !== undefined) app.route(DEV_ISSUER_PATHS.ghes, devIssuerRoutes({ url: devIssuerUrl(config.public_url, 'ghes'), jwks: { keys: [devKey.publicJwk] } }));
    const purge = setInterval(() => {
      store.purgeExpired(Math.floor(now() / 1000)).catch((error: unknown) => logger.warn('replay purge failed', { error }));
    }, 60_000);
    purge.unref();
    undo.push(() => clearInterval(purge));
    const checkpoints = startAuditCheckpoints({
      store, audit: config.audit, signingKey: () => signing.active, issuer: config.public_url,
      policySetVersion: () => policies.current().version, logger, now,
    });
    undo.push(() => checkpoints.stop());

    const server = await listen(app.fetch, config.listen.host, config.listen.port, config.limits);
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${port}`;
    logger.info('listening', { url, policies: policies.current().policies.size, policy_set_version: policies.current().version, store: store.engine, dev: options.dev === true });
    return {
      url,
      port,
      reloadPolicies: policies.reload,
      async close() {
        clearInterval(purge);
        policies.close();
        await new Promise<void>((resolve) => {
          // close() ends only the connections idle right now; one that finishes its request later would
          // stay open until the client's keep-alive ends it, so sweep until every connection is gone.
          const sweep = setInterval(() => server.closeIdleConnections(), 50);
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          server.closeIdleConnections();
        });
        verifier.close();
        await checkpoints.stop(); // the last checkpoint, after in-flight requests finished
        await store.close();
        logger.info('stopped');
      },
    };
  } catch (error) {
    for (const step of undo.reverse()) await Promise.resolve().then(step).catch(() => undefined);
    throw error;
  }
}

/** The wrapped store's request counters when it has its own (fault-injecting tests), else the opened store's. */
function countersOf(store: Store, opened: RequestCounters): RequestCounters {
  return 'countRequests' in store && 'peekRequests' in store ? (store as Store & RequestCounters) : opened;
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], hostname: string, port: number, limits: Config['limits']): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port, serverOptions: httpServerOptions(limits) }) as Server;
    server.maxConnections = limits.max_connections;
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * The HTTP server's own limits (config `limits`): a client that sends its
 * headers or body too slowly gets 408 and is cut off; oversized headers get 431.
 */
function httpServerOptions(limits: Config['limits']): HttpServerOptions {
  const requestTimeout = limits.request_timeout * 1000;
  const headersTimeout = Math.min(limits.headers_timeout * 1000, requestTimeout);
  return {
    requestTimeout,
    headersTimeout,
    maxHeaderSize: limits.max_header_bytes,
    // Node checks both timeouts on this interval (default 30 s); a quarter of the shorter keeps the cut-off near the setting.
    connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(headersTimeout / 4))),
  };
}
