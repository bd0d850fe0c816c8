/**
 * Reads and checks a list of policy files, fast: small folders inline (in
 * batches, yielding to the event loop between them so a reload does not
 * stall requests), large ones on worker threads that read and parse in
 * parallel while the main thread only builds the compiled policies.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { PolicyFileEntry } from './find-files.ts';
import type { ParseFileOptions } from './parse-file.ts';
import { readPolicyFile, type FileOutcome, type WorkerRequest, type WorkerResponse } from './load-worker.ts';

/** Below this many files, starting workers (~0.3 s each to load the parsers) costs more than it saves. */
export const WORKER_THRESHOLD = 20_000;
const INLINE_BATCH = 256;
const WORKER_BATCH = 1000;
const MAX_WORKERS = 4;

export interface ReadFilesOptions extends ParseFileOptions {
  /** Worker threads to use; default: none below {@link WORKER_THRESHOLD} files, else one per CPU (at most 4). */
  threads?: number | undefined;
}

/** Reads and checks every entry, calling `onOutcome` for each (in no particular order). */
export async function readPolicyFiles(
  entries: readonly PolicyFileEntry[],
  options: ReadFilesOptions,
  onOutcome: (entry: PolicyFileEntry, outcome: FileOutcome) => void,
): Promise<void> {
  const threads = options.threads ?? (entries.length < WORKER_THRESHOLD ? 0 : Math.min(MAX_WORKERS, availableParallelism()));
  const parseOptions: ParseFileOptions = { issuers: options.issuers, maxTtl: options.maxTtl };
  if (threads <= 0 || entries.length === 0) return readInline(entries, parseOptions, onOutcome);
  return readWithWorkers(entries, parseOptions, Math.min(threads, Math.ceil(entries.length / WORKER_BATCH)), onOutcome);
}

async function readInline(entries: readonly PolicyFileEntry[], options: ParseFileOptions, onOutcome: (entry: PolicyFileEntry, outcome: FileOutcome) => void): Promise<void> {
  for (let start = 0; start < entries.length; start += INLINE_BATCH) {
    const end = Math.min(entries.length, start + INLINE_BATCH);
    for (let i = start; i < end; i += 1) onOutcome(entries[i]!, readPolicyFile(entries[i]!, options));
    await yieldToEventLoop();
  }
}

/** Hands batches to workers as they become free; rejects if a worker fails. */
function readWithWorkers(
  entries: readonly PolicyFileEntry[],
  options: ParseFileOptions,
  threads: number,
  onOutcome: (entry: PolicyFileEntry, outcome: FileOutcome) => void,
): Promise<void> {
  const batches: PolicyFileEntry[][] = [];
  for (let start = 0; start < entries.length; start += WORKER_BATCH) batches.push(entries.slice(start, start + WORKER_BATCH));
  const workers: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let next = 0;
    let done = 0;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      for (const worker of workers) void worker.terminate();
      if (error === undefined) resolve();
      else reject(error);
    };
    const feed = (worker: Worker): void => {
      if (next < batches.length) {
        const request: WorkerRequest = { batch: next, entries: batches[next]! };
        next += 1;
        worker.postMessage(request);
      }
    };
    for (let i = 0; i < threads; i += 1) {
      const worker = new Worker(new URL('./load-worker.ts', import.meta.url), { workerData: { latchkeyPolicyWorker: true, options } });
      workers.push(worker);
      worker.on('message', (response: WorkerResponse) => {
        if (settled) return;
        const batch = batches[response.batch]!;
        response.outcomes.forEach((outcome, index) => onOutcome(batch[index]!, outcome));
        done += 1;
        if (done === batches.length) finish();
        else feed(worker);
      });
      worker.on('error', (error) => finish(error));
      worker.on('exit', (code) => {
        if (done < batches.length) finish(new Error(`a policy worker exited early (code ${code})`));
      });
      // Two batches each, so a worker never waits while the main thread builds its last answer.
      feed(worker);
      feed(worker);
    }
  });
}
