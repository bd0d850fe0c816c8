/**
 * `latchkey policy …`: the policy tools. `schema` prints the JSON Schema
 * generated from the zod schema the service loads with.
 */
import { policyJsonSchema } from '../policy/schema.ts';
import type { CliIo } from './main.ts';

const USAGE = 'usage: latchkey policy schema\n';

/** Runs a `policy` subcommand and resolves with its exit code. */
export async function runPolicyCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'schema' && rest.length === 0) {
    io.stdout.write(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
    return 0;
  }
  io.stderr.write(USAGE);
  return 2;
}
