/**
 * Subject-token verification throughput: `createTokenVerifier().verify()` on
 * pre-signed tokens, one issuer with static keys (no network), so the figure
 * is structure checks + signature + claims, nothing else. Prints, for each
 * algorithm, awaited one at a time (sequential) and with `--concurrency`
 * verifies in flight: verifies/s (wall clock) and CPU µs per verify summed
 * over all threads. The CPU figure is the one that matters to a loaded
 * service: WebCrypto's wall-clock rate in flight borrows libuv's thread pool,
 * i.e. cores the service needs for everything else.
 *
 *   node bench/verify.bench.ts [--count 20000] [--concurrency 64] [--algs RS256,PS256,ES256,EdDSA]
 */
import { generateKeyPairSync, randomUUID, sign, constants, type KeyObject } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { IssuerConfig } from '../exchange-service/src/config.ts';
import { createTokenVerifier, type TokenVerifier } from '../exchange-service/src/oidc/verify.ts';

const ISSUER = 'https://issuer.bench.invalid';
const AUDIENCE = 'https://latchkey.bench.invalid';
/** Distinct tokens per algorithm, cycled: the verifier keeps no per-token state, and RSA signing is slow. */
const POOL = 256;

interface Signer {
  alg: string;
  kid: string;
  privateKey: KeyObject;
  jwk: JsonWebKey;
  sign(input: Buffer): Buffer;
}

function createSigner(alg: string): Signer {
  const pair =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg.startsWith('ES')
        ? generateKeyPairSync('ec', { namedCurve: ({ ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' } as Record<string, string>)[alg] ?? '' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const bits = alg.slice(2);
  const kid = `bench-${alg}`;
  const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } as JsonWebKey;
  const signWith = (input: Buffer): Buffer => {
    if (alg === 'EdDSA') return sign(null, input, pair.privateKey);
    if (alg.startsWith('ES')) return sign(`sha${bits}`, input, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    if (alg.startsWith('PS'))
      return sign(`sha${bits}`, input, { key: pair.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 });
    return sign(`sha${bits}`, input, pair.privateKey);
  };
  return { alg, kid, privateKey: pair.privateKey, jwk, sign: signWith };
}

/** GitHub-shaped claims (about the size of a real Actions token). */
function claims(nowSeconds: number): Record<string, unknown> {
  const workflowRef = 'acme/webapp/.github/workflows/deploy.yml@refs/heads/main';
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'repo:acme/webapp:ref:refs/heads/main',
    jti: randomUUID(),
    iat: nowSeconds,
    nbf: nowSeconds,
    exp: nowSeconds + 300,
    repository: 'acme/webapp',
    repository_id: '892341',
    repository_owner: 'acme',
    repository_owner_id: '1342004',
    ref: 'refs/heads/main',
    ref_type: 'branch',
    sha: 'a'.repeat(40),
    workflow: 'deploy',
    workflow_ref: workflowRef,
    job_workflow_ref: workflowRef,
    event_name: 'push',
    run_id: '1234567890',
    run_number: '42',
    run_attempt: '1',
    actor: 'octocat',
    actor_id: '583231',
    runner_environment: 'github-hosted',
  };
}

function mint(signer: Signer, nowSeconds: number): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${encode({ alg: signer.alg, typ: 'JWT', kid: signer.kid })}.${encode(claims(nowSeconds))}`;
  return `${input}.${signer.sign(Buffer.from(input)).toString('base64url')}`;
}

/** Runs `count` verifies with `concurrency` in flight; returns wall and CPU seconds. Throws if any token fails. */
async function drive(verifier: TokenVerifier, tokens: readonly string[], count: number, concurrency: number): Promise<{ wall: number; cpu: number }> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const token = tokens[next % tokens.length] ?? '';
      next += 1;
      await verifier.verify(token);
    }
  };
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const cpu = process.cpuUsage(cpuBefore);
  return { wall: (performance.now() - started) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
}

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    algs: { type: 'string', default: 'RS256,PS256,ES256,EdDSA' },
  },
});
const count = Number(values.count);
const concurrency = Number(values.concurrency);
const algs = values.algs.split(',');
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(concurrency) || concurrency < 1) {
  throw new Error('--count and --concurrency must be positive integers');
}

const nowMs = Date.now();
const signers = algs.map(createSigner);
const verifier = createTokenVerifier({
  issuers: { bench: IssuerConfig.parse({ url: ISSUER, kind: 'generic', algorithms: algs }) },
  staticKeys: { bench: { keys: signers.map((signer) => signer.jwk) } },
  audience: AUDIENCE,
  now: () => nowMs,
});
console.log(`node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}); ${count} verifies per row`);
try {
  for (const signer of signers) {
    const tokens = Array.from({ length: POOL }, () => mint(signer, Math.floor(nowMs / 1000)));
    await drive(verifier, tokens, Math.min(count, 2_000), 1); // warm-up: key import, JIT
    for (const inFlight of [1, concurrency]) {
      const { wall, cpu } = await drive(verifier, tokens, count, inFlight);
      const perSecond = Math.round(count / wall).toLocaleString('en');
      const micros = (seconds: number): string => ((seconds * 1e6) / count).toFixed(1).padStart(6);
      console.log(
        `${signer.alg.padEnd(6)} ${String(inFlight).padStart(3)} in flight: ${perSecond.padStart(7)} verifies/s, ${micros(wall)} µs wall, ${micros(cpu)} µs CPU per verify`,
      );
    }
  }
} finally {
  verifier.close();
}
