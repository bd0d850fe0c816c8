/**
 * Worker-thread entry point for large policy folders: reads and checks the
 * batches of files the loader sends, and answers with plain data (validated
 * policy files or problems). The loader builds the compiled policies.
 *
 * Only ever loaded with `new Worker(...)`; its side effect (listening on the
 * parent port) is the point of the file, and it does nothing on the main thread.
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parsePolicyBytes, type ParseFileOptions, type ParsedFile, type PolicyProblem } from './parse-file.ts';
import type { PolicyFileEntry } from './find-files.ts';

/** A batch of files to read and check. */
export interface WorkerRequest {
  batch: number;
  entries: readonly PolicyFileEntry[];
}

/** One file's outcome. */
export type FileOutcome = (ParsedFile & { ok: true }) | { ok: false; problems: PolicyProblem[] };

export interface WorkerResponse {
  batch: number;
  outcomes: FileOutcome[];
}

/** Reads and checks one file (also used inline by the loader). */
export function readPolicyFile(entry: PolicyFileEntry, options: ParseFileOptions): FileOutcome {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(entry.file);
  } catch (error) {
    return { ok: false, problems: [{ file: entry.file, message: `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }] };
  }
  return parsePolicyBytes(bytes, entry.file, options);
}

if (!isMainThread && parentPort !== null && (workerData as { latchkeyPolicyWorker?: boolean } | null)?.latchkeyPolicyWorker === true) {
  const port = parentPort;
  const options = (workerData as { options: ParseFileOptions }).options;
  port.on('message', (request: WorkerRequest) => {
    const response: WorkerResponse = { batch: request.batch, outcomes: request.entries.map((entry) => readPolicyFile(entry, options)) };
    port.postMessage(response);
  });
}
