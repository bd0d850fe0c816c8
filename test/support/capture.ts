/**
 * A writable stream that keeps what is written, for running CLI commands
 * in-process with their stdout and stderr captured.
 */
import { Writable } from 'node:stream';

/** A stream to hand to a command, and the text written to it so far. */
export function capture(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
