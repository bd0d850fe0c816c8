/**
 * What `audit verify` and `audit report` share: their streams, their flags,
 * and which store and config file they read. The store is opened read-only:
 * no migration, no writes, safe next to a running service.
 */
import { existsSync } from 'node:fs';
import { loadConfig, type Config } from '../config.ts';
import { openStore, storeOptionsFromConfig } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import type { ValueFlags } from './flags.ts';
import type { CliIo } from './io.ts';
import { ascii } from './terminal-text.ts';

/** Where the command writes and what it reads from its environment. */
export interface AuditCommandIo extends CliIo {
  /** The service config, consulted for `store.url`, `signing.keys_dir` and `policies.dir`; `--config` overrides it. */
  configFile?: string;
  /** Wall clock, ms (the end of the report's window); default Date.now. */
  now?: () => number;
  /** For `--jwks URL`; default the global fetch. */
  fetch?: typeof fetch;
}

/** What each flag's value is, for messages. */
export const AUDIT_FLAG_VALUES = {
  store: 'a URL',
  config: 'a file',
  checkpoint: 'a file',
  keys: 'a folder',
  jwks: 'a URL or file',
  since: 'a duration',
  format: 'md or json',
};
export type AuditFlag = keyof typeof AUDIT_FLAG_VALUES;
export type AuditFlags = ValueFlags<AuditFlag>;

const DEFAULT_STORE_URL = 'sqlite:./data/latchkey.db';

/** The config file: --config, else the caller's, else ./latchkey.yaml when present. */
export function configFileOf(flags: AuditFlags, io: AuditCommandIo): string | undefined {
  return flags.config ?? io.configFile ?? (existsSync('latchkey.yaml') ? 'latchkey.yaml' : undefined);
}

/** The store to read and how to connect to it. */
export interface StoreChoice {
  url: string;
  /** The config file's store section, when there is a config file: its TLS, timeouts and pool apply to any URL. */
  settings: Config['store'] | undefined;
}

/** --store, else LATCHKEY_STORE_URL, else the config file's store.url (when there is a config file), else the default. */
export function pickStoreUrl(flags: AuditFlags, io: AuditCommandIo): StoreChoice {
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
export async function withStore(choice: StoreChoice, io: AuditCommandIo, command: string, work: (store: Store) => Promise<number>): Promise<number> {
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
