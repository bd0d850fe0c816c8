/**
 * `latchkey policy diff` on a real git repository built for the test:
 * commits that widen, narrow, add and remove policies, a revision without
 * the folder, a head that does not load, a symbolic link; the Markdown a
 * reviewer reads and the exit codes (0 diff, 1 head does not load, 2 usage).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { runDiff } from '../../exchange-service/src/cli/policy-diff.ts';
import { DIFF_MARKER } from '../../exchange-service/src/policy/tools/diff-markdown.ts';
import { policyWithSubject, writeFiles } from '../policy/fixtures.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function diff(args: string[], cwd: string): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const sink = (into: string[]) =>
    new Writable({
      write: (chunk, _encoding, done) => {
        into.push(String(chunk));
        done();
      },
    });
  const code = await runDiff(args, { stdout: sink(out), stderr: sink(err), env: {}, cwd });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

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
const git = async (cwd: string, ...args: string[]): Promise<string> =>
  (await promisify(execFile)('git', ['-c', 'commit.gpgsign=false', ...args], { cwd, env: GIT_ENV })).stdout.trim();

const DEPLOY = policyWithSubject('  repository: acme/webapp\n  repository_id: "892341"\n  ref: refs/heads/main');
const READ = policyWithSubject('  repository: acme/webapp\n  repository_id: "892341"\n  ref: [refs/heads/main, refs/heads/dev]');
const OLD = policyWithSubject('  repository_id: "1"');

describe('latchkey policy diff', () => {
  let repo: string;
  let outside: string;

  before(async () => {
    repo = await mkdtemp(join(tmpdir(), 'latchkey-diff-repo-'));
    outside = await mkdtemp(join(tmpdir(), 'latchkey-diff-norepo-'));
    await git(repo, 'init', '-q', '-b', 'main');
    await writeFiles(repo, { 'README.md': 'policies live here\n' });
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'no policies yet');
    await git(repo, 'tag', 'empty');
    await writeFiles(repo, { 'policies/webapp/deploy.yaml': DEPLOY, 'policies/webapp/read.yaml': READ, 'policies/old.yaml': OLD });
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'base');
    await git(repo, 'tag', 'base');
    await writeFiles(repo, {
      'policies/webapp/deploy.yaml': DEPLOY.replace('ref: refs/heads/main', 'ref: refs/heads/*'),
      'policies/webapp/read.yaml': READ.replace('ref: [refs/heads/main, refs/heads/dev]', 'ref: refs/heads/main'),
      'policies/new.yaml': policyWithSubject('  repository_id: "2"'),
    });
    await unlink(join(repo, 'policies/old.yaml'));
    await symlink('webapp/read.yaml', join(repo, 'policies/alias.yaml'));
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'widen, narrow, add, remove');
    await git(repo, 'switch', '-q', '-c', 'broken');
    await writeFiles(repo, { 'policies/bad.yaml': DEPLOY.replace('subject:', 'subjet:') });
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'a typo');
    await git(repo, 'switch', '-q', 'main');
  });
  after(async () => {
    await rm(repo, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('prints the marker, the summary and each kind of change', async () => {
    const run = await diff(['base', 'main'], repo);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.equal(lines[0], DIFF_MARKER);
    assert.match(lines[1]!, /^\*\*latchkey policy diff:\*\* 1 widened, 1 added, 1 narrowed, 1 removed, 0 unchanged(, \d+ new lint warnings?)?$/);
    assert.match(
      run.stdout,
      /### ⚠️ Widened \(1\)\n\n- \*\*`webapp\/deploy`\*\* `policies\/webapp\/deploy\.yaml`\n {2}- ⚠️ \*\*wider\*\* `subject\.ref`: `refs\/heads\/main` → `refs\/heads\/\*`/,
    );
    assert.match(run.stdout, /### ✅ Narrowed \(1\)\n\n- \*\*`webapp\/read`\*\*[^\n]*\n {2}- ✅ narrower `subject\.ref`: drops `refs\/heads\/dev`/);
    assert.match(run.stdout, /### ➕ Added \(1\)\n\n- \*\*`new`\*\* `policies\/new\.yaml`: token `https:\/\/internal\.example`/);
    assert.match(run.stdout, /### ➖ Removed \(1\)\n\n- \*\*`old`\*\* `policies\/old\.yaml`/);
    assert.match(run.stdout, /<sub>not compared \\\(a symbolic link or submodule\\\): policies\/alias\.yaml<\/sub>/);
    assert.ok(!run.stdout.includes(tmpdir()), 'no temporary paths in the Markdown');
  });

  it('defaults HEAD to the HEAD commit and is deterministic', async () => {
    const explicit = await diff(['base', 'HEAD'], repo);
    const implicit = await diff(['base'], repo);
    assert.equal(implicit.code, 0);
    assert.equal(implicit.stdout, explicit.stdout);
  });

  it('reads a folder missing at a revision as an empty set', async () => {
    const run = await diff(['empty', 'base'], repo);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout.split('\n')[1]!, /^\*\*latchkey policy diff:\*\* 0 widened, 3 added, 0 narrowed, 0 removed, 0 unchanged/);
  });

  it('exits 1 and lists the errors when the head does not load', async () => {
    const run = await diff(['main', 'broken'], repo);
    assert.equal(run.code, 1);
    assert.match(run.stdout.split('\n')[1]!, /^\*\*latchkey policy diff:\*\* the head policy set does not load \(\d+ errors?\): nothing compared$/);
    assert.match(run.stdout, /- `policies\/bad\.yaml:3:1`: unknown key "subjet"/);
  });

  it('takes DIR after HEAD, relative to the repository root', async () => {
    const run = await diff(['base', 'HEAD', 'policies/webapp'], join(repo, 'policies'));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /0 added, 1 narrowed, 0 removed/);
    assert.match(run.stdout, /\*\*`deploy`\*\* `policies\/webapp\/deploy\.yaml`/);
  });

  const USAGE_CASES: Array<{ name: string; args: string[]; cwd?: () => string; says: RegExp }> = [
    { name: 'no BASE', args: [], says: /name the BASE revision/ },
    { name: 'an unknown revision', args: ['nope'], says: /"nope" is not a commit/ },
    { name: 'a revision that looks like an option', args: ['--', '--output=x'], says: /is not a revision/ },
    { name: 'a folder where HEAD goes', args: ['base', 'policies'], says: /to name the folder, name HEAD too: latchkey policy diff base HEAD policies/ },
    { name: 'a folder outside the repository', args: ['base', 'HEAD', '../elsewhere'], says: /is not inside the repository/ },
    { name: 'too many arguments', args: ['base', 'HEAD', 'policies', 'more'], says: /at most BASE, HEAD and DIR/ },
    { name: 'not in a git repository', args: ['base'], cwd: () => outside, says: /is not in a git repository/ },
  ];
  for (const c of USAGE_CASES) {
    it(`exits 2: ${c.name}`, async () => {
      const run = await diff(c.args, c.cwd?.() ?? repo);
      assert.equal(run.code, 2, run.stdout);
      assert.match(run.stderr, c.says);
      assert.equal(run.stdout, '');
    });
  }
});
