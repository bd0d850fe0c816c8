/**
 * The `aws` minter when STS fails (ATTACKS.md 31–32), through the real SDK
 * over HTTP to a loopback STS: transient failures are retried a bounded
 * number of times (counted at the STS) and then answer 503; refusals answer
 * 502 at once with STS's message for the operator only; a slow STS answers
 * 503 within the budget; an incomplete credential is never passed on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STSClient } from '@aws-sdk/client-sts';
import { createAwsMinter } from '../../exchange-service/src/grants/aws.ts';
import { LatchkeyError, type Reason } from '../../exchange-service/src/errors.ts';
import { answerFor } from '../../exchange-service/src/http/reasons.ts';
import { startLoopbackSts, type LoopbackSts } from '../support/loopback-sts.ts';
import { awsGrant, capturingLogger, mintRequest, SERVICE_CREDENTIALS, stsClient } from './aws-fixtures.ts';

const DENIED_MESSAGE =
  'User: arn:aws:sts::123456789012:assumed-role/latchkey/i-0abc is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/webapp-deploy';

interface FailureCase {
  name: string;
  arrange(sts: LoopbackSts): void;
  /** Minter options over the defaults (3 attempts, 10 s budget). */
  options?: { maxAttempts?: number; timeoutMs?: number };
  /** Sign with a secret the STS does not know. */
  wrongSecret?: boolean;
  /** null: the credential is issued in the end. */
  reason: Extract<Reason, 'upstream_unavailable' | 'upstream_denied'> | null;
  /** AssumeRole requests the STS must have received. */
  requests: number;
  /** What the operator log detail must say. */
  detail?: RegExp;
  /** The client's description, exactly. */
  description?: string;
}

const partial = (
  credentials: string,
  user = '<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/webapp-deploy/s</Arn><AssumedRoleId>AROAX:s</AssumedRoleId></AssumedRoleUser>',
): string =>
  `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>${user}<Credentials>${credentials}</Credentials></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`;

