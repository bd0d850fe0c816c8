/**
 * The service configuration (SPEC §4): one YAML file plus `LATCHKEY_<PATH>`
 * environment overrides, validated once at start-up by one zod schema.
 */
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { applyEnvOverrides, type JsonObject } from './config-env.ts';
import { parseDuration } from './duration.ts';

/** A string field that also accepts a YAML/env number (`bearer: 12345`). */
const text = z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().min(1));

/** A duration in config text (`1h`), parsed to seconds. */
const duration = z.union([z.string(), z.number().int().positive()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const seconds = parseDuration(value);
  if (seconds === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use 30s, 10m, 1h)` });
    return z.NEVER;
  }
  return seconds;
});

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** True for hosts that never leave the machine (the only ones allowed plain http). */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** An issuer URL: https, or http on loopback only (local testing). */
const issuerUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL` });
    return;
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
  ctx.addIssue({ code: 'custom', message: `issuer URLs must be https:// (http:// only on loopback), got "${value}"` });
});

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const IssuerConfig = z.strictObject({
  url: issuerUrl,
  /** github: GitHub-shaped claims (owner/repository case folding, repository constraint). */
  kind: z.enum(['github', 'gitlab', 'generic']).default('github'),
  algorithms: z.array(z.enum(ALGORITHMS)).min(1).optional(),
  /** Where the keys are; default: discovered from `<url>/.well-known/openid-configuration`. */
  jwks_url: issuerUrl.optional(),
  jwks_stale_max: duration.default(3600),
  jwks_timeout: duration.default(5),
});
export type IssuerConfig = z.infer<typeof IssuerConfig>;

const GITHUB_PRESET = { url: 'https://token.actions.githubusercontent.com' };

