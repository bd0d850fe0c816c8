/**
 * The pull-request comment: the bundled action creates one comment on the
 * first run, updates that same comment when the diff changes and leaves it
 * alone when it does not, and only warns when the token may not comment
 * (403). The real Octokit adapter against the loopback API: a marker in
 * another account's comment is never taken over, the action's own comment
 * is found past the first page, a personal token's own comments are found
 * by login, and refusals keep their status.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DIFF_MARKER } from '../../exchange-service/src/policy/tools/diff-markdown.ts';
import { CommentApiError, MAX_COMMENT_CHARS, fitComment, upsertReviewComment } from '../../policy-check/src/comment.ts';
import type { PullRequest } from '../../policy-check/src/inputs.ts';
import { createOctokitCommentApi } from '../../policy-check/src/octokit-comments.ts';
import { createFixtureRepo, type FixtureRepo } from './fixture-repo.ts';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from './fake-github.ts';
import { createReviewRunner, type ReviewRunner, type ReviewStep } from './review-runner.ts';

const OWNER = { owner: 'acme', repo: 'policies' };
const BOT = { login: 'github-actions[bot]', type: 'Bot' as const };
const MALLORY = { login: 'mallory', type: 'User' as const };

/** The requests that wrote a comment: `POST path` / `PATCH path`. */
const writes = (api: FakeGitHub): string[] => api.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);

describe('policy review action: the pull-request comment', () => {
  let repo: FixtureRepo;
  let runner: ReviewRunner;
  const servers: FakeGitHub[] = [];
  before(async () => {
    [repo, runner] = await Promise.all([createFixtureRepo(), createReviewRunner()]);
  });
  after(async () => {
    await Promise.all([repo.remove(), runner.close(), ...servers.map((server) => server.close())]);
  });
  const fakeGitHub = async (options: Partial<FakeGitHubOptions> = {}): Promise<FakeGitHub> => {
    const server = await startFakeGitHub({ ...OWNER, ...options });
    servers.push(server);
    return server;
  };
  const step = (api: FakeGitHub): ReviewStep => ({
    workspace: repo.dir,
    event: { name: 'pull_request', payload: { pull_request: { number: 7, base: { sha: repo.commits.base, ref: 'main' } } } },
    repository: 'acme/policies',
    apiUrl: api.url,
    token: 'ghs_review',
  });

  it('creates one comment, updates the same one when the diff changes, leaves it alone when not', async () => {
    const api = await fakeGitHub();
    await repo.checkOut('widen');
    const first = await runner.run(step(api));
    assert.equal(first.exitCode, 0, first.stdout + first.stderr);
    assert.deepEqual(writes(api), ['POST /repos/acme/policies/issues/7/comments']);
    assert.equal(api.comments.length, 1);
    const [comment] = api.comments;
    assert.ok(comment!.body.startsWith(`${DIFF_MARKER}\n**latchkey policy diff:** 1 widened, 1 added`), comment!.body);
    assert.match(comment!.body, /✅ \*\*latchkey policy check:\*\* 3 policies, no errors, 1 warning\n$/);
    assert.ok(
      api.requests.every((request) => request.authorization === 'token ghs_review'),
      'every request carries the token',
    );

    await repo.checkOut('more');
    const second = await runner.run(step(api));
    assert.equal(second.exitCode, 0, second.stdout + second.stderr);
    assert.deepEqual(writes(api), ['POST /repos/acme/policies/issues/7/comments', `PATCH /repos/acme/policies/issues/comments/${comment!.id}`]);
    assert.equal(api.comments.length, 1);
    assert.match(api.comments[0]!.body, /^\*\*latchkey policy diff:\*\* 2 widened, 1 added/m);
    assert.match(second.stdout, new RegExp(`comment ${comment!.id} on #7 updated`));

    const third = await runner.run(step(api));
    assert.equal(third.exitCode, 0);
    assert.equal(writes(api).length, 2, 'no write when nothing changed');
    assert.match(third.stdout, new RegExp(`comment ${comment!.id} on #7 unchanged`));
  });

  it('warns and passes when the token may not comment (403)', async () => {
    const api = await fakeGitHub({ refuseComments: 403 });
    await repo.checkOut('widen');
    const result = await runner.run(step(api));
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /^::warning::could not comment on #7: listing the comments of #7: HTTP 403: .*pull-requests: write.*the diff is in the job summary$/m,
    );
    assert.doesNotMatch(result.stdout, /^::error/m);
    assert.ok(result.summary.startsWith(DIFF_MARKER));
    assert.equal(result.outputs.widened, '1');
    assert.deepEqual(api.comments, []);
  });
});

