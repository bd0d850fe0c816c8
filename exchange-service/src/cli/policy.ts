/**
 * `latchkey policy …`: the policy tools. `check` runs the service's own
 * loader and then the lint rules (so a check without errors means the
 * service will load the set); `schema` prints the JSON Schema generated from
 * the zod schema the loader uses.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import {
  checkExitCode,
  formatCheckReport,
  lintPolicies,
  PolicyLoadError,
  policyJsonSchema,
  type CheckFormat,
  type CheckReport,
  type LoadPoliciesOptions,
  loadOptionsOf,
} from '../policy/index.ts';
import type { CliIo } from './io.ts';
import { runDiff } from './policy-diff.ts';
import { runExplain } from './policy-explain.ts';

const USAGE = `usage: latchkey policy check [DIR] [--config FILE] [--format text|json|github] [--strict]
       latchkey policy explain [DIR] (--claims FILE | --token JWT) [--policy NAME] [--config FILE] [--format text|json]
       latchkey policy diff BASE [HEAD] [DIR] [--config FILE]
       latchkey policy schema
`;

const FORMATS: readonly string[] = ['text', 'json', 'github'] satisfies CheckFormat[];

/** Runs a `policy` subcommand and resolves with its exit code. */
export async function runPolicyCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'schema' && rest.length === 0) {
    io.stdout.write(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
    return 0;
  }
  if (sub === 'check') return runCheck(rest, io);
  if (sub === 'explain') return runExplain(rest, io);
  if (sub === 'diff') return runDiff(rest, io);
  io.stderr.write(USAGE);
  return 2;
}

interface CheckArgs {
  dir: string;
  format: CheckFormat;
  strict: boolean;
  options: LoadPoliciesOptions;
}

/** `policy check`: 0 clean or warnings only, 1 errors (or warnings with --strict), 2 usage. */
async function runCheck(args: string[], io: CliIo): Promise<number> {
  let parsed: CheckArgs;
  try {
    parsed = parseCheckArgs(args, io.env);
  } catch (error) {
    io.stderr.write(`latchkey policy check: ${(error as Error).message}\n${error instanceof ConfigError ? '' : USAGE}`);
    return 2;
  }
  const report: CheckReport = { policies: 0, errors: [], warnings: [], strict: parsed.strict };
  try {
    const { set, warnings } = await lintPolicies(parsed.dir, parsed.options);
    report.policies = set.policies.size;
    report.warnings = warnings;
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) {
      io.stderr.write(`latchkey policy check: ${(error as Error).message}\n`);
      return 2;
    }
    report.errors = error.problems;
  }
  io.stdout.write(formatCheckReport(report, parsed.format, process.cwd()));
  return checkExitCode(report);
}

function parseCheckArgs(args: string[], env: NodeJS.ProcessEnv): CheckArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string' }, format: { type: 'string', default: 'text' }, strict: { type: 'boolean', default: false } },
  });
  if (!FORMATS.includes(values.format)) throw new Error(`--format must be text, json or github, not "${values.format}"`);
  if (positionals.length > 1) throw new Error('give at most one folder');
  let options: LoadPoliciesOptions = {};
  if (values.config !== undefined) {
    // With a service config, issuer names, kinds and limits are checked against it, exactly as that service would.
    const config = loadConfig({ file: values.config, env });
    options = loadOptionsOf(config);
  }
  return { dir: positionals[0] ?? './policies', format: values.format as CheckFormat, strict: values.strict, options };
}
