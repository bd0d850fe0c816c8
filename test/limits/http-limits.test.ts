/**
 * The HTTP server's own limits (config `limits`), over real sockets: header
 * size (431), a client that stalls after its headers or inside them (408,
 * cut off), the concurrent-connection cap, and the size of a subject token
 * checked before anything decodes it (ATTACKS.md 18).
 *
 * Each stall test would hang for Node's defaults (30 s and more) without the
 * setting; the raw-socket helper gives up at 10 s, so such a regression fails
 * instead of passing slowly.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { startTestService, exchangeParams, type TestService } from '../support/service.ts';
import { getRequest, openIdleConnection, rawExchange, statusOf } from '../support/raw-http.ts';

/** Sends a request whose Content-Length promises more body than it sends. */
const STALLED_BODY = 'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\ngrant_type=urn';

describe('HTTP limits: header and token size', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ config: { limits: { max_header_bytes: 8192 } } });
  });
  after(() => svc.close());

  const headerCases = [
    { name: 'headers well under limits.max_header_bytes → served', bytes: 6000, status: 200 },
    { name: 'headers over limits.max_header_bytes → 431 before the app sees them', bytes: 9000, status: 431 },
  ];
  for (const c of headerCases) {
    it(c.name, async () => {
      const audited = svc.audit.length;
      const result = await rawExchange(svc.url, getRequest('/healthz', { 'X-Padding': 'p'.repeat(c.bytes) }));
      assert.equal(statusOf(result.response), c.status, result.response.slice(0, 80));
      assert.equal(result.ended, 'closed');
      assert.equal(svc.audit.length, audited, 'nothing audited: no exchange was attempted');
    });
  }

  it('a 431 also refuses an oversized /token request without an audit record', async () => {
    const audited = svc.audit.length;
    const body = new URLSearchParams(exchangeParams(await svc.issuer.sign(), 'webapp/read')).toString();
    const request = `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${'c'.repeat(9000)}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const result = await rawExchange(svc.url, request);
    assert.equal(statusOf(result.response), 431);
    assert.equal(svc.audit.length, audited);
  });

  it('ATTACKS 18: a 1 MiB subject_token is malformed before decoding, even under a body cap that lets it through', async () => {
    const big = await startTestService({ config: { limits: { max_body_bytes: 2 * 1024 * 1024 } } });
    try {
      const jwksBefore = big.issuer.jwksRequests + big.issuer.discoveryRequests;
      const token = `${'eyJ'.repeat(349_526)}.eyJ.sig`;
      assert.ok(token.length > 1024 * 1024);
      const res = await big.post('/token', exchangeParams(token, 'webapp/read'), { json: true });
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_request');
      assert.equal(res.body.reason, 'malformed');
      assert.match(String(res.body.error_description), /subject_token is larger than 16384 bytes/);
      assert.equal(big.issuer.jwksRequests + big.issuer.discoveryRequests, jwksBefore, 'nothing was fetched to check it');
    } finally {
      await big.close();
    }
  });
});

describe('HTTP limits: slow clients', { concurrency: true }, () => {
  // The three stalls run side by side: each waits out a timeout, none depends on another.
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ config: { limits: { request_timeout: '1s', headers_timeout: '1s' } } });
  });
  after(() => svc.close());

  it('a client that sends its headers and then stalls the body is cut off with 408 (limits.request_timeout)', async () => {
    const result = await rawExchange(svc.url, STALLED_BODY);
    assert.equal(result.ended, 'closed', 'the server ended the connection before the 10 s deadline');
    assert.equal(statusOf(result.response), 408, result.response);
    const health = await fetch(`${svc.url}/healthz`);
    assert.equal(health.status, 200, 'the service still serves others');
  });

  it('a client that stops in the middle of its headers is cut off with 408 (limits.headers_timeout)', async () => {
    const result = await rawExchange(svc.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: abc');
    assert.equal(result.ended, 'closed');
    assert.equal(statusOf(result.response), 408, result.response);
  });

  it('trickling header bytes (slowloris) does not extend limits.headers_timeout', async () => {
    // One byte every 150 ms would take 30 s to finish these headers; the 1 s budget counts from the first byte.
    const request = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'s'.repeat(200)}\r\n\r\n`;
    const result = await rawExchange(svc.url, '', { chunks: [...request], gapMs: 150 });
    assert.equal(result.ended, 'closed');
    assert.equal(statusOf(result.response), 408, result.response);
  });
});

describe('HTTP limits: concurrent connections', () => {
  let svc: TestService;
  const held: Socket[] = [];
  before(async () => {
    svc = await startTestService({ config: { limits: { max_connections: 2 } } });
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await svc.close();
  });

  it('closes connections beyond limits.max_connections at accept, and serves again once one ends', async () => {
    assert.equal(statusOf((await rawExchange(svc.url, getRequest('/healthz'))).response), 200, 'served while under the cap');
    held.push(await openIdleConnection(svc.url), await openIdleConnection(svc.url));
    const refused = await rawExchange(svc.url, getRequest('/healthz'));
    assert.equal(refused.ended, 'closed');
    assert.equal(refused.response, '', 'a connection over the cap gets no response at all');

    held.pop()?.destroy();
    // The server counts the closed connection once its close event has run; give it a few turns.
    let status: number | undefined;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = statusOf((await rawExchange(svc.url, getRequest('/healthz'))).response);
    }
    assert.equal(status, 200, 'capacity came back when a held connection closed');
  });
});
