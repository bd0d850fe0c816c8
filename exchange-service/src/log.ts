/**
 * Structured JSON logs, one object per line. Callers pass fields, never secrets:
 * tokens and credentials are logged only as SHA-256 digests.
 */
import type { Writable } from 'node:stream';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. `request_id`) to every line. */
  child(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; default process.stderr (stdout is kept for audit records). */
  stream?: Pick<Writable, 'write'>;
  now?: () => Date;
}

/** Creates a JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => new Date());
  const write = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[level] < min) return;
    const line = { time: now().toISOString(), level, msg: message, ...bound, ...fields };
    stream.write(`${JSON.stringify(line, replaceErrors)}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}

/** Lines held by a {@link coalescingStream} are written once they reach this size, without waiting for the turn to end. */
const COALESCE_BYTES = 64 * 1024;

/**
 * A stream for log lines that writes the lines of one event-loop turn in one
 * `write` call, at the end of the turn (setImmediate) or sooner past 64 KiB.
 * Writes to a pipe or file are synchronous system calls; under load the
 * service logs a line per request, and one call per turn instead of one per
 * line saves most of that cost. Lines still pending when the process exits
 * are written by an `exit` listener, so a normal exit loses none; the stream
 * holds that listener only while it holds lines, so a stream that is dropped
 * is not kept alive by the process.
 */
export function coalescingStream(target: Pick<Writable, 'write'>): Pick<Writable, 'write'> & { flush(): void } {
  let pending: string[] = [];
  let bytes = 0;
  let scheduled: NodeJS.Immediate | undefined;
  const flush = (): void => {
    if (scheduled !== undefined) {
      clearImmediate(scheduled);
      scheduled = undefined;
      process.off('exit', flush);
    }
    if (pending.length === 0) return;
    const text = pending.length === 1 ? (pending[0] ?? '') : pending.join('');
    pending = [];
    bytes = 0;
    target.write(text);
  };
  return {
    write(chunk: unknown): boolean {
      const text = String(chunk);
      pending.push(text);
      bytes += text.length;
      if (bytes >= COALESCE_BYTES) {
        flush();
      } else if (scheduled === undefined) {
        scheduled = setImmediate(flush);
        process.on('exit', flush);
      }
      return true;
    },
    flush,
  };
}

/** Errors serialise as name and message only: a stack or cause could carry request data. */
function replaceErrors(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** A logger that drops everything (tests and CLI commands that print their own output). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