export const Config = z.strictObject({
  public_url: issuerUrl.default('http://127.0.0.1:8080'),
  /** The `aud` subject tokens must carry; default public_url. */
  audience: text.optional(),
  listen: z
    .strictObject({
      host: text.default('127.0.0.1'),
      port: z.coerce.number().int().min(0).max(65535).default(8080),
    })
    .default({ host: '127.0.0.1', port: 8080 }),
  issuers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'issuer names are lower-case letters, digits, - and _'), IssuerConfig).default({
    github: IssuerConfig.parse(GITHUB_PRESET),
  }),
  trust: z.strictObject({ owners: z.array(text).optional() }).default({}),
  policies: z.strictObject({ dir: text.default('./policies'), watch: z.boolean().default(true) }).default({ dir: './policies', watch: true }),
  /** `url` picks the engine (SPEC §4); the rest applies to postgres:// stores only. */
  store: z
    .strictObject({
      url: text.default('sqlite:./data/latchkey.db'),
      /** Connections per replica. */
      pool: z.strictObject({ max: z.coerce.number().int().min(1).max(1000).default(10) }).default({ max: 10 }),
      /** Server-side limit per statement, including a chain write's wait for the head lock. */
      statement_timeout: duration.default(5),
      connect_timeout: duration.default(5),
      /** TLS to the database (managed PostgreSQL); the URL's `sslmode` applies when this is off. */
      tls: z
        .strictObject({
          enabled: z.boolean().default(false),
          /** PEM CA bundle to trust instead of Node's bundled roots. */
          ca_file: text.nullable().default(null),
          /** false encrypts without checking who answers: for testing only. */
          reject_unauthorized: z.boolean().default(true),
        })
        .default({ enabled: false, ca_file: null, reject_unauthorized: true }),
    })
    .superRefine((store, ctx) => {
      if (!store.tls.enabled && (store.tls.ca_file !== null || !store.tls.reject_unauthorized)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tls', 'enabled'],
          message: 'store.tls.ca_file and store.tls.reject_unauthorized take effect only with store.tls.enabled: true',
        });
      }
    })
    .default({
      url: 'sqlite:./data/latchkey.db',
      pool: { max: 10 },
      statement_timeout: 5,
      connect_timeout: 5,
      tls: { enabled: false, ca_file: null, reject_unauthorized: true },
    }),
  signing: z.strictObject({ keys_dir: text.default('./data/keys') }).default({ keys_dir: './data/keys' }),
  aws: z
    .strictObject({ region: text.default('us-east-1'), endpoint: z.string().url().nullable().default(null) })
    .default({ region: 'us-east-1', endpoint: null }),
  limits: z
    .strictObject({
      max_ttl: duration.default(3600),
      per_repository_per_minute: z.coerce.number().int().min(0).default(120),
      per_client_ip_per_minute: z.coerce.number().int().min(0).default(600),
      max_body_bytes: z.coerce
        .number()
        .int()
        .min(1024)
        .default(64 * 1024),
      max_token_bytes: z.coerce
        .number()
        .int()
        .min(1024)
        .default(16 * 1024),
      /** The whole request (headers and body) must arrive within this, or the client gets 408 and is cut off. */
      request_timeout: duration.default(30),
      /** The request line and headers must arrive within this (at most request_timeout). */
      headers_timeout: duration.default(10),
      /** Connections open at once; more are closed as they are accepted. */
      max_connections: z.coerce.number().int().min(1).default(1024),
      /** Request line plus headers, in bytes; larger requests get 431 (Node's default is 16 KiB). */
      max_header_bytes: z.coerce
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024)
        .default(16 * 1024),
    })
    .superRefine((limits, ctx) => {
      if (limits.headers_timeout > limits.request_timeout) {
        ctx.addIssue({ code: 'custom', path: ['headers_timeout'], message: `must not be longer than limits.request_timeout (${limits.request_timeout}s)` });
      }
    })
    .default({
      max_ttl: 3600,
      per_repository_per_minute: 120,
      per_client_ip_per_minute: 600,
      max_body_bytes: 65536,
      max_token_bytes: 16384,
      request_timeout: 30,
      headers_timeout: 10,
      max_connections: 1024,
      max_header_bytes: 16384,
    }),
  explain_denials: z.enum(['conditions', 'full', 'none']).default('conditions'),
  audit: z
    .strictObject({
      stdout: z.boolean().default(false),
      /** How often the chain head is signed when it moved (SPEC §5 checkpoints); 0 turns checkpoints off. */
      checkpoint_interval: z
        .union([z.string(), z.number().int().min(0)])
        .transform((value, ctx) => {
          if (value === 0 || value === '0' || value === '0s') return 0;
          const parsed = duration.safeParse(value);
          if (parsed.success) return parsed.data;
          ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use 30s, 10m, 1h; 0 turns checkpoints off)` });
          return z.NEVER;
        })
        .default(300),
      /** Also append every checkpoint (one JWS per line) to this file; its folder must exist. */
      checkpoint_file: text.optional(),
    })
    .default({ stdout: false, checkpoint_interval: 300 }),
  introspection: z
    .strictObject({
      // RFC 6750 §2.1's b64token: a secret outside it could never be presented in an Authorization header.
      bearer: text
        .pipe(z.string().regex(/^[A-Za-z0-9._~+/-]+=*$/, 'must be a bearer token: letters, digits and ._~+/- (then = padding)'))
        .nullable()
        .default(null),
    })
    .default({ bearer: null }),
  log: z.strictObject({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') }).default({ level: 'info' }),
});
export type Config = z.infer<typeof Config>;

/** A configuration that cannot be used; `message` names every bad field. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadConfigOptions {
  /** The config file; default `latchkey.yaml` when present, else built-in defaults. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Extra settings layered under the file (e.g. `npm start`'s dev defaults). */
  base?: Record<string, unknown>;
}

/** Reads, overrides and validates the configuration, or throws ConfigError naming each bad field. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? (existsSync('latchkey.yaml') ? 'latchkey.yaml' : undefined);
  let raw: JsonObject = structuredClone((options.base ?? {}) as JsonObject);
  if (file !== undefined) {
    let parsed: unknown;
    try {
      parsed = parseYaml(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`config ${file}: ${(error as Error).message}`);
    }
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError(`config ${file}: the top level must be a mapping`);
    }
    raw = { ...raw, ...((parsed ?? {}) as JsonObject) };
  }
  applyEnvOverrides(Config, raw, env);
  const result = Config.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The audience subject tokens must carry. */
export const serviceAudience = (config: Config): string => config.audience ?? config.public_url;
