/**
 * The bundled review action (policy-check/dist/index.js) run as the runner
 * runs it, in a real git repository: check annotations on stdout, the diff
 * in the job summary and the outputs, the base revision from the event or
 * the input, and the exit codes (1 on a policy error, on warnings with
 * strict, on a clone without the base commit, on bad inputs). Commenting
 * is off here (comment.test.ts covers it); a loopback API checks that
 * nothing is asked of GitHub when no comment is due.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIFF_MARKER } from '../../exchange-service/src/policy/tools/diff-markdown.ts';
import { createFixtureRepo, type FixtureRepo } from './fixture-repo.ts';
import { startFakeGitHub, type FakeGitHub } from './fake-github.ts';
import { createReviewRunner, type ReviewResult, type ReviewRunner, type ReviewStep } from './review-runner.ts';

const PUBLISH_WARNING =
  /^::warning file=policies\/webapp\/publish\.yaml,line=4,col=1,title=latchkey unconstrained-runner-environment::no runner_environment condition/m;
const WIDEN_SUMMARY = '1 widened, 1 added, 0 narrowed, 0 removed, 1 unchanged, 1 new lint warning';

/** The step's `::error::` message (the runner shows it as the step's failure), decoded. */
const failure = (result: ReviewResult): string =>
  (result.stdout.split('\n').find((line) => line.startsWith('::error::')) ?? '').slice('::error::'.length).replace(/%0A/g, '\n').replace(/%25/g, '%');

