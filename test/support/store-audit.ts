/**
 * Reads a store the way an auditor would: opened read-only, every record in
 * chain order, the chain recomputed. For tests that must prove a credential
 * has its `granted` record and that the log is intact.
 */
import { verifyChain, type ChainVerdict } from '../../exchange-service/src/audit/chain.ts';
import { openStore } from '../../exchange-service/src/store/open.ts';
import type { StoredAuditRecord } from '../../exchange-service/src/store/store.ts';

/** Every record of the store at `url`, and the chain's verdict over them. */
export interface AuditSnapshot {
  records: StoredAuditRecord[];
  verdict: ChainVerdict;
  /** grant id → its `granted` record. */
  granted: Map<string, StoredAuditRecord>;
}

/** Opens `url` read-only, reads the whole audit log, closes it. */
export async function readAuditSnapshot(url: string): Promise<AuditSnapshot> {
  const store = await openStore(url, { readOnly: true });
  try {
    const records: StoredAuditRecord[] = [];
    for await (const record of store.readAudit()) records.push(record);
    const granted = new Map<string, StoredAuditRecord>();
    for (const record of records) {
      if (record.event === 'exchange' && record.outcome === 'granted' && record.grant !== null) granted.set(record.grant.id, record);
    }
    return { records, verdict: verifyChain(records), granted };
  } finally {
    await store.close();
  }
}
