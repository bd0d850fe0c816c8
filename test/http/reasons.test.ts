/**
 * The reason table and the failure set agree: a reason is audited as
 * `failed` exactly when the edge answers it with 429 or a 5xx.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFailure, LatchkeyError, type Reason } from '../../exchange-service/src/errors.ts';
import { answerFor, REASON_ANSWERS } from '../../exchange-service/src/http/reasons.ts';

describe('REASON_ANSWERS and isFailure', () => {
  for (const reason of Object.keys(REASON_ANSWERS) as Reason[]) {
    const { status } = REASON_ANSWERS[reason];
    it(`${reason} → ${status}, ${status >= 500 || status === 429 ? 'failed' : 'denied'}`, () => {
      assert.equal(isFailure(reason), status >= 500 || status === 429);
    });
  }

  it('a 503 without a time of its own says Retry-After: 5; one with a time keeps it', () => {
    assert.equal(answerFor(new LatchkeyError('store_unavailable', 'x')).retryAfter, 5);
    assert.equal(answerFor(new LatchkeyError('rate_limited', 'x', { retryAfter: 17 })).retryAfter, 17);
    assert.equal(answerFor(new LatchkeyError('policy_denied', 'x')).retryAfter, undefined);
  });
});
