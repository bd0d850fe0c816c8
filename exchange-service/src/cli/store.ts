/**
 * `latchkey store migrate [--store URL] [--config FILE]`: brings the store's
 * schema up to this release's version, what `serve` also does when it
 * starts; run it first when upgrading replicas one by one, so no replica
 * starts against a schema it does not know.
 *
 * The store is `--store`, else LATCHKEY_STORE_URL, else the config file's
 * `store.url` (`--config`, or `latchkey.yaml` when present), else the
 * default; pool, timeouts and TLS come from the config's `store` section.
 * Exit codes: 0 migrated or already current (the versions are printed);
 * 1 it failed (unreachable, refused, a schema newer than this release);
 * 2 usage errors.
 */
import { existsSync } from 'node:fs';
import { loadConfig } from '../config.ts';
import { silentLogger } from '../log.ts';
import { migrateStore, storeOptionsFromConfig } from '../store/open.ts';
import { parseValueFlags, type ValueFlags } from './flags.ts';
import type { CliIo } from './io.ts';
import { ascii, asciiLines } from './terminal-text.ts';

/** Where the command writes and what it reads from its environment. */
export type StoreCommandIo = CliIo;

const USAGE = 'usage: latchkey store migrate [--store URL] [--config FILE]';

/** The flags of `store migrate`, and what each one's value is. */
const MIGRATE_FLAGS = { store: 'a value', config: 'a value' } as const;
type MigrateFlags = ValueFlags<keyof typeof MIGRATE_FLAGS>;

/** Runs `latchkey store …` with the arguments after `store`; resolves to the exit code. */
export async function runStoreCommand(args: string[], io: StoreCommandIo): Promise<number> {
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== 'migrate') {
    io.stderr.write(`${command === undefined ? 'missing command' : `unknown command "store ${ascii(command)}"`}\n${USAGE}\n`);
    return 2;
  }
  let flags: MigrateFlags;
  try {
    flags = parseValueFlags(rest, MIGRATE_FLAGS);
  } catch (error) {
    io.stderr.write(`latchkey store migrate: ${ascii((error as Error).message)}\n${USAGE}\n`);
    return 2;
  }
  if (flags.help) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  return migrate(flags, io);
}

async function migrate(flags: MigrateFlags, io: StoreCommandIo): Promise<number> {
  try {
    const file = flags.config ?? (existsSync('latchkey.yaml') ? 'latchkey.yaml' : undefined);
    const config = loadConfig({ file, env: io.env });
    const url = flags.store ?? config.store.url;
    const { from, to } = await migrateStore(url, { ...storeOptionsFromConfig({ ...config.store, url }), logger: silentLogger });
    const where = redact(url);
    io.stdout.write(from === to ? `store ${where}: schema version ${to}, up to date\n` : `store ${where}: schema migrated from version ${from} to ${to}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`latchkey store migrate: ${asciiLines((error as Error).message)}\n`);
    return 1;
  }
}

/** The URL as printed: a password never reaches the terminal. */
function redact(url: string): string {
  return ascii(url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@'));
}
