/**
 * The JWKS cache against a real loopback issuer, with an injected clock:
 * single-flight fetches, the unknown-kid cooldown (ATTACKS.md 19), failing
 * upstreams that must not be cached (21), stale keys while the endpoint is
 * down and cold starts (29), and key rotation (30).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { IssuerConfig } from '../../exchange-service/src/config.ts';
import { LatchkeyError, type Reason } from '../../exchange-service/src/errors.ts';
import { answerFor } from '../../exchange-service/src/http/reasons.ts';
import { createJwksCache, importKeySet } from '../../exchange-service/src/oidc/jwks.ts';
import { createTokenVerifier, type TokenVerifier } from '../../exchange-service/src/oidc/verify.ts';
import { startTestIssuer, type JwksMode, type TestIssuer } from '../support/oidc-issuer.ts';

const AUDIENCE = 'http://127.0.0.1:8080';
const MINUTE = 60_000;

interface Rig {
  issuer: TestIssuer;
  verifier: TokenVerifier;
  clock: { ms: number };
  /** Every onJwksFetch outcome, in order. */
  fetches: string[];
  close(): Promise<void>;
}

/** An issuer and a verifier sharing a clock that only moves when the test moves it. */
async function startRig(issuerConfig: Record<string, unknown> = {}, urlOf?: (issuer: TestIssuer) => string): Promise<Rig> {
  const clock = { ms: Date.UTC(2026, 10, 23, 10, 0, 0) };
  const now = (): number => clock.ms;
  const issuer = await startTestIssuer({ audience: AUDIENCE, now });
  const fetches: string[] = [];
  const verifier = createTokenVerifier({
    issuers: { github: IssuerConfig.parse({ url: urlOf?.(issuer) ?? issuer.url, ...issuerConfig }) },
    audience: AUDIENCE,
    now,
    onJwksFetch: (name, outcome) => fetches.push(`${name}:${outcome}`),
  });
  return {
    issuer,
    verifier,
    clock,
    fetches,
    close: async () => {
      verifier.close();
      await issuer.close();
    },
  };
}

/** A token whose header names `kid` (its signature no longer matters: the kid is never found). */
function withKid(token: string, kid: string): string {
  const [, payload, signature] = token.split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid })).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

async function rejectsWith(promise: Promise<unknown>, reason: Reason): Promise<LatchkeyError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return error instanceof LatchkeyError && error.reason === reason;
  });
  return caught as LatchkeyError;
}

describe('JWKS fetching', () => {
  it('shares one discovery and one JWKS fetch between concurrent cold verifies', async () => {
    const rig = await startRig();
    try {
      const tokens = await Promise.all(Array.from({ length: 25 }, () => rig.issuer.sign()));
      const results = await Promise.all(tokens.map((token) => rig.verifier.verify(token)));
      assert.equal(results.length, 25);
      assert.deepEqual([rig.issuer.discoveryRequests, rig.issuer.jwksRequests], [1, 1]);
      assert.deepEqual(rig.fetches, ['github:ok']);
      // Warm: more verifies fetch nothing.
      for (let i = 0; i < 5; i++) await rig.verifier.verify(await rig.issuer.sign());
      assert.equal(rig.issuer.jwksRequests, 1);
    } finally {
      await rig.close();
    }
  });

  it('uses a configured jwks_url without discovery', async () => {
    const rig = await startRig();
    try {
      const verifier = createTokenVerifier({
        issuers: { github: IssuerConfig.parse({ url: rig.issuer.url, jwks_url: `${rig.issuer.url}/.well-known/jwks` }) },
        audience: AUDIENCE,
        now: () => rig.clock.ms,
      });
      try {
        await verifier.verify(await rig.issuer.sign());
        assert.deepEqual([rig.issuer.discoveryRequests, rig.issuer.jwksRequests], [0, 1]);
      } finally {
        verifier.close();
      }
    } finally {
      await rig.close();
    }
  });
});

describe('a flood of unknown kids (ATTACKS.md 19)', () => {
  it('ATTACKS 19: causes at most one refetch per 30 s cooldown', async () => {
    const rig = await startRig();
    try {
      const token = await rig.issuer.sign();
      await rig.verifier.verify(token);
      assert.equal(rig.issuer.jwksRequests, 1);
      const flood = Array.from({ length: 1000 }, () => withKid(token, randomUUID()));
      const results = await Promise.allSettled(flood.map((forged) => rig.verifier.verify(forged)));
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.equal((result.reason as LatchkeyError).reason, 'token_invalid');
      }
      assert.equal(rig.issuer.jwksRequests, 2, 'exactly one refetch for the whole flood');
      // Sequential kids inside the cooldown: no fetch at all.
      rig.clock.ms += 29_000;
      for (let i = 0; i < 200; i++) await rejectsWith(rig.verifier.verify(withKid(token, randomUUID())), 'token_invalid');
      assert.equal(rig.issuer.jwksRequests, 2);
      // The real key still works throughout.
      await rig.verifier.verify(await rig.issuer.sign());
      // After the cooldown, one more refetch is allowed.
      rig.clock.ms += 1_000;
      await rejectsWith(rig.verifier.verify(withKid(token, randomUUID())), 'token_invalid');
      assert.equal(rig.issuer.jwksRequests, 3);
    } finally {
      await rig.close();
    }
  });
});

