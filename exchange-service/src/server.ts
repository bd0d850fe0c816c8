/**
 * The only place that builds real dependencies from the configuration:
 * store, verifier, policies (with reload), signing keys, minters, metrics,
 * and the HTTP server. Returns a handle that reloads and drains.
 */
import { createApp } from './app.ts';
import { serviceAudience, type Config } from './config.ts';
import { createExchange } from './decisions/exchange.ts';
import { createIntrospect } from './decisions/introspect.ts';
import { createRevoke } from './decisions/revoke.ts';
import { createGrantIdSource } from './grants/grant-id.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createRateLimiter } from './decisions/rate-limit.ts';
import { createLogger, type Logger } from './log.ts';
import { openStore, storeOptionsFromConfig } from './store/open.ts';
import type { Store } from './store/store.ts';
import { createTokenVerifier, type TokenVerifier } from './oidc/verify.ts';
import { loadSigningKeys, type SigningKey, type SigningKeyRing } from './jws/signing-keys.ts';
import { createTokenMinter } from './grants/token.ts';
import { createAwsMinter } from './grants/aws.ts';
import type { Minter } from './grants/minter.ts';
import { DEV_ISSUER_PATHS, devIssuerUrl, devStaticKeys, loadDevIssuerKey } from './dev/issuer.ts';
import { devIssuerRoutes } from './http/routes/dev-issuer.ts';
import { createPolicyHolder, type PolicyHolder } from './policy/load/holder.ts';
import { startAuditCheckpoints } from './audit/checkpoint-timer.ts';
import { listen } from './http/listen.ts';

export interface ServerOptions {
  /** Adds the dev issuer (SPEC §7); refused unless listening on loopback. */
  dev?: boolean;
  logger?: Logger;
  /** Where audit records go when `audit.stdout` is on. */
  auditStream?: Pick<NodeJS.WritableStream, 'write'>;
  now?: () => number;
  /** Wraps the opened store (fault injection in tests; instrumentation); the wrapper's request counters are the ones counted in. */
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
  // What start-up opened so far: undone if a later step fails, so a refused start exits
  // instead of idling on watchers, timers and connections.
  const undo: Array<() => unknown> = [];
  try {
    const policies = await createPolicyHolder({
      dir: config.policies.dir,
      watch: config.policies.watch,
      issuers: issuerKindsOf(config),
      maxTtl: config.limits.max_ttl,
      metrics,
      logger,
    });
    undo.push(() => policies.close());
    const opened = await openStore(config.store.url, { logger, ...storeOptionsFromConfig(config.store) });
    undo.push(() => opened.close());
    const store = options.wrapStore ? options.wrapStore(opened) : opened;
    const signing = await loadSigningKeys(config.signing.keys_dir);
    const devKey = options.dev ? await loadDevIssuerKey(config.signing.keys_dir) : undefined;
    const verifier = createVerifier(config, { logger, now, metrics, devKey });
    undo.push(() => verifier.close());
    const auditStream = options.auditStream ?? process.stdout;
    const app = createServiceApp(config, { logger, now, metrics, store, verifier, signing, policies, devKey, auditStream });
    const purge = startReplayPurge({ store, now, logger });
    undo.push(() => purge.stop());
    const checkpoints = startAuditCheckpoints({
      store,
      audit: config.audit,
      signingKey: () => signing.active,
      issuer: config.public_url,
      policySetVersion: () => policies.current().version,
      logger,
      now,
    });
    undo.push(() => checkpoints.stop());

    const http = await listen(app.fetch, { hostname: config.listen.host, port: config.listen.port, limits: config.limits });
    logger.info('listening', {
      url: http.url,
      policies: policies.current().policies.size,
      policy_set_version: policies.current().version,
      store: store.engine,
      dev: options.dev === true,
    });
    return {
      url: http.url,
      port: http.port,
      reloadPolicies: policies.reload,
      async close() {
        purge.stop();
        policies.close();
        await http.close();
        verifier.close();
        await checkpoints.stop(); // the last checkpoint, after in-flight requests finished
        await store.close();
        logger.info('stopped');
      },
    };
  } catch (error) {
    for (const step of undo.reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => undefined);
    throw error;
  }
}

