/**
 * Reads and checks a list of policy files, fast. The files are cut into
 * batches; the main thread works through them itself, yielding to the event
 * loop after each so a reload does not stall requests, and for large folders
 * worker threads take batches from the same queue in parallel and answer
 * with plain data the main thread only has to build policies from.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { PolicyFileEntry } from './find-files.ts';
import type { ParseFileOptions } from '../model/parse-file.ts';
import type { StringInterner } from '../model/string-interner.ts';
import { createFileReader, readPolicyFile, type FileOutcome, type WorkerRequest, type WorkerResponse } from './load-worker.ts';

/** Below this many files, starting a worker (~0.3 s to load the parsers) saves nothing. */
export const WORKER_THRESHOLD = 20_000;
/**
 * Workers only pay with CPUs to spare: on a 2-CPU machine, measured, the
 * main thread alone loads 100,000 files as fast as with a worker, using
 * less CPU (the worker's start, its cold JIT and the JSON hand-over cost
 * what the second CPU wins).
 */
const MIN_CPUS_FOR_WORKERS = 4;
const BATCH = 250;
const MAX_WORKERS = 3;

/** Settings for reading a folder's files. */
export interface ReadFilesOptions extends ParseFileOptions {
  /**
   * Worker threads besides the main thread. Default: none below
   * {@link WORKER_THRESHOLD} files or with fewer than 4 CPUs, else one per
   * CPU beyond the first (at most 3).
   */
  threads?: number | undefined;
  /** The load's interner, for the files read on the main thread (workers have their own). */
  intern: StringInterner;
}

function defaultThreads(files: number): number {
  const cpus = availableParallelism();
  if (files < WORKER_THRESHOLD || cpus < MIN_CPUS_FOR_WORKERS) return 0;
  return Math.min(MAX_WORKERS, cpus - 1);
}

type OnOutcome = (entry: PolicyFileEntry, outcome: FileOutcome) => void;

/** A worker thread failed (could not start, crashed): the same work inline still can succeed. */
export class PolicyWorkerError extends Error {
  override name = 'PolicyWorkerError';
}

/** Reads and checks every entry, calling `onOutcome` for each (in no particular order). */
export async function readPolicyFiles(entries: readonly PolicyFileEntry[], options: ReadFilesOptions, onOutcome: OnOutcome): Promise<void> {
  const threads = Math.min(options.threads ?? defaultThreads(entries.length), Math.ceil(entries.length / BATCH));
  const parseOptions: ParseFileOptions = { issuers: options.issuers, maxTtl: options.maxTtl };
  const batches: PolicyFileEntry[][] = [];
  for (let start = 0; start < entries.length; start += BATCH) batches.push(entries.slice(start, start + BATCH));
  const queue = { batches, next: 0 };
  const pool = threads > 0 ? startWorkers(threads, parseOptions, queue, onOutcome) : undefined;
  try {
    const read = createFileReader();
    for (let index = queue.next++; index < batches.length; index = queue.next++) {
      for (const entry of batches[index]!) onOutcome(entry, readPolicyFile(entry, parseOptions, read, options.intern));
      await yieldToEventLoop();
      pool?.throwIfFailed();
    }
    await pool?.finished;
  } finally {
    pool?.stop();
  }
}

interface BatchQueue {
  readonly batches: readonly PolicyFileEntry[][];
  /** The next batch nobody has taken; the main thread and the workers share it. */
  next: number;
}

interface WorkerPool {
  /** Resolves when every batch handed to a worker has been answered. */
  finished: Promise<void>;
  throwIfFailed(): void;
  stop(): void;
}

function startWorkers(threads: number, options: ParseFileOptions, queue: BatchQueue, onOutcome: OnOutcome): WorkerPool {
  const workers: Worker[] = [];
  let outstanding = 0;
  let failure: PolicyWorkerError | undefined;
  let settle: (() => void) | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    settle = () => (failure === undefined ? resolve() : reject(failure));
  });
  finished.catch(() => {}); // Also reported through throwIfFailed; never an unhandled rejection.
  const checkDone = (): void => {
    if (failure !== undefined || (outstanding === 0 && queue.next >= queue.batches.length)) settle?.();
  };
  const feed = (worker: Worker): void => {
    if (failure !== undefined || queue.next >= queue.batches.length) return checkDone();
    const request: WorkerRequest = { batch: queue.next, entries: queue.batches[queue.next]! };
    queue.next += 1;
    outstanding += 1;
    worker.postMessage(request);
  };
  for (let i = 0; i < threads; i += 1) {
    const worker = spawnWorker(options, {
      onResponse: (response) => {
        if (failure !== undefined) return;
        outstanding -= 1;
        const batch = queue.batches[response.batch]!;
        for (const [index, outcome] of (JSON.parse(response.outcomes) as FileOutcome[]).entries()) onOutcome(batch[index]!, outcome);
        feed(worker);
      },
      onFailure: (error) => {
        failure ??= new PolicyWorkerError(`a policy worker failed: ${error.message}`, { cause: error });
        checkDone();
      },
    });
    workers.push(worker);
    // Two batches each, so a worker never waits while the main thread builds its last answer.
    feed(worker);
    feed(worker);
  }
  return {
    finished,
    throwIfFailed: () => {
      if (failure !== undefined) throw failure;
    },
    stop: () => {
      failure ??= new PolicyWorkerError('stopped');
      for (const worker of workers) {
        worker.removeAllListeners('exit');
        void worker.terminate();
      }
    },
  };
}

function spawnWorker(options: ParseFileOptions, on: { onResponse: (response: WorkerResponse) => void; onFailure: (error: Error) => void }): Worker {
  const worker = new Worker(new URL('./load-worker.ts', import.meta.url), { workerData: { latchkeyPolicyWorker: true, options } });
  worker.on('message', on.onResponse);
  worker.on('error', on.onFailure);
  worker.on('exit', (code) => on.onFailure(new Error(`a policy worker exited early (code ${code})`)));
  return worker;
}
