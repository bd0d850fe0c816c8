import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { derToP1363 } from '../../exchange-service/src/jws/ecdsa-signature.ts';

describe('derToP1363', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it('gives r‖s that node verifies as IEEE P1363, including short and sign-padded integers', () => {
    let shortSeen = 0;
    let paddedSeen = 0;
    for (let index = 0; index < 1500; index++) {
      const data = Buffer.from(`message ${index}`);
      const der = sign('sha256', data, privateKey);
      const rLength = der[3] ?? 0;
      const sLength = der[5 + rLength] ?? 0;
      for (const length of [rLength, sLength]) {
        if (length < 32) shortSeen++;
        if (length === 33) paddedSeen++;
      }
      const jose = derToP1363(der, 32);
      assert.equal(jose.length, 64);
      assert.ok(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose), `signature ${index}`);
    }
    // Half of all integers have the high bit set (33 DER bytes) and about 1 in 256 has a
    // leading zero byte (31 or fewer): over 3,000 integers both paths run (odds against: ~1e-5).
    assert.ok(paddedSeen > 0, 'no sign-padded integer was produced');
    assert.ok(shortSeen > 0, 'no short integer was produced');
  });

  it('strips the sign byte and left-pads short integers to exactly 32 bytes each', () => {
    const r = Buffer.alloc(32, 0xab); // high bit set: DER carries a leading 0x00
    const s = Buffer.from([0x01, 0x02]); // short: padded on the left
    const der = Buffer.concat([Buffer.from([0x30, 2 + 33 + 2 + 2, 0x02, 33, 0x00]), r, Buffer.from([0x02, 2]), s]);
    const out = derToP1363(der, 32);
    assert.deepEqual(out.subarray(0, 32), r);
    assert.deepEqual(out.subarray(32), Buffer.concat([Buffer.alloc(30), s]));
  });

  const bad: Array<[string, number[]]> = [
    ['empty', []],
    ['not a SEQUENCE', [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['length mismatch', [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['not an INTEGER', [0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ['zero-length INTEGER', [0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01]],
    ['INTEGER runs past the end', [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x05, 0x01]],
    ['trailing bytes', [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]],
    ['INTEGER too large for the curve', [0x30, 0x26, 0x02, 0x21, 0x01, ...new Array<number>(32).fill(1), 0x02, 0x01, 0x01]],
    ['long length form', [0x30, 0x82, 0x00, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
  ];
  for (const [name, bytes] of bad) {
    it(`refuses DER that is ${name}`, () => {
      assert.throws(() => derToP1363(Uint8Array.from(bytes), 32), /ECDSA signature/);
    });
  }

  it('accepts the smallest well-formed signature', () => {
    const out = derToP1363(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x07, 0x02, 0x01, 0x09]), 32);
    assert.equal(out[31], 7);
    assert.equal(out[63], 9);
    assert.equal(
      out.subarray(0, 31).every((b) => b === 0),
      true,
    );
  });
});
