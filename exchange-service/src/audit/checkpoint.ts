/**
 * Signed audit checkpoints (SPEC §5). The hash chain shows an edited,
 * inserted or deleted record, but not a tail cut off the end: the shorter
 * chain is still a valid chain. So the service signs its chain head now and
 * then and writes the signature to its log; a copy kept elsewhere then
 * proves how far the chain once reached.
 *
 * Format: a JWS compact serialisation (RFC 7515), ES256, signed with the
 * service's active key from `signing.keys_dir`, so it verifies against
 * `/.well-known/jwks.json`. Protected header `{alg, kid, typ}` with `typ`
 * {@link CHECKPOINT_TYPE}, which keeps a checkpoint and an access token
 * signed by the same key from ever passing for one another. Payload:
 * `{seq, hash, time, iss?, policy_set_version?}` — the head record's
 * sequence number and hash, and when the checkpoint was signed.
 */
import { compactVerify, createLocalJWKSet, errors, type JWK } from 'jose';
import * as z from 'zod';
import { signCompactJwt } from '../jws/sign.ts';
import type { SigningKey } from '../jws/signing-keys.ts';

/** The JWS `typ` of a checkpoint. */
export const CHECKPOINT_TYPE = 'latchkey-checkpoint+jwt';

/** What a checkpoint signs. Unknown members are ignored (a later version may add some). */
export const CheckpointClaims = z.object({
  /** Sequence number of the head record (1 for the first record). */
  seq: z.number().int().positive(),
  /** That record's `hash`. */
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256'),
  /** When the checkpoint was signed (ISO 8601). */
  time: z.iso.datetime({ offset: true }),
  /** The service's public URL. */
  iss: z.string().optional(),
  /** The policy set in force when it was signed. */
  policy_set_version: z.string().nullable().optional(),
});
export type CheckpointClaims = z.infer<typeof CheckpointClaims>;

/** A checkpoint whose signature verified. */
export interface VerifiedCheckpoint {
  claims: CheckpointClaims;
  /** The key that signed it. */
  kid: string | null;
}

/** Why a checkpoint was refused. */
export type CheckpointErrorCode = 'ERR_CHECKPOINT_MALFORMED' | 'ERR_CHECKPOINT_KEY_UNKNOWN' | 'ERR_CHECKPOINT_SIGNATURE_INVALID';

/** A checkpoint that cannot be trusted; `code` says why. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  readonly code: CheckpointErrorCode;

  constructor(code: CheckpointErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Signs a checkpoint with the service's ES256 key; resolves to the compact JWS. */
export async function signCheckpoint(key: SigningKey, claims: CheckpointClaims): Promise<string> {
  const payload = CheckpointClaims.parse(claims);
  return signCompactJwt(key, { typ: CHECKPOINT_TYPE }, payload);
}

/**
 * Verifies a checkpoint against a JWK Set (ES256 only, `typ` required),
 * then parses its claims. Throws CheckpointError.
 */
export async function verifyCheckpoint(jws: string, jwks: { keys: JWK[] }): Promise<VerifiedCheckpoint> {
  let verified: Awaited<ReturnType<typeof compactVerify>>;
  try {
    verified = await compactVerify(jws, createLocalJWKSet(jwks), { algorithms: ['ES256'] });
  } catch (error) {
    throw joseToCheckpointError(error);
  }
  if (verified.protectedHeader.typ !== CHECKPOINT_TYPE) {
    throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', `not a checkpoint (typ ${JSON.stringify(verified.protectedHeader.typ ?? null)})`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', 'the payload is not JSON');
  }
  const claims = CheckpointClaims.safeParse(payload);
  if (!claims.success) throw new CheckpointError('ERR_CHECKPOINT_MALFORMED', `bad claims: ${z.prettifyError(claims.error).replace(/\n/g, '; ')}`);
  return { claims: claims.data, kid: verified.protectedHeader.kid ?? null };
}

function joseToCheckpointError(error: unknown): CheckpointError {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new CheckpointError('ERR_CHECKPOINT_SIGNATURE_INVALID', 'the signature does not verify');
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new CheckpointError('ERR_CHECKPOINT_KEY_UNKNOWN', 'no key in the key set matches its kid and algorithm');
  }
  const message = error instanceof errors.JOSEError ? error.message : 'unparsable';
  return new CheckpointError('ERR_CHECKPOINT_MALFORMED', message);
}

/** A checkpoint found in text, with the 1-based line it came from. */
export interface FoundCheckpoint {
  line: number;
  jws: string;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Finds checkpoints in a file's text: lines that are a compact JWS, and
 * JSON log lines with a string `checkpoint` member. Every other line (log
 * lines about something else, runtime warnings) is passed over.
 */
export function extractCheckpoints(text: string): FoundCheckpoint[] {
  const found: FoundCheckpoint[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (COMPACT_JWS.test(line)) {
      found.push({ line: index + 1, jws: line });
      return;
    }
    if (!line.startsWith('{')) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return;
    }
    const value = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>).checkpoint : undefined;
    if (typeof value === 'string') found.push({ line: index + 1, jws: value.trim() });
  });
  return found;
}