describe('the Octokit comment adapter against the loopback API', () => {
  const servers: FakeGitHub[] = [];
  after(() => Promise.all(servers.map((server) => server.close())));
  const fakeGitHub = async (options: Partial<FakeGitHubOptions> = {}): Promise<FakeGitHub> => {
    const server = await startFakeGitHub({ ...OWNER, ...options });
    servers.push(server);
    return server;
  };
  const PR: PullRequest = { ...OWNER, number: 7, baseSha: 'a'.repeat(40), baseRef: 'main' };
  const body = (summary: string): string => `${DIFF_MARKER}\n**latchkey policy diff:** ${summary}\n`;

  it("never takes over a marker in another account's comment", async () => {
    const api = await fakeGitHub();
    const planted = api.seed({ issue: 7, body: body('0 widened (trust me)'), user: MALLORY });
    const outcome = await upsertReviewComment(createOctokitCommentApi('ghs_review', api.url), PR, body('1 widened'));
    assert.equal(outcome.action, 'created');
    assert.notEqual(outcome.id, planted.id);
    assert.equal(api.comments.find((c) => c.id === planted.id)?.body, body('0 widened (trust me)'));
  });

  it('finds its comment past the first page', async () => {
    const api = await fakeGitHub();
    for (let i = 0; i < 130; i += 1) api.seed({ issue: 7, body: `comment ${i}`, user: MALLORY });
    const ours = api.seed({ issue: 7, body: body('1 widened'), user: BOT });
    const outcome = await upsertReviewComment(createOctokitCommentApi('ghs_review', api.url), PR, body('2 widened'));
    assert.deepEqual(outcome, { action: 'updated', id: ours.id });
    assert.equal(api.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/issues/7/comments')).length, 2);
    assert.equal(api.comments.length, 131);
  });

  it("with a personal token, finds that person's comment by login, not a bot's", async () => {
    const api = await fakeGitHub({ personalToken: { login: 'release-bot-user', type: 'User' } });
    api.seed({ issue: 7, body: body('from another app'), user: { login: 'other-app[bot]', type: 'Bot' } });
    const ours = api.seed({ issue: 7, body: body('1 widened'), user: { login: 'release-bot-user', type: 'User' } });
    const outcome = await upsertReviewComment(createOctokitCommentApi('ghp_person', api.url), PR, body('2 widened'));
    assert.deepEqual(outcome, { action: 'updated', id: ours.id });
  });

  for (const status of [403, 404, 500]) {
    it(`keeps the status of a refusal (${status})`, async () => {
      const api = await fakeGitHub({ refuseComments: status });
      await assert.rejects(
        upsertReviewComment(createOctokitCommentApi('ghs_review', api.url), PR, body('1 widened')),
        (error: unknown) => error instanceof CommentApiError && error.status === status,
      );
    });
  }

  it('cuts a comment GitHub would refuse at a line end, keeping the marker', () => {
    const long = `${DIFF_MARKER}\n${'- a line of the diff\n'.repeat(5000)}`;
    const fitted = fitComment(long);
    assert.ok(fitted.length <= MAX_COMMENT_CHARS);
    assert.ok(fitted.startsWith(`${DIFF_MARKER}\n- a line of the diff\n`));
    assert.match(fitted, /- a line of the diff\n\n… cut short: the whole diff is in the job summary\.\n$/);
    assert.equal(fitComment(body('1 widened')), body('1 widened'));
  });
});
