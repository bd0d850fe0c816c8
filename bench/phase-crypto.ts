/**
 * Phase 2, the crypto alone: what one exchange's signatures cost with no
 * HTTP, policy or store around them. One exchange verifies the job's RS256
 * token (RSA-2048, as GitHub signs) and signs an ES256 access token (P-256,
 * DER converted to r‖s), both with node:crypto as the service does. Measured
 * in this process two ways: synchronously on one thread (the cost per
 * operation on a core), and in the callback form on libuv's thread pool with
 * many pairs in flight (the service's way; the machine's crypto-only
 * ceiling, every core busy).
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { derToP1363 } from '../exchange-service/src/jws/ecdsa-signature.ts';
import { tokenClaims } from './fleet.ts';
import type { BenchOptions } from './options.ts';
import { formatCount } from './report.ts';

/** Per-operation costs and the pair rates. */
export interface CryptoResult {
  /** µs per RS256 verify, synchronous, one thread. */
  verifyMicros: number;
  /** µs per ES256 sign (with the DER → r‖s conversion), synchronous, one thread. */
  signMicros: number;
  /** verify + sign pairs per second on one thread. */
  pairsPerSecondOneThread: number;
  /** verify + sign pairs per second on the thread pool, many in flight. */
  pairsPerSecondPool: number;
  /** CPU cores the thread-pool run used. */
  poolCores: number;
}

/** Pairs in flight in the thread-pool run. */
const IN_FLIGHT = 64;

interface Material {
  rsaPublic: KeyObject;
  ecPrivate: KeyObject;
  subjectInput: Buffer;
  subjectSignature: Buffer;
  accessInput: Buffer;
}

/** Measures both ways for `options.cryptoSeconds` each (after a short warm-up). */
export async function runCryptoPhase(options: BenchOptions): Promise<CryptoResult> {
  const material = createMaterial();
  const seconds = options.cryptoSeconds;
  timeSync(() => verifyOnce(material), 0.2);
  timeSync(() => signOnce(material), 0.2);
  const verifyMicros = timeSync(() => verifyOnce(material), seconds);
  const signMicros = timeSync(() => signOnce(material), seconds);
  await timePool(material, 0.2);
  const pool = await timePool(material, seconds);
  console.log(
    `  one thread: RS256 verify ${verifyMicros.toFixed(1)} µs, ES256 sign ${signMicros.toFixed(1)} µs; thread pool: ${formatCount(pool.pairsPerSecond)} pairs/s on ${pool.cores.toFixed(2)} cores`,
  );
  return {
    verifyMicros,
    signMicros,
    pairsPerSecondOneThread: 1e6 / (verifyMicros + signMicros),
    pairsPerSecondPool: pool.pairsPerSecond,
    poolCores: pool.cores,
  };
}

/** Keys and inputs the size of the real ones: a GitHub-shaped subject token and an access token's claims. */
function createMaterial(): Material {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const claims = tokenClaims({
    issuer: 'https://token.actions.githubusercontent.com',
    audience: 'https://latchkey.bench.internal',
    index: 1,
    runId: 1,
    jti: randomUUID(),
    sha: randomBytes(20).toString('hex'),
    iat,
    exp: iat + 300,
  });
  const subjectInput = Buffer.from(`${encode({ alg: 'RS256', typ: 'JWT', kid: 'bench' })}.${encode(claims)}`);
  const access = {
    iss: 'https://latchkey.bench.internal',
    sub: claims.sub,
    aud: 'https://artifacts.acme.internal',
    exp: iat + 600,
    iat,
    jti: randomUUID(),
    client_id: 'team-01/app-00001',
    scope: 'artifacts:read artifacts:write',
    repository: claims.repository,
    repository_id: claims.repository_id,
    ref: claims.ref,
    workflow_ref: claims.workflow_ref,
    run_id: claims.run_id,
    actor: claims.actor,
    environment: claims.environment,
  };
  const accessInput = Buffer.from(`${encode({ typ: 'at+jwt', alg: 'ES256', kid: 'bench' })}.${encode(access)}`);
  return { rsaPublic: rsa.publicKey, ecPrivate: ec.privateKey, subjectInput, subjectSignature: sign('sha256', subjectInput, rsa.privateKey), accessInput };
}

function verifyOnce(material: Material): void {
  if (!verify('sha256', material.subjectInput, material.rsaPublic, material.subjectSignature)) throw new Error('RS256 signature did not verify');
}

function signOnce(material: Material): void {
  derToP1363(sign('sha256', material.accessInput, material.ecPrivate), 32);
}

/** µs per call of `work`, called back to back for `seconds`. */
function timeSync(work: () => void, seconds: number): number {
  const started = performance.now();
  const until = started + seconds * 1000;
  let calls = 0;
  let now = started;
  while (now < until) {
    for (let i = 0; i < 50; i++) work();
    calls += 50;
    now = performance.now();
  }
  return ((now - started) * 1000) / calls;
}

/** verify → sign chains on the thread pool, `IN_FLIGHT` at a time, for `seconds`. */
async function timePool(material: Material, seconds: number): Promise<{ pairsPerSecond: number; cores: number }> {
  const started = performance.now();
  const until = started + seconds * 1000;
  const cpuBefore = process.cpuUsage();
  let pairs = 0;
  const chain = async (): Promise<void> => {
    while (performance.now() < until) {
      const valid = await new Promise<boolean>((resolve, reject) => {
        verify('sha256', material.subjectInput, material.rsaPublic, material.subjectSignature, (error, result) =>
          error === null ? resolve(result) : reject(error),
        );
      });
      if (!valid) throw new Error('RS256 signature did not verify');
      const der = await new Promise<Buffer>((resolve, reject) => {
        sign('sha256', material.accessInput, material.ecPrivate, (error, signature) => (error === null ? resolve(signature) : reject(error)));
      });
      derToP1363(der, 32);
      pairs += 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, chain));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { pairsPerSecond: pairs / elapsed, cores: (cpu.user + cpu.system) / 1e6 / elapsed };
}