describe('failing JWKS responses (ATTACKS.md 21)', () => {
  const failures: { mode: JwksMode; why: RegExp; config?: Record<string, unknown> }[] = [
    { mode: 'huge', why: /exceeds 262144 bytes/ },
    { mode: 'redirect', why: /redirect not followed \(HTTP 302\)/ },
    { mode: 'error500', why: /HTTP 500/ },
    { mode: 'garbage', why: /not valid JSON/ },
    { mode: 'empty', why: /no usable signing key/ },
    { mode: 'down', why: /fetch failed/ },
    { mode: 'slow', why: /timed out after 1000 ms/, config: { jwks_timeout: '1s' } },
  ];
  for (const failure of failures) {
    it(`ATTACKS 21: ${failure.mode}: 503 upstream_unavailable, nothing cached`, async () => {
      const rig = await startRig({ jwks_url: undefined, ...failure.config });
      try {
        rig.issuer.mode = failure.mode;
        const error = await rejectsWith(rig.verifier.verify(await rig.issuer.sign()), 'upstream_unavailable');
        assert.equal(answerFor(error).status, 503);
        assert.match(error.logDetail ?? '', failure.why);
        assert.deepEqual(rig.fetches, ['github:error']);
        const served = rig.issuer.jwksRequests;
        assert.ok(served <= 1, 'a redirect is not followed');
        // Nothing was cached: the next attempt (after the short failure back-off) fetches again and fails again.
        rig.clock.ms += 2_000;
        await rejectsWith(rig.verifier.verify(await rig.issuer.sign()), 'upstream_unavailable');
        assert.equal(rig.fetches.length, 2);
        // Once the endpoint recovers, keys are fetched and used.
        rig.issuer.mode = 'ok';
        rig.clock.ms += 2_000;
        await rig.verifier.verify(await rig.issuer.sign());
        assert.deepEqual(rig.fetches, ['github:error', 'github:error', 'github:ok']);
      } finally {
        await rig.close();
      }
    });
  }

  it('answers 503 without refetching during the failure back-off', async () => {
    const rig = await startRig();
    try {
      rig.issuer.mode = 'error500';
      await rejectsWith(rig.verifier.verify(await rig.issuer.sign()), 'upstream_unavailable');
      rig.issuer.mode = 'ok';
      await rejectsWith(rig.verifier.verify(await rig.issuer.sign()), 'upstream_unavailable');
      assert.equal(rig.issuer.jwksRequests, 1);
      rig.clock.ms += 1_000;
      await rig.verifier.verify(await rig.issuer.sign());
    } finally {
      await rig.close();
    }
  });

  it('rejects a discovery document that names another issuer', async () => {
    // localhost and 127.0.0.1 reach the same server, whose discovery document names 127.0.0.1.
    const rig = await startRig({}, (issuer) => issuer.url.replace('127.0.0.1', 'localhost'));
    try {
      const token = await rig.issuer.sign({ iss: rig.issuer.url.replace('127.0.0.1', 'localhost') });
      const error = await rejectsWith(rig.verifier.verify(token), 'upstream_unavailable');
      assert.match(error.logDetail ?? '', /names another issuer/);
      assert.equal(rig.issuer.jwksRequests, 0);
    } finally {
      await rig.close();
    }
  });

  for (const mode of ['empty', 'garbage', 'huge'] as const) {
    it(`ATTACKS 21: keeps the good keys when a refetch returns ${mode}`, async () => {
      const rig = await startRig();
      try {
        const token = await rig.issuer.sign();
        await rig.verifier.verify(token);
        rig.issuer.mode = mode;
        // An unknown kid forces a refetch, which fails: 503 (we could not check), old keys untouched.
        await rejectsWith(rig.verifier.verify(withKid(token, 'rotated-in-maybe')), 'upstream_unavailable');
        assert.equal(rig.issuer.jwksRequests, 2);
        await rig.verifier.verify(await rig.issuer.sign());
      } finally {
        await rig.close();
      }
    });
  }
});

