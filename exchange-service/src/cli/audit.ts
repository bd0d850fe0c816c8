/**
 * `latchkey audit verify [--store URL] [--checkpoint FILE …]`: recomputes the
 * audit hash chain and, given checkpoints, holds the chain against them
 * (audit-verify.ts).
 * `latchkey audit report [--store URL] [--since DURATION] [--format md|json]`:
 * usage patterns over a window (SPEC §5; audit-report.ts).
 *
 * Exit codes: verify 0 intact; 1 broken, truncated, rewritten below a
 * checkpoint, or a checkpoint whose signature fails (the first bad record
 * is printed as ASCII JSON so no stored text can drive the terminal).
 * report 0. Both: 2 for usage errors and for stores, keys or checkpoint
 * files that cannot be read at all. The store is opened read-only: no
 * migration, no writes, safe next to a running service.
 */
import { parseValueFlags } from './flags.ts';
import { AUDIT_FLAG_VALUES, type AuditCommandIo, type AuditFlag, type AuditFlags } from './audit-store.ts';
import { runReport } from './audit-report.ts';
import { runVerify } from './audit-verify.ts';
import { ascii, asciiLines } from './terminal-text.ts';
import { UsageError } from './usage-error.ts';

export type { AuditCommandIo } from './audit-store.ts';

const USAGE = `usage: latchkey audit verify [--store URL] [--config FILE] [--checkpoint FILE [--keys DIR | --jwks URL|FILE]]
       latchkey audit report [--store URL] [--config FILE] [--since DURATION] [--format md|json]`;

/** The flags each command takes, with what each one's value is. */
const COMMAND_FLAGS: Record<'verify' | 'report', Partial<Record<AuditFlag, string>>> = {
  verify: pick('store', 'config', 'checkpoint', 'keys', 'jwks'),
  report: pick('store', 'config', 'since', 'format'),
};

function pick(...flags: AuditFlag[]): Partial<Record<AuditFlag, string>> {
  return Object.fromEntries(flags.map((flag) => [flag, AUDIT_FLAG_VALUES[flag]]));
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
  let flags: AuditFlags;
  try {
    flags = parseValueFlags(rest, COMMAND_FLAGS[command]);
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
