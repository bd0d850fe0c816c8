/**
 * `latchkey <command>`: dispatches to one module per command group (SPEC §1).
 */
import { runServe } from './serve.ts';
import { runDevCommand } from './dev.ts';
import { runAuditCommand } from './audit.ts';
import { runPolicyCommand } from './policy.ts';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export const USAGE = `usage: latchkey <command>

  serve [--config FILE] [--dev]      run the exchange service
  audit verify [--store URL]         recompute the audit hash chain (exit 0 intact, 1 broken)
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
