/**
 * `audit report` (SPEC §5): usage patterns over a window of the audit log —
 * exchanges per policy and outcome, denials by reason, the most frequent
 * requesters, grants never revoked or introspected, grants at their
 * policy's TTL ceiling, missing or verbatim-repeated justifications, and
 * policies never used. Pure over the records; every list is sorted so the
 * same log always gives the same report.
 */
import type { AuditRecord } from './record.ts';

/** What the report needs to know about a policy in force. */
export interface ReportPolicy {
  /** `ttl.max`, seconds. */
  ttlMax: number;
}

export interface ReportOptions {
  /** Only records at or after this instant (epoch ms); undefined: from the start. */
  sinceMs?: number | undefined;
  /** The end of the window (epoch ms): later records are left out; grants still live then are not called unreleased. */
  untilMs: number;
  /** The policy set in force, by name; undefined skips the sections that need it. */
  policies?: { version: string; byName: ReadonlyMap<string, ReportPolicy> } | undefined;
  /** How many requesters to list; default 10. */
  topRequesters?: number;
}

export interface PolicyOutcomes {
  policy: string | null;
  granted: number;
  denied: number;
  failed: number;
  total: number;
}
export interface ReasonCount {
  event: string;
  outcome: string;
  reason: string | null;
  count: number;
}
export interface RequesterCount {
  requester: string | null;
  exchanges: number;
  granted: number;
  denied: number;
}
export interface UnreleasedGrants {
  policy: string | null;
  granted: number;
  unreleased: number;
  grant_ids: string[];
}
export interface TtlAtMax {
  policy: string;
  ttl_max: number;
  granted: number;
  at_max: number;
}
export interface MissingJustifications {
  policy: string | null;
  granted: number;
  missing: number;
}
export interface RepeatedJustification {
  text: string;
  count: number;
  requesters: number;
  policies: Array<string | null>;
}
export interface UnusedPolicy {
  policy: string;
  requests: number;
}

/** The report; `null` sections were skipped (see `skipped`). */
export interface AuditReport {
  window: { since: string | null; until: string; records: number; first_seq: number | null; last_seq: number | null };
  policy_set: { version: string; policies: number } | null;
  exchanges: PolicyOutcomes[];
  denials: ReasonCount[];
  requesters: RequesterCount[];
  unreleased_grants: UnreleasedGrants[];
  ttl_at_max: TtlAtMax[] | null;
  justifications: { missing: MissingJustifications[]; repeated: RepeatedJustification[] };
  unused_policies: UnusedPolicy[] | null;
}

/** A granted exchange, as the grant-centred sections need it. */
interface GrantSeen {
  id: string;
  policy: string | null;
  ttl: number;
  expiresAtMs: number;
}

/** Running totals while the records stream past. */
interface Tally {
  records: number;
  firstSeq: number | null;
  lastSeq: number | null;
  exchanges: Map<string | null, PolicyOutcomes>;
  reasons: Map<string, ReasonCount>;
  requesters: Map<string | null, RequesterCount>;
  grants: GrantSeen[];
  released: Set<string>;
  missing: Map<string | null, MissingJustifications>;
  texts: Map<string, { count: number; requesters: Set<string | null>; policies: Set<string | null> }>;
}

/** Builds the report over `records` (chain order), keeping those inside the window. */
export async function buildAuditReport(records: AsyncIterable<AuditRecord & { seq?: number }>, options: ReportOptions): Promise<AuditReport> {
  const tally: Tally = {
    records: 0,
    firstSeq: null,
    lastSeq: null,
    exchanges: new Map(),
    reasons: new Map(),
    requesters: new Map(),
    grants: [],
    released: new Set(),
    missing: new Map(),
    texts: new Map(),
  };
  for await (const record of records) {
    const at = Date.parse(record.time);
    if ((options.sinceMs !== undefined && !(at >= options.sinceMs)) || at > options.untilMs) continue;
    tally.records += 1;
    if (record.seq !== undefined) {
      tally.firstSeq ??= record.seq;
      tally.lastSeq = record.seq;
    }
    countRecord(tally, record);
  }
  return finishReport(tally, options);
}

function countRecord(tally: Tally, record: AuditRecord): void {
  if (record.outcome === 'denied' || record.outcome === 'failed') {
    const key = JSON.stringify([record.event, record.outcome, record.reason]);
    const row = tally.reasons.get(key) ?? { event: record.event, outcome: record.outcome, reason: record.reason, count: 0 };
    row.count += 1;
    tally.reasons.set(key, row);
  }
  if ((record.event === 'revoke' && record.outcome === 'revoked') || record.event === 'introspect') {
    if (record.grant !== null) tally.released.add(record.grant.id);
  }
  if (record.event !== 'exchange') return;
  const policy = entry(tally.exchanges, record.policy, () => ({ policy: record.policy, granted: 0, denied: 0, failed: 0, total: 0 }));
  policy.total += 1;
  if (record.outcome === 'granted' || record.outcome === 'denied' || record.outcome === 'failed') policy[record.outcome] += 1;
  const requesterName = record.repository ?? record.subject;
  const requester = entry(tally.requesters, requesterName, () => ({ requester: requesterName, exchanges: 0, granted: 0, denied: 0 }));
  requester.exchanges += 1;
  if (record.outcome === 'granted') requester.granted += 1;
  if (record.outcome === 'denied') requester.denied += 1;
  if (record.outcome === 'granted') countGrant(tally, record, requesterName);
}

