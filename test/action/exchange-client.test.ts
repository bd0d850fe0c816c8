/**
 * The exchange client with its network peer, clock and sleep injected:
 * which answers are retried (429, 503, network errors) and which fail at
 * once, how long it waits (Retry-After, else jittered backoff), that each
 * attempt sends a fresh OIDC token, and the typed errors it throws.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoff, createExchangeClient, parseRetryAfter, ServiceError, type ExchangeClientOptions } from '../../action/src/exchange-client.ts';

const GRANT = {
  access_token: 'eyJ.access.token',
  issued_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  token_type: 'Bearer',
  expires_in: 600,
  grant_id: 'g-1',
  policy: 'webapp/read',
  expires_at: '2026-11-23T10:10:00Z',
};

type Step = Response | Error;
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const refusal = (status: number, reason: string, headers: Record<string, string> = {}): Response =>
  json(
    status,
    {
      error: status === 429 ? 'slow_down' : status >= 500 ? 'temporarily_unavailable' : 'invalid_request',
      error_description: `because ${reason}`,
      reason,
      request_id: `req-${reason}`,
    },
    headers,
  );
/** What fetch throws when nothing answers. */
const refused = (): Error => new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });

/** A scripted peer: one step per request; records each request's URL and form. */
function peer(steps: Step[]) {
  const requests: Array<{ url: string; form: URLSearchParams }> = [];
  const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    requests.push({ url: String(url), form: new URLSearchParams(String(init?.body ?? '')) });
    const step = steps.shift();
    if (step === undefined) throw new Error('unscripted request');
    if (step instanceof Error) throw step;
    return step;
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

function client(steps: Step[], options: Partial<ExchangeClientOptions> = {}) {
  const network = peer(steps);
  const sleeps: number[] = [];
  const retries: string[] = [];
  let tokens = 0;
  const instance = createExchangeClient({
    url: 'https://latchkey.example',
    retries: 3,
    fetch: network.fetch,
    random: () => 0.5,
    now: () => Date.parse('2026-11-23T10:00:00Z'),
    sleep: async (ms) => void sleeps.push(ms),
    onRetry: (notice) => retries.push(notice.cause),
    ...options,
  });
  const subjectToken = async (): Promise<string> => `oidc-${++tokens}`;
  return { instance, requests: network.requests, sleeps, retries, subjectToken };
}

describe('exchange client: retries', () => {
  const cases: Array<{
    name: string;
    steps: Step[];
    retries?: number;
    ok: boolean;
    requests: number;
    sleeps: number[];
    reason?: string | null;
    status?: number | null;
  }> = [
    { name: 'success at once', steps: [json(200, GRANT)], ok: true, requests: 1, sleeps: [] },
    {
      name: '503 with Retry-After 2, then 200: waits 2 s (+ jitter)',
      steps: [refusal(503, 'upstream_unavailable', { 'retry-after': '2' }), json(200, GRANT)],
      ok: true,
      requests: 2,
      sleeps: [2125],
    },
    {
      name: '429 with Retry-After 1, then 200',
      steps: [refusal(429, 'rate_limited', { 'retry-after': '1' }), json(200, GRANT)],
      ok: true,
      requests: 2,
      sleeps: [1125],
    },
    {
      name: 'network errors twice, then 200: exponential full jitter',
      steps: [refused(), refused(), json(200, GRANT)],
      ok: true,
      requests: 3,
      sleeps: [500, 1000],
    },
    { name: '503 without Retry-After: backoff', steps: [refusal(503, 'store_unavailable'), json(200, GRANT)], ok: true, requests: 2, sleeps: [500] },
    {
      name: 'a Retry-After of an hour is capped at 30 s',
      steps: [refusal(503, 'upstream_unavailable', { 'retry-after': '3600' }), json(200, GRANT)],
      ok: true,
      requests: 2,
      sleeps: [30_000],
    },
    {
      name: 'a Retry-After date',
      steps: [refusal(503, 'upstream_unavailable', { 'retry-after': 'Mon, 23 Nov 2026 10:00:04 GMT' }), json(200, GRANT)],
      ok: true,
      requests: 2,
      sleeps: [4125],
    },
    {
      name: '503 every time: retries + 1 requests, then the last error',
      steps: Array.from({ length: 4 }, () => refusal(503, 'upstream_unavailable', { 'retry-after': '0' })),
      ok: false,
      requests: 4,
      sleeps: [125, 125, 125],
      reason: 'upstream_unavailable',
      status: 503,
    },
    {
      name: 'network down with retries 1: two requests',
      steps: [refused(), refused()],
      retries: 1,
      ok: false,
      requests: 2,
      sleeps: [500],
      reason: null,
      status: null,
    },
    {
      name: 'retries 0: one request',
      steps: [refusal(503, 'upstream_unavailable')],
      retries: 0,
      ok: false,
      requests: 1,
      sleeps: [],
      reason: 'upstream_unavailable',
      status: 503,
    },
    {
      name: '400 policy_denied: never retried',
      steps: [refusal(400, 'policy_denied')],
      ok: false,
      requests: 1,
      sleeps: [],
      reason: 'policy_denied',
      status: 400,
    },
    {
      name: '502 upstream_denied: never retried',
      steps: [refusal(502, 'upstream_denied')],
      ok: false,
      requests: 1,
      sleeps: [],
      reason: 'upstream_denied',
      status: 502,
    },
    { name: '500 internal: never retried', steps: [refusal(500, 'internal')], ok: false, requests: 1, sleeps: [], reason: 'internal', status: 500 },
    {
      name: "a proxy's HTML 404: never retried, no reason",
      steps: [new Response('<html>Not Found</html>', { status: 404 })],
      ok: false,
      requests: 1,
      sleeps: [],
      reason: null,
      status: 404,
    },
  ];
  for (const c of cases) {
    it(`${c.name}`, async () => {
      const { instance, requests, sleeps, subjectToken } = client(c.steps, c.retries === undefined ? {} : { retries: c.retries });
      const result = await instance.exchange({ policy: 'webapp/read', subjectToken }).then(
        (grant) => grant,
        (error: unknown) => error,
      );
      assert.equal(requests.length, c.requests);
      assert.deepEqual(sleeps, c.sleeps);
      if (c.ok) {
        assert.equal((result as typeof GRANT).grant_id, 'g-1');
      } else {
        assert.ok(result instanceof ServiceError, String(result));
        assert.equal(result.reason, c.reason);
        assert.equal(result.status, c.status);
        assert.equal(result.attempts, c.requests);
      }
    });
  }

  it('sends a fresh OIDC token with every attempt, and the form SPEC §3 names', async () => {
    const { instance, requests, subjectToken } = client([refused(), json(200, GRANT)]);
    await instance.exchange({ policy: 'webapp/read', subjectToken, ttl: 300, scope: 'a b', justification: 'CHG-1' });
    assert.deepEqual(
      requests.map((r) => r.form.get('subject_token')),
      ['oidc-1', 'oidc-2'],
    );
    assert.equal(requests[0]?.url, 'https://latchkey.example/token');
    assert.deepEqual(Object.fromEntries(requests[1]?.form ?? []), {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'oidc-2',
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      audience: 'webapp/read',
      ttl: '300',
      scope: 'a b',
      justification: 'CHG-1',
    });
  });

  it("carries the service's fields in the error", async () => {
    const { instance, subjectToken } = client([refusal(400, 'policy_denied')]);
    const error = await instance.exchange({ policy: 'p', subjectToken }).catch((e: unknown) => e);
    assert.ok(error instanceof ServiceError);
    assert.equal(error.error, 'invalid_request');
    assert.equal(error.description, 'because policy_denied');
    assert.equal(error.requestId, 'req-policy_denied');
  });

  it('names the network failure', async () => {
    const { instance, retries, subjectToken } = client([refused(), refused()], { retries: 1 });
    const error = await instance.exchange({ policy: 'p', subjectToken }).catch((e: unknown) => e);
    assert.ok(error instanceof ServiceError);
    assert.equal(error.description, 'ECONNREFUSED');
    assert.deepEqual(retries, ['network error: ECONNREFUSED']);
  });

  it('does not retry when the OIDC token cannot be had, and passes that error through', async () => {
    const { instance, requests } = client([json(200, GRANT)]);
    const failure = new Error('no token for you');
    await assert.rejects(instance.exchange({ policy: 'p', subjectToken: () => Promise.reject(failure) }), (error) => error === failure);
    assert.equal(requests.length, 0);
  });

  it('refuses a 200 whose body is not a grant', async () => {
    const { instance, subjectToken } = client([json(200, { access_token: 'x' })]);
    await assert.rejects(
      instance.exchange({ policy: 'p', subjectToken }),
      (error) => error instanceof ServiceError && /unexpected body/.test(error.description),
    );
  });

  it('says which field of a 200 is wrong, as a ServiceError', async () => {
    const { instance, subjectToken } = client([json(200, { ...GRANT, grant_id: undefined, expires_in: '600' })]);
    const error = await instance.exchange({ policy: 'p', subjectToken }).catch((e: unknown) => e);
    assert.ok(error instanceof ServiceError, String(error));
    assert.equal(error.status, 200);
    assert.equal(error.description, 'the service answered 200 with an unexpected body: expires_in is a string, not number; grant_id is missing');
  });

  it('refuses a 200 that is not JSON, as a ServiceError', async () => {
    const { instance, subjectToken } = client([new Response('<html>OK</html>', { status: 200 })]);
    const error = await instance.exchange({ policy: 'p', subjectToken }).catch((e: unknown) => e);
    assert.ok(error instanceof ServiceError, String(error));
    assert.equal(error.description, 'the service answered 200 with an unexpected body: it is not JSON');
  });
});

describe('exchange client: revoke', () => {
  it('posts the grant-id form with a fresh token and retries a 503', async () => {
    const { instance, requests, subjectToken } = client([refusal(503, 'store_unavailable', { 'retry-after': '0' }), json(200, {})]);
    await instance.revoke({ grantId: 'g-7', subjectToken });
    assert.equal(requests.length, 2);
    assert.equal(requests[1]?.url, 'https://latchkey.example/revoke');
    assert.deepEqual(Object.fromEntries(requests[1]?.form ?? []), { token: 'g-7', token_type_hint: 'grant_id', subject_token: 'oidc-2' });
  });

  it('throws the refusal of a subject token that does not verify', async () => {
    const { instance, subjectToken } = client([refusal(400, 'token_expired')]);
    await assert.rejects(instance.revoke({ grantId: 'g', subjectToken }), (error) => error instanceof ServiceError && error.reason === 'token_expired');
  });
});

describe('backoff and Retry-After', () => {
  it('full jitter stays within [0, base · 2^(n-1)) and under the cap', () => {
    for (const random of [0, 0.25, 0.999]) {
      for (let attempt = 1; attempt <= 8; attempt++) {
        const delay = backoff({ random: () => random, baseDelayMs: 1000, maxDelayMs: 30_000 }, attempt, undefined);
        assert.ok(delay >= 0 && delay < Math.min(30_000, 1000 * 2 ** (attempt - 1)) + 1, `attempt ${attempt}: ${delay}`);
      }
    }
  });

  const headers: Array<{ header: string | null; ms: number | undefined }> = [
    { header: null, ms: undefined },
    { header: '7', ms: 7000 },
    { header: ' 0 ', ms: 0 },
    { header: 'Mon, 23 Nov 2026 10:00:10 GMT', ms: 10_000 },
    { header: 'Mon, 23 Nov 2026 09:00:00 GMT', ms: 0 },
    { header: 'soon', ms: undefined },
  ];
  for (const c of headers) {
    it(`Retry-After ${JSON.stringify(c.header)} → ${c.ms} ms`, () => {
      assert.equal(parseRetryAfter(c.header, Date.parse('2026-11-23T10:00:00Z')), c.ms);
    });
  }
});