describe('JWKS endpoint down (ATTACKS.md 29)', () => {
  it('ATTACKS 29: keeps warm keys until jwks_stale_max after the last success, then answers 503', async () => {
    const rig = await startRig({ jwks_stale_max: '1h' });
    try {
      const start = rig.clock.ms;
      await rig.verifier.verify(await rig.issuer.sign());
      rig.issuer.mode = 'down';
      for (const offset of [11 * MINUTE, 30 * MINUTE, 60 * MINUTE]) {
        rig.clock.ms = start + offset;
        await rig.verifier.verify(await rig.issuer.sign());
      }
      await waitFor(() => rig.fetches.includes('github:error')); // due refreshes were attempted and failed
      rig.clock.ms = start + 60 * MINUTE + 1_000;
      const error = await rejectsWith(rig.verifier.verify(await rig.issuer.sign()), 'upstream_unavailable');
      assert.equal(answerFor(error).status, 503);
      assert.ok((answerFor(error).retryAfter ?? 0) > 0); // the edge adds the 503 default Retry-After
      // Back up: the next attempt after the back-off refreshes and succeeds.
      rig.issuer.mode = 'ok';
      rig.clock.ms += 2_000;
      await rig.verifier.verify(await rig.issuer.sign());
    } finally {
      await rig.close();
    }
  });

  it('counts staleness from the last successful fetch, not the first', async () => {
    const rig = await startRig({ jwks_stale_max: '1h' });
    try {
      const start = rig.clock.ms;
      await rig.verifier.verify(await rig.issuer.sign());
      // A refresh at +50 min succeeds (due after 10 min), so keys stay trusted until +110 min.
      rig.clock.ms = start + 50 * MINUTE;
      await rig.verifier.verify(await rig.issuer.sign());
      await waitFor(() => rig.fetches.length === 2);
      rig.issuer.mode = 'down';
      rig.clock.ms = start + 109 * MINUTE;
      await rig.verifier.verify(await rig.issuer.sign());
      rig.clock.ms = start + 111 * MINUTE;
      await rejectsWith(rig.verifier.verify(await rig.issuer.sign()), 'upstream_unavailable');
    } finally {
      await rig.close();
    }
  });

  it('ATTACKS 29: answers 503 when cold', async () => {
    const rig = await startRig();
    try {
      rig.issuer.mode = 'down';
      await rejectsWith(rig.verifier.verify(await rig.issuer.sign()), 'upstream_unavailable');
      assert.equal(rig.issuer.jwksRequests, 0, 'discovery failed first');
    } finally {
      await rig.close();
    }
  });
});

describe('key rotation (ATTACKS.md 30)', () => {
  it('ATTACKS 30: picks up a new kid on the first token that uses it', async () => {
    const rig = await startRig();
    try {
      const oldToken = await rig.issuer.sign();
      await rig.verifier.verify(oldToken);
      await rig.issuer.rotate();
      await rig.verifier.verify(await rig.issuer.sign());
      assert.equal(rig.issuer.jwksRequests, 2);
      // The old key is still published: tokens signed before (and with) it still verify.
      await rig.verifier.verify(oldToken);
      await rig.verifier.verify(await rig.issuer.sign({}, { key: 'previous' }));
      assert.equal(rig.issuer.jwksRequests, 2);
      // A rotation that drops the old key: once refetched, the old kid is no longer trusted.
      rig.clock.ms += 31_000;
      await rig.issuer.rotate({ drop: true });
      await rig.verifier.verify(await rig.issuer.sign());
      await rejectsWith(rig.verifier.verify(oldToken), 'token_invalid');
      assert.equal(rig.issuer.jwksRequests, 3);
    } finally {
      await rig.close();
    }
  });

  it('picks up a new kid once a cooldown started by a flood has passed', async () => {
    const rig = await startRig();
    try {
      const token = await rig.issuer.sign();
      await rig.verifier.verify(token);
      await rejectsWith(rig.verifier.verify(withKid(token, 'random-1')), 'token_invalid');
      await rig.issuer.rotate();
      const rotated = await rig.issuer.sign();
      await rejectsWith(rig.verifier.verify(rotated), 'token_invalid');
      rig.clock.ms += 30_000;
      await rig.verifier.verify(rotated);
    } finally {
      await rig.close();
    }
  });
});

