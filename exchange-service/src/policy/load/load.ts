/**
 * Loads a policies folder into a PolicySet (SPEC §2, §4): all or nothing. A
 * single problem in any file refuses the whole set, listing every problem
 * with its file, line and column, so a reload never fails open or serves a
 * partial set.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { buildPolicy, type CompiledPolicy } from '../model/compile.ts';
import { findPolicyFiles, linksMoved, type FoundPolicyFiles, type PolicyFileEntry } from './find-files.ts';
import type { PolicyProblem } from '../model/parse-file.ts';
import { createStringInterner } from '../model/string-interner.ts';
import { PolicyWorkerError, readPolicyFiles } from './read-files.ts';
import type { FileOutcome } from './load-worker.ts';
import { digestVersion, gitVersion } from './set-version.ts';

/** Something wrong with a policy file: file, line and column (1-based) where known, and a message. */
export type { PolicyProblem } from '../model/parse-file.ts';

/** The policy set is invalid; `problems` lists everything wrong, file by file. */
export class PolicyLoadError extends Error {
  readonly problems: readonly PolicyProblem[];

  constructor(problems: readonly PolicyProblem[]) {
    const first = problems[0];
    const where = first === undefined ? '' : `: ${formatProblem(first)}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`;
    super(`the policy set is invalid${where}`);
    this.name = 'PolicyLoadError';
    this.problems = problems;
  }
}

/** `file:line:column: message` */
export function formatProblem(problem: PolicyProblem): string {
  const position = problem.line === undefined ? '' : `:${problem.line}:${problem.column ?? 1}`;
  return `${problem.file}${position}: ${problem.message}`;
}

/** A loaded, valid policy set. */
export interface PolicySet {
  /** Git commit of the folder (`-dirty` with uncommitted changes), else `sha256:` over the files. */
  version: string;
  policies: ReadonlyMap<string, CompiledPolicy>;
  loadedAt: Date;
}

/** What the service knows that decides whether a policy is valid for it. */
export interface LoadPoliciesOptions {
  /** The service's issuers: a policy naming another is an error; the kind decides the GitHub rules. Absent: any name, kind github. */
  issuers?: Readonly<Record<string, { kind: 'github' | 'gitlab' | 'generic' }>>;
  /** The service's `limits.max_ttl`, seconds. */
  maxTtl?: number;
  /** Worker threads for reading and parsing besides the main thread; default: none, except for 20,000+ files on 4+ CPUs. */
  threads?: number;
}

/** A load starts again at most this often when the folder's links move under it. */
const MAX_LOAD_ATTEMPTS = 3;

/**
 * Loads every policy below `dir`, or throws PolicyLoadError listing every
 * problem. A folder whose links were swapped while it was read (a ConfigMap
 * update) is read again, so a set is never a mix of two; one that keeps
 * changing is an error, and a reload keeps the set in force.
 */
export async function loadPolicies(dir: string, options: LoadPoliciesOptions = {}): Promise<PolicySet> {
  for (let attempt = 1; ; attempt += 1) {
    const found = await findPolicyFiles(dir);
    const result = await loadFound(dir, found, options);
    if (found.links.length === 0 || !(await linksMoved(found.links))) {
      if (result instanceof PolicyLoadError) throw result;
      return result;
    }
    if (attempt >= MAX_LOAD_ATTEMPTS) {
      throw new PolicyLoadError([
        { file: dir, message: `the folder changed while it was read, ${attempt} times in a row (its links were swapped); the set was not loaded` },
      ]);
    }
  }
}

async function loadFound(dir: string, found: FoundPolicyFiles, options: LoadPoliciesOptions): Promise<PolicySet | PolicyLoadError> {
  const versionFromGit = gitVersion(dir);
  const problems: PolicyProblem[] = [...found.problems];
  const policies = new Map<string, CompiledPolicy>();
  const collect = (entry: PolicyFileEntry, outcome: FileOutcome): void => {
    if (!outcome.ok) problems.push(...outcome.problems);
    else policies.set(entry.name, buildPolicy(outcome.policy, { name: entry.name, file: entry.file, digest: outcome.digest }, outcome.issuerKind));
  };
  // One interner for this load: dropped with it, while the policies keep their shared strings.
  const readOptions = { issuers: options.issuers, maxTtl: options.maxTtl, threads: options.threads, intern: createStringInterner() };
  try {
    await readPolicyFiles(found.entries, readOptions, collect);
  } catch (error) {
    // Worker threads could not run (resource limits?): the same work inline is slower but as good.
    if (!(error instanceof PolicyWorkerError)) throw error;
    policies.clear();
    problems.splice(found.problems.length);
    await readPolicyFiles(found.entries, { ...readOptions, threads: 0 }, collect);
  }
  const version = await versionFromGit;
  if (problems.length > 0) return new PolicyLoadError(sortProblems(problems));
  const sorted = new Map([...policies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  // A dirty checkout's commit alone would name two different sets alike: add the set's digest.
  const digest = digestVersion(sorted.values());
  const setVersion =
    version === undefined ? digest : version.endsWith('-dirty') ? `${version}+${digest.slice('sha256:'.length, 'sha256:'.length + 12)}` : version;
  return { version: setVersion, policies: sorted, loadedAt: new Date() };
}

function sortProblems(problems: PolicyProblem[]): PolicyProblem[] {
  return problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)));
}

/**
 * Watches `dir` (recursively) and reloads after changes settle for
 * `debounceMs`, calling `onResult` with the new set or the error. Reloads
 * never overlap; a change during a reload schedules one more.
 */
export function watchPolicies(
  dir: string,
  options: LoadPoliciesOptions,
  onResult: (result: PolicySet | PolicyLoadError) => void,
  debounceMs = 200,
): { close(): void } {
  const reloader = createReloader(() => loadPolicies(dir, options), onResult, debounceMs, dir);
  const watchers: FSWatcher[] = [];
  try {
    // fs.watch's recursive mode on Linux ignores a missing folder without a word.
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`);
    watchers.push(watch(dir, { recursive: true }, reloader.schedule));
    // The recursive watch (Node 24 on Linux) reports only the first rename of a ConfigMap's
    // `..data_tmp` over `..data`; a plain watch of the top folder sees every one.
    watchers.push(watch(dir, reloader.schedule));
  } catch (error) {
    for (const watcher of watchers) watcher.close();
    queueMicrotask(() => onResult(new PolicyLoadError([{ file: dir, message: `cannot watch the folder: ${(error as Error).message}` }])));
    return { close: reloader.close };
  }
  for (const watcher of watchers) {
    watcher.on('error', (error) => reloader.report(new PolicyLoadError([{ file: dir, message: `watching the folder failed: ${error.message}` }])));
  }
  return {
    close: () => {
      reloader.close();
      for (const watcher of watchers) watcher.close();
    },
  };
}

/** Debounced, never-overlapping reloads; nothing is reported once closed. */
function createReloader(load: () => Promise<PolicySet>, onResult: (result: PolicySet | PolicyLoadError) => void, debounceMs: number, dir: string) {
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let closed = false;
  const report = (result: PolicySet | PolicyLoadError): void => {
    if (!closed) onResult(result);
  };
  const reload = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    const result = await load().catch((error: unknown) =>
      error instanceof PolicyLoadError ? error : new PolicyLoadError([{ file: dir, message: `reload failed: ${(error as Error).message}` }]),
    );
    running = false;
    report(result);
    if (again) {
      again = false;
      schedule();
    }
  };
  const schedule = (): void => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  };
  const close = (): void => {
    closed = true;
    clearTimeout(timer);
  };
  return { schedule, report, close };
}