/** Each configured issuer's kind, as the policy loader checks policies against them. */
function issuerKindsOf(config: Config): Record<string, { kind: Config['issuers'][string]['kind'] }> {
  return Object.fromEntries(Object.entries(config.issuers).map(([name, issuer]) => [name, { kind: issuer.kind }]));
}

/** The subject-token verifier for the configured issuers (and, under `--dev`, the dev issuers' static keys). */
function createVerifier(config: Config, deps: { logger: Logger; now: () => number; metrics: Metrics; devKey: SigningKey | undefined }): TokenVerifier {
  const { logger, now, metrics, devKey } = deps;
  return createTokenVerifier({
    issuers: config.issuers,
    audience: serviceAudience(config),
    logger,
    now,
    maxTokenBytes: config.limits.max_token_bytes,
    onJwksFetch: (issuer, outcome) => metrics.jwksFetches.inc({ issuer, outcome }),
    ...(devKey !== undefined ? { staticKeys: devStaticKeys(config.issuers, config.public_url, devKey.publicJwk) } : {}),
  });
}

/** What start-up built that the app's routes and decisions use. */
interface ServiceParts {
  logger: Logger;
  now: () => number;
  metrics: Metrics;
  store: Store;
  verifier: TokenVerifier;
  signing: SigningKeyRing;
  policies: PolicyHolder;
  devKey: SigningKey | undefined;
  auditStream: Pick<NodeJS.WritableStream, 'write'>;
}

/** The minters, the exchange and the app with every route (the dev issuers' under `--dev`). */
function createServiceApp(config: Config, parts: ServiceParts): ReturnType<typeof createApp> {
  const { logger, now, metrics, store, verifier, signing, policies, devKey, auditStream } = parts;
  const minters = new Map<string, Minter>([
    ['token', createTokenMinter({ issuer: config.public_url, signingKey: () => signing.active })],
    ['aws', createAwsMinter({ region: config.aws.region, endpoint: config.aws.endpoint, logger })],
  ]);
  const exchange = createExchange({
    verifier,
    store,
    minters,
    metrics,
    logger,
    now,
    newGrantId: createGrantIdSource(),
    policies: policies.current,
    explainDenials: config.explain_denials,
    trustedOwners: config.trust.owners,
    // Counted in the store (shared between replicas on PostgreSQL).
    repositoryLimiter: createRateLimiter({ limit: config.limits.per_repository_per_minute, counters: store, now }),
    clientIpLimiter: createRateLimiter({ limit: config.limits.per_client_ip_per_minute, counters: store, now }),
    onAudit: config.audit.stdout ? (record) => auditStream.write(`${JSON.stringify(record)}\n`) : undefined,
  });
  const onGrantAudit = config.audit.stdout ? (record: object) => auditStream.write(`${JSON.stringify(record)}\n`) : undefined;
  const app = createApp({
    revocation: { revoke: createRevoke({ store, verifier, logger, now, onAudit: onGrantAudit }) },
    introspection: {
      bearer: config.introspection.bearer,
      introspect: createIntrospect({
        store,
        logger,
        now,
        onAudit: onGrantAudit,
        maxTokenBytes: config.limits.max_token_bytes,
        publicUrl: config.public_url,
        signingKeys: () => signing,
      }),
    },
    exchange,
    logger,
    metrics,
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
  if (devKey !== undefined)
    app.route(DEV_ISSUER_PATHS.ghes, devIssuerRoutes({ url: devIssuerUrl(config.public_url, 'ghes'), jwks: { keys: [devKey.publicJwk] } }));
  return app;
}

/** Deletes expired replay claims (and ended counter windows) every minute; the timer does not keep the process alive. */
function startReplayPurge(deps: { store: Store; now: () => number; logger: Logger; intervalMs?: number }): { stop(): void } {
  const timer = setInterval(() => {
    deps.store.purgeExpired(Math.floor(deps.now() / 1000)).catch((error: unknown) => deps.logger.warn('replay purge failed', { error }));
  }, deps.intervalMs ?? 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
