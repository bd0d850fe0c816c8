/**
 * The policy repository the review action runs in: a real git repository in
 * a temporary folder with tagged commits. `base` holds two clean policies;
 * `widen` widens one (`ref: refs/heads/main` → `refs/heads/*`) and adds one
 * with a lint warning (no runner_environment, at its `subject:` line 4);
 * `more` then widens the other's scope; `broken` adds a file with an
 * unknown key (`subjet`, line 4) on top of `widen`; `linked` adds, on top of
 * `widen`, a symbolic link in the policies folder to a broken policy file
 * outside it.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

export const READ = `version: 1
description: Read acme/webapp's artifacts from main.
issuer: github
subject:
  repository: acme/webapp
  repository_id: "892341"
  repository_owner_id: "1342004"
  ref: refs/heads/main
  runner_environment: github-hosted
ttl: { default: 10m, max: 30m }
grant:
  token: { audience: https://artifacts.internal.example, scope: [artifacts:read] }
`;

export const DEPLOY = READ.replace("Read acme/webapp's artifacts from main.", 'Deploy acme/webapp from main.').replace(
  'https://artifacts.internal.example, scope: [artifacts:read]',
  'https://deploy.internal.example, scope: [deploy]',
);

/** Loads, but `subject:` (line 4) has no runner_environment: a lint warning. */
export const PUBLISH = READ.replace("Read acme/webapp's artifacts from main.", 'Publish acme/webapp packages.')
  .replace('  runner_environment: github-hosted\n', '')
  .replace('https://artifacts.internal.example, scope: [artifacts:read]', 'https://packages.internal.example, scope: [publish]');

/** git with an identity from the environment, never the user's or the machine's config. */
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

export const git = async (cwd: string, ...args: string[]): Promise<string> =>
  (await promisify(execFile)('git', ['-c', 'commit.gpgsign=false', ...args], { cwd, env: GIT_ENV })).stdout.trim();

export type FixtureTag = 'base' | 'widen' | 'more' | 'broken' | 'linked';

export interface FixtureRepo {
  dir: string;
  /** The commit a tag names. */
  commits: Record<FixtureTag, string>;
  /** Checks a tag out (detached), as actions/checkout leaves the workspace. */
  checkOut(tag: FixtureTag): Promise<void>;
  /** A clone of depth 1 at `tag` (what actions/checkout makes by default), in a new folder. */
  shallowClone(tag: FixtureTag): Promise<string>;
  remove(): Promise<void>;
}

async function commit(dir: string, tag: FixtureTag, files: Record<string, string>, message: string): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
  await git(dir, 'tag', tag);
}

/** Builds the repository. */
export async function createFixtureRepo(): Promise<FixtureRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-review-repo-'));
  const clones: string[] = [];
  await git(dir, 'init', '-q', '-b', 'main');
  await commit(dir, 'base', { 'README.md': 'acme policies\n', 'policies/webapp/read.yaml': READ, 'policies/webapp/deploy.yaml': DEPLOY }, 'base');
  await commit(
    dir,
    'widen',
    {
      'policies/webapp/deploy.yaml': DEPLOY.replace('ref: refs/heads/main', 'ref: refs/heads/*'),
      'policies/webapp/publish.yaml': PUBLISH,
    },
    'deploy from any branch; publish',
  );
  await commit(
    dir,
    'more',
    { 'policies/webapp/read.yaml': READ.replace('scope: [artifacts:read]', 'scope: [artifacts:read, artifacts:write]') },
    'read can write',
  );
  await git(dir, 'switch', '-q', '--detach', 'widen');
  await commit(dir, 'broken', { 'policies/webapp/bad.yaml': READ.replace('subject:', 'subjet:') }, 'a typo');
  await git(dir, 'switch', '-q', '--detach', 'widen');
  await symlink('../../outside.yaml', join(dir, 'policies/webapp/alias.yaml'));
  await commit(dir, 'linked', { 'outside.yaml': READ.replace('subject:', 'subjet:') }, 'a link out of the folder');
  const commits = {} as Record<FixtureTag, string>;
  for (const tag of ['base', 'widen', 'more', 'broken', 'linked'] as const) commits[tag] = await git(dir, 'rev-parse', `${tag}^{commit}`);
  return {
    dir,
    commits,
    checkOut: async (tag) => {
      await git(dir, 'switch', '-q', '--detach', tag);
    },
    shallowClone: async (tag) => {
      const clone = await mkdtemp(join(tmpdir(), 'latchkey-review-shallow-'));
      clones.push(clone);
      await git(clone, 'clone', '-q', '--depth', '1', '--branch', tag, `file://${dir}`, '.');
      return clone;
    },
    remove: async () => {
      for (const path of [dir, ...clones]) await rm(path, { recursive: true, force: true });
    },
  };
}
