/**
 * The `/token` success response (SPEC §3), as the one schema its type comes
 * from. Minters fill the kind's part ({@link MintedResponse}); the exchange
 * adds the grant's part. Tests parse real answers with {@link TokenResponse},
 * so the type and the wire cannot drift; the Action keeps its own copy (it
 * must not import the service).
 */
import * as z from 'zod';

/** The `aws` object of an `aws` grant's response. */
export const AwsCredentialResponse = z.strictObject({
  access_key_id: z.string().min(1),
  secret_access_key: z.string().min(1),
  session_token: z.string().min(1),
  expiration: z.string().min(1),
  region: z.string().min(1),
  assumed_role_arn: z.string().min(1),
});
export type AwsCredentialResponse = z.infer<typeof AwsCredentialResponse>;

/** A successful token exchange's answer. */
export const TokenResponse = z.strictObject({
  access_token: z.string().min(1),
  issued_token_type: z.string().min(1),
  token_type: z.enum(['Bearer', 'N_A']),
  expires_in: z.number().int().positive(),
  grant_id: z.string().min(1),
  policy: z.string().min(1),
  expires_at: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/),
  scope: z.string().min(1).optional(),
  aws: AwsCredentialResponse.optional(),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

/** The part of the response a minter fills; a credential the store signs at commit has no `access_token` yet. */
export type MintedResponse = Pick<TokenResponse, 'issued_token_type' | 'token_type'> & Partial<Pick<TokenResponse, 'access_token' | 'aws'>>;
