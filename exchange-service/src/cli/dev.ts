/**
 * `latchkey dev token`: prints a GitHub-shaped token signed by a dev issuer
 * (SPEC §7; `dev` unless `--issuer ghes`), for trying an exchange against
 * `npm start` with curl.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, serviceAudience } from '../config.ts';
import { DEV_ISSUER_NAMES, devIssuerUrl, isDevIssuerName, loadDevIssuerKey, signDevToken } from '../dev/issuer.ts';
import type { CliIo } from './io.ts';

const USAGE = 'usage: latchkey dev token [--config FILE] [--issuer dev|ghes] [--claims JSON|@FILE] [--claim NAME=VALUE]... [--audience AUD]\n';

/** Parses `--claims` (JSON or @file) and repeated `--claim name=value` into one object. */
export function parseClaimArgs(claims: string | undefined, pairs: string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (claims !== undefined) {
    const text = claims.startsWith('@') ? readFileSync(claims.slice(1), 'utf8') : claims;
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('--claims must be a JSON object');
    Object.assign(result, parsed);
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`--claim ${JSON.stringify(pair)} is not NAME=VALUE`);
    result[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return result;
}

/** Runs `dev token`. */
export async function runDevCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'token') {
    io.stderr.write(USAGE);
    return 2;
  }
  try {
    const { values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string' },
        issuer: { type: 'string', default: 'dev' },
        claims: { type: 'string' },
        claim: { type: 'string', multiple: true },
        audience: { type: 'string' },
      },
    });
    const issuer = values.issuer;
    if (!isDevIssuerName(issuer)) throw new Error(`--issuer must be one of ${DEV_ISSUER_NAMES.join(', ')}, not ${JSON.stringify(issuer)}`);
    const config = loadConfig({ file: values.config, env: io.env });
    const claims = parseClaimArgs(values.claims, values.claim ?? []);
    const key = await loadDevIssuerKey(config.signing.keys_dir);
    if (key === undefined) throw new Error('no dev issuer key');
    const token = await signDevToken({ key, issuer: devIssuerUrl(config.public_url, issuer), audience: values.audience ?? serviceAudience(config), claims });
    io.stdout.write(`${token}\n`);
    return 0;
  } catch (error) {
    const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    io.stderr.write(`latchkey dev token: ${message}\n${USAGE}`);
    return 2;
  }
}
