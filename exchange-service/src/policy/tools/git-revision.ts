/**
 * Reads a folder as it is at a git revision, for `policy diff`: `git
 * ls-tree` lists the folder's YAML files at the commit, `git cat-file
 * --batch` reads them, and they are written to a temporary folder the
 * service's loader then reads. git runs through execFile (no shell);
 * revisions are resolved to a commit first and may not start with `-`, so
 * none can be read as an option. A folder missing at the revision is an
 * empty set. Symbolic links and submodules are not followed (their targets
 * are not in the folder's history); they are listed as skipped.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';

/** Not a git repository, an unknown revision, or git failed. */
export class GitRevisionError extends Error {
  override name = 'GitRevisionError';
}

/** A folder's files at one commit, written below `dir`. */
export interface FolderSnapshot {
  /** The temporary folder holding the files. */
  dir: string;
  /** How many files were written. */
  files: number;
  /** Paths (relative to the repository root) not written: symbolic links, submodules. */
  skipped: string[];
  /** Maps a path below `dir` back to `<folder>/<relative>`. */
  displayFile(file: string): string;
  /** Deletes the temporary folder. */
  remove(): Promise<void>;
}

const GIT_TIMEOUT_MS = 60_000;
/** Policy folders are small; a bigger one is refused rather than read into memory. */
const MAX_FOLDER_BYTES = 256 * 1024 * 1024;
const YAML = /\.ya?ml$/i;

/** The top folder of the git repository containing `cwd`. */
export async function repositoryRoot(cwd: string): Promise<string> {
  const root = await git(cwd, ['rev-parse', '--show-toplevel']).catch(() => undefined);
  if (root === undefined || root.trim() === '') throw new GitRevisionError(`${cwd} is not in a git repository`);
  return root.trim();
}

/** The commit a revision names (`main`, `HEAD~1`, a SHA). */
export async function resolveCommit(root: string, revision: string): Promise<string> {
  if (revision === '' || revision.startsWith('-')) throw new GitRevisionError(`"${revision}" is not a revision`);
  const commit = await git(root, ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`]).catch(() => undefined);
  if (commit === undefined || !/^[0-9a-f]{40,64}$/.test(commit.trim())) throw new GitRevisionError(`"${revision}" is not a commit in ${root}`);
  return commit.trim();
}

/** One row of `git ls-tree -r -l -z`. */
interface TreeEntry {
  mode: string;
  type: string;
  object: string;
  size: number;
  path: string;
}

/** Writes the YAML files of `folder` (relative to `root`, `/`-separated) at `commit` to a new temporary folder. */
export async function snapshotFolder(root: string, commit: string, folder: string): Promise<FolderSnapshot> {
  const prefix = folder === '' || folder === '.' ? '' : `${folder.replace(/\/+$/, '')}/`;
  const listing = await git(root, ['ls-tree', '-r', '-l', '-z', '--full-tree', commit, '--', prefix === '' ? '.' : prefix]);
  const entries = parseTree(listing).filter((entry) => entry.path.startsWith(prefix));
  const skipped = entries
    .filter((entry) => entry.type !== 'blob' || entry.mode === '120000')
    .map((entry) => entry.path)
    .sort();
  const files = entries.filter((entry) => entry.type === 'blob' && entry.mode !== '120000' && YAML.test(entry.path));
  if (files.reduce((total, entry) => total + entry.size, 0) > MAX_FOLDER_BYTES)
    throw new GitRevisionError(`${folder} at ${commit} is larger than ${MAX_FOLDER_BYTES} bytes`);
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-revision-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const contents = await readBlobs(
      root,
      files.map((entry) => entry.object),
    );
    for (const entry of files) {
      const relative = entry.path.slice(prefix.length);
      if (relative.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) continue;
      const target = join(dir, ...relative.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, contents.get(entry.object)!);
    }
  } catch (error) {
    await remove();
    throw error;
  }
  const displayFile = (file: string): string => {
    if (file === dir) return prefix === '' ? '.' : prefix.slice(0, -1);
    return file.startsWith(dir + sep)
      ? `${prefix}${file
          .slice(dir.length + 1)
          .split(sep)
          .join('/')}`
      : file;
  };
  return { dir, files: files.length, skipped, displayFile, remove };
}

function parseTree(listing: string): TreeEntry[] {
  return listing
    .split('\0')
    .filter((row) => row !== '')
    .map((row) => {
      const tab = row.indexOf('\t');
      const [mode = '', type = '', object = '', size = '0'] = row.slice(0, tab).split(/ +/);
      return { mode, type, object, size: Number(size) || 0, path: row.slice(tab + 1) };
    });
}

/** Reads blobs with one `git cat-file --batch`; resolves object id → bytes. */
function readBlobs(root: string, objects: readonly string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(objects)];
  if (unique.length === 0) return Promise.resolve(new Map());
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', root, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: GIT_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(new GitRevisionError(`git cat-file: ${error.message}`)));
    child.on('close', (status) => {
      if (status !== 0) return reject(new GitRevisionError(`git cat-file failed: ${stderr.trim()}`));
      try {
        resolve(parseBatch(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.end(`${unique.join('\n')}\n`);
  });
}

/** `<oid> blob <size>\n<bytes>\n`, repeated. */
function parseBatch(output: Buffer): Map<string, Buffer> {
  const blobs = new Map<string, Buffer>();
  let offset = 0;
  while (offset < output.length) {
    const newline = output.indexOf(0x0a, offset);
    if (newline === -1) throw new GitRevisionError('git cat-file: truncated output');
    const [object = '', type = '', size = ''] = output.subarray(offset, newline).toString('latin1').split(' ');
    if (type !== 'blob') throw new GitRevisionError(`git cat-file: ${object} is ${type || 'missing'}`);
    const start = newline + 1;
    const end = start + Number(size);
    blobs.set(object, output.subarray(start, end));
    offset = end + 1;
  }
  return blobs;
}

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // GIT_OPTIONAL_LOCKS=0: never take the index lock a concurrent git command needs.
    const env = { ...process.env, GIT_OPTIONAL_LOCKS: '0' };
    execFile('git', ['-C', cwd, ...args], { timeout: GIT_TIMEOUT_MS, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new GitRevisionError(`git ${args[0]}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}
