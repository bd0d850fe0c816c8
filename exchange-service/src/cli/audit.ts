/**
 * `latchkey audit verify [--store URL] [--checkpoint FILE …]`: recomputes the
 * audit hash chain and, given checkpoints, holds the chain against them.
 * `latchkey audit report [--store URL] [--since DURATION] [--format md|json]`:
 * usage patterns over a window (SPEC §5).
 *
 * Exit codes: verify 0 intact; 1 broken, truncated, rewritten below a
 * checkpoint, or a checkpoint whose signature fails (the first bad record
 * is printed as ASCII JSON so no stored text can drive the terminal).
 * report 0. Both: 2 for usage errors and for stores, keys or checkpoint
 * files that cannot be read at all. The store is opened read-only: no
 * migration, no writes, safe next to a running service.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createChainVerifier, type ChainProblem } from '../audit/chain.ts';
import { createCheckpointMatcher, describeCheckpointProblem, type CheckpointMatcher } from '../audit/checkpoint-check.ts';
import { readJwks, readKeysDir, type KeySet } from '../audit/checkpoint-keys.ts';
import { extractCheckpoints, verifyCheckpoint, CheckpointError, type CheckpointClaims } from '../audit/checkpoint.ts';
import { buildAuditReport, type ReportOptions } from '../audit/report.ts';
import { renderReportJson, renderReportMarkdown } from '../audit/report-render.ts';
import { loadConfig, type Config } from '../config.ts';
import { parseDuration } from '../duration.ts';
import { loadPolicies } from '../policy/load/load.ts';
import { openStore, storeOptionsFromConfig } from '../store/open.ts';
import { CorruptRecordError, type Store } from '../store/store.ts';

/** Where the command writes and what it reads from its environment. */
export interface AuditCommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** The service config, consulted for `store.url`, `signing.keys_dir` and `policies.dir`; `--config` overrides it. */
  configFile?: string;
  /** Wall clock, ms (the end of the report's window); default Date.now. */
  now?: () => number;
  /** For `--jwks URL`; default the global fetch. */
  fetch?: typeof fetch;
}

const USAGE = `usage: latchkey audit verify [--store URL] [--config FILE] [--checkpoint FILE [--keys DIR | --jwks URL|FILE]]
       latchkey audit report [--store URL] [--config FILE] [--since DURATION] [--format md|json]`;
const DEFAULT_STORE_URL = 'sqlite:./data/latchkey.db';

/** What each flag's value is, for messages; the flags a command takes. */
const FLAG_VALUES = { store: 'a URL', config: 'a file', checkpoint: 'a file', keys: 'a folder', jwks: 'a URL or file', since: 'a duration', format: 'md or json' };
type Flag = keyof typeof FLAG_VALUES;
type Flags = Partial<Record<Flag, string>> & { help?: true };
const COMMAND_FLAGS: Record<'verify' | 'report', readonly Flag[]> = {
  verify: ['store', 'config', 'checkpoint', 'keys', 'jwks'],
  report: ['store', 'config', 'since', 'format'],
};

class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs `latchkey audit …` with the arguments after `audit`; resolves to the exit code. */
export async function runAuditCommand(args: string[], io: AuditCommandIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== 'verify' && command !== 'report') {
    io.stderr.write(`${command === undefined ? 'missing command' : `unknown command "audit ${ascii(command)}"`}\n${USAGE}\n`);
    return 2;
  }
  let flags: Flags;
  try {
    flags = parseFlags(rest, COMMAND_FLAGS[command]);
    if (flags.keys !== undefined && flags.jwks !== undefined) throw new UsageError('give --keys or --jwks, not both');
    if ((flags.keys ?? flags.jwks) !== undefined && flags.checkpoint === undefined) throw new UsageError('--keys and --jwks go with --checkpoint');
  } catch (error) {
    io.stderr.write(`latchkey audit ${command}: ${asciiLines((error as Error).message)}\n${USAGE}\n`);
    return 2;
  }
  if (flags.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    return command === 'verify' ? await runVerify(flags, io) : await runReport(flags, io);
  } catch (error) {
    io.stderr.write(`latchkey audit ${command}: ${asciiLines((error as Error).message)}\n${error instanceof UsageError ? `${USAGE}\n` : ''}`);
    return 2;
  }
}

function parseFlags(args: string[], allowed: readonly Flag[]): Flags {
  const flags: Flags = {};
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '--help' || arg === '-h') return { help: true };
    const match = /^--([a-z]+)(?:=(.*))?$/s.exec(arg);
    const flag = match?.[1] as Flag | undefined;
    if (match === null || flag === undefined || !allowed.includes(flag)) throw new UsageError(`unexpected argument "${arg}"`);
    const value = match[2] ?? args[(index += 1)];
    if (value === undefined || value === '') throw new UsageError(`--${flag} needs ${FLAG_VALUES[flag]}`);
    if (flags[flag] !== undefined) throw new UsageError(`--${flag} given twice`);
    flags[flag] = value;
  }
  return flags;
}

