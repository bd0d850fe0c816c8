/**
 * Cross-check against an independent verifier: valid tokens of each algorithm
 * and seeded random mutations of them go to both jose's `jwtVerify` (WebCrypto,
 * the implementation this service used before) and ours (node:crypto). Every
 * token jose accepts, we accept — except where our stricter base64url rules
 * (ATTACKS.md 4: no padding, whitespace or non-canonical spellings) refuse it,
 * which must then be the reason; every token jose rejects, we reject with a
 * client-error reason.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { IssuerConfig } from '../../exchange-service/src/config.ts';
import { LatchkeyError, type Reason } from '../../exchange-service/src/errors.ts';
import { createTokenVerifier, type TokenVerifier } from '../../exchange-service/src/oidc/verify.ts';
import { ALL_ALGORITHMS, createTestKeys, mintToken, serveJwks, testClaims, type Algorithm, type JwksServer, type TestKey } from './alg-keys.ts';

const AUDIENCE = 'http://127.0.0.1:8080';
const NOW_MS = Date.UTC(2026, 10, 23, 10, 0, 0);
const NOW = NOW_MS / 1000;
const SEED = 0x1a7c4e3;
const ROUNDS_PER_KIND = 5;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Curve orders (SEC 2 §2.4.2, §2.5.1, §2.6.1), for the ECDSA (r, n − s) twin of a signature. */
const CURVE_ORDER: Partial<Record<Algorithm, bigint>> = {
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ES384: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  ES512: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

/** Reasons a rejected subject token may carry; anything else (internal, 503) is a defect. */
const CLIENT_REASONS: ReadonlySet<Reason> = new Set(['token_invalid', 'token_expired', 'issuer_untrusted', 'audience_mismatch', 'malformed']);

/** mulberry32: a small seeded generator, so a failure names a reproducible case. */
function createRandom(seed: number): { int(below: number): number; bytes(length: number): Buffer } {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (below: number): number => Math.floor(next() * below);
  return { int, bytes: (length) => Buffer.from(Array.from({ length }, () => int(256))) };
}
type Random = ReturnType<typeof createRandom>;

interface MutationContext {
  alg: Algorithm;
  random: Random;
  /** A fresh valid token of `alg`, with claim overrides. */
  mint(claims?: Record<string, unknown>): string;
}

const segments = (token: string): [string, string, string] => {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return [header, payload, signature];
};
const withSignature = (token: string, signature: Uint8Array): string => {
  const [header, payload] = segments(token);
  return `${header}.${payload}.${Buffer.from(signature).toString('base64url')}`;
};
const signatureOf = (token: string): Buffer => Buffer.from(segments(token)[2], 'base64url');

/** Positions of the token's characters that are not dots. */
function randomNonDot(token: string, random: Random): number {
  for (;;) {
    const at = random.int(token.length);
    if (token[at] !== '.') return at;
  }
}

/** The same signature bytes with non-zero unused bits in the last character, where the length leaves any. */
function nonCanonicalTail(token: string, random: Random): string {
  const signature = segments(token)[2];
  const slackBits = { 1: 4, 2: 2 }[signatureOf(token).length % 3];
  if (slackBits === undefined) return `${token.slice(0, -1)}${BASE64URL.charAt(random.int(64))}`;
  const last = BASE64URL.indexOf(signature.at(-1) ?? 'A');
  const junk = 1 + random.int((1 << slackBits) - 1);
  return `${token.slice(0, -1)}${BASE64URL.charAt(last | junk)}`;
}

/** ECDSA's other valid signature for the same message: (r, n − s). */
function ecdsaTwin(token: string, alg: Algorithm): string {
  const order = CURVE_ORDER[alg];
  if (order === undefined) return token;
  const signature = signatureOf(token);
  const half = signature.length / 2;
  const s = BigInt(`0x${signature.subarray(half).toString('hex')}`);
  const twin = Buffer.from((order - s).toString(16).padStart(half * 2, '0'), 'hex');
  return withSignature(token, Buffer.concat([signature.subarray(0, half), twin]));
}

/** Another algorithm of the same key family, for an `alg` swapped without re-signing. */
const SIBLING: Record<Algorithm, Algorithm> = {
  RS256: 'PS256',
  RS384: 'RS256',
  RS512: 'PS512',
  PS256: 'RS256',
  PS384: 'PS256',
  PS512: 'RS512',
  ES256: 'ES384',
  ES384: 'ES256',
  ES512: 'ES256',
  EdDSA: 'ES256',
};

const MUTATIONS: Readonly<Record<string, (token: string, context: MutationContext) => string>> = {
  unchanged: (token) => token,
  'a claim changed and re-signed': (_token, { mint, random }) => mint({ ref: `refs/heads/b${random.int(1e6)}` }),
  'a bit of the signature flipped': (token, { random }) => {
    const signature = signatureOf(token);
    const at = random.int(signature.length * 8);
    signature[at >> 3] = (signature[at >> 3] ?? 0) ^ (1 << (at & 7));
    return withSignature(token, signature);
  },
  'the signature truncated': (token, { random }) => withSignature(token, signatureOf(token).subarray(0, -1 - random.int(8))),
  'the signature extended': (token, { random }) => withSignature(token, Buffer.concat([signatureOf(token), random.bytes(1 + random.int(4))])),
  'random bytes as the signature': (token, { random }) => withSignature(token, random.bytes(signatureOf(token).length)),
  'the signature of another token': (token, { mint }) => withSignature(token, signatureOf(mint())),
  'a character substituted': (token, { random }) => {
    const at = randomNonDot(token, random);
    return `${token.slice(0, at)}${BASE64URL.charAt(random.int(64))}${token.slice(at + 1)}`;
  },
  'a character deleted': (token, { random }) => {
    const at = randomNonDot(token, random);
    return `${token.slice(0, at)}${token.slice(at + 1)}`;
  },
  'a character inserted': (token, { random }) => {
    const at = random.int(token.length + 1);
    return `${token.slice(0, at)}${BASE64URL.charAt(random.int(64))}${token.slice(at)}`;
  },
  // Correct base64 padding (none when the length is a multiple of 4): jose's atob takes it, our syntax does not.
  'padding added to the signature': (token) => `${token}${'='.repeat((4 - (segments(token)[2].length % 4)) % 4)}`,
  'non-canonical signature tail': (token, { random }) => nonCanonicalTail(token, random),
  'alg swapped without re-signing': (token, { alg }) => {
    const [header, payload, signature] = segments(token);
    const swapped = { ...JSON.parse(Buffer.from(header, 'base64url').toString()), alg: SIBLING[alg] };
    return `${Buffer.from(JSON.stringify(swapped)).toString('base64url')}.${payload}.${signature}`;
  },
  'ECDSA (r, n - s) twin': (token, { alg }) => ecdsaTwin(token, alg),
};

/** Our stricter syntax (compact-jwt.ts): three unpadded, canonical base64url segments. */
function isStrictlyEncoded(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part);
}

