/**
 * The soak benchmark's service: a policy folder and config in a temporary
 * folder, `latchkey serve` as a child process, its RSS read from /proc, and
 * the audit check after it stopped (every grant id a client received has its
 * `granted` record; the chain verifies).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createChainVerifier } from '../exchange-service/src/audit/chain.ts';
import { openStore } from '../exchange-service/src/store/open.ts';
import { latchkeyCommand } from './child.ts';

export interface SoakServiceOptions {
  /** The repository root (where `exchange-service/bin/latchkey.js` is). */
  root: string;
  /** A temporary folder for policies, config, store and keys. */
  dir: string;
  issuerUrl: string;
  audience: string;
  /** How many policies (`soak/app-<n>`), each with `policyText`. */
  policies: number;
  policyText: string;
}

export interface SoakService {
  url: string;
  storeUrl: string;
  rssAtStart: number;
  /** The service's resident set now, in bytes (0 once it exited). */
  rss(): number;
  /** SIGTERM, and resolves when it exited (at once if it already has). */
  stop(): Promise<void>;
}

/** Writes the world and starts the service; resolves when it listens. */
export async function startSoakService(options: SoakServiceOptions): Promise<SoakService> {
  const policiesDir = join(options.dir, 'policies', 'soak');
  mkdirSync(policiesDir, { recursive: true });
  for (let index = 0; index < options.policies; index++) writeFileSync(join(policiesDir, `app-${index}.yaml`), options.policyText);
  const storeUrl = `sqlite:${join(options.dir, 'data', 'latchkey.db')}`;
  const config = {
    public_url: options.audience,
    listen: { host: '127.0.0.1', port: 0 },
    issuers: { github: { url: options.issuerUrl } },
    policies: { dir: join(options.dir, 'policies'), watch: false },
    store: { url: storeUrl },
    signing: { keys_dir: join(options.dir, 'keys') },
    limits: { per_repository_per_minute: 0, per_client_ip_per_minute: 0 },
  };
  const configFile = join(options.dir, 'latchkey.yaml');
  writeFileSync(configFile, JSON.stringify(config)); // JSON is YAML
  // The service's own settings only: no LATCHKEY_* from the caller's environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('LATCHKEY_')));
  const child = spawn(process.execPath, [...latchkeyCommand(options.root), 'serve', '--config', configFile], {
    cwd: options.dir,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = await listening(child);
  const rss = (): number => residentBytes(child.pid);
  return {
    url,
    storeUrl,
    rssAtStart: rss(),
    rss,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let stderr = '';
    const onData = (chunk: Buffer): void => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
      const match = /"msg":"listening","url":"([^"]+)"/.exec(stderr);
      if (match?.[1] !== undefined) resolveUrl(match[1]);
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`latchkey serve exited (${code}) before listening:\n${stderr}`)));
  });
}

function residentBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** Reads the stopped service's store: which of `grantIds` lack a `granted` record, and whether the chain verifies. */
export async function checkSoakAudit(storeUrl: string, grantIds: readonly string[]): Promise<{ missing: string[]; intact: boolean; records: number }> {
  const store = await openStore(storeUrl, { readOnly: true });
  const recorded = new Set<string>();
  const verifier = createChainVerifier();
  let records = 0;
  try {
    for await (const record of store.readAudit()) {
      records += 1;
      verifier.push(record);
      const grant = record.grant as { id?: unknown } | null | undefined;
      if (record.outcome === 'granted' && typeof grant?.id === 'string') recorded.add(grant.id);
    }
  } finally {
    await store.close();
  }
  return { missing: grantIds.filter((id) => !recorded.has(id)), intact: verifier.verdict().ok, records };
}