describe('createJwksCache', () => {
  const config = (url: string): IssuerConfig => IssuerConfig.parse({ url });

  it('refreshes in the background and stops on close', async () => {
    const issuer = await startTestIssuer();
    const cache = createJwksCache({ issuer: 'github', config: config(issuer.url), algorithms: ['RS256'], refreshIntervalMs: 20 });
    try {
      await cache.getKey(issuer.kid, 'RS256');
      await waitFor(() => issuer.jwksRequests >= 3);
    } finally {
      cache.close();
      await issuer.close();
    }
  });

  it('aborts a fetch in flight on close', async () => {
    const issuer = await startTestIssuer();
    issuer.mode = 'slow';
    const cache = createJwksCache({ issuer: 'github', config: config(issuer.url), algorithms: ['RS256'] });
    try {
      const pending = cache.getKey(issuer.kid, 'RS256');
      await waitFor(() => issuer.jwksRequests === 1);
      cache.close();
      await rejectsWith(pending, 'upstream_unavailable');
    } finally {
      await issuer.close();
    }
  });

  it('imports each key once per fetch, not per request', async () => {
    const issuer = await startTestIssuer();
    const cache = createJwksCache({ issuer: 'github', config: config(issuer.url), algorithms: ['RS256'] });
    try {
      const first = await cache.getKey(issuer.kid, 'RS256');
      assert.equal(await cache.getKey(issuer.kid, 'RS256'), first);
      assert.equal(issuer.jwksRequests, 1);
      await cache.refresh();
      assert.notEqual(await cache.getKey(issuer.kid, 'RS256'), first);
    } finally {
      cache.close();
      await issuer.close();
    }
  });

  it('rejects a malformed kid without fetching', async () => {
    const issuer = await startTestIssuer();
    const cache = createJwksCache({ issuer: 'github', config: config(issuer.url), algorithms: ['RS256'] });
    try {
      await rejectsWith(cache.getKey('../../etc/passwd', 'RS256'), 'token_invalid');
      assert.deepEqual([issuer.discoveryRequests, issuer.jwksRequests], [0, 0]);
    } finally {
      cache.close();
      await issuer.close();
    }
  });
});

describe('importKeySet', () => {
  let rsaJwk: Promise<Record<string, unknown>> | undefined;
  const rsa = (): Promise<Record<string, unknown>> => {
    rsaJwk ??= generateKeyPair('RS256', { extractable: true }).then(async ({ publicKey }) => ({
      ...(await exportJWK(publicKey)),
      kid: 'key-1',
      alg: 'RS256',
      use: 'sig',
    }));
    return rsaJwk;
  };
  const cases: { name: string; keys: (jwk: Record<string, unknown>) => unknown; usable: string[] }[] = [
    { name: 'a good RSA key', keys: (jwk) => ({ keys: [jwk] }), usable: ['RS256'] },
    { name: 'no keys member', keys: () => ({}), usable: [] },
    { name: 'keys is not an array', keys: (jwk) => ({ keys: jwk }), usable: [] },
    { name: 'empty key list', keys: () => ({ keys: [] }), usable: [] },
    { name: 'an encryption key', keys: (jwk) => ({ keys: [{ ...jwk, use: 'enc' }] }), usable: [] },
    { name: 'a key for another algorithm', keys: (jwk) => ({ keys: [{ ...jwk, alg: 'RS512' }] }), usable: [] },
    { name: 'a symmetric key', keys: () => ({ keys: [{ kty: 'oct', kid: 'k1', k: 'c2VjcmV0' }] }), usable: [] },
    { name: 'a key without kid', keys: (jwk) => ({ keys: [{ ...jwk, kid: undefined }] }), usable: [] },
    { name: 'a key with a bad kid', keys: (jwk) => ({ keys: [{ ...jwk, kid: 'a/b' }] }), usable: [] },
    { name: 'a broken RSA key', keys: (jwk) => ({ keys: [{ ...jwk, n: 'AA' }] }), usable: [] },
    { name: 'a private key', keys: (jwk) => ({ keys: [{ ...jwk, d: 'AQAB' }] }), usable: [] },
    { name: 'one good key among bad ones', keys: (jwk) => ({ keys: [{ kty: 'oct', kid: 'x', k: 'AA' }, 'junk', null, jwk] }), usable: ['RS256'] },
  ];
  for (const testCase of cases) {
    it(`${testCase.name} → ${testCase.usable.length > 0 ? 'usable' : 'no usable key'}`, async () => {
      const jwk = await rsa();
      const document = JSON.parse(JSON.stringify(testCase.keys(jwk)));
      if (testCase.usable.length === 0) {
        await assert.rejects(importKeySet(document, ['RS256']), /no "keys" array|no usable signing key/);
      } else {
        const keys = await importKeySet(document, ['RS256']);
        assert.deepEqual([...(keys.get(String(jwk.kid))?.keys() ?? [])], testCase.usable);
      }
    });
  }
});

/** Polls a condition that background work will make true; fails after 5 s instead of hanging. */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
