/**
 * Soak benchmark (`npm run bench:soak`): the service as a child process
 * (`latchkey serve`, SQLite store with durable audit) under steady paced load
 * for minutes, mixing good and bad requests: fresh tokens (granted), replays
 * (token_replayed), forged signatures (token_invalid) and subjects a policy
 * refuses (policy_denied). Every interval it prints throughput, answers by
 * status and reason, and the service's RSS; at the end it checks the goals:
 * RSS growth under 10% after warm-up, no 5xx, and no unaudited grant (every
 * grant id a client received has its `granted` record, and the chain
 * verifies).
 *
 *   npm run bench:soak -- [--minutes 10] [--rate 300] [--connections 16] [--interval 30]
 *
 * Exit 0 when every goal held, 1 when one did not, 2 on a setup error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestIssuer, type TestIssuer } from '../test/support/oidc-issuer.ts';
import { BASIC_POLICY } from '../test/support/service.ts';
import { checkSoakAudit, startSoakService, type SoakService } from './soak-service.ts';

const ROOT = resolve(import.meta.dirname, '..');
const AUDIENCE = 'https://latchkey.soak.internal';
const POLICIES = 20;

interface SoakOptions {
  minutes: number;
  rate: number;
  connections: number;
  intervalSeconds: number;
}

/** What one request was, and how it was answered. */
type Kind = 'good' | 'replay' | 'forged' | 'denied';

interface Tally {
  sent: number;
  byAnswer: Map<string, number>;
  serverErrors: number;
  grantIds: string[];
}

function parseOptions(): SoakOptions {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '10' },
      rate: { type: 'string', default: '300' },
      connections: { type: 'string', default: '16' },
      interval: { type: 'string', default: '30' },
    },
  });
  const number = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${text}"`);
    return value;
  };
  return {
    minutes: number('minutes', values.minutes, 0.1),
    rate: number('rate', values.rate, 1),
    connections: Math.floor(number('connections', values.connections, 1)),
    intervalSeconds: number('interval', values.interval, 1),
  };
}

/** The request mix: 80% fresh tokens, then replays, forged signatures and refused subjects. */
function kindOf(index: number): Kind {
  const slot = index % 20;
  if (slot === 0 || slot === 10) return 'replay';
  if (slot === 5) return 'forged';
  if (slot === 15) return 'denied';
  return 'good';
}

async function tokenFor(kind: Kind, issuer: TestIssuer, lastGood: string | undefined): Promise<string> {
  if (kind === 'replay' && lastGood !== undefined) return lastGood;
  if (kind === 'forged') return issuer.sign({}, { corruptSignature: true });
  if (kind === 'denied') return issuer.sign({ ref: 'refs/heads/not-allowed' });
  return issuer.sign();
}

