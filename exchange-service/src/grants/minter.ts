/**
 * The one interface every grant kind implements. A minter turns an approved
 * request into a credential; it never writes the audit record (the exchange
 * does that, before the credential leaves the service).
 */
import type { CompiledPolicy } from '../policy/model/compile.ts';
import type { VerifiedToken } from '../oidc/verify.ts';
import type { UnsignedJws } from '../jws/sign.ts';
import type { MintedResponse } from './token-response.ts';

export interface MintRequest {
  grantId: string;
  policy: CompiledPolicy;
  token: VerifiedToken;
  /** Granted lifetime in seconds. */
  ttl: number;
  /** The scope granted (already narrowed), or null for kinds without one. */
  scope: readonly string[] | null;
  /** Issue time, epoch seconds. */
  now: number;
}

export interface MintedCredential {
  /** The kind-specific part of the `/token` response (`access_token`, `issued_token_type`, `token_type`, …). */
  response: MintedResponse;
  /**
   * SHA-256 of the secret handed out, for revocation by token and for the
   * audit record; null for a credential still `unsigned`, whose hash the
   * store records when it signs it.
   */
  credentialSha256: string | null;
  /**
   * A JWS the store signs in the transaction that commits the grant
   * (`commitSignedGrant`); its compact form becomes the response's
   * `access_token`.
   */
  unsigned?: UnsignedJws;
  /** What the credential gives access to: an audience, a role ARN, repositories. */
  target: string;
  sessionName: string | null;
  accessKeyId: string | null;
}

export interface Minter {
  readonly kind: CompiledPolicy['grant']['kind'];
  /** The `issued_token_type` this kind returns; `requested_token_type` must agree. */
  readonly tokenTypes: readonly string[];
  /**
   * True when minting calls out (STS, GitHub) and leaves a trace there: the
   * exchange then refuses a replayed subject token before minting. A local
   * minter (a signature) needs no such read; the atomic claim when the grant
   * is committed refuses the replay, and the credential is discarded.
   */
  readonly mintsRemotely: boolean;
  mint(request: MintRequest): Promise<MintedCredential>;
}
