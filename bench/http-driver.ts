/**
 * A lean HTTP/1.1 load driver: `connections` keep-alive sockets, each with
 * one request in flight, the next sent as soon as the previous response is
 * read, for `duration` seconds. The bench shares two cores with the service,
 * so the driver is kept cheap: requests are written as one prepared buffer,
 * and a response is read by finding its header end and Content-Length (or
 * the last chunk), with no general-purpose HTTP client in between. Latency is
 * from the write to the last byte of the response, in microseconds.
 */
import { connect, type Socket } from 'node:net';
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';

/** One request to send: a method, a path and optional headers and body. */
export interface DriverRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Readonly<Record<string, string>>;
  body?: Buffer;
}

export interface DriveOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  /** The next request, or undefined when there is nothing left to send (the run ends early). */
  next(): DriverRequest | undefined;
  /**
   * Called with each complete response; returns whether it counts as a
   * success (its latency is recorded). `body()` decodes the body as UTF-8
   * when asked (a check that needs only the status costs no decoding).
   */
  onResponse(status: number, body: () => string): boolean;
}

export interface DriveResult {
  /** The measured window in seconds: the duration, or until `next` ran out. */
  seconds: number;
  /** Set when `next` ran out: the second at which it did. */
  exhaustedAt: number | undefined;
  /** Latencies of successful responses, µs. */
  latency: RecordableHistogram;
  /** Connection errors and responses that could not be read, by description. */
  errors: Map<string, number>;
}

const HEADER_END = '\r\n\r\n';
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[ \t]*chunked/i;

/** Drives the server until the duration ends or the requests run out. */
export async function drive(options: DriveOptions): Promise<DriveResult> {
  const { hostname, port } = new URL(options.url);
  const host = hostname.replace(/^\[|\]$/g, '');
  const hostHeader = new URL(options.url).host;
  const latency = createHistogram();
  const errors = new Map<string, number>();
  const started = performance.now();
  const deadline = started + options.duration * 1000;
  let exhaustedAt: number | undefined;
  let stopping = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const sockets = new Set<Socket>();
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    for (const socket of sockets) socket.destroy();
    finish();
  };
  const timer = setTimeout(stop, options.duration * 1000);
  const fail = (what: string): void => void errors.set(what, (errors.get(what) ?? 0) + 1);

  // A request object given again (the hello-world driver's) is encoded once.
  let lastRequest: DriverRequest | undefined;
  let lastEncoded: Buffer = Buffer.alloc(0);
  const encodeOnce = (request: DriverRequest): Buffer => {
    if (request !== lastRequest) {
      lastRequest = request;
      lastEncoded = encode(request);
    }
    return lastEncoded;
  };
  const encode = (request: DriverRequest): Buffer => {
    const body = request.body ?? Buffer.alloc(0);
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${hostHeader}\r\n`;
    for (const [name, value] of Object.entries(request.headers ?? {})) head += `${name}: ${value}\r\n`;
    if (request.method === 'POST') head += `content-length: ${body.length}\r\n`;
    head += '\r\n';
    return body.length === 0 ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]);
  };

  const open = (): void => {
    const socket = connect({ host, port: Number(port), noDelay: true });
    sockets.add(socket);
    let pending = '';
    let sentAt = 0;
    const sendNext = (): void => {
      if (stopping) return;
      const request = options.next();
      if (request === undefined) {
        exhaustedAt ??= (performance.now() - started) / 1000;
        stop();
        return;
      }
      sentAt = performance.now();
      socket.write(encodeOnce(request));
    };
    socket.setEncoding('latin1');
    socket.on('connect', sendNext);
    socket.on('data', (chunk: string) => {
      pending += chunk;
      const response = takeResponse(pending);
      if (response === undefined) return;
      if (response === 'malformed') {
        fail('unreadable response');
        socket.destroy();
        return;
      }
      const done = performance.now();
      pending = '';
      const { status, body } = response;
      if (done <= deadline && options.onResponse(status, () => Buffer.from(body, 'latin1').toString('utf8'))) {
        latency.record(Math.max(1, Math.round((done - sentAt) * 1000)));
      }
      sendNext();
    });
    socket.on('error', (error) => {
      if (!stopping) fail(`connection error: ${error.message}`);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      // A connection the server closed is replaced, so the load stays at `connections`.
      if (!stopping) open();
    });
  };
  for (let i = 0; i < options.connections; i += 1) open();
  await finished;
  clearTimeout(timer);
  const seconds = exhaustedAt ?? options.duration;
  return { seconds, exhaustedAt, latency, errors };
}

/** The first complete response in `data` (latin1), 'malformed', or undefined while it is incomplete. */
function takeResponse(data: string): { status: number; body: string } | 'malformed' | undefined {
  const headerEnd = data.indexOf(HEADER_END);
  if (headerEnd < 0) return undefined;
  if (!data.startsWith('HTTP/1.1 ')) return 'malformed';
  const status = Number(data.slice(9, 12));
  const head = data.slice(0, headerEnd);
  const bodyStart = headerEnd + HEADER_END.length;
  const length = CONTENT_LENGTH.exec(head);
  if (length !== null) {
    const end = bodyStart + Number(length[1]);
    if (data.length < end) return undefined;
    return data.length === end ? { status, body: data.slice(bodyStart, end) } : 'malformed';
  }
  if (!CHUNKED.test(head)) return 'malformed';
  return readChunked(data, bodyStart, status);
}

/** Decodes a chunked body starting at `at`; undefined until the last chunk has arrived. */
function readChunked(data: string, at: number, status: number): { status: number; body: string } | 'malformed' | undefined {
  let body = '';
  for (let offset = at; ; ) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(data.slice(offset, lineEnd), 16);
    if (!Number.isInteger(size) || size < 0) return 'malformed';
    const chunkEnd = lineEnd + 2 + size;
    if (data.length < chunkEnd + 2) return undefined;
    if (size === 0) return data.length === chunkEnd + 2 ? { status, body } : 'malformed';
    body += data.slice(lineEnd + 2, chunkEnd);
    offset = chunkEnd + 2;
  }
}
