/**
 * The `/token` request (RFC 8693) as the exchange takes it: one zod schema
 * over the single-valued parameters the edge parsed from the body.
 */
import * as z from 'zod';
import { LatchkeyError, fail } from '../errors.ts';

/** The token-exchange grant type, the only one `/token` serves. */
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export const TokenRequest = z.object({
  grant_type: z.string(),
  subject_token: z.string().min(1),
  subject_token_type: z.enum(['urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt']),
  audience: z.string().min(1).max(512),
  requested_token_type: z.string().max(256).optional(),
  scope: z.string().max(2048).optional(),
  ttl: z
    .string()
    .regex(/^[1-9]\d{0,6}$/, 'ttl must be a whole number of seconds')
    .transform(Number)
    .optional(),
  justification: z.string().max(1000).optional(),
});
export type TokenRequest = z.infer<typeof TokenRequest>;

/** Validates the `/token` parameters; a wrong grant_type is its own reason, checked first. */
export function parseTokenRequest(params: Record<string, string>, maxTokenBytes: number): TokenRequest {
  const grantType = params.grant_type;
  if (grantType !== undefined && grantType !== TOKEN_EXCHANGE) {
    fail('grant_type', `grant_type must be ${TOKEN_EXCHANGE}`);
  }
  if ((params.subject_token?.length ?? 0) > maxTokenBytes) fail('malformed', `subject_token is larger than ${maxTokenBytes} bytes`);
  const result = TokenRequest.safeParse(params);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') ?? 'body';
    const missing = issue?.code === 'invalid_type' && params[field] === undefined;
    throw new LatchkeyError('malformed', missing ? `missing parameter ${field}` : `invalid ${field}: ${issue?.message ?? 'bad value'}`);
  }
  return result.data;
}
