/**
 * parseDuration, the Action's reading of a `ttl` such as `15m`: whole
 * seconds for a duration with explicit units, undefined for anything else,
 * and the same reading as the service's (authors write the same `ttl: 15m`
 * in policies and in `with:`, so the two copies must not drift).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration } from '../../action/src/duration.ts';
import { parseDuration as serviceParseDuration } from '../../exchange-service/src/duration.ts';

const cases: Array<{ name: string; text: string; seconds: number | undefined }> = [
  { name: 'seconds', text: '30s', seconds: 30 },
  { name: 'minutes', text: '15m', seconds: 900 },
  { name: 'hours', text: '1h', seconds: 3600 },
  { name: 'hours and minutes', text: '1h30m', seconds: 5400 },
  { name: 'all three units', text: '1h1m1s', seconds: 3661 },
  { name: 'more minutes than an hour', text: '90m', seconds: 5400 },
  { name: 'surrounding space is ignored', text: ' 10m ', seconds: 600 },
  { name: 'a bare integer has no unit', text: '15', seconds: undefined },
  { name: 'empty', text: '', seconds: undefined },
  { name: 'blank', text: '   ', seconds: undefined },
  { name: 'zero', text: '0s', seconds: undefined },
  { name: 'units out of order', text: '30m1h', seconds: undefined },
  { name: 'an unknown unit', text: '1d', seconds: undefined },
  { name: 'an upper-case unit', text: '15M', seconds: undefined },
  { name: 'a negative duration', text: '-5m', seconds: undefined },
  { name: 'a fraction', text: '1.5h', seconds: undefined },
  { name: 'a space between units', text: '1h 30m', seconds: undefined },
  { name: 'beyond a safe integer', text: `${'9'.repeat(20)}h`, seconds: undefined },
];

describe('parseDuration', () => {
  for (const c of cases) {
    it(`${c.name}: ${JSON.stringify(c.text)}`, () => {
      assert.equal(parseDuration(c.text), c.seconds);
    });
  }

  it('reads every case as the service does', () => {
    for (const c of cases) assert.equal(parseDuration(c.text), serviceParseDuration(c.text), c.name);
  });
});
