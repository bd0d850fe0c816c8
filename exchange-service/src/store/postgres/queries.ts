/**
 * The PostgreSQL store's statements outside the audit chain: replay checks,
 * grants (read, revoke, mark used), request counters, purging, paging the
 * audit log, and the ping. Each is one autocommit statement on the pool, so
 * it sees everything committed before it, by any replica, and takes no lock
 * the chain's writers wait for.
 */
import type postgres from 'postgres';
import type { Calls } from './calls.ts';
import { encodeText, toGrantRow } from './rows.ts';
import { newerSchemaError, SCHEMA_VERSION } from './schema.ts';
import { parseStoredRecord, StoreUnavailableError, type OpenedStore, type StoredAuditRecord } from '../store.ts';

/** The store's grant and replay operations. */
export function grantQueries(
  sql: postgres.Sql,
  calls: Calls,
): Pick<OpenedStore, 'isReplayed' | 'getGrant' | 'findGrantByCredential' | 'markRevoked' | 'markUsed' | 'purgeExpired'> {
  return {
    isReplayed: (claim, nowSeconds) =>
      calls.read(async () => {
        const rows = await sql`SELECT 1 FROM latchkey_jti WHERE expires_at = ${claim.jtiExpiresAt} AND issuer = ${encodeText(claim.issuer)}
                                 AND jti = ${encodeText(claim.jti)} AND expires_at >= ${nowSeconds}`;
        return rows.length > 0;
      }),
    getGrant: (id) => calls.read(async () => toGrantRow((await sql`SELECT * FROM latchkey_grants WHERE id = ${encodeText(id)}`)[0])),
    findGrantByCredential: (digest) =>
      calls.read(async () =>
        // The condition matches the partial index latchkey_grants_opaque_credential (store.ts: token grants are found by id).
        toGrantRow(
          (
            await sql`SELECT * FROM latchkey_grants WHERE credential_sha256 = ${encodeText(digest)} AND kind <> 'token'
                              ORDER BY issued_at DESC LIMIT 1`
          )[0],
        ),
      ),
    markRevoked: (id, at) =>
      calls.write(async () => (await sql`UPDATE latchkey_grants SET revoked_at = ${at} WHERE id = ${encodeText(id)} AND revoked_at IS NULL`).count > 0),
    markUsed: (id, at) =>
      calls.write(async () => {
        await sql`UPDATE latchkey_grants SET last_used_at = greatest(coalesce(last_used_at, 0), ${at}::bigint) WHERE id = ${encodeText(id)}`;
      }),
    purgeExpired: (nowSeconds) =>
      calls.write(async () => {
        await sql`DELETE FROM latchkey_rate_counters WHERE window_end <= ${nowSeconds}`;
        return (await sql`DELETE FROM latchkey_jti WHERE expires_at < ${nowSeconds}`).count;
      }),
  };
}

/** Request counters: one row per key and window, in an unlogged table (counting never waits for a WAL flush). */
export function counterQueries(sql: postgres.Sql, calls: Calls): Pick<OpenedStore, 'countRequests' | 'peekRequests'> {
  return {
    countRequests: (key, windowStart, windowSeconds) =>
      calls.write(async () => {
        const [row] = await sql`
          INSERT INTO latchkey_rate_counters (key, window_start, window_end, count)
          VALUES (${encodeText(key)}, ${windowStart}, ${windowStart + windowSeconds}, 1)
          ON CONFLICT (key, window_start) DO UPDATE SET count = latchkey_rate_counters.count + 1
          RETURNING count`;
        return Number(row?.count);
      }),
    peekRequests: (key, windowStart) =>
      calls.read(async () => {
        const [row] = await sql`SELECT count FROM latchkey_rate_counters WHERE key = ${encodeText(key)} AND window_start = ${windowStart}`;
        return row === undefined ? 0 : Number(row.count);
      }),
  };
}

/** Resolves if the database answers with a schema this code knows; a newer one is StoreUnavailableError (its cause a StoreSchemaError). */
export function ping(sql: postgres.Sql, calls: Calls): Promise<void> {
  return calls.read(async () => {
    const [row] = await sql`SELECT coalesce(max(version), 0) AS version FROM latchkey_schema_migrations`;
    const version = Number(row?.version);
    if (version > SCHEMA_VERSION) {
      const cause = newerSchemaError(version, 'database');
      throw new StoreUnavailableError(cause.message, { cause });
    }
  });
}

/** The audit records in chain order, a page per statement. */
export async function* auditPages(sql: postgres.Sql, calls: Calls, options: { afterSeq?: number; pageSize?: number }): AsyncGenerator<StoredAuditRecord> {
  const size = Math.min(Math.max(Math.trunc(options.pageSize ?? 500), 1), 10_000);
  let after = options.afterSeq ?? 0;
  for (;;) {
    const rows = await calls.read(() => sql`SELECT seq, record FROM latchkey_audit WHERE seq > ${after} ORDER BY seq LIMIT ${size}`);
    for (const row of rows) {
      const seq = Number(row.seq);
      yield parseStoredRecord(seq, String(row.record));
      after = seq;
    }
    if (rows.length < size) return;
  }
}
