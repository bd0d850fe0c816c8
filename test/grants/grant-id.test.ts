import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGrantIdSource } from '../../exchange-service/src/grants/grant-id.ts';

const newGrantId = createGrantIdSource();

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createGrantIdSource', () => {
  it('is a UUID version 7 whose first 48 bits are the time in milliseconds', () => {
    const now = Date.UTC(2026, 10, 24, 21, 0, 0, 123);
    const id = newGrantId(now);
    assert.match(id, UUID_V7);
    assert.equal(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16), now);
  });

  it('sorts by time, so an index on grant ids grows at its end', () => {
    const start = Date.UTC(2026, 10, 24);
    const ids = Array.from({ length: 2_000 }, (_, i) => newGrantId(start + i));
    assert.deepEqual([...ids].sort(), ids);
  });

  it('is unique within one millisecond (74 random bits), across the random pool refills', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 5_000 }, () => newGrantId(now)));
    assert.equal(ids.size, 5_000);
    for (const id of ids) assert.match(id, UUID_V7);
  });
});

describe('createGrantIdSource with an injected clock', () => {
  it('takes a fractional or out-of-range time without throwing', () => {
    const newGrantId = createGrantIdSource();
    assert.equal(Number.parseInt(newGrantId(1_700_000_000_000.75).replace(/-/g, '').slice(0, 12), 16), 1_700_000_000_000);
    assert.match(newGrantId(-5), UUID_V7);
  });
});
