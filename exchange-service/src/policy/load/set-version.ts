/**
 * The policy set's version, recorded in every audit record (SPEC §5): the git
 * commit of the policies folder when it is a checkout (`-dirty` when the
 * folder has uncommitted changes), else a digest of the set.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';

const GIT_TIMEOUT_MS = 5000;

/** `sha256:` + hex SHA-256 over the (name, file digest) pairs sorted by name. */
export function digestVersion(files: Iterable<{ name: string; digest: string }>): string {
  const hash = createHash('sha256');
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { name, digest } of sorted) hash.update(`${name}\0${digest}\n`);
  return `sha256:${hash.digest('hex')}`;
}

/** The commit `dir` is checked out at (plus `-dirty`), or undefined when it is not in a git checkout. */
export async function gitVersion(dir: string): Promise<string | undefined> {
  const head = await git(dir, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  if (head === undefined || !/^[0-9a-f]{40,64}$/.test(head)) return undefined;
  const status = await git(dir, ['status', '--porcelain', '--', '.']);
  if (status === undefined) return undefined;
  return status === '' ? head : `${head}-dirty`;
}

/** Runs git in `dir`; undefined when git is missing, fails, or `dir` is no checkout. */
function git(dir: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    // GIT_OPTIONAL_LOCKS=0: `status` must not take the index lock a concurrent `git commit` needs.
    const env = { ...process.env, GIT_OPTIONAL_LOCKS: '0' };
    execFile('git', ['-C', dir, ...args], { timeout: GIT_TIMEOUT_MS, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      resolve(error ? undefined : stdout.trim());
    });
  });
}
