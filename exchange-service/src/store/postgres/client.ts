/**
 * The connection pool of the PostgreSQL store (the `postgres` driver):
 * pool size, server-side statement timeout, connect timeout, quick
 * reconnection after an outage, TLS for managed PostgreSQL. The URL's own
 * parameters (`sslmode`, `search_path`, `application_name`, …) still apply;
 * the options here win where both speak.
 */
import postgres from 'postgres';
import type { Logger } from '../../log.ts';

/** TLS towards the database; given, TLS is required. */
export interface PostgresTlsOptions {
  /** PEM text of the CA(s) to trust instead of Node's bundled roots (a managed database's CA bundle). */
  ca?: string;
  /** Verify the server's certificate and name (default true). false encrypts without authenticating the server. */
  rejectUnauthorized?: boolean;
}

/** How the pool connects; each has a default. */
export interface PostgresClientOptions {
  /** Most connections in this process's pool; default 10. */
  poolMax?: number;
  /** Server-side limit per statement (includes waiting for the chain head's lock); default 5000 ms. */
  statementTimeoutMs?: number;
  /** Limit for opening a connection (TCP, TLS, authentication); default 5000 ms. */
  connectTimeoutMs?: number;
  tls?: PostgresTlsOptions;
  /** Sessions refuse writes (the server enforces it): for `audit verify`. */
  readOnly?: boolean;
}

/** Timeouts after defaults. */
export interface ClientTimeouts {
  statementTimeoutMs: number;
  connectTimeoutMs: number;
}

/** The timeouts `options` asks for, defaults filled in. */
export function clientTimeouts(options: PostgresClientOptions): ClientTimeouts {
  return { statementTimeoutMs: options.statementTimeoutMs ?? 5000, connectTimeoutMs: options.connectTimeoutMs ?? 5000 };
}

/** Creates the pool; it connects lazily, on the first query. */
export function createClient(url: string, options: PostgresClientOptions, logger: Logger): postgres.Sql {
  const { statementTimeoutMs, connectTimeoutMs } = clientTimeouts(options);
  return postgres(url, {
    max: options.poolMax ?? 10,
    connect_timeout: connectTimeoutMs / 1000,
    // Close idle connections before proxies and managed databases silently drop them.
    idle_timeout: 60,
    // After an outage, try again soon: the driver's default backs off to 20 s between attempts.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1),
    // No array or custom types are used: skip the type query on every new connection.
    fetch_types: false,
    onnotice: (notice) => logger.debug('postgres notice', { message: notice.message, code: notice.code }),
    ...(options.tls === undefined ? {} : { ssl: tlsOptions(url, options.tls) }),
    connection: {
      application_name: 'latchkey',
      statement_timeout: statementTimeoutMs,
      // A session stuck inside a transaction (a hung replica) must not hold the chain head's lock for long.
      idle_in_transaction_session_timeout: Math.max(statementTimeoutMs, 1000),
      ...(options.readOnly === true ? { default_transaction_read_only: true } : {}),
    },
  });
}

/** Node TLS options; the host goes along so an IP address is checked against the certificate's IP SANs. */
function tlsOptions(url: string, tls: PostgresTlsOptions): { rejectUnauthorized: boolean; ca?: string; host?: string } {
  const host = singleHost(url);
  return {
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(host === undefined ? {} : { host }),
  };
}

function singleHost(url: string): string | undefined {
  try {
    const { hostname } = new URL(url);
    return hostname === '' || hostname.includes(',') ? undefined : hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return undefined; // several hosts (`h1:5432,h2:5432`) are not one URL host
  }
}

/** The URL without its password, for logs and messages. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
