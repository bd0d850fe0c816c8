/**
 * Worker thread: signs a range of RS256 subject tokens (one signature per
 * token, each with its own jti) and returns them as ready-to-send
 * `POST /token` form bodies, packed into one transferable byte array.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto';
import { fleetEntry, targetOf, tokenClaims } from './fleet.ts';

/** What the parent sends (see mint.ts). */
export interface MintJob {
  privateKeyPem: string;
  kid: string;
  issuer: string;
  audience: string;
  /** Token indexes [from, to). */
  from: number;
  to: number;
  policyCount: number;
  /** Seconds from now until the tokens expire. */
  lifetime: number;
}

/** What the worker answers: bodies back to back; body i is bytes[offsets[i], offsets[i + 1]). */
export interface MintedBatch {
  bytes: Uint8Array<ArrayBuffer>;
  offsets: Uint32Array<ArrayBuffer>;
}

const FORM_PREFIX = new URLSearchParams({
  grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
  subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
}).toString();

function mint(job: MintJob): MintedBatch {
  const key = createPrivateKey(job.privateKeyPem);
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: job.kid })).toString('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const bodies: Buffer[] = [];
  for (let n = job.from; n < job.to; n++) {
    const index = targetOf(n, job.policyCount);
    const claims = tokenClaims({
      issuer: job.issuer,
      audience: job.audience,
      index,
      runId: 9_000_000_000 + n,
      jti: randomUUID(),
      sha: randomBytes(20).toString('hex'),
      iat,
      exp: iat + job.lifetime,
    });
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const jwt = `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
    const audience = encodeURIComponent(fleetEntry(index).name);
    bodies.push(Buffer.from(`${FORM_PREFIX}&audience=${audience}&subject_token=${jwt}`));
  }
  return pack(bodies);
}

function pack(bodies: Buffer[]): MintedBatch {
  const offsets = new Uint32Array(bodies.length + 1);
  for (let i = 0; i < bodies.length; i++) offsets[i + 1] = (offsets[i] ?? 0) + (bodies[i]?.length ?? 0);
  const bytes = new Uint8Array(offsets[bodies.length] ?? 0);
  for (const [i, body] of bodies.entries()) bytes.set(body, offsets[i]);
  return { bytes, offsets };
}

if (parentPort === null) throw new Error('mint-worker.ts runs only as a worker thread');
const batch = mint(workerData as MintJob);
parentPort.postMessage(batch, [batch.bytes.buffer, batch.offsets.buffer]);
