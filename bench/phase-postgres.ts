/**
 * Phase (7), run only when named (`--only …,postgres`): the PostgreSQL mode,
 * bench/postgres.bench.ts, as a child process with this run's duration, its
 * report printed as it comes. It starts a throwaway PostgreSQL cluster
 * unless LATCHKEY_BENCH_POSTGRES_URL (or LATCHKEY_TEST_POSTGRES_URL) names
 * a server.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { BenchOptions } from './options.ts';

/** Runs the PostgreSQL bench; rejects if it could not run or its requests failed. */
export function runPostgresPhase(options: BenchOptions): Promise<void> {
  const script = join(import.meta.dirname, 'postgres.bench.ts');
  const child = spawn(process.execPath, [script, '--duration', String(Math.max(2, options.duration))], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/postgres.bench.ts exited with ${code}`))));
  });
}