/** The config file: --config, else the caller's, else ./latchkey.yaml when present. */
function configFileOf(flags: Flags, io: AuditCommandIo): string | undefined {
  return flags.config ?? io.configFile ?? (existsSync('latchkey.yaml') ? 'latchkey.yaml' : undefined);
}

/** The store to read and how to connect to it. */
interface StoreChoice {
  url: string;
  /** The config file's store section, when there is a config file: its TLS, timeouts and pool apply to any URL. */
  settings: Config['store'] | undefined;
}

/** --store, else LATCHKEY_STORE_URL, else the config file's store.url (when there is a config file), else the default. */
function pickStoreUrl(flags: Flags, io: AuditCommandIo): StoreChoice {
  const fromEnv = io.env.LATCHKEY_STORE_URL;
  const given = flags.store ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined);
  // A config named on the command line always applies its connection settings; the default
  // latchkey.yaml is read only when it is also where the URL comes from.
  const explicit = flags.config ?? io.configFile;
  const file = given === undefined ? configFileOf(flags, io) : explicit;
  const settings = file === undefined ? undefined : loadConfig({ file, env: io.env }).store;
  return { url: given ?? settings?.url ?? DEFAULT_STORE_URL, settings };
}

/** Opens the store read-only, runs `work`, closes it; a store that cannot be opened or read exits 2. */
async function withStore(choice: StoreChoice, io: AuditCommandIo, command: string, work: (store: Store) => Promise<number>): Promise<number> {
  let store: Store;
  try {
    store = await openStore(choice.url, { readOnly: true, ...(choice.settings === undefined ? {} : storeOptionsFromConfig(choice.settings)) });
  } catch (error) {
    io.stderr.write(`latchkey audit ${command}: ${ascii((error as Error).message)}\n`);
    return 2;
  }
  try {
    return await work(store);
  } catch (error) {
    io.stderr.write(`latchkey audit ${command}: the audit log could not be read: ${ascii((error as Error).message)}\n`);
    return 2;
  } finally {
    await store.close();
  }
}

async function runVerify(flags: Flags, io: AuditCommandIo): Promise<number> {
  const storeUrl = pickStoreUrl(flags, io);
  let checkpoints: { valid: CheckpointClaims[]; refused: number } | undefined;
  if (flags.checkpoint !== undefined) {
    checkpoints = await readCheckpoints(flags.checkpoint, await pickKeys(flags, io), io);
    if (checkpoints === undefined) return 2;
  }
  const matcher = checkpoints === undefined ? undefined : createCheckpointMatcher(checkpoints.valid);
  const code = await withStore(storeUrl, io, 'verify', (store) => walkChain(store, io, matcher));
  return code === 0 && checkpoints !== undefined && checkpoints.refused > 0 ? 1 : code;
}

/** --keys DIR, else --jwks, else the config's signing.keys_dir. */
async function pickKeys(flags: Flags, io: AuditCommandIo): Promise<KeySet> {
  if (flags.keys !== undefined) return readKeysDir(flags.keys);
  if (flags.jwks !== undefined) return readJwks(flags.jwks, io.fetch === undefined ? {} : { fetch: io.fetch });
  const file = configFileOf(flags, io);
  return readKeysDir(loadConfig({ file, env: io.env }).signing.keys_dir);
}

/** Verifies every checkpoint in `file`, printing each one refused; undefined (exit 2) when the file holds none. */
async function readCheckpoints(file: string, keys: KeySet, io: AuditCommandIo): Promise<{ valid: CheckpointClaims[]; refused: number } | undefined> {
  const found = extractCheckpoints(await readFile(file, 'utf8'));
  if (found.length === 0) {
    io.stderr.write(`latchkey audit verify: no checkpoints in ${ascii(file)}\n`);
    return undefined;
  }
  const valid: CheckpointClaims[] = [];
  let refused = 0;
  for (const { line, jws } of found) {
    try {
      valid.push((await verifyCheckpoint(jws, keys)).claims);
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      refused += 1;
      io.stdout.write(`checkpoint refused (line ${line} of ${ascii(file)}): ${ascii(error.message)} [${error.code}]\n`);
    }
  }
  return { valid, refused };
}

