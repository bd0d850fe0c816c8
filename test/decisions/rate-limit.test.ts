import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRateLimiter } from '../../exchange-service/src/decisions/rate-limit.ts';
import { createMemoryCounters } from '../../exchange-service/src/store/sqlite/counters.ts';

describe('createRateLimiter', () => {
  const at = (ms: number) => () => ms;

  it('allows `limit` hits per window, then refuses with the seconds left', async () => {
    const limiter = createRateLimiter({ limit: 3, counters: createMemoryCounters(), now: at(120_000 + 45_000) });
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.hit('repo:a'));
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [true, true, true, false],
    );
    assert.equal(decisions[3]?.retryAfter, 15);
  });

  it('counts keys apart, and starts again in the next window', async () => {
    const counters = createMemoryCounters();
    let now = 60_000;
    const limiter = createRateLimiter({ limit: 1, counters, now: () => now });
    assert.equal((await limiter.hit('a')).allowed, true);
    assert.equal((await limiter.hit('b')).allowed, true);
    assert.equal((await limiter.hit('a')).allowed, false);
    now = 120_000;
    assert.equal((await limiter.hit('a')).allowed, true);
  });

  it('peeks without counting', async () => {
    const limiter = createRateLimiter({ limit: 1, counters: createMemoryCounters(), now: at(0) });
    assert.equal((await limiter.peek('ip:1')).allowed, true);
    assert.equal((await limiter.peek('ip:1')).allowed, true);
    await limiter.hit('ip:1');
    assert.equal((await limiter.peek('ip:1')).allowed, false);
  });

  it('with limit 0 allows everything and counts nothing', async () => {
    const counters = createMemoryCounters();
    const limiter = createRateLimiter({ limit: 0, counters, now: at(0) });
    for (let i = 0; i < 5; i++) assert.equal((await limiter.hit('a')).allowed, true);
    assert.equal(await counters.peekRequests('a', 0), 0);
  });

  it('passes a counter failure on to the caller', async () => {
    const limiter = createRateLimiter({
      limit: 5,
      now: at(0),
      counters: { countRequests: () => Promise.reject(new Error('store down')), peekRequests: () => Promise.reject(new Error('store down')) },
    });
    await assert.rejects(limiter.hit('a'), /store down/);
    await assert.rejects(limiter.peek('a'), /store down/);
  });
});
