/**
 * Starts the real service on a loopback port with a loopback OIDC issuer, a
 * temporary policies folder and a real SQLite file, and captures every log
 * and audit line so tests can assert on outcomes and scan for secrets.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { Config } from '../../exchange-service/src/config.ts';
import { createLogger } from '../../exchange-service/src/log.ts';
import { startServer, type RunningServer } from '../../exchange-service/src/server.ts';
import type { Store } from '../../exchange-service/src/store/store.ts';
import { startTestIssuer, type TestIssuer } from './oidc-issuer.ts';

/** A token-grant policy for the test issuer's default claims. */
export const BASIC_POLICY = `version: 1
description: Test policy.
issuer: github
subject:
  repository: acme/webapp
  repository_id: "892341"
  ref: refs/heads/main
  runner_environment: github-hosted
ttl: { default: 10m, max: 30m }
grant:
  token: { audience: https://internal.example, scope: [artifacts:read, artifacts:write] }
`;

export interface TestService {
  url: string;
  issuer: TestIssuer;
  server: RunningServer;
  /** The temporary folder holding policies/, data/ and keys/. */
  dir: string;
  policiesDir: string;
  config: Config;
  /** Every log line (stderr) and audit line (stdout) written so far. */
  logs: string[];
  audit: string[];
  /** POSTs form parameters to a path and returns status, headers and JSON body. */
  post(path: string, params: Record<string, string>, init?: { json?: boolean; headers?: Record<string, string> }): Promise<TestResponse>;
  /** Writes a policy file below the policies folder. */
  writePolicy(name: string, text: string): Promise<void>;
  /** Restarts the service on the same folder (and store). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export interface StartTestServiceOptions {
  policies?: Record<string, string>;
  config?: Record<string, unknown>;
  /** Reuse a folder (e.g. to restart on the same store). */
  dir?: string;
  issuer?: TestIssuer;
  now?: () => number;
  wrapStore?: (store: Store) => Store;
}

const collector = (lines: string[]): Writable =>
  new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(line);
      callback();
    },
  });

/** Starts the service; the caller must `close()` it. */
export async function startTestService(options: StartTestServiceOptions = {}): Promise<TestService> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'latchkey-test-')));
  const policiesDir = join(dir, 'policies');
  await mkdir(policiesDir, { recursive: true });
  const audience = 'https://latchkey.test';
  const issuer = options.issuer ?? (await startTestIssuer({ audience }));
  for (const [name, text] of Object.entries(options.policies ?? { 'webapp/read': BASIC_POLICY })) {
    await mkdir(dirname(join(policiesDir, `${name}.yaml`)), { recursive: true });
    await writeFile(join(policiesDir, `${name}.yaml`), text);
  }
  const config = Config.parse({
    public_url: audience,
    listen: { host: '127.0.0.1', port: 0 },
    issuers: { github: { url: issuer.url, jwks_timeout: '2s' } },
    store: { url: `sqlite:${join(dir, 'data', 'latchkey.db')}` },
    signing: { keys_dir: join(dir, 'keys') },
    audit: { stdout: true },
    log: { level: 'debug' },
    ...options.config,
    policies: { dir: policiesDir, watch: false, ...(options.config?.policies as object | undefined) },
  });

  const logs: string[] = [];
  const audit: string[] = [];
  const start = () =>
    startServer(config, {
      logger: createLogger({ level: 'debug', stream: collector(logs) }),
      auditStream: collector(audit),
      ...(options.now ? { now: options.now } : {}),
      ...(options.wrapStore ? { wrapStore: options.wrapStore } : {}),
    });
  let server: RunningServer;
  try {
    server = await start();
  } catch (error) {
    if (options.issuer === undefined) await issuer.close();
    if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const service: TestService = {
    get url() {
      return server.url;
    },
    issuer,
    dir,
    policiesDir,
    config,
    logs,
    audit,
    get server() {
      return server;
    },
    async post(path, params, init = {}) {
      const body = init.json ? JSON.stringify(params) : new URLSearchParams(params).toString();
      const contentType = init.json ? 'application/json' : 'application/x-www-form-urlencoded';
      const response = await fetch(`${server.url}${path}`, { method: 'POST', body, headers: { 'content-type': contentType, ...init.headers } });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    },
    async writePolicy(name, text) {
      await mkdir(dirname(join(policiesDir, `${name}.yaml`)), { recursive: true });
      await writeFile(join(policiesDir, `${name}.yaml`), text);
    },
    async restart() {
      await server.close();
      server = await start();
    },
    async close() {
      await server.close();
      if (options.issuer === undefined) await issuer.close();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  } as TestService;
  return service;
}

/** The form parameters of a token exchange for `policy` with `token`. */
export function exchangeParams(token: string, policy: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: token,
    subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    audience: policy,
    ...extra,
  };
}