describe('cross-check with jose (seeded random mutations)', () => {
  let keys: Map<string, TestKey>;
  let jwks: JwksServer;
  let ours: TokenVerifier;
  let joseKeys: ReturnType<typeof createLocalJWKSet>;

  before(async () => {
    keys = createTestKeys();
    const published = [...keys.values()].map((key) => key.jwk);
    jwks = await serveJwks(published);
    joseKeys = createLocalJWKSet({ keys: published as never }); // jose's JWK type is structurally the same
    ours = createTokenVerifier({
      issuers: { ci: IssuerConfig.parse({ url: jwks.url, kind: 'generic', algorithms: [...ALL_ALGORITHMS], jwks_url: jwks.jwksUrl }) },
      audience: AUDIENCE,
      now: () => NOW_MS,
    });
  });
  after(async () => {
    ours.close();
    await jwks.close();
  });

  async function joseAccepts(token: string): Promise<boolean> {
    try {
      await jwtVerify(token, joseKeys, {
        issuer: jwks.url,
        audience: AUDIENCE,
        algorithms: [...ALL_ALGORITHMS],
        currentDate: new Date(NOW_MS),
        clockTolerance: 60,
        requiredClaims: ['exp', 'iat'],
      });
      return true;
    } catch {
      return false;
    }
  }

  async function oursSays(token: string): Promise<'accepted' | LatchkeyError> {
    try {
      await ours.verify(token);
      return 'accepted';
    } catch (error) {
      if (error instanceof LatchkeyError) return error;
      throw error; // not a LatchkeyError: a defect, fail loudly
    }
  }

  for (const alg of ['RS256', 'PS384', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const) {
    it(`${alg}: agrees with jose on every mutation (seed ${SEED})`, async (t) => {
      const random = createRandom(SEED ^ alg.charCodeAt(1) ^ (alg.charCodeAt(2) << 8) ^ (alg.length << 16));
      const context: MutationContext = { alg, random, mint: (claims = {}) => mintToken(keys, alg, testClaims(jwks.url, AUDIENCE, NOW, claims)) };
      const tally = { bothAccept: 0, bothReject: 0, strictSyntax: 0 };
      for (const [kind, mutate] of Object.entries(MUTATIONS)) {
        for (let round = 0; round < ROUNDS_PER_KIND; round++) {
          const token = mutate(context.mint(), context);
          const label = `${alg} / ${kind} / round ${round}`;
          const [theirs, verdict] = [await joseAccepts(token), await oursSays(token)];
          if (!theirs) {
            assert.notEqual(verdict, 'accepted', `${label}: jose rejects, we accepted`);
            assert.ok(verdict !== 'accepted' && CLIENT_REASONS.has(verdict.reason), `${label}: rejected with ${String(verdict)}`);
            tally.bothReject += 1;
          } else if (isStrictlyEncoded(token)) {
            assert.equal(verdict, 'accepted', `${label}: jose accepts, we rejected: ${String(verdict)}`);
            tally.bothAccept += 1;
          } else {
            assert.ok(verdict !== 'accepted' && verdict.reason === 'token_invalid' && /base64url/.test(verdict.message), `${label}: ${String(verdict)}`);
            tally.strictSyntax += 1;
          }
        }
      }
      t.diagnostic(`${alg}: ${JSON.stringify(tally)}`);
      // Not vacuous: both verdicts occurred, for valid tokens and mutated ones alike.
      assert.ok(tally.bothAccept >= 2 * ROUNDS_PER_KIND, `too few accepted: ${JSON.stringify(tally)}`);
      assert.ok(tally.bothReject >= 8 * ROUNDS_PER_KIND, `too few rejected: ${JSON.stringify(tally)}`);
    });
  }
});
