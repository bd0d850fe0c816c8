/**
 * Pre-minting: splits the token range over worker threads (one per core),
 * each signing with the issuer's key, and gathers the results into a pool
 * that hands out every body exactly once.
 */
import { Worker } from 'node:worker_threads';
import type { MintedBatch, MintJob } from './mint-worker.ts';

/** Ready-to-send `POST /token` bodies, each handed out once. */
export interface TokenPool {
  readonly size: number;
  /** Bodies handed out so far. */
  used(): number;
  /** The next unused body, or undefined when the pool is empty. */
  next(): Buffer | undefined;
}

/** What to mint, with which key, on how many threads. */
export interface MintOptions {
  issuer: { url: string; kid: string; privateKeyPem: string };
  /** The `aud` the service expects. */
  audience: string;
  count: number;
  policyCount: number;
  /** The first token index (default 0): pools minted for one service take disjoint ranges, so they visit different policies. */
  offset?: number;
  /** Seconds until the tokens expire (must outlast minting plus the run). */
  lifetime: number;
  threads: number;
}

/** Mints `count` tokens on `threads` worker threads; resolves with the pool and the wall time taken. */
export async function mintTokens(options: MintOptions): Promise<{ pool: TokenPool; seconds: number }> {
  const started = performance.now();
  const share = Math.ceil(options.count / options.threads);
  const offset = options.offset ?? 0;
  const jobs: MintJob[] = [];
  for (let from = 0; from < options.count; from += share) {
    jobs.push({
      privateKeyPem: options.issuer.privateKeyPem,
      kid: options.issuer.kid,
      issuer: options.issuer.url,
      audience: options.audience,
      from: offset + from,
      to: offset + Math.min(options.count, from + share),
      policyCount: options.policyCount,
      lifetime: options.lifetime,
    });
  }
  const batches = await Promise.all(jobs.map(runWorker));
  return { pool: createTokenPool(batches), seconds: (performance.now() - started) / 1000 };
}

function runWorker(job: MintJob): Promise<MintedBatch> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./mint-worker.ts', import.meta.url), { workerData: job });
    worker.once('message', (batch: MintedBatch) => resolve(batch));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`mint worker exited with code ${code}`));
    });
  });
}

/** A pool over the workers' packed batches, in order. */
export function createTokenPool(batches: MintedBatch[]): TokenPool {
  const size = batches.reduce((sum, batch) => sum + batch.offsets.length - 1, 0);
  let batchIndex = 0;
  let item = 0;
  let handed = 0;
  return {
    size,
    used: () => handed,
    next() {
      let batch = batches[batchIndex];
      while (batch !== undefined && item >= batch.offsets.length - 1) {
        batchIndex += 1;
        item = 0;
        batch = batches[batchIndex];
      }
      if (batch === undefined) return undefined;
      const start = batch.offsets[item] ?? 0;
      const end = batch.offsets[item + 1] ?? start;
      item += 1;
      handed += 1;
      return Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset + start, end - start);
    },
  };
}
