/**
 * `latchkey policy …`: the policy tools. `check` runs the service's own
 * loader (so a clean check means the service will load the set); `schema`
 * prints the JSON Schema generated from the zod schema the loader uses.
 */
import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import { ConfigError, loadConfig } from '../config.ts';
import { loadPolicies, PolicyLoadError, type LoadPoliciesOptions, type PolicyProblem } from '../policy/load.ts';
import { policyJsonSchema } from '../policy/schema.ts';
import type { CliIo } from './main.ts';

const USAGE = `usage: latchkey policy check [DIR] [--config FILE] [--format text|json|github] [--strict]
       latchkey policy schema
`;

/** Runs a `policy` subcommand and resolves with its exit code. */
export async function runPolicyCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'schema' && rest.length === 0) {
    io.stdout.write(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
    return 0;
  }
  if (sub === 'check') return runCheck(rest, io);
  io.stderr.write(USAGE);
  return 2;
}

type Format = 'text' | 'json' | 'github';

async function runCheck(args: string[], io: CliIo): Promise<number> {
  let dir: string;
  let format: Format;
  let options: LoadPoliciesOptions = {};
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { config: { type: 'string' }, format: { type: 'string', default: 'text' }, strict: { type: 'boolean' } },
    });
    if (!['text', 'json', 'github'].includes(values.format)) throw new Error(`--format must be text, json or github, not "${values.format}"`);
    if (positionals.length > 1) throw new Error('give at most one folder');
    format = values.format as Format;
    dir = positionals[0] ?? './policies';
    if (values.config !== undefined) {
      // With a service config, issuer names and limits are checked against it, exactly as that service would.
      const config = loadConfig({ file: values.config, env: io.env });
      options = { issuers: Object.fromEntries(Object.entries(config.issuers).map(([name, issuer]) => [name, { kind: issuer.kind }])), maxTtl: config.limits.max_ttl };
    }
  } catch (error) {
    io.stderr.write(`latchkey policy check: ${(error as Error).message}\n${error instanceof ConfigError ? '' : USAGE}`);
    return 2;
  }
  let problems: readonly PolicyProblem[] = [];
  let count = 0;
  try {
    count = (await loadPolicies(dir, options)).policies.size;
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) {
      io.stderr.write(`latchkey policy check: ${(error as Error).message}\n`);
      return 2;
    }
    problems = error.problems;
  }
  io.stdout.write(render(problems, count, format));
  return problems.length > 0 ? 1 : 0;
}

function render(problems: readonly PolicyProblem[], count: number, format: Format): string {
  const where = (p: PolicyProblem): string => `${relative(process.cwd(), p.file) || p.file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}`;
  if (format === 'json') return `${JSON.stringify({ ok: problems.length === 0, policies: count, errors: problems.map((p) => ({ ...p, file: relative(process.cwd(), p.file) || p.file })) }, null, 2)}\n`;
  if (format === 'github') {
    // Workflow commands: a pull-request check annotates the offending lines.
    const escape = (text: string): string => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
    const property = (text: string): string => escape(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
    return problems
      .map((p) => `::error file=${property(relative(process.cwd(), p.file) || p.file)}${p.line ? `,line=${p.line},col=${p.column ?? 1}` : ''},title=latchkey policy::${escape(p.message)}\n`)
      .join('');
  }
  if (problems.length === 0) return `${count} ${count === 1 ? 'policy' : 'policies'} checked: no errors\n`;
  return `${problems.map((p) => `${where(p)}: error: ${p.message}`).join('\n')}\n${problems.length} error(s); the service would refuse this set\n`;
}