describe('policy review action: check and diff', () => {
  let repo: FixtureRepo;
  let runner: ReviewRunner;
  let api: FakeGitHub;
  let scratch: string;
  before(async () => {
    [repo, runner, api] = await Promise.all([createFixtureRepo(), createReviewRunner(), startFakeGitHub({ owner: 'acme', repo: 'policies' })]);
    scratch = await mkdtemp(join(tmpdir(), 'latchkey-review-scratch-'));
  });
  after(async () => {
    await Promise.all([repo.remove(), runner.close(), api.close(), rm(scratch, { recursive: true, force: true })]);
  });

  const step = (overrides: Partial<ReviewStep> = {}): ReviewStep => ({
    workspace: repo.dir,
    event: { name: 'pull_request', payload: { pull_request: { number: 7, base: { sha: repo.commits.base, ref: 'main' } } } },
    repository: 'acme/policies',
    apiUrl: api.url,
    token: 'ghs_review',
    with: { comment: 'false' },
    ...overrides,
  });

  it("annotates the warning, puts the diff from the pull request's base in the summary, sets the outputs", async () => {
    await repo.checkOut('widen');
    const result = await runner.run(step());
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.match(result.stdout, PUBLISH_WARNING);
    assert.doesNotMatch(result.stdout, /^::error/m);
    const lines = result.summary.split('\n');
    assert.equal(lines[0], DIFF_MARKER);
    assert.equal(lines[1], `**latchkey policy diff:** ${WIDEN_SUMMARY}`);
    assert.ok(
      result.summary.includes(`\`policies\` from \`main\` (\`${repo.commits.base.slice(0, 12)}\`) to \`HEAD\` (\`${repo.commits.widen.slice(0, 12)}\`)`),
      result.summary,
    );
    assert.match(
      result.summary,
      /### ⚠️ Widened \(1\)\n\n- \*\*`webapp\/deploy`\*\* `policies\/webapp\/deploy\.yaml`\n {2}- ⚠️ \*\*wider\*\* `subject\.ref`: `refs\/heads\/main` → `refs\/heads\/\*`/,
    );
    assert.match(result.summary, /### ➕ Added \(1\)\n\n- \*\*`webapp\/publish`\*\*/);
    assert.match(result.summary, /\n✅ \*\*latchkey policy check:\*\* 3 policies, no errors, 1 warning\n+$/);
    assert.deepEqual(result.outputs, { errors: '0', warnings: '1', widened: '1', summary: WIDEN_SUMMARY });
    assert.deepEqual(api.requests, [], 'comment: false asks nothing of GitHub');
  });

  it("takes the base input over the event's base", async () => {
    await repo.checkOut('more');
    const result = await runner.run(step({ with: { comment: 'false', base: 'widen' } }));
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.equal(result.outputs.summary, '1 widened, 0 added, 0 narrowed, 0 removed, 2 unchanged');
    assert.match(
      result.summary,
      /- \*\*`webapp\/read`\*\* `policies\/webapp\/read\.yaml`\n {2}- ⚠️ \*\*wider\*\* `grant\.token\.scope`: `artifacts:write` \(added\)/,
    );
    assert.ok(result.summary.includes(`from \`widen\` (\`${repo.commits.widen.slice(0, 12)}\`)`));
  });

  it('on a push, diffs from HEAD~1 and comments nowhere', async () => {
    await repo.checkOut('widen');
    const result = await runner.run(step({ event: { name: 'push', payload: { ref: 'refs/heads/main' } }, with: {} }));
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.equal(result.outputs.summary, WIDEN_SUMMARY);
    assert.ok(result.summary.includes(`from \`HEAD~1\` (\`${repo.commits.base.slice(0, 12)}\`)`));
    assert.match(result.stdout, /not a pull request run: no comment/);
    assert.deepEqual(api.requests, []);
  });

  it('fails on a policy error, annotating the line, and still writes the summary', async () => {
    await repo.checkOut('broken');
    const result = await runner.run(step());
    assert.equal(result.exitCode, 1);
    assert.match(result.stdout, /^::error file=policies\/webapp\/bad\.yaml,line=4,col=1,title=latchkey invalid-policy::unknown key "subjet"/m);
    assert.match(failure(result), /^latchkey policy check: 2 error\(s\) in the policies: the service would refuse this set/);
    assert.equal(result.outputs.errors, '2');
    assert.match(result.summary, /^\*\*latchkey policy diff:\*\* the head policy set does not load \(2 errors\): nothing compared$/m);
    assert.match(result.summary, /\n❌ \*\*latchkey policy check:\*\* 2 errors: the service would refuse this set\n+$/);
  });

  it('with strict, fails on the warning', async () => {
    await repo.checkOut('widen');
    const result = await runner.run(step({ with: { comment: 'false', strict: 'true' } }));
    assert.equal(result.exitCode, 1);
    assert.match(result.stdout, PUBLISH_WARNING);
    assert.match(failure(result), /^latchkey policy check: 1 lint warning\(s\), and strict is true/);
    assert.match(result.summary, /❌ \*\*latchkey policy check:\*\* 3 policies, no errors, 1 warning \(strict: warnings fail the check\)/);
  });

  it('checks issuers against the service configuration given', async () => {
    await repo.checkOut('widen');
    const config = join(scratch, 'latchkey.yaml');
    await writeFile(config, 'issuers:\n  gitlab: { url: "https://gitlab.example.com", kind: gitlab }\n');
    const result = await runner.run(step({ with: { comment: 'false', config } }));
    assert.equal(result.exitCode, 1);
    assert.match(
      result.stdout,
      /^::error file=policies\/webapp\/read\.yaml,line=3,col=9,title=latchkey invalid-policy::issuer "github" is not configured on this service/m,
    );
    assert.equal(result.outputs.errors, '3');
  });

  it('in a clone without the base commit, fails saying so', async () => {
    const shallow = await repo.shallowClone('widen');
    const result = await runner.run(step({ workspace: shallow }));
    assert.equal(result.exitCode, 1);
    assert.match(
      failure(result),
      new RegExp(`^latchkey policy review: the base revision "${repo.commits.base}" is not in this clone: check out with actions/checkout and fetch-depth: 0`),
    );
    assert.match(result.stdout, PUBLISH_WARNING, 'the check ran before the diff');
    assert.equal(result.summary, '');
  });

  it('checks the committed files and follows no symbolic link', async () => {
    await repo.checkOut('linked');
    const result = await runner.run(step());
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout, /subjet/);
    assert.match(result.stdout, /^::warning::policies\/webapp\/alias\.yaml is a symbolic link or a submodule: not checked or compared/m);
    assert.equal(result.outputs.summary, WIDEN_SUMMARY);
    assert.match(result.summary, /<sub>not compared \\\(a symbolic link or submodule\\\): policies\/webapp\/alias\.yaml<\/sub>/);
  });

  it('fails on a bad input, naming it', async () => {
    const result = await runner.run(step({ with: { comment: 'false', strict: 'maybe' } }));
    assert.equal(result.exitCode, 1, result.stdout);
    assert.match(failure(result), /^invalid inputs:\n {2}strict: must be true or false$/);
    assert.equal(result.summary, '');
  });
});
