/**
 * The benchmark's command line: what to run (`--only`), how long
 * (`--duration`, `--warmup`, `--quick`), at which loads (`--connections`,
 * `--policies`, `--scale`) and what to record (`--cpu-prof`).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** The phases, in the order they run. */
export const PHASES = ['hello', 'crypto', 'token', 'aws', 'scale', 'action', 'postgres'] as const;
/** Phases a plain `npm run bench` runs; `postgres` needs PostgreSQL's server binaries (or `--postgres URL`), so it runs when named. */
const DEFAULT_PHASES: readonly Phase[] = ['hello', 'crypto', 'token', 'aws', 'scale', 'action'];
export type Phase = (typeof PHASES)[number];

/** Everything the phases need to know. */
export interface BenchOptions {
  phases: ReadonlySet<Phase>;
  /** Seconds per measured load point. */
  duration: number;
  /** Seconds of warm-up before a service's (or the hello server's) first point. */
  warmup: number;
  /** Connection counts of the hello, token and aws phases. */
  connections: readonly number[];
  /** The token and aws fleets' size (10,000: the issue-2 run). */
  policies: number;
  /** Policy counts of the scaling phase, smallest first. */
  scale: readonly number[];
  /** Seconds of each scaling phase exchange run (at 32 connections). */
  scaleDuration: number;
  /** Seconds of each crypto-only measurement. */
  cryptoSeconds: number;
  /** Runs of the Action's main step (the median is reported). */
  actionRuns: number;
  /** A fixed number of tokens to mint per load point (default: sized from the rate seen so far). */
  tokens: number | undefined;
  cpuProfDir: string | undefined;
  quick: boolean;
}

/** The connection count of the issue-2 figures. */
export const ISSUE2_CONNECTIONS = 32;

export const USAGE = `usage: npm run bench -- [--quick] [--only ${PHASES.join(',')}] [--duration S] [--warmup S]
                        [--connections 1,32,128] [--policies 10000] [--scale 10,1000,100000]
                        [--scale-duration S] [--action-runs N] [--tokens N] [--cpu-prof DIR]`;

/** Parses `args` (default: this process's); throws with a readable message on a bad flag. */
export function parseBenchOptions(args: string[] = process.argv.slice(2)): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '1,32,128' },
      policies: { type: 'string', default: '10000' },
      scale: { type: 'string', default: '10,1000,100000' },
      'scale-duration': { type: 'string' },
      'action-runs': { type: 'string' },
      tokens: { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  const quick = values.quick;
  const scale = list('scale', values.scale, 1).sort((a, b) => a - b);
  return {
    phases: parsePhases(values.only),
    quick,
    duration: integer('duration', values.duration ?? (quick ? '2' : '10'), 1),
    warmup: integer('warmup', values.warmup ?? (quick ? '1' : '10'), 0),
    connections: list('connections', values.connections, 1),
    policies: integer('policies', values.policies, 1),
    scale,
    scaleDuration: integer('scale-duration', values['scale-duration'] ?? (quick ? '2' : '4'), 1),
    cryptoSeconds: quick ? 0.5 : 1.5,
    actionRuns: integer('action-runs', values['action-runs'] ?? (quick ? '5' : '10'), 1),
    tokens: values.tokens === undefined ? undefined : integer('tokens', values.tokens, 1),
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
  };
}

function parsePhases(only: string | undefined): ReadonlySet<Phase> {
  if (only === undefined) return new Set(DEFAULT_PHASES);
  const names = only
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const unknown = names.filter((name) => !(PHASES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`--only takes phases from ${PHASES.join(', ')}; got "${only}"`);
  return new Set(names as Phase[]);
}

function integer(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return value;
}

function list(name: string, text: string, min: number): number[] {
  const values = text.split(',').map((part) => integer(name, part.trim(), min));
  return [...new Set(values)];
}
