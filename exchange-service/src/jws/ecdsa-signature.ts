/**
 * ECDSA signatures in JWS form. OpenSSL produces DER (`ECDSA-Sig-Value`,
 * SEC 1 / RFC 3279 §2.2.3: a SEQUENCE of the INTEGERs r and s); JWS carries
 * r‖s as two fixed-length big-endian numbers (RFC 7518 §3.4). Node can emit
 * the second form itself (`dsaEncoding: 'ieee-p1363'`), but that option
 * takes a slower path through key preparation that costs as much as the
 * signature; converting the DER here is a few dozen byte copies.
 */

/** Converts a DER ECDSA signature to r‖s with `size` bytes each (32 for P-256). Throws on anything that is not well-formed DER. */
export function derToP1363(der: Uint8Array, size: number): Buffer {
  let offset = 0;
  const byte = (): number => {
    const value = der[offset++];
    if (value === undefined) throw new Error('ECDSA signature: DER ends early');
    return value;
  };
  if (byte() !== 0x30) throw new Error('ECDSA signature: not a DER SEQUENCE');
  let length = byte();
  if (length === 0x81) length = byte();
  else if (length > 0x7f) throw new Error('ECDSA signature: unexpected DER length form');
  if (length !== der.length - offset) throw new Error('ECDSA signature: DER length does not match');
  const out = Buffer.alloc(size * 2);
  for (const at of [0, size]) {
    if (byte() !== 0x02) throw new Error('ECDSA signature: not a DER INTEGER');
    let intLength = byte();
    if (intLength === 0 || intLength > size + 1 || offset + intLength > der.length) throw new Error('ECDSA signature: bad INTEGER length');
    // A leading zero only keeps a high bit from reading as a sign; JWS has no sign.
    while (intLength > size && der[offset] === 0) {
      offset++;
      intLength--;
    }
    if (intLength > size) throw new Error('ECDSA signature: INTEGER larger than the curve');
    out.set(der.subarray(offset, offset + intLength), at + size - intLength);
    offset += intLength;
  }
  if (offset !== der.length) throw new Error('ECDSA signature: trailing bytes after DER');
  return out;
}
