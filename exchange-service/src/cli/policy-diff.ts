/**
 * `latchkey policy diff BASE [HEAD] [DIR] [--config FILE]`: the access a
 * change to the policies folder adds, removes, widens or narrows, as
 * Markdown for a pull-request comment (SPEC §1).
 *
 * HEAD defaults to the `HEAD` commit (not the working tree: the diff is of
 * what a pull request would merge). DIR defaults to `policies` and is
 * relative to the root of the git repository holding the current folder.
 * Arguments fill left to right: to name DIR, name HEAD too.
 *
 * Exit codes: 0 the diff was printed; 1 the head policy set does not load
 * (the Markdown lists the errors; the service would refuse that set);
 * 2 usage, not a git repository, an unknown revision, a bad config.
 */
import { isAbsolute, posix, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import {
  diffPolicySets,
  GitRevisionError,
  lintPolicies,
  PolicyLoadError,
  renderDiffMarkdown,
  repositoryRoot,
  resolveCommit,
  snapshotFolder,
  type DiffSide,
  type FolderSnapshot,
  type LoadPoliciesOptions,
  loadOptionsOf,
} from '../policy/index.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './usage-error.ts';

const USAGE = `usage: latchkey policy diff BASE [HEAD] [DIR] [--config FILE]
  BASE, HEAD  git revisions (HEAD defaults to the HEAD commit)
  DIR         the policies folder, relative to the repository root (default: policies)
`;

/** The command's streams; `cwd` (default: the process's) picks the git repository. */
export type DiffIo = CliIo & { cwd?: string | undefined };

interface DiffRequest {
  root: string;
  folder: string;
  base: { revision: string; commit: string };
  head: { revision: string; commit: string };
  load: LoadPoliciesOptions;
}

/** Runs `latchkey policy diff` with the arguments after `diff`; resolves with the exit code. */
export async function runDiff(args: string[], io: DiffIo): Promise<number> {
  let request: DiffRequest;
  try {
    request = await parseRequest(args, io);
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof GitRevisionError || error instanceof ConfigError)) throw error;
    io.stderr.write(`latchkey policy diff: ${error.message}\n${error instanceof UsageError ? USAGE : ''}`);
    return 2;
  }
  const snapshots: FolderSnapshot[] = [];
  try {
    for (const side of [request.base, request.head]) snapshots.push(await snapshotFolder(request.root, side.commit, request.folder));
    const [base, head] = await Promise.all(snapshots.map((snapshot) => loadSide(snapshot, request.load)));
    const diff = diffPolicySets(base!, head!);
    const skipped = snapshots.flatMap((snapshot) => snapshot.skipped);
    const notes = [...new Set(skipped)].sort().map((path) => `not compared (a symbolic link or submodule): ${path}`);
    io.stdout.write(renderDiffMarkdown(diff, { dir: request.folder, base: request.base, head: request.head, notes }));
    return diff.compared ? 0 : 1;
  } catch (error) {
    if (!(error instanceof GitRevisionError)) throw error;
    io.stderr.write(`latchkey policy diff: ${error.message}\n`);
    return 2;
  } finally {
    await Promise.all(snapshots.map((snapshot) => snapshot.remove()));
  }
}

/** Loads one side with the service's loader and lints it; a set that does not load becomes its problems. */
async function loadSide(snapshot: FolderSnapshot, options: LoadPoliciesOptions): Promise<DiffSide> {
  try {
    const { set, warnings } = await lintPolicies(snapshot.dir, options);
    return { policies: set.policies, problems: [], warnings, displayFile: snapshot.displayFile };
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    return { policies: undefined, problems: error.problems, displayFile: snapshot.displayFile };
  }
}

async function parseRequest(args: string[], io: DiffIo): Promise<DiffRequest> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { config: { type: 'string' } } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [baseRevision, headRevision = 'HEAD', dir = 'policies'] = positionals;
  if (baseRevision === undefined) throw new UsageError('name the BASE revision');
  if (positionals.length > 3) throw new UsageError('give at most BASE, HEAD and DIR');
  const cwd = io.cwd ?? process.cwd();
  const root = await repositoryRoot(cwd);
  const base = { revision: baseRevision, commit: await resolveCommit(root, baseRevision) };
  const head = {
    revision: headRevision,
    commit: await resolveCommit(root, headRevision).catch((error: unknown) => {
      throw headHint(error, positionals);
    }),
  };
  let load: LoadPoliciesOptions = {};
  if (values.config !== undefined) {
    const config = loadConfig({ file: resolve(cwd, values.config), env: io.env });
    load = loadOptionsOf(config);
  }
  return { root, folder: repositoryFolder(root, dir), base, head, load };
}

/** `diff main policies` reads `policies` as HEAD: say how to name a folder. */
function headHint(error: unknown, positionals: readonly string[]): unknown {
  if (!(error instanceof GitRevisionError) || positionals.length !== 2) return error;
  return new GitRevisionError(`${error.message} (to name the folder, name HEAD too: latchkey policy diff ${positionals[0]} HEAD ${positionals[1]})`);
}

/** DIR as a `/`-separated path below the repository root; absolute paths must lie inside it. */
function repositoryFolder(root: string, dir: string): string {
  const inside = isAbsolute(dir) ? relative(root, dir).split('\\').join('/') : dir.split('\\').join('/');
  const normal = posix.normalize(inside).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../') || posix.isAbsolute(normal)) throw new UsageError(`${dir} is not inside the repository ${root}`);
  return normal === '' ? '.' : normal;
}
