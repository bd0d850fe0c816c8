/**
 * run() in this process, with a runtime that records what the runner would
 * be told, for the paths the bundle tests do not take: no token, comments
 * off, a payload that names no pull request, a workspace that is no git
 * checkout, a policies folder outside it, a missing service config.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../policy-check/src/main.ts';
import { createOctokitCommentApi } from '../../policy-check/src/octokit-comments.ts';
import type { ReviewRuntime } from '../../policy-check/src/runtime.ts';
import { createFixtureRepo, type FixtureRepo } from './fixture-repo.ts';
import { startFakeGitHub, type FakeGitHub } from './fake-github.ts';

interface Recorded {
  printed: string;
  info: string[];
  warnings: string[];
  failures: string[];
  outputs: Record<string, string>;
  summary: string;
}

function recordingRuntime(): { runtime: ReviewRuntime; recorded: Recorded } {
  const recorded: Recorded = { printed: '', info: [], warnings: [], failures: [], outputs: {}, summary: '' };
  const runtime: ReviewRuntime = {
    print: (text) => void (recorded.printed += text),
    info: (message) => void recorded.info.push(message),
    warning: (message) => void recorded.warnings.push(message),
    setFailed: (message) => void recorded.failures.push(message),
    setOutput: (name, value) => void (recorded.outputs[name] = value),
    appendSummary: async (markdown) => void (recorded.summary += markdown),
  };
  return { runtime, recorded };
}

describe('policy review run()', () => {
  let repo: FixtureRepo;
  let api: FakeGitHub;
  let scratch: string;
  let prEvent: string;
  before(async () => {
    [repo, api, scratch] = await Promise.all([
      createFixtureRepo(),
      startFakeGitHub({ owner: 'acme', repo: 'policies' }),
      mkdtemp(join(tmpdir(), 'latchkey-review-run-')),
    ]);
    await repo.checkOut('widen');
    prEvent = join(scratch, 'pr.json');
    await writeFile(prEvent, JSON.stringify({ pull_request: { number: 7, base: { sha: repo.commits.base } } }));
    await writeFile(join(scratch, 'not-a-pr.json'), JSON.stringify({ pull_request: { title: 'no number' } }));
  });
  after(() => Promise.all([repo.remove(), api.close(), rm(scratch, { recursive: true, force: true })]));

  const review = async (env: Record<string, string>, cwd = repo.dir): Promise<Recorded> => {
    const { runtime, recorded } = recordingRuntime();
    await run({
      runtime,
      env: {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: prEvent,
        GITHUB_REPOSITORY: 'acme/policies',
        GITHUB_API_URL: api.url,
        'INPUT_GITHUB-TOKEN': 'ghs_review',
        ...env,
      },
      cwd,
      readTextFile: (path) => readFile(path, 'utf8'),
      createCommentApi: createOctokitCommentApi,
    });
    return recorded;
  };

  it('without a token, warns and comments nowhere', async () => {
    const recorded = await review({ 'INPUT_GITHUB-TOKEN': '' });
    assert.deepEqual(recorded.failures, []);
    assert.deepEqual(recorded.warnings, ['github-token is empty: the diff is in the job summary, not in a comment']);
    assert.equal(recorded.outputs.widened, '1');
    assert.deepEqual(api.requests, []);
  });

  it('with comment false, asks nothing of GitHub', async () => {
    const recorded = await review({ INPUT_COMMENT: 'false' });
    assert.deepEqual([recorded.failures, recorded.warnings], [[], []]);
    assert.ok(recorded.summary.startsWith('<!-- latchkey-policy-diff -->'));
    assert.deepEqual(api.requests, []);
  });

  it('on a pull_request event whose payload names no pull request, warns and diffs from HEAD~1', async () => {
    const recorded = await review({ GITHUB_EVENT_PATH: join(scratch, 'not-a-pr.json') });
    assert.deepEqual(recorded.failures, []);
    assert.match(recorded.warnings.join('\n'), /the event payload names no pull request .*diffing from HEAD~1, no comment/);
    assert.match(recorded.summary, /from `HEAD~1`/);
    assert.deepEqual(api.requests, []);
  });

  const FAILURES: Array<{ name: string; env: Record<string, string>; cwd?: () => string; says: RegExp }> = [
    {
      name: 'a workspace that is no git checkout',
      env: { INPUT_POLICIES: '.' },
      cwd: () => scratch,
      says: /^latchkey policy review: the workspace .* is not a git checkout: check the repository out first/,
    },
    {
      name: 'a policies folder outside the workspace',
      env: { INPUT_POLICIES: '..' },
      says: /^invalid inputs:\n {2}policies: \.\. is not inside the workspace /,
    },
    { name: 'a service config that does not exist', env: { INPUT_CONFIG: 'missing.yaml' }, says: /^config .*missing\.yaml: ENOENT/ },
    {
      name: 'a base revision that does not exist',
      env: { INPUT_BASE: 'no-such-branch' },
      says: /^latchkey policy review: the base revision "no-such-branch" is not in this clone/,
    },
  ];
  for (const c of FAILURES) {
    it(`fails on ${c.name}`, async () => {
      const recorded = await review({ INPUT_COMMENT: 'false', ...c.env }, c.cwd?.());
      assert.equal(recorded.failures.length, 1, recorded.printed);
      assert.match(recorded.failures[0]!, c.says);
      assert.equal(recorded.summary, '');
    });
  }
});