function countGrant(tally: Tally, record: AuditRecord, requester: string | null): void {
  if (record.grant !== null) {
    tally.grants.push({ id: record.grant.id, policy: record.policy, ttl: record.grant.ttl, expiresAtMs: Date.parse(record.grant.expires_at) });
  }
  const missing = entry(tally.missing, record.policy, () => ({ policy: record.policy, granted: 0, missing: 0 }));
  missing.granted += 1;
  const text = record.justification?.trim() ?? '';
  if (text === '') {
    missing.missing += 1;
    return;
  }
  const seen = entry(tally.texts, text, () => ({ count: 0, requesters: new Set<string | null>(), policies: new Set<string | null>() }));
  seen.count += 1;
  seen.requesters.add(requester);
  seen.policies.add(record.policy);
}

function finishReport(tally: Tally, options: ReportOptions): AuditReport {
  const policies = options.policies;
  const exchanges = sortBy([...tally.exchanges.values()], (row) => [row.policy]);
  return {
    window: {
      since: options.sinceMs === undefined ? null : new Date(options.sinceMs).toISOString(),
      until: new Date(options.untilMs).toISOString(),
      records: tally.records,
      first_seq: tally.firstSeq,
      last_seq: tally.lastSeq,
    },
    policy_set: policies === undefined ? null : { version: policies.version, policies: policies.byName.size },
    exchanges,
    denials: sortBy([...tally.reasons.values()], (row) => [-row.count, row.event, row.outcome, row.reason]),
    requesters: sortBy([...tally.requesters.values()], (row) => [-row.exchanges, row.requester]).slice(0, options.topRequesters ?? 10),
    unreleased_grants: unreleasedGrants(tally, options.untilMs),
    ttl_at_max: policies === undefined ? null : ttlAtMax(tally.grants, policies.byName),
    justifications: {
      missing: sortBy(
        [...tally.missing.values()].filter((row) => row.missing > 0),
        (row) => [row.policy],
      ),
      repeated: sortBy(
        [...tally.texts]
          .filter(([, seen]) => seen.count > 1)
          .map(([text, seen]) => ({
            text,
            count: seen.count,
            requesters: seen.requesters.size,
            policies: sortBy([...seen.policies], (p) => [p]),
          })),
        (row) => [-row.count, row.text],
      ),
    },
    unused_policies: policies === undefined ? null : unusedPolicies(exchanges, policies.byName),
  };
}

/** Grants that had ended by the window's end with no revoke and no introspection. */
function unreleasedGrants(tally: Tally, untilMs: number): UnreleasedGrants[] {
  const rows = new Map<string | null, UnreleasedGrants>();
  for (const grant of tally.grants) {
    const row = entry(rows, grant.policy, () => ({ policy: grant.policy, granted: 0, unreleased: 0, grant_ids: [] }));
    row.granted += 1;
    // A grant still live may yet be revoked by its job's post step: not counted.
    if (tally.released.has(grant.id) || !(grant.expiresAtMs <= untilMs)) continue;
    row.unreleased += 1;
    row.grant_ids.push(grant.id);
  }
  for (const row of rows.values()) row.grant_ids.sort(compareKeys);
  return sortBy(
    [...rows.values()].filter((row) => row.unreleased > 0),
    (row) => [row.policy],
  );
}

function ttlAtMax(grants: readonly GrantSeen[], byName: ReadonlyMap<string, ReportPolicy>): TtlAtMax[] {
  const rows = new Map<string, TtlAtMax>();
  for (const grant of grants) {
    const policy = grant.policy === null ? undefined : byName.get(grant.policy);
    if (policy === undefined || grant.policy === null) continue; // no longer in the set: its ceiling is unknown
    const name = grant.policy;
    const row = entry(rows, name, () => ({ policy: name, ttl_max: policy.ttlMax, granted: 0, at_max: 0 }));
    row.granted += 1;
    if (grant.ttl >= policy.ttlMax) row.at_max += 1;
  }
  return sortBy(
    [...rows.values()].filter((row) => row.at_max > 0),
    (row) => [row.policy],
  );
}

function unusedPolicies(exchanges: readonly PolicyOutcomes[], byName: ReadonlyMap<string, ReportPolicy>): UnusedPolicy[] {
  const seen = new Map(exchanges.map((row) => [row.policy, row]));
  const unused: UnusedPolicy[] = [];
  for (const name of byName.keys()) {
    const row = seen.get(name);
    if (row === undefined || row.granted === 0) unused.push({ policy: name, requests: row?.total ?? 0 });
  }
  return sortBy(unused, (row) => [row.policy]);
}

function entry<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

type SortKey = string | number | null;

/** Orders by code unit (not locale: the same bytes sort the same everywhere); null sorts first. */
function compareKeys(a: SortKey, b: SortKey): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function sortBy<T>(items: T[], key: (item: T) => SortKey[]): T[] {
  return items.sort((x, y) => {
    const a = key(x);
    const b = key(y);
    for (let i = 0; i < a.length; i += 1) {
      const order = compareKeys(a[i] ?? null, b[i] ?? null);
      if (order !== 0) return order;
    }
    return 0;
  });
}
