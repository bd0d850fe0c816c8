/**
 * Values between the store and PostgreSQL columns. PostgreSQL `text` cannot
 * hold U+0000, which a token's claims may carry (a `jti`, a `sub`); SQLite
 * stores it. So that both engines keep such text exactly, a string holding
 * U+0000 (or starting with the escape marker) is stored as the marker plus
 * its JSON string form, which has no U+0000; every other string, i.e. all
 * real-world data, is stored as is. The mapping is one-to-one, so keys stay
 * distinct. Audit records need none of this: their JCS text escapes
 * control characters.
 */
import type { GrantRow } from '../store.ts';

/** U+0001 and a name: no identifier or claim starts like this by accident. */
const MARKER = '\u0001latchkey-json:';

/** The column text for `value`. */
export function encodeText(value: string): string {
  return value.includes('\u0000') || value.startsWith(MARKER) ? MARKER + JSON.stringify(value) : value;
}

/** The nullable variant of {@link encodeText}. */
export function encodeNullable(value: string | null): string | null {
  return value === null ? null : encodeText(value);
}

/** The string a column text stands for. */
export function decodeText(stored: string): string {
  if (!stored.startsWith(MARKER)) return stored;
  const parsed: unknown = JSON.parse(stored.slice(MARKER.length));
  return typeof parsed === 'string' ? parsed : stored;
}

/** A row of latchkey_grants as the store's GrantRow (bigint columns arrive as strings). */
export function toGrantRow(row: Record<string, unknown> | undefined): GrantRow | undefined {
  if (row === undefined) return undefined;
  const text = (value: unknown): string => decodeText(String(value));
  const nullableText = (value: unknown): string | null => (value === null ? null : text(value));
  const time = (value: unknown): number | null => (value === null ? null : Number(value));
  return {
    id: text(row.id),
    policy: text(row.policy),
    kind: text(row.kind) as GrantRow['kind'],
    issuer: text(row.issuer),
    subject: nullableText(row.subject),
    repository_id: nullableText(row.repository_id),
    run_id: nullableText(row.run_id),
    run_attempt: nullableText(row.run_attempt),
    credential_sha256: nullableText(row.credential_sha256),
    issued_at: Number(row.issued_at),
    expires_at: Number(row.expires_at),
    revoked_at: time(row.revoked_at),
    last_used_at: time(row.last_used_at),
  };
}

/** The grant's column values in latchkey_grants column order. */
export function grantValues(grant: GrantRow): Array<string | number | null> {
  return [
    encodeText(grant.id),
    encodeText(grant.policy),
    grant.kind,
    encodeText(grant.issuer),
    encodeNullable(grant.subject),
    encodeNullable(grant.repository_id),
    encodeNullable(grant.run_id),
    encodeNullable(grant.run_attempt),
    encodeNullable(grant.credential_sha256),
    grant.issued_at,
    grant.expires_at,
    grant.revoked_at,
    grant.last_used_at,
  ];
}
