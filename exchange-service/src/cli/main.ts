/**
 * `latchkey <command>`: dispatches to one module per command group (SPEC §1).
 */
import { runServe } from './serve.ts';
import { runDevCommand } from './dev.ts';
import { runAuditCommand } from './audit.ts';
import { runPolicyCommand } from './policy.ts';
import { runStoreCommand } from './store.ts';
import type { CliIo } from './io.ts';

export const USAGE = `usage: latchkey <command>

  serve [--config FILE] [--dev]      run the exchange service
  audit verify [--store URL] [--checkpoint FILE [--keys DIR | --jwks URL|FILE]]
                                     recompute the audit hash chain, check it against signed checkpoints (exit 0 intact, 1 broken)
  audit report [--store URL] [--config FILE] [--since DURATION] [--format md|json]
                                     usage patterns over a window of the audit log
  store migrate [--store URL] [--config FILE]
                                     bring the store's schema up to this release (what serve does at start)
  policy check [DIR] [--config FILE] [--format text|json|github] [--strict]
                                     validate and lint every policy file as the service would load it
  policy explain [DIR] (--claims FILE | --token JWT) [--policy NAME] [--config FILE] [--format text|json]
                                     evaluate claims against the policies, condition by condition
  policy diff BASE [HEAD] [DIR]      what access changes between two git revisions (Markdown)
  policy schema                      print the policy JSON Schema
  dev token [--issuer dev|ghes] [--claims JSON|@FILE] [--claim NAME=VALUE]...
                                     print a token from a dev issuer (for serve --dev)
`;

/** Runs the CLI and resolves with the exit code. */
export async function main(args: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'serve':
      return runServe(rest, io);
    case 'audit':
      return runAuditCommand(rest, io);
    case 'policy':
      return runPolicyCommand(rest, io);
    case 'store':
      return runStoreCommand(rest, io);
    case 'dev':
      return runDevCommand(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr.write(`latchkey: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
