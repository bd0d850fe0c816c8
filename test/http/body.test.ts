/**
 * The one body reader, off the Node server (Hono's app.request(), a web
 * Request with no socket behind it): the same cap, the same UTF-8 check.
 * The Node-socket path is exercised over real HTTP by test/limits/.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatchkeyError } from '../../exchange-service/src/errors.ts';
import { readBodyCapped } from '../../exchange-service/src/http/body.ts';
import { BodyTooLargeError } from '../../exchange-service/src/http/reasons.ts';

const URL_ = 'http://latchkey.test/token';

/** A body sent as a stream, so no Content-Length announces its size. */
function streamed(parts: Uint8Array[]): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
  return new Request(URL_, { method: 'POST', body, duplex: 'half' } as RequestInit);
}

describe('readBodyCapped without a Node socket', () => {
  it('reads a body as text', async () => {
    assert.equal(await readBodyCapped(new Request(URL_, { method: 'POST', body: 'grant_type=x&ttl=60' }), 64), 'grant_type=x&ttl=60');
  });

  it('reads an empty request as the empty text', async () => {
    assert.equal(await readBodyCapped(new Request(URL_, { method: 'POST' }), 64), '');
  });

  it('joins a body that arrives in several chunks', async () => {
    const text = await readBodyCapped(streamed([Buffer.from('a=1&'), Buffer.from('b=2')]), 64);
    assert.equal(text, 'a=1&b=2');
  });

  it('refuses a streamed body past the cap though no Content-Length said so', async () => {
    const error = await readBodyCapped(streamed([Buffer.alloc(40, 0x61), Buffer.alloc(40, 0x62)]), 64).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof BodyTooLargeError, String(error));
    assert.equal(error.reason, 'malformed');
  });

  it('cancels an endless body once it passes the cap, instead of draining it', async () => {
    let cancelled = false;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        // "Endless" up to a bound, so a reader that drains it fails this test instead of hanging it.
        if (pulled > 1_000) controller.close();
        else controller.enqueue(Buffer.alloc(16, 0x61));
      },
      cancel() {
        cancelled = true;
      },
    });
    const request = new Request(URL_, { method: 'POST', body, duplex: 'half' } as RequestInit);
    await assert.rejects(readBodyCapped(request, 64), BodyTooLargeError);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(cancelled, 'the web stream was not cancelled');
    assert.ok(pulled < 100, `pulled ${pulled} chunks after the cap`);
  });

  it('refuses a declared Content-Length past the cap before reading', async () => {
    const request = new Request(URL_, { method: 'POST', body: 'x'.repeat(10), headers: { 'content-length': '1000' } });
    await assert.rejects(readBodyCapped(request, 64), BodyTooLargeError);
  });

  it('refuses a body that is not UTF-8 as malformed', async () => {
    const error = await readBodyCapped(streamed([Uint8Array.of(0x61, 0xff, 0x62)]), 64).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof LatchkeyError && !(error instanceof BodyTooLargeError), String(error));
    assert.equal(error.reason, 'malformed');
  });
});
