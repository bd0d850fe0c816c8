/**
 * Worker-thread entry point for large policy folders: reads and checks the
 * batches of files the loader sends, and answers with plain data (validated
 * policy files or problems). The loader builds the compiled policies.
 *
 * Only ever loaded with `new Worker(...)`; its side effect (listening on the
 * parent port) is the point of the file, and it does nothing on the main thread.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parsePolicyBytes, type ParseFileOptions, type ParsedFile, type PolicyProblem } from '../model/parse-file.ts';
import { createStringInterner, type StringInterner } from '../model/string-interner.ts';
import type { PolicyFileEntry } from './find-files.ts';

/** A batch of files to read and check. */
export interface WorkerRequest {
  batch: number;
  entries: readonly PolicyFileEntry[];
}

/** One file's outcome. */
export type FileOutcome = (ParsedFile & { ok: true }) | { ok: false; problems: PolicyProblem[] };

/** A worker's answer for one batch. */
export interface WorkerResponse {
  batch: number;
  /** JSON of FileOutcome[]: parsing JSON costs the main thread less than a structured clone of many small objects. */
  outcomes: string;
}

/** Reads whole files into one reused buffer; each result is valid until the next read. */
export type FileReader = (path: string) => Uint8Array;

const READ_BUFFER_BYTES = 64 * 1024;

/** A reader that saves the allocation and the `fstat` of readFileSync for the small files policies are. */
export function createFileReader(): FileReader {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  return (path) => {
    const fd = openSync(path, 'r');
    let length: number;
    try {
      length = readSync(fd, buffer, 0, buffer.length, 0);
    } finally {
      closeSync(fd);
    }
    // A file that fills the buffer may be longer: read it the ordinary way.
    return length < buffer.length ? buffer.subarray(0, length) : readFileSync(path);
  };
}

/** Reads and checks one file (also used inline by the loader); `intern` is the load's (or this worker's) interner. */
export function readPolicyFile(entry: PolicyFileEntry, options: ParseFileOptions, read: FileReader, intern: StringInterner): FileOutcome {
  let bytes: Uint8Array;
  try {
    bytes = read(entry.source ?? entry.file);
  } catch (error) {
    return {
      ok: false,
      problems: [{ file: entry.file, message: `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }],
    };
  }
  return parsePolicyBytes(bytes, entry.file, options, intern);
}

if (!isMainThread && parentPort !== null && (workerData as { latchkeyPolicyWorker?: boolean } | null)?.latchkeyPolicyWorker === true) {
  const port = parentPort;
  const options = (workerData as { options: ParseFileOptions }).options;
  const read = createFileReader();
  // A worker lives for one load, so its interner does too.
  const intern = createStringInterner();
  port.on('message', (request: WorkerRequest) => {
    const outcomes = request.entries.map((entry) => readPolicyFile(entry, options, read, intern));
    const response: WorkerResponse = { batch: request.batch, outcomes: JSON.stringify(outcomes) };
    port.postMessage(response);
  });
}
