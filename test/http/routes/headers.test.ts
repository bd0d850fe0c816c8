/**
 * Every response carries `Cache-Control: no-store` and its `X-Request-Id`:
 * a grant, a denial, a 404, an unhandled method, the health and metrics
 * endpoints and the key set. (The headers are set before a handler builds
 * its response; set afterwards, Hono would rebuild each response around a
 * stream.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BASIC_POLICY, exchangeParams, startTestService, type TestService } from '../../support/service.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('response headers on every route', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ policies: { 'webapp/read': BASIC_POLICY } });
  });
  after(() => svc.close());

  const check = (response: Response, what: string): string => {
    assert.equal(response.headers.get('cache-control'), 'no-store', `${what}: Cache-Control`);
    const id = response.headers.get('x-request-id') ?? '';
    assert.match(id, UUID, `${what}: X-Request-Id`);
    return id;
  };

  it('a grant and a denial, each with its own id (the denial names it in its body too)', async () => {
    const granted = await fetch(`${svc.url}/token`, { method: 'POST', body: new URLSearchParams(exchangeParams(await svc.issuer.sign(), 'webapp/read')) });
    assert.equal(granted.status, 200);
    const grantId = check(granted, 'grant');
    const denied = await fetch(`${svc.url}/token`, { method: 'POST', body: new URLSearchParams(exchangeParams('not.a.jwt', 'webapp/read')) });
    assert.equal(denied.status, 400);
    const deniedId = check(denied, 'denial');
    assert.equal(((await denied.json()) as { request_id?: string }).request_id, deniedId);
    assert.notEqual(grantId, deniedId);
  });

  it('a 404, a wrong method, /healthz, /metrics and the key set', async () => {
    for (const [path, init] of [
      ['/no-such-route', {}],
      ['/token', { method: 'GET' }],
      ['/healthz', {}],
      ['/metrics', {}],
      ['/.well-known/jwks.json', {}],
    ] as const) {
      const response = await fetch(`${svc.url}${path}`, init);
      await response.arrayBuffer();
      check(response, `${init.method ?? 'GET'} ${path} (${response.status})`);
    }
  });

  it('an unknown route answers 404 through the one onError: RFC 6749 JSON with reason not_found', async () => {
    const response = await fetch(`${svc.url}/no-such-route`, { method: 'POST' });
    assert.equal(response.status, 404);
    const body = (await response.json()) as Record<string, unknown>;
    assert.equal(body.error, 'not_found');
    assert.equal(body.reason, 'not_found');
    assert.equal(body.error_description, 'no route for POST /no-such-route');
    assert.equal(body.request_id, response.headers.get('x-request-id'));
  });
});
