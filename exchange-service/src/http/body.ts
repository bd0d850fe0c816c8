/**
 * The one request-body reader of the edge: size-capped before parsing (a
 * lying or absent Content-Length cannot get past the cap), strict UTF-8.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { LatchkeyError, fail } from '../errors.ts';
import { BodyTooLargeError } from './reasons.ts';

/** What {@link readBodyCapped} reads on the Node server: the request's own stream. */
export type NodeBody = Pick<Readable, 'on' | 'off' | 'readableEnded'>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the raw body, refusing more than `maxBytes` whatever the headers say. */
export async function readBodyCapped(request: Request, maxBytes: number, incoming?: NodeBody): Promise<string> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw new BodyTooLargeError(maxBytes);
  // On the Node server, read the socket stream itself: through a web ReadableStream the token
  // exchange ran at 4,465–5,067/s against 7,244–7,936/s (BENCHMARKS.md). Elsewhere (Hono's
  // app.request()), the web body is adapted to the same reader.
  if (incoming !== undefined) return decodeUtf8(await readNodeBody(incoming, maxBytes));
  if (request.body === null) return '';
  const adapted = Readable.fromWeb(request.body as NodeWebStream<Uint8Array>);
  try {
    return decodeUtf8(await readNodeBody(adapted, maxBytes));
  } finally {
    // A body past the cap is not read to its end: cancel the web stream (the Node socket is the server's to close).
    adapted.destroy();
  }
}

function decodeUtf8(chunks: Uint8Array[]): string {
  try {
    return utf8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  } catch {
    return fail('malformed', 'request body is not valid UTF-8');
  }
}

/**
 * The chunks of a Node request stream, by its events (an async iterator per
 * request costs more than the rest of the read). Past `maxBytes` the read
 * fails with 413 and the rest of the body is left to flow away unread.
 */
function readNodeBody(incoming: NodeBody, maxBytes: number): Promise<Uint8Array[]> {
  if (incoming.readableEnded) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const done = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    const onData = (chunk: Uint8Array): void => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        // Stop collecting; the rest flows to no listener, and the 413 still reaches the client.
        done();
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(chunks);
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    const onClose = (): void => {
      done();
      reject(new LatchkeyError('malformed', 'the request body ended early'));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}
