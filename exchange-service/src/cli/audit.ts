/**
 * `latchkey audit verify [--store URL]`: recomputes the audit hash chain.
 *
 * Exit codes: 0 the chain is intact; 1 it is broken (the first bad record is
 * printed, escaped as ASCII JSON so no stored text can drive the terminal);
 * 2 usage errors and stores that cannot be verified at all (missing file,
 * not a latchkey store, unreadable). The store is opened read-only: no
 * migration, no writes, safe next to a running service.
 */
import { existsSync } from 'node:fs';
import { createChainVerifier, type ChainProblem } from '../audit/chain.ts';
import { loadConfig } from '../config.ts';
import { openStore } from '../store/open.ts';
import { CorruptRecordError, type Store } from '../store/store.ts';

/** Where the command writes and what it reads from its environment. */
export interface AuditCommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** The service config (`--config`), consulted for `store.url` when neither --store nor LATCHKEY_STORE_URL is set. */
  configFile?: string;
}

const USAGE = 'usage: latchkey audit verify [--store URL]';
const DEFAULT_STORE_URL = 'sqlite:./data/latchkey.db';

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
  if (command !== 'verify') {
    io.stderr.write(`${command === undefined ? 'missing command' : `unknown command "audit ${ascii(command)}"`}\n${USAGE}\n`);
    return 2;
  }
  let storeUrl: string;
  try {
    const flags = parseVerifyFlags(rest);
    if (flags.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    storeUrl = flags.store ?? pickStoreUrl(io);
  } catch (error) {
    io.stderr.write(`latchkey audit verify: ${asciiLines((error as Error).message)}\n${error instanceof UsageError ? `${USAGE}\n` : ''}`);
    return 2;
  }
  return verifyStore(storeUrl, io);
}

function parseVerifyFlags(args: string[]): { store?: string; help: boolean } {
  let store: string | undefined;
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '--help' || arg === '-h') return { help: true };
    let value: string | undefined;
    if (arg === '--store') value = args[(index += 1)];
    else if (arg.startsWith('--store=')) value = arg.slice('--store='.length);
    else throw new UsageError(`unexpected argument "${arg}"`);
    if (value === undefined || value === '') throw new UsageError('--store needs a URL');
    if (store !== undefined) throw new UsageError('--store given twice');
    store = value;
  }
  return store === undefined ? { help: false } : { store, help: false };
}

/** LATCHKEY_STORE_URL, else the config file's store.url (when there is a config file), else the default. */
function pickStoreUrl(io: AuditCommandIo): string {
  const fromEnv = io.env.LATCHKEY_STORE_URL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const file = io.configFile ?? (existsSync('latchkey.yaml') ? 'latchkey.yaml' : undefined);
  if (file === undefined) return DEFAULT_STORE_URL;
  return loadConfig({ file, env: io.env }).store.url;
}

async function verifyStore(url: string, io: AuditCommandIo): Promise<number> {
  let store: Store;
  try {
    store = await openStore(url, { readOnly: true });
  } catch (error) {
    io.stderr.write(`latchkey audit verify: ${ascii((error as Error).message)}\n`);
    return 2;
  }
  try {
    return await walkChain(store, io);
  } catch (error) {
    io.stderr.write(`latchkey audit verify: the audit log could not be read: ${ascii((error as Error).message)}\n`);
    return 2;
  } finally {
    await store.close();
  }
}

async function walkChain(store: Store, io: AuditCommandIo): Promise<number> {
  const verifier = createChainVerifier();
  try {
    for await (const record of store.readAudit({ pageSize: 1000 })) {
      const problem = verifier.push(record);
      if (problem !== undefined) {
        reportBroken(io, problem, record, verifier.verdict().count);
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
  io.stdout.write(`audit chain intact: ${verdict.count} records, head ${verdict.head}\n`);
  return 0;
}

function reportBroken(io: AuditCommandIo, problem: ChainProblem, record: unknown, intact: number): void {
  io.stdout.write(
    `audit chain broken at seq ${problem.seq} (id ${asciiJson(problem.id)}): ${ascii(problem.problem)}\n` +
      `record: ${asciiJson(record)}\n` +
      `${intact} record(s) before it are intact\n`,
  );
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