const CASES: FailureCase[] = [
  // Transient: retried, then granted.
  { name: 'Throttling once, then granted', arrange: (s) => s.failNext(1, { code: 'Throttling', message: 'Rate exceeded' }), reason: null, requests: 2 },
  { name: 'IDPCommunicationError twice, then granted', arrange: (s) => s.failNext(2, { code: 'IDPCommunicationError' }), reason: null, requests: 3 },
  { name: 'connection dropped once, then granted', arrange: (s) => s.dropNext(1), reason: null, requests: 2 },
  {
    name: 'ServiceUnavailable (503) once, then granted',
    arrange: (s) => s.failNext(1, { code: 'ServiceUnavailable', status: 503 }),
    reason: null,
    requests: 2,
  },
  // Transient every time: bounded retries, then 503.
  {
    name: 'Throttling on every attempt',
    arrange: (s) => s.failNext(3, { code: 'Throttling', message: 'Rate exceeded' }),
    reason: 'upstream_unavailable',
    requests: 3,
    detail: /Throttling: Rate exceeded \(attempt 3 of 3\)/,
    description: 'AWS STS is unavailable (Throttling); try again',
  },
  {
    name: 'IDPCommunicationError on every attempt',
    arrange: (s) => s.failNext(3, { code: 'IDPCommunicationError', message: 'idp down' }),
    reason: 'upstream_unavailable',
    requests: 3,
    detail: /IDPCommunicationError/,
  },
  {
    name: 'InternalFailure (500) on every attempt',
    arrange: (s) => s.failNext(3, { code: 'InternalFailure', status: 500 }),
    reason: 'upstream_unavailable',
    requests: 3,
    detail: /InternalFailure/,
  },
  {
    name: 'an HTML 502 from a proxy on every attempt',
    arrange: (s) => s.script(...Array.from({ length: 3 }, () => ({ raw: '<html>Bad Gateway</html>', status: 502 }))),
    reason: 'upstream_unavailable',
    requests: 3,
  },
  {
    name: 'connection dropped on every attempt',
    arrange: (s) => s.dropNext(3),
    reason: 'upstream_unavailable',
    requests: 3,
    detail: /ECONNRESET|socket hang up/,
  },
  {
    name: 'maxAttempts 1: no retry at all',
    arrange: (s) => s.failNext(1, { code: 'Throttling' }),
    options: { maxAttempts: 1 },
    reason: 'upstream_unavailable',
    requests: 1,
  },
  // Refusals: 502 at once, no retry.
  {
    name: 'AccessDenied',
    arrange: (s) => s.failNext(1, { code: 'AccessDenied', status: 403, message: DENIED_MESSAGE }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /AccessDenied: User: arn:aws:sts::123456789012:assumed-role\/latchkey/,
    description: 'AWS STS refused to assume the role (AccessDenied)',
  },
  {
    name: 'an error code with odd characters is reduced to code characters',
    arrange: (s) => s.failNext(1, { code: 'Denied <b>"now"</b>\n', message: 'odd' }),
    reason: 'upstream_denied',
    requests: 1,
    description: 'AWS STS refused to assume the role (Deniedbnowb)',
  },
  {
    name: 'MalformedPolicyDocument',
    arrange: (s) => s.failNext(1, { code: 'MalformedPolicyDocument', message: 'Syntax errors in policy.' }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /MalformedPolicyDocument: Syntax errors in policy/,
  },
  {
    name: 'PackedPolicyTooLarge',
    arrange: (s) => s.failNext(1, { code: 'PackedPolicyTooLarge', message: 'Packed policy consumes 112% of allotted space' }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /PackedPolicyTooLarge: Packed policy consumes 112%/,
  },
  {
    name: 'RegionDisabled',
    arrange: (s) => s.failNext(1, { code: 'RegionDisabled', status: 403, message: 'STS is not activated in this region' }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /RegionDisabled/,
  },
  {
    name: 'ExpiredToken (the service identity expired)',
    arrange: (s) => s.failNext(1, { code: 'ExpiredToken', message: 'The security token included in the request is expired' }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /ExpiredToken/,
  },
  {
    name: 'ValidationError',
    arrange: (s) => s.failNext(1, { code: 'ValidationError', message: '1 validation error detected' }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /ValidationError/,
  },
  {
    name: 'a request signed with the wrong secret (SignatureDoesNotMatch)',
    arrange: () => {},
    wrongSecret: true,
    reason: 'upstream_denied',
    requests: 1,
    detail: /SignatureDoesNotMatch/,
  },
  // A 200 that is not a whole credential: 502, never a partial credential, no retry.
  {
    name: 'a 200 without SecretAccessKey',
    arrange: (s) =>
      s.script({
        raw: partial('<AccessKeyId>ASIAPARTIAL</AccessKeyId><SessionToken>PARTIAL-TOKEN-VALUE</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>'),
      }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /lacks SecretAccessKey \(/,
  },
  {
    name: 'a 200 without Expiration or SessionToken',
    arrange: (s) => s.script({ raw: partial('<AccessKeyId>ASIAPARTIAL</AccessKeyId><SecretAccessKey>PARTIAL-SECRET-VALUE</SecretAccessKey>') }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /lacks SessionToken, Expiration/,
  },
  {
    name: 'a 200 without AssumedRoleUser',
    arrange: (s) =>
      s.script({
        raw: partial(
          '<AccessKeyId>ASIAPARTIAL</AccessKeyId><SecretAccessKey>PARTIAL-SECRET-VALUE</SecretAccessKey><SessionToken>PARTIAL-TOKEN-VALUE</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration>',
          '',
        ),
      }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /lacks AssumedRoleUser.Arn/,
  },
  {
    name: 'a 200 that is not XML',
    arrange: (s) => s.script({ raw: 'this is not xml <<<' }),
    reason: 'upstream_denied',
    requests: 1,
    detail: /InvalidResponse/,
  },
];

function clientFor(sts: LoopbackSts, wrongSecret: boolean | undefined): STSClient {
  if (!wrongSecret) return stsClient(sts.url);
  return new STSClient({ region: 'us-east-1', endpoint: sts.url, credentials: { ...SERVICE_CREDENTIALS, secretAccessKey: 'not-the-secret' }, maxAttempts: 1 });
}

describe('aws minter: STS failures', () => {
  for (const testCase of CASES) {
    it(`ATTACKS 31: ${testCase.name} → ${testCase.reason ?? 'granted'} after ${testCase.requests} request(s)`, async () => {
      const sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
      try {
        testCase.arrange(sts);
        const { logger, lines } = capturingLogger();
        const minter = createAwsMinter({ region: 'us-east-1', logger, client: clientFor(sts, testCase.wrongSecret), ...testCase.options });
        const outcome = await minter.mint(mintRequest(awsGrant())).then(
          (minted) => ({ minted, error: undefined }),
          (error: unknown) => ({ minted: undefined, error }),
        );
        assert.equal(sts.requests.length, testCase.requests, 'AssumeRole requests received');
        if (testCase.reason === null) {
          assert.equal(outcome.error, undefined);
          const aws = outcome.minted?.response.aws as Record<string, string> | undefined;
          assert.equal(aws?.access_key_id, sts.issued.at(-1)?.accessKeyId);
          return;
        }
        const error = outcome.error;
        assert.ok(error instanceof LatchkeyError, `a LatchkeyError, got ${String(error)}`);
        assert.equal(error.reason, testCase.reason);
        assert.equal(answerFor(error).status, testCase.reason === 'upstream_denied' ? 502 : 503);
        if (testCase.detail) assert.match(error.logDetail ?? '', testCase.detail);
        if (testCase.description) assert.equal(error.message, testCase.description);
        assert.ok(!error.message.includes(DENIED_MESSAGE.slice(0, 20)), 'STS message never in the client description');
        const partialParts = /ASIAPARTIAL|PARTIAL-TOKEN-VALUE|PARTIAL-SECRET-VALUE/;
        assert.ok(!partialParts.test(error.message) && !partialParts.test(error.logDetail ?? ''), 'no credential part in the error');
        assert.ok(!partialParts.test(lines.join('')), 'no credential part is logged');
      } finally {
        await sts.close();
      }
    });
  }
});

describe('aws minter: slow STS (ATTACKS.md 32)', () => {
  const cases = [
    { name: 'slower than the budget on the first attempt', arrange: (s: LoopbackSts) => (s.delayMs = 10_000), timeoutMs: 300, requests: 1 },
    {
      name: 'the budget runs out while retrying',
      arrange: (s: LoopbackSts) => {
        s.failNext(1, { code: 'Throttling' });
        s.delayMs = 150;
      },
      timeoutMs: 250,
      requests: 2,
    },
  ];
  for (const { name, arrange, timeoutMs, requests } of cases) {
    it(`ATTACKS 32: ${name} → 503 upstream_unavailable`, async () => {
      const sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
      try {
        arrange(sts);
        // Without the budget the held response would arrive and be granted, so only a timeout passes this test.
        const minter = createAwsMinter({ region: 'us-east-1', logger: capturingLogger().logger, client: stsClient(sts.url), timeoutMs, maxAttempts: 10 });
        const error = await minter.mint(mintRequest(awsGrant())).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof LatchkeyError, `a LatchkeyError, got ${String(error)}`);
        assert.equal(error.reason, 'upstream_unavailable');
        assert.equal(answerFor(error).status, 503);
        assert.match(error.logDetail ?? '', new RegExp(`exceeded ${timeoutMs} ms`));
        assert.ok(sts.requests.length >= 1 && sts.requests.length <= requests, `1 to ${requests} request(s), got ${sts.requests.length}`);
      } finally {
        await sts.close();
      }
    });
  }
});

describe('aws minter: requested lifetimes STS cannot grant', () => {
  const cases = [
    { name: 'below 15 minutes', ttl: 60 },
    { name: 'above 12 hours', ttl: 43201 },
  ];
  for (const { name, ttl } of cases) {
    it(`${name} → ttl_exceeded without calling STS`, async () => {
      const sts = await startLoopbackSts({ credentials: SERVICE_CREDENTIALS });
      try {
        const minter = createAwsMinter({ region: 'us-east-1', logger: capturingLogger().logger, client: stsClient(sts.url) });
        const error = await minter.mint(mintRequest(awsGrant(), {}, ttl)).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof LatchkeyError);
        assert.equal(error.reason, 'ttl_exceeded');
        assert.equal(answerFor(error).status, 400);
        assert.equal(sts.requests.length, 0);
      } finally {
        await sts.close();
      }
    });
  }
});
