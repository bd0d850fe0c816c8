/**
 * Grant ids: UUID version 7 (RFC 9562 §5.7), a 48-bit Unix time in
 * milliseconds followed by 74 random bits. The time prefix makes each new id
 * sort after the ones before it, so the stores' index on grant ids grows at
 * its end instead of touching a random page per grant: one page fewer for
 * every commit to write and sync. The random part keeps ids unguessable.
 */
import { randomFillSync } from 'node:crypto';

/** Ids drawn per refill of the random pool, so an id costs no system call of its own. */
const POOL_IDS = 256;
const RANDOM_BYTES = 10;

/** Makes a grant id for a time (epoch ms). */
export type GrantIdSource = (nowMs: number) => string;

/** Creates a source of UUIDv7 grant ids with its own pool of random bytes; ids come in canonical lower-case form. */
export function createGrantIdSource(): GrantIdSource {
  const pool = Buffer.alloc(POOL_IDS * RANDOM_BYTES);
  let taken = POOL_IDS;
  return function newGrantId(nowMs) {
    if (taken === POOL_IDS) {
      randomFillSync(pool);
      taken = 0;
    }
    const random = pool.subarray(taken * RANDOM_BYTES, (taken + 1) * RANDOM_BYTES);
    taken += 1;
    const bytes = Buffer.allocUnsafe(16);
    bytes.writeUIntBE(Math.min(Math.max(Math.trunc(nowMs), 0), 2 ** 48 - 1), 0, 6); // any clock value, even an injected fractional one
    random.copy(bytes, 6);
    bytes[6] = 0x70 | (bytes[6]! & 0x0f); // version 7
    bytes[8] = 0x80 | (bytes[8]! & 0x3f); // variant 10
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}