async function walkChain(store: Store, io: AuditCommandIo, matcher: CheckpointMatcher | undefined): Promise<number> {
  const verifier = createChainVerifier();
  try {
    for await (const record of store.readAudit({ pageSize: 1000 })) {
      const problem = verifier.push(record);
      if (problem !== undefined) {
        reportBroken(io, problem, record, verifier.verdict().count);
        return 1;
      }
      const mismatch = matcher?.push(record);
      if (mismatch !== undefined) {
        io.stdout.write(`${describeCheckpointProblem(mismatch)}\n`);
        return 1;
      }
    }
  } catch (error) {
    if (!(error instanceof CorruptRecordError)) throw error;
    const problem = { seq: error.seq, id: '(unreadable)', problem: 'the stored record is not a JSON object' };
    reportBroken(io, problem, error.text, verifier.verdict().count);
    return 1;
  }
  const verdict = verifier.verdict();
  if (!verdict.ok) return 1; // unreachable: push() reported it above
  const truncated = matcher?.finish();
  if (truncated !== undefined) {
    io.stdout.write(`${describeCheckpointProblem(truncated)}\n`);
    return 1;
  }
  io.stdout.write(`audit chain intact: ${verdict.count} records, head ${verdict.head}\n`);
  if (matcher !== undefined) io.stdout.write(`checkpoints: ${matcher.matched()} matched the store\n`);
  return 0;
}

function reportBroken(io: AuditCommandIo, problem: ChainProblem, record: unknown, intact: number): void {
  io.stdout.write(
    `audit chain broken at seq ${problem.seq} (id ${asciiJson(problem.id)}): ${ascii(problem.problem)}\n` +
      `record: ${asciiJson(record)}\n` +
      `${intact} record(s) before it are intact\n`,
  );
}

async function runReport(flags: Flags, io: AuditCommandIo): Promise<number> {
  const format = flags.format ?? 'md';
  if (format !== 'md' && format !== 'json') throw new UsageError(`--format is md or json, not "${format}"`);
  const untilMs = (io.now ?? Date.now)();
  let sinceMs: number | undefined;
  if (flags.since !== undefined) {
    const seconds = parseWindow(flags.since);
    if (seconds === undefined) throw new UsageError(`--since "${flags.since}" is not a duration (use 30m, 24h, 7d)`);
    sinceMs = untilMs - seconds * 1000;
  }
  const policies = await loadReportPolicies(flags, io);
  return withStore(pickStoreUrl(flags, io), io, 'report', async (store) => {
    const options: ReportOptions = { sinceMs, untilMs, policies };
    const report = await buildAuditReport(store.readAudit({ pageSize: 1000 }), options);
    io.stdout.write(format === 'json' ? renderReportJson(report) : renderReportMarkdown(report));
    return 0;
  });
}

/** A report window: the service's durations (`30m`, `1h30m`) plus whole days (`7d`, `1d12h`). */
function parseWindow(text: string): number | undefined {
  const match = /^(\d+)d(.*)$/.exec(text.trim());
  if (match === null) return parseDuration(text);
  const days = Number(match[1]) * 86_400;
  const rest = match[2] === '' ? 0 : parseDuration(match[2] ?? '');
  return rest === undefined || days + rest <= 0 || !Number.isSafeInteger(days + rest) ? undefined : days + rest;
}

/** The policy set the report's policy sections need, from the config's policies.dir; skipped (with a note) when it cannot be loaded. */
async function loadReportPolicies(flags: Flags, io: AuditCommandIo): Promise<ReportOptions['policies']> {
  const file = configFileOf(flags, io);
  const config: Config = loadConfig({ file, env: io.env });
  if (!existsSync(config.policies.dir)) {
    io.stderr.write(`latchkey audit report: no policies folder at ${ascii(config.policies.dir)}; the sections that need the policy set are skipped\n`);
    return undefined;
  }
  try {
    const issuers = file === undefined ? undefined : Object.fromEntries(Object.entries(config.issuers).map(([name, issuer]) => [name, { kind: issuer.kind }]));
    const set = await loadPolicies(config.policies.dir, { ...(issuers === undefined ? {} : { issuers }), maxTtl: config.limits.max_ttl });
    return { version: set.version, byName: new Map([...set.policies].map(([name, policy]) => [name, { ttlMax: policy.ttl.max }])) };
  } catch (error) {
    io.stderr.write(`latchkey audit report: the policy set could not be loaded (${asciiLines((error as Error).message)}); the sections that need it are skipped\n`);
    return undefined;
  }
}

/** JSON text with every character outside printable ASCII written as \uXXXX: safe on any terminal, still valid JSON. */
function asciiJson(value: unknown): string {
  return (JSON.stringify(value) ?? 'undefined').replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A multi-line message (a config error lists one field per line) made terminal-safe line by line. */
function asciiLines(text: string): string {
  return text.split('\n').map(ascii).join('\n');
}

/** Free text (messages, arguments) made terminal-safe: anything outside printable ASCII as \uXXXX. */
function ascii(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
