/**
 * Flags for the commands whose flags all take a value (`audit verify`,
 * `audit report`, `store migrate`): node:util parseArgs splits the command
 * line, and the checks here give the commands' messages for an unknown flag
 * or stray argument, a flag without a value, and a flag given twice.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './usage-error.ts';

/** The flags given, by name; `help` when `--help` or `-h` came before any problem. */
export type ValueFlags<Name extends string> = Partial<Record<Name, string>> & { help?: true };

/**
 * Parses `args` against `flags` (each flag's name and what its value is, for
 * "--store needs a URL"). Each flag takes a value, inline (`--store=URL`) or
 * the next argument whatever it looks like; problems are reported in order,
 * the first one thrown as a UsageError.
 */
export function parseValueFlags<Name extends string>(args: string[], flags: Readonly<Partial<Record<Name, string>>>): ValueFlags<Name> {
  const options = Object.fromEntries(Object.keys(flags).map((name) => [name, { type: 'string' as const }]));
  const { tokens } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: false, allowPositionals: true, tokens: true });
  const given: Record<string, string> = {};
  for (const token of tokens) {
    // The argument as typed: parseArgs splits `-hx` into two tokens of one argument.
    const arg = args[token.index] as string;
    if (token.kind === 'option' && token.name === 'help' && (arg === '--help' || arg === '-h')) return { help: true } as ValueFlags<Name>;
    if (token.kind !== 'option' || !Object.hasOwn(flags, token.name) || token.rawName !== `--${token.name}`)
      throw new UsageError(`unexpected argument "${arg}"`);
    const name = token.name as Name;
    if (token.value === undefined || token.value === '') throw new UsageError(`--${name} needs ${flags[name] as string}`);
    if (given[name] !== undefined) throw new UsageError(`--${name} given twice`);
    given[name] = token.value;
  }
  return given as ValueFlags<Name>;
}
