/**
 * Raw HTTP/1.1 over a loopback socket, for the cases `fetch` cannot express:
 * headers sent and then a stall, bytes trickled, a connection held open.
 * Every helper gives up after a deadline, so a server that never answers
 * fails the test instead of hanging it.
 */
import { connect, type Socket } from 'node:net';

/** What came back on one connection before the server (or the deadline) ended it. */
export interface RawExchange {
  /** Everything the server sent, as text. */
  response: string;
  /** How the connection ended: closed by the server, or still open when the deadline passed. */
  ended: 'closed' | 'deadline';
  /** A socket error (ECONNRESET, ECONNREFUSED…), if one ended it. */
  error?: string;
}

/** Options of {@link rawExchange}. */
export interface RawExchangeOptions {
  /** Sent one after another, `gapMs` apart (a slow client); default one write. */
  chunks?: readonly string[];
  gapMs?: number;
  /** Give up (and destroy the socket) after this many ms; default 10 s. */
  deadlineMs?: number;
}

/** Connects to `base` (http://host:port), writes `payload` (or `options.chunks`), and reads until the server closes. */
export function rawExchange(base: string, payload: string, options: RawExchangeOptions = {}): Promise<RawExchange> {
  const { hostname, port } = new URL(base);
  const chunks = options.chunks ?? [payload];
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let response = '';
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (result: Omit<RawExchange, 'response'>): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      resolve({ response, ...result });
    };
    timers.push(setTimeout(() => finish({ ended: 'deadline' }), options.deadlineMs ?? 10_000));
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('close', () => finish({ ended: 'closed' }));
    socket.on('error', (error: NodeJS.ErrnoException) => finish({ ended: 'closed', error: error.code ?? error.message }));
    chunks.forEach((chunk, index) => {
      timers.push(
        setTimeout(
          () => {
            if (!settled && socket.writable) socket.write(chunk);
          },
          index * (options.gapMs ?? 0),
        ),
      );
    });
  });
}

/** Opens a connection and resolves once it is established; the caller destroys it. */
export function openIdleConnection(base: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The status code of a raw HTTP/1.1 response, or undefined when there is none. */
export function statusOf(response: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(response);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** A GET with `Connection: close` and extra header lines. */
export function getRequest(path: string, headers: Record<string, string> = {}): string {
  const lines = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines}Connection: close\r\n\r\n`;
}
