/**
 * A server in its own child process (so its memory is its own): spawns it,
 * times spawn → the `{"msg":"listening","url":…}` line on stderr, keeps
 * draining its output, reads its memory from /proc and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Cleanup } from './cleanup.ts';

/** A child server that has said it is listening. */
export interface ChildServer {
  pid: number;
  url: string;
  /** Spawn → listening line, in ms. */
  startupMs: number;
  /** The listening line's fields (the service reports its policy count there). */
  listening: Record<string, unknown>;
  /** Resident set now and at its peak, in bytes (VmRSS, VmHWM). */
  memory(): ProcessMemory;
  /** CPU time used so far (user + system), in seconds. */
  cpuSeconds(): number;
  /** CPU seconds so far by thread name (`MainThread`, `libuv-worker`, `V8Worker`, named worker threads), summed over threads of a name. */
  threadCpuSeconds(): Map<string, number>;
  /** The last stderr lines (for error reports). */
  tail(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs?: number): Promise<number | null>;
}

/** How to start a child server and where to register its clean-up. */
export interface SpawnServerOptions {
  /** Arguments to the Node binary running this script (flags, script, its arguments). */
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  cleanup: Cleanup;
  name: string;
  readyTimeoutMs?: number;
}

const TAIL_LINES = 40;

/**
 * The arguments to Node that run `latchkey` as its command does: the flags
 * of `exchange-service/bin/latchkey.js`'s `#!/usr/bin/env -S node …` line,
 * then the script. The bench runs the service under its own Node binary
 * (Node 24, wherever the bench was started), with the launcher's flags.
 */
export function latchkeyCommand(root: string): string[] {
  const bin = join(root, 'exchange-service/bin/latchkey.js');
  const shebang = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const words = shebang
    .replace(/^#!\S*\s*(-S\s+)?/, '')
    .split(/\s+/)
    .filter(Boolean);
  if (words[0] !== 'node') throw new Error(`${bin}: expected a "#!/usr/bin/env -S node …" line, found ${JSON.stringify(shebang)}`);
  return [...words.slice(1), bin];
}

/** Spawns `node ARGS` and resolves once it logs that it listens; rejects (and kills it) if it exits or times out first. */
export async function spawnServer(options: SpawnServerOptions): Promise<ChildServer> {
  const started = performance.now();
  const child = spawn(process.execPath, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  const stop = (graceMs = 10_000): Promise<number | null> => stopChild(child, graceMs);
  const unregister = options.cleanup.add(options.name, () => stop(3_000).then(() => undefined));
  try {
    const listening = await waitForListening(child, lines, options.readyTimeoutMs ?? 60_000, options.name);
    const startupMs = performance.now() - started;
    if (child.pid === undefined) throw new Error(`${options.name}: no pid`);
    const pid = child.pid;
    return {
      pid,
      startupMs,
      listening,
      url: String(listening.url),
      memory: () => readMemory(pid),
      cpuSeconds: () => readCpuSeconds(pid),
      threadCpuSeconds: () => readThreadCpuSeconds(pid),
      tail: () => [...lines],
      stop: (graceMs) => stop(graceMs).finally(unregister),
    };
  } catch (error) {
    await stop(1_000);
    unregister();
    throw error;
  }
}

function waitForListening(child: ChildProcess, lines: string[], timeoutMs: number, name: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not log "listening" within ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before listening:\n${lines.join('\n')}`));
    };
    child.once('exit', onExit);
    child.once('error', (error) => onExit(null, error.message));
    if (child.stderr === null) return reject(new Error(`${name}: no stderr pipe`));
    // The reader keeps consuming after start-up, so a chatty child never blocks on a full pipe.
    createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
      const fields = parseListening(line);
      if (fields === undefined) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(fields);
    });
  });
}

function parseListening(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{') || !line.includes('"listening"')) return undefined;
  try {
    const fields = JSON.parse(line) as Record<string, unknown>;
    return fields.msg === 'listening' && typeof fields.url === 'string' ? fields : undefined;
  } catch {
    return undefined;
  }
}

function stopChild(child: ChildProcess, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** A process's resident set now and at its peak, in bytes. */
export interface ProcessMemory {
  rss: number;
  peak: number;
}

/** VmRSS and VmHWM of a process (Linux /proc). */
export function readMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (match?.[1] === undefined) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]);
  };
  return { rss: kib('VmRSS') * 1024, peak: kib('VmHWM') * 1024 };
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux x86 and arm64). */
const USER_HZ = 100;

/** User + system CPU seconds of a process (Linux /proc; fields 14 and 15 of stat). */
export function readCpuSeconds(pid: number): number {
  return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).seconds;
}

/** CPU seconds by thread name (/proc/<pid>/task/<tid>/stat); threads that end between listing and reading are skipped. */
export function readThreadCpuSeconds(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const { name, seconds } = parseStat(stat);
    byName.set(name, (byName.get(name) ?? 0) + seconds);
  }
  return byName;
}

function parseStat(stat: string): { name: string; seconds: number } {
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), seconds: (Number(fields[11]) + Number(fields[12])) / USER_HZ };
}
