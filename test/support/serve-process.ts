/**
 * `latchkey serve` as a child process, the way an operator runs it: started
 * in a working folder, its URL read from the `listening` log line, stopped
 * with a signal. For crash and shutdown tests that need a real process to
 * kill.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
/** The `latchkey` command's entry point. */
export const LATCHKEY_BIN = join(ROOT, 'exchange-service/bin/latchkey.js');

/** A running `latchkey serve`. */
export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Everything written to stderr (the operator log) so far. */
  stderr(): string;
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals>;
}

/** Starts `latchkey serve ARGS` in `cwd` and resolves once it listens (rejects if it exits first or takes over 30 s). */
export function startServeProcess(cwd: string, args: readonly string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [LATCHKEY_BIN, 'serve', ...args], { cwd, env: { ...process.env } });
  let stderr = '';
  const exited = new Promise<number | NodeJS.Signals>((done) => child.once('exit', (code, signal) => done(code ?? signal ?? 'SIGKILL')));
  child.stdout.resume();
  return new Promise((resolveStart, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`latchkey serve did not start within 30 s:\n${stderr}`));
    }, 30_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /"msg":"listening","url":"([^"]+)"/.exec(stderr);
      if (match?.[1] !== undefined) {
        clearTimeout(deadline);
        resolveStart({ child, url: match[1], stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(deadline);
      reject(new Error(`latchkey serve exited (${code}) before listening:\n${stderr}`));
    });
  });
}
