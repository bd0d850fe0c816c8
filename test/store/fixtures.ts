import { generateKeyPairSync } from 'node:crypto';
/**
 * Builders shared by the audit and store tests: realistic record bodies and
 * grant inputs, temp folders that clean up, and reading a whole chain.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityFromClaims, type AuditRecordBody } from '../../exchange-service/src/audit/record.ts';
import { unsignedJws, type UnsignedJws } from '../../exchange-service/src/jws/sign.ts';
import type { CommitGrantInput, GrantRow, JtiClaim, Store, StoredAuditRecord } from '../../exchange-service/src/store/store.ts';

/** Fixed clock for tests: 2026-11-23T10:00:00Z in epoch ms. */
export const NOW_MS = Date.UTC(2026, 10, 23, 10, 0, 0);
export const NOW_S = NOW_MS / 1000;

/** A denial-shaped body; `overrides` replace top-level fields, `claims` feed identityFromClaims. */
export function makeBody(n: number, overrides: Partial<AuditRecordBody> = {}, claims: Record<string, unknown> = {}): AuditRecordBody {
  return {
    id: `record-${n}`,
    time: new Date(NOW_MS + n * 1000).toISOString(),
    event: 'exchange',
    outcome: 'denied',
    reason: 'policy_denied',
    request_id: `request-${n}`,
    client_ip: '127.0.0.1',
    policy: 'webapp/deploy-prod',
    policy_digest: 'a'.repeat(64),
    policy_set_version: 'b'.repeat(40),
    issuer: 'github',
    subject: 'repo:acme/webapp:ref:refs/heads/main',
    ...identityFromClaims({ repository: 'acme/webapp', repository_id: '892341', ref: 'refs/heads/main', run_id: String(n), actor: 'octocat', ...claims }),
    jti: `jti-${n}`,
    subject_token_sha256: 'c'.repeat(64),
    grant: null,
    justification: null,
    ...overrides,
  };
}

/** The replay claim makeGrantInput makes for `jti` (issuer `github`, expiry NOW_S + 600 unless overridden). */
export function claimOf(jti: string, overrides: Partial<Pick<CommitGrantInput, 'issuer' | 'jtiExpiresAt'>> = {}): JtiClaim {
  return { issuer: overrides.issuer ?? 'github', jti, jtiExpiresAt: overrides.jtiExpiresAt ?? NOW_S + 600 };
}

/** A commitGrant input for grant `n` (jti `jti-n` unless overridden). */
export function makeGrantInput(
  n: number,
  overrides: Partial<Pick<CommitGrantInput, 'issuer' | 'jti' | 'jtiExpiresAt'>> & { grantId?: string; kind?: GrantRow['kind'] } = {},
): CommitGrantInput {
  const grantId = overrides.grantId ?? `grant-${n}`;
  const jti = overrides.jti ?? `jti-${n}`;
  const issuer = overrides.issuer ?? 'github';
  const kind = overrides.kind ?? 'token';
  const record = makeBody(n, {
    outcome: 'granted',
    reason: null,
    jti,
    issuer,
    grant: {
      id: grantId,
      kind,
      target: 'https://artifacts.acme.internal',
      scope: ['artifacts:read'],
      ttl: 900,
      expires_at: new Date(NOW_MS + 900_000).toISOString(),
      session_name: null,
      credential_sha256: `${n}`.padStart(64, 'd'),
      access_key_id: null,
    },
  });
  return {
    issuer,
    jti,
    jtiExpiresAt: overrides.jtiExpiresAt ?? NOW_S + 600,
    record,
    grant: {
      id: grantId,
      policy: 'webapp/deploy-prod',
      kind,
      issuer,
      subject: record.subject,
      repository_id: '892341',
      run_id: String(n),
      run_attempt: '1',
      credential_sha256: `${n}`.padStart(64, 'd'),
      issued_at: NOW_S,
      expires_at: NOW_S + 900,
      revoked_at: null,
      last_used_at: null,
    },
  };
}

/** A fresh temp folder and its clean-up. */
export function makeTempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-store-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every record in chain order. */
export async function readAll(store: Store, options?: { afterSeq?: number; pageSize?: number }): Promise<StoredAuditRecord[]> {
  const records: StoredAuditRecord[] = [];
  for await (const record of store.readAudit(options)) records.push(record);
  return records;
}

/** The error a promise rejects with, or undefined when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return undefined;
}

/** An ES256 key pair for credentials signed at commit. */
export const TEST_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** A JWS for TEST_KEY's private half, not yet signed (as the token minter leaves it). */
export function unsignedJwsFor(payload: Record<string, unknown>): UnsignedJws {
  return unsignedJws({ alg: 'ES256', kid: 'test', keyObject: TEST_KEY.privateKey }, { typ: 'at+jwt' }, payload);
}

/** makeGrantInput for a credential signed at commit: its hash not known yet. */
export function unsignedGrantInput(n: number, overrides: Parameters<typeof makeGrantInput>[1] = {}): CommitGrantInput {
  const input = makeGrantInput(n, overrides);
  input.grant.credential_sha256 = null;
  if (input.record.grant !== null) input.record.grant.credential_sha256 = null;
  return input;
}
