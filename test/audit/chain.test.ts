import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { GENESIS_HASH, chainHash, sealRecord, sealRecordWithText, verifyChain, type SequencedRecord } from '../../exchange-service/src/audit/chain.ts';
import { canonicalize } from '../../exchange-service/src/audit/jcs.ts';
import type { AuditRecordBody } from '../../exchange-service/src/audit/record.ts';
import { makeBody } from '../store/fixtures.ts';

/** Builds an intact chain of `length` records, seq 1…length. */
function buildChain(length: number): SequencedRecord[] {
  const records: SequencedRecord[] = [];
  let prev = GENESIS_HASH;
  for (let n = 1; n <= length; n += 1) {
    const sealed = sealRecord(prev, makeBody(n));
    records.push({ ...sealed, seq: n });
    prev = sealed.hash;
  }
  return records;
}

/** Re-chains a forged body so its own hash is right (an attacker who knows the scheme). */
function forge(prev: SequencedRecord, seq: number, body: AuditRecordBody): SequencedRecord {
  return { ...sealRecord(prev.hash, body), seq };
}

describe('chainHash', () => {
  test('GENESIS_HASH is 64 zeros', () => assert.equal(GENESIS_HASH, '0'.repeat(64)));

  test('is sha256(prev_hash + "\\n" + JCS(record with prev_hash, without hash)), checked against hand-written JCS', () => {
    const body = makeBody(7, { justification: 'line1\nline2 "q"', client_ip: null });
    const prev = 'f'.repeat(64);
    // Written out by hand in RFC 8785 member order, independently of canonicalize().
    const jcs =
      '{"actor":"octocat","actor_id":null,"client_ip":null,"environment":null,"event":"exchange","event_name":null,' +
      '"grant":null,"id":"record-7","issuer":"github","job_workflow_ref":null,"jti":"jti-7",' +
      '"justification":"line1\\nline2 \\"q\\"","outcome":"denied","policy":"webapp/deploy-prod",' +
      `"policy_digest":"${'a'.repeat(64)}","policy_set_version":"${'b'.repeat(40)}","prev_hash":"${prev}",` +
      '"reason":"policy_denied","ref":"refs/heads/main","repository":"acme/webapp","repository_id":"892341",' +
      '"repository_owner":null,"repository_owner_id":null,"request_id":"request-7","run_attempt":null,"run_id":"7",' +
      '"runner_environment":null,"sha":null,"subject":"repo:acme/webapp:ref:refs/heads/main",' +
      `"subject_token_sha256":"${'c'.repeat(64)}","time":"2026-11-23T10:00:07.000Z","workflow_ref":null}`;
    const expected = createHash('sha256').update(`${prev}\n${jcs}`).digest('hex');
    assert.equal(chainHash(prev, body), expected);
  });

  test('depends on prev_hash', () => {
    const body = makeBody(1);
    assert.notEqual(chainHash(GENESIS_HASH, body), chainHash('1'.repeat(64), body));
  });
});

