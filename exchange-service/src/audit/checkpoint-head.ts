/**
 * Finding the audit chain's head through `Store.readAudit` alone. The store
 * has no "last record" read, but `readAudit({ afterSeq, pageSize: 1 })` is an
 * indexed seek, so the head is found by galloping up from a hint and then
 * bisecting: about 2·log2(records added since the hint) seeks, a handful
 * per checkpoint. It also reads the store's head rather than this
 * process's last write, so replicas sharing a store sign the same chain.
 */
import type { Store } from '../store/store.ts';

/** A position in the chain. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** The part of the store the head search reads. */
export type AuditReader = Pick<Store, 'readAudit'>;

/** The first record with seq greater than `afterSeq`, or undefined. */
async function recordAfter(store: AuditReader, afterSeq: number): Promise<ChainHead | undefined> {
  for await (const record of store.readAudit({ afterSeq, pageSize: 1 })) return { seq: record.seq, hash: record.hash };
  return undefined;
}

/** The stored hash of the record at `seq`, or undefined when there is none. */
export async function readHashAt(store: AuditReader, seq: number): Promise<string | undefined> {
  const record = await recordAfter(store, seq - 1);
  return record?.seq === seq ? record.hash : undefined;
}

/**
 * The record with the highest seq, or undefined for an empty log. `hint`
 * (a head seen earlier) only makes the search shorter; any hint gives the
 * right answer, gaps in seq included.
 */
export async function readChainHead(store: AuditReader, hint?: ChainHead): Promise<ChainHead | undefined> {
  let head = hint === undefined ? undefined : await recordAfter(store, Math.max(hint.seq - 1, 0));
  head ??= await recordAfter(store, 0);
  if (head === undefined) return undefined;
  // Gallop: double the stride until nothing lies beyond `head.seq + stride`.
  let stride = 1;
  let ceiling: number;
  for (;;) {
    const beyond = await recordAfter(store, head.seq + stride);
    if (beyond === undefined) {
      ceiling = head.seq + stride;
      break;
    }
    head = beyond;
    stride *= 2;
  }
  // Bisect: a record sits at head.seq, none above ceiling.
  let low = head.seq;
  while (low < ceiling) {
    const middle = Math.floor((low + ceiling) / 2);
    const next = await recordAfter(store, middle);
    if (next === undefined) ceiling = middle;
    else {
      head = next;
      low = next.seq;
    }
  }
  return head;
}