async function send(service: SoakService, token: string, policy: string): Promise<{ status: number; reason: string; grantId: string | undefined }> {
  const response = await fetch(`${service.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: token,
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      audience: policy,
    }),
  });
  const body = (await response.json().catch(() => ({}))) as { reason?: string; grant_id?: string };
  return { status: response.status, reason: body.reason ?? (response.status === 200 ? 'granted' : 'none'), grantId: body.grant_id };
}

/** Paced load: `connections` loops share one schedule of `rate` requests per second until `until`. */
async function drive(service: SoakService, issuer: TestIssuer, options: SoakOptions, until: number, tally: Tally): Promise<void> {
  const started = performance.now();
  let next = 0;
  let lastGood: string | undefined;
  const loop = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      const due = started + (index * 1000) / options.rate;
      if (due > until) return;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((done) => setTimeout(done, wait));
      const kind = kindOf(index);
      const token = await tokenFor(kind, issuer, lastGood);
      const policy = `soak/app-${index % POLICIES}`;
      tally.sent += 1;
      try {
        const answer = await send(service, token, policy);
        const key = `${answer.status} ${answer.reason}`;
        tally.byAnswer.set(key, (tally.byAnswer.get(key) ?? 0) + 1);
        if (answer.status >= 500) tally.serverErrors += 1;
        if (answer.status === 200 && answer.grantId !== undefined) tally.grantIds.push(answer.grantId);
        if (kind === 'good' && answer.status === 200) lastGood = token;
      } catch (error) {
        const key = `network ${(error as Error).message}`;
        tally.byAnswer.set(key, (tally.byAnswer.get(key) ?? 0) + 1);
        tally.serverErrors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(): Promise<number> {
  const options = parseOptions();
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-soak-'));
  const issuer = await startTestIssuer({ audience: AUDIENCE });
  let service: SoakService | undefined;
  try {
    const policy = BASIC_POLICY;
    service = await startSoakService({ root: ROOT, dir, issuerUrl: issuer.url, audience: AUDIENCE, policies: POLICIES, policyText: policy });
    const durationMs = options.minutes * 60_000;
    const warmupMs = Math.min(60_000, durationMs / 5);
    console.log(
      `soak: ${options.minutes} min at ${options.rate} requests/s on ${options.connections} connections (80% fresh tokens, 10% replays, 5% forged, 5% refused); warm-up ${(warmupMs / 1000).toFixed(0)} s`,
    );
    console.log(`service ${service.url}, RSS at start ${mb(service.rss())}`);
    const tally: Tally = { sent: 0, byAnswer: new Map(), serverErrors: 0, grantIds: [] };
    const begin = performance.now();
    const end = begin + durationMs;
    let rssAfterWarmup: number | undefined;
    let lastSent = 0;
    const ticker = setInterval(() => {
      const elapsed = (performance.now() - begin) / 1000;
      if (rssAfterWarmup === undefined && elapsed * 1000 >= warmupMs) rssAfterWarmup = service?.rss();
      const rate = (tally.sent - lastSent) / options.intervalSeconds;
      lastSent = tally.sent;
      const answers = [...tally.byAnswer]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, count]) => `${key}: ${count}`)
        .join(', ');
      console.log(
        `  t=${elapsed.toFixed(0).padStart(4)} s  ${rate.toFixed(0).padStart(5)} req/s  RSS ${mb(service?.rss() ?? 0)}  5xx ${tally.serverErrors}  [${answers}]`,
      );
    }, options.intervalSeconds * 1000);
    await drive(service, issuer, options, end, tally);
    clearInterval(ticker);
    const rssEnd = service.rss();
    rssAfterWarmup ??= rssEnd;
    await service.stop();
    const audit = await checkSoakAudit(service.storeUrl, tally.grantIds);
    const growth = (rssEnd - rssAfterWarmup) / rssAfterWarmup;
    const seconds = (performance.now() - begin) / 1000;
    console.log('\nsoak results');
    console.log(`  requests                      ${tally.sent} in ${seconds.toFixed(0)} s (${(tally.sent / seconds).toFixed(0)}/s)`);
    for (const [key, count] of [...tally.byAnswer].sort(([a], [b]) => (a < b ? -1 : 1))) console.log(`    ${key.padEnd(28)}${count}`);
    console.log(`  RSS start / after warm-up / end  ${mb(service.rssAtStart)} / ${mb(rssAfterWarmup)} / ${mb(rssEnd)}`);
    const goals: Array<[string, boolean, string]> = [
      ['RSS growth after warm-up < 10%', growth < 0.1, `${(growth * 100).toFixed(1)} %`],
      ['no 5xx or network errors', tally.serverErrors === 0, String(tally.serverErrors)],
      ['every grant has its granted record', audit.missing.length === 0, `${tally.grantIds.length - audit.missing.length} of ${tally.grantIds.length}`],
      ['audit chain intact', audit.intact, `${audit.records} records`],
    ];
    for (const [name, pass, figure] of goals) console.log(`  ${name.padEnd(38)}${figure.padEnd(22)}${pass ? 'PASS' : 'FAIL'}`);
    return goals.every(([, pass]) => pass) ? 0 : 1;
  } finally {
    await service?.stop();
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`soak: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 2;
  },
);
