/**
 * The review step, orchestration only: read the inputs, check HEAD's
 * policies (annotations on stdout), diff them from the base revision, set
 * the outputs, write the job summary, keep the pull request's comment up to
 * date, and fail the step when the check fails.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { CheckReport } from '../../exchange-service/src/policy/index.ts';
import { checkFailure, checkRevision, checkSummaryLine, type CheckOutcome } from './check.ts';
import { CommentApiError, upsertReviewComment, type CommentApi } from './comment.ts';
import { diffRevisions, type DiffOutcome } from './diff.ts';
import { InputError, PULL_REQUEST_EVENTS, readInputs, readPullRequest, type PullRequest, type ReviewInputs } from './inputs.ts';
import { policyLoadOptions } from './load-options.ts';
import { CheckoutError, loadRevision, openCheckout, resolveRevision } from './revision.ts';
import type { ReviewRuntime } from './runtime.ts';

export interface ReviewDeps {
  runtime: ReviewRuntime;
  /** The process environment: the runner's `INPUT_*` and `GITHUB_*` variables. */
  env: NodeJS.ProcessEnv;
  /** The workspace (the runner starts the step there). */
  cwd: string;
  readTextFile: (path: string) => Promise<string>;
  /** The comment API for a token and an API base URL. */
  createCommentApi: (token: string, baseUrl: string) => CommentApi;
}

/** Runs the review; every failure goes through `runtime.setFailed`, never thrown. */
export async function run(deps: ReviewDeps): Promise<void> {
  const { runtime } = deps;
  try {
    const inputs = readInputs(deps.env);
    const pr = await readPullRequest(deps.env, deps.readTextFile);
    if (pr === undefined && PULL_REQUEST_EVENTS.includes(deps.env.GITHUB_EVENT_NAME ?? '')) {
      runtime.warning('the event payload names no pull request (number, base.sha) or GITHUB_REPOSITORY is not owner/repo: diffing from HEAD~1, no comment');
    }
    const { check, diff } = await review(deps, inputs, pr);
    setOutputs(runtime, check.report, diff);
    const body = `${diff.markdown}\n${checkSummaryLine(check.report)}\n`;
    await writeSummary(runtime, body);
    await comment(deps, inputs, pr, body);
    if (check.failed) runtime.setFailed(checkFailure(check.report));
  } catch (error) {
    runtime.setFailed(failureMessage(error));
  }
}

/** Checks HEAD (printing the annotations at once, so they appear even if the base is missing), then diffs from the base. */
async function review(deps: ReviewDeps, inputs: ReviewInputs, pr: PullRequest | undefined): Promise<{ check: CheckOutcome; diff: DiffOutcome }> {
  const load = policyLoadOptions(inputs.config, deps.cwd, deps.env);
  const checkout = await openCheckout(deps.cwd, policiesFolder(deps.cwd, inputs.policies));
  const head = await loadRevision(checkout, await resolveRevision(checkout, 'HEAD', 'head'), load);
  const check = checkRevision(head, inputs.strict, checkout.root, deps.cwd);
  deps.runtime.print(check.annotations);
  for (const path of head.skipped)
    deps.runtime.warning(`${path} is a symbolic link or a submodule: not checked or compared (a service loading from a checkout would follow it)`);
  const base = inputs.base ?? pr?.baseSha ?? 'HEAD~1';
  const baseRevision = await loadRevision(checkout, await resolveRevision(checkout, base, 'base'), load);
  const baseName = inputs.base === undefined ? (pr?.baseRef ?? base) : base;
  return { check, diff: diffRevisions(baseRevision, head, { folder: checkout.folder, base: baseName, head: 'HEAD' }) };
}

/** The policies folder inside the workspace. */
function policiesFolder(cwd: string, policies: string): string {
  const folder = resolve(cwd, policies);
  const inside = relative(cwd, folder);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside))
    throw new InputError(`invalid inputs:\n  policies: ${policies} is not inside the workspace ${cwd}`);
  return folder;
}

function setOutputs(runtime: ReviewRuntime, report: CheckReport, diff: DiffOutcome): void {
  runtime.setOutput('errors', String(report.errors.length));
  runtime.setOutput('warnings', String(report.warnings.length));
  runtime.setOutput('widened', String(diff.widened));
  runtime.setOutput('summary', diff.summary);
  runtime.info(`latchkey policy diff: ${diff.summary}`);
}

/** A summary that cannot be written (no `GITHUB_STEP_SUMMARY` outside a runner) is a warning, not a failure. */
async function writeSummary(runtime: ReviewRuntime, markdown: string): Promise<void> {
  try {
    await runtime.appendSummary(markdown);
  } catch (error) {
    runtime.warning(`could not write the job summary: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Posts or updates the comment; a comment that cannot be written is a warning, never a failure of the review. */
async function comment(deps: ReviewDeps, inputs: ReviewInputs, pr: PullRequest | undefined, body: string): Promise<void> {
  const { runtime } = deps;
  if (!inputs.comment) return;
  if (pr === undefined) {
    runtime.info('latchkey: not a pull request run: no comment');
    return;
  }
  if (inputs.token === undefined) {
    runtime.warning('github-token is empty: the diff is in the job summary, not in a comment');
    return;
  }
  try {
    const api = deps.createCommentApi(inputs.token, deps.env.GITHUB_API_URL || 'https://api.github.com');
    const outcome = await upsertReviewComment(api, pr, body);
    runtime.info(`latchkey: comment ${outcome.id} on #${pr.number} ${outcome.action}`);
  } catch (error) {
    if (!(error instanceof CommentApiError)) throw error;
    const hint =
      error.status === 403 || error.status === 404
        ? " (the token may not write to pull requests: give the job `permissions: pull-requests: write`; a fork's pull request never gets it)"
        : '';
    runtime.warning(`could not comment on #${pr.number}: ${error.message}${hint}; the diff is in the job summary`);
  }
}

function failureMessage(error: unknown): string {
  if (error instanceof CheckoutError) return `latchkey policy review: ${error.message}`;
  if (error instanceof Error && (error.name === 'InputError' || error.name === 'ConfigError')) return error.message;
  return `latchkey policy review failed: ${error instanceof Error ? error.message : String(error)}`;
}