describe('sealRecord', () => {
  test('adds prev_hash and hash, leaves the body untouched', () => {
    const body = makeBody(1);
    const before = structuredClone(body);
    const sealed = sealRecord(GENESIS_HASH, body);
    assert.equal(sealed.prev_hash, GENESIS_HASH);
    assert.equal(sealed.hash, chainHash(GENESIS_HASH, body));
    assert.match(sealed.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(body, before);
  });

  test('a lone surrogate in request text becomes U+FFFD instead of making the record unwritable', () => {
    const sealed = sealRecord(GENESIS_HASH, makeBody(1, { justification: 'ticket \ud800 42' }, { actor: '\udfff' }));
    assert.equal(sealed.justification, 'ticket \ufffd 42');
    assert.equal(sealed.actor, '\ufffd');
    assert.equal(verifyChain([{ ...sealed, seq: 1 }]).ok, true);
  });

  test('control characters are kept exactly', () => {
    const sealed = sealRecord(GENESIS_HASH, makeBody(1, {}, { actor: 'x\u0000\u001b[2J\n' }));
    assert.equal(sealed.actor, 'x\u0000\u001b[2J\n');
  });
});

describe('verifyChain', () => {
  test('an intact chain: count and head', () => {
    const records = buildChain(5);
    assert.deepEqual(verifyChain(records), { ok: true, count: 5, head: records[4]?.hash });
  });

  test('an empty chain is intact with the genesis head', () => {
    assert.deepEqual(verifyChain([]), { ok: true, count: 0, head: GENESIS_HASH });
  });

  const tampers: Array<{ name: string; tamper: (records: SequencedRecord[]) => SequencedRecord[]; seq: number; id: string; problem: RegExp; count?: number }> =
    [
      {
        name: 'edited field',
        tamper: (r) => r.map((x) => (x.seq === 3 ? { ...x, outcome: 'granted' as const } : x)),
        seq: 3,
        id: 'record-3',
        problem: /hash does not match/,
      },
      {
        name: 'edited nested field',
        tamper: (r) => r.map((x) => (x.seq === 2 ? { ...x, repository: 'acme/other' } : x)),
        seq: 2,
        id: 'record-2',
        problem: /hash does not match/,
      },
      {
        name: 'field added',
        tamper: (r) => r.map((x) => (x.seq === 4 ? { ...x, note: 'hi' } : x)),
        seq: 4,
        id: 'record-4',
        problem: /hash does not match/,
      },
      {
        name: 'deleted middle record',
        tamper: (r) => r.filter((x) => x.seq !== 3),
        seq: 4,
        id: 'record-4',
        problem: /seq 4 follows seq 2: 1 record\(s\) missing/,
        count: 2,
      },
      {
        name: 'deleted first record',
        tamper: (r) => r.slice(1),
        seq: 2,
        id: 'record-2',
        problem: /missing/,
        count: 0,
      },
      {
        name: 'deleted first record, rest renumbered',
        tamper: (r) => r.slice(1).map((x, i) => ({ ...x, seq: i + 1 })),
        seq: 1,
        id: 'record-2',
        problem: /genesis/,
      },
      {
        name: 'two records swapped (seq numbers exchanged)',
        tamper: (r) => r.map((x) => (x.seq === 2 ? { ...r[2]!, seq: 2 } : x.seq === 3 ? { ...r[1]!, seq: 3 } : x)),
        seq: 2,
        id: 'record-3',
        problem: /prev_hash does not match the hash of seq 1/,
      },
      {
        name: 'rows read out of order',
        tamper: (r) => [r[0]!, r[2]!, r[1]!, r[3]!, r[4]!],
        seq: 3,
        id: 'record-3',
        problem: /seq 3 follows seq 1/,
        count: 1,
      },
      {
        name: 'forged record with a wrong hash appended',
        tamper: (r) => [...r, { ...makeBody(99), prev_hash: r[4]!.hash, hash: 'e'.repeat(64), seq: 6 }],
        seq: 6,
        id: 'record-99',
        problem: /hash does not match/,
      },
      {
        name: 'properly hashed forged record inserted in the middle: the next record breaks',
        tamper: (r) => [r[0]!, r[1]!, forge(r[1]!, 3, makeBody(99)), ...r.slice(2).map((x) => ({ ...x, seq: x.seq + 1 }))],
        seq: 4,
        id: 'record-3',
        problem: /prev_hash does not match the hash of seq 3/,
      },
      {
        name: 'duplicate seq',
        tamper: (r) => [r[0]!, r[1]!, { ...r[1]! }, ...r.slice(2)],
        seq: 2,
        id: 'record-2',
        problem: /out of order/,
        count: 2,
      },
      {
        name: 'record that JCS refuses',
        tamper: (r) => r.map((x) => (x.seq === 5 ? { ...x, grant: { ttl: Number.NaN } as never } : x)),
        seq: 5,
        id: 'record-5',
        problem: /cannot be canonicalised/,
      },
    ];
  for (const { name, tamper, seq, id, problem, count } of tampers) {
    test(`ATTACKS 26: ${name} → names seq ${seq}`, () => {
      const verdict = verifyChain(tamper(buildChain(5)));
      assert.equal(verdict.ok, false);
      if (verdict.ok) return;
      assert.equal(verdict.seq, seq);
      assert.equal(verdict.id, id);
      assert.match(verdict.problem, problem);
      assert.equal(verdict.count, count ?? seq - 1);
    });
  }

  test('stops at the first bad record even when later ones are bad too', () => {
    const records = buildChain(5).map((x) => (x.seq >= 2 ? { ...x, actor: 'mallory' } : x));
    const verdict = verifyChain(records);
    assert.equal(verdict.ok ? 0 : verdict.seq, 2);
  });
});

describe('sealRecordWithText', () => {
  // Top-level names that sort on either side of "hash" and next to it, and odd ones (UTF-16 order, an empty name).
  const extras: Array<Record<string, unknown>> = [
    {},
    { has: 1, hasha: 'x', h: null, i: true },
    { '': 'empty name', Z: [1, { b: 2, a: 1 }], é: 'é', '\u{1F600}': 'astral' },
    { hash: 'a body claiming a hash of its own', prev_hash: 'and a prev_hash' },
    { note: 'lone \uD800 surrogate' },
  ];
  for (const [index, extra] of extras.entries()) {
    test(`its text is the canonical form of its record, and its hash verifies (case ${index + 1})`, () => {
      const body = { ...makeBody(index), ...extra } as AuditRecordBody;
      const prev = createHash('sha256').update(String(index)).digest('hex');
      const { record, text } = sealRecordWithText(prev, body);
      assert.equal(text, canonicalize(record));
      assert.deepEqual(record, sealRecord(prev, body));
      const { hash, ...rest } = record;
      assert.equal(hash, chainHash(prev, rest));
    });
  }
});
