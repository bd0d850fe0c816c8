/**
 * The policies folder as committed, read from git: the review checks the
 * HEAD commit (what the pull request would merge) and diffs it against the
 * base, each read into a temporary folder with `git ls-tree`/`cat-file`.
 * Reading commits rather than the working tree means symbolic links are
 * never followed (a pull request's link could point anywhere on the runner)
 * and the check and the diff see exactly the same files.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, posix, relative, sep } from 'node:path';
import {
  GitRevisionError,
  lintPolicies,
  PolicyLoadError,
  repositoryRoot,
  resolveCommit,
  snapshotFolder,
  type DiffSide,
  type LintWarning,
  type LoadPoliciesOptions,
  type PolicyProblem,
} from '../../exchange-service/src/policy/index.ts';

/** Git cannot give what the review needs; the message says what to change in the workflow. */
export class CheckoutError extends Error {
  override name = 'CheckoutError';
}

/** The repository the workspace is in, and the policies folder within it. */
export interface Checkout {
  /** The repository's top folder. */
  root: string;
  /** The policies folder below `root`, `/`-separated (`.` for the root itself). */
  folder: string;
}

/** One commit's policy set, loaded and linted as the service's loader does. */
export interface LoadedRevision {
  commit: string;
  /** For diffPolicySets (files are temporary paths; `displayFile` names them `<folder>/…`). */
  side: DiffSide;
  /** Policies loaded (0 when the set does not load). */
  policies: number;
  /** Why the set does not load, files as `<folder>/…`. */
  problems: PolicyProblem[];
  /** Lint warnings, files as `<folder>/…`. */
  warnings: LintWarning[];
  /** Paths not read: symbolic links and submodules. */
  skipped: string[];
}

/** Finds the repository holding `folder` (an absolute path inside the workspace). */
export async function openCheckout(cwd: string, folder: string): Promise<Checkout> {
  const root = await repositoryRoot(cwd).catch((error: unknown) => {
    throw checkoutError(error, `the workspace ${cwd} is not a git checkout: check the repository out first (actions/checkout with fetch-depth: 0)`);
  });
  const real = await realpath(folder).catch(() => folder);
  const inside = relative(await realpath(root).catch(() => root), real)
    .split(sep)
    .join('/');
  const normal = posix.normalize(inside === '' ? '.' : inside).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../') || isAbsolute(normal))
    throw new CheckoutError(`the policies folder ${folder} is not inside the repository ${root}`);
  return { root, folder: normal === '' ? '.' : normal };
}

/** The commit `revision` names; CheckoutError (saying so) when the clone does not have it. */
export async function resolveRevision(checkout: Checkout, revision: string, role: 'base' | 'head'): Promise<string> {
  return resolveCommit(checkout.root, revision).catch((error: unknown) => {
    throw checkoutError(
      error,
      role === 'base'
        ? `the base revision "${revision}" is not in this clone: check out with actions/checkout and fetch-depth: 0 (the default depth of 1 fetches only the commit being built)`
        : `this clone has no ${revision} commit: check the repository out first (actions/checkout with fetch-depth: 0)`,
    );
  });
}

/** Reads the policies folder at `commit`, loads and lints it; the temporary copy is gone when this resolves. */
export async function loadRevision(checkout: Checkout, commit: string, load: LoadPoliciesOptions): Promise<LoadedRevision> {
  const snapshot = await snapshotFolder(checkout.root, commit, checkout.folder).catch((error: unknown) => {
    throw checkoutError(error, `cannot read ${checkout.folder} at ${commit}`);
  });
  const show = snapshot.displayFile;
  try {
    const { set, warnings } = await lintPolicies(snapshot.dir, load);
    const side: DiffSide = { policies: set.policies, problems: [], warnings, displayFile: show };
    return {
      commit,
      side,
      policies: set.policies.size,
      problems: [],
      warnings: warnings.map((w) => ({ ...w, file: show(w.file) })),
      skipped: snapshot.skipped,
    };
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    const side: DiffSide = { policies: undefined, problems: error.problems, displayFile: show };
    return { commit, side, policies: 0, problems: error.problems.map((p) => ({ ...p, file: show(p.file) })), warnings: [], skipped: snapshot.skipped };
  } finally {
    await snapshot.remove();
  }
}

/** A git failure, with the hint for the workflow author first and git's own words after. */
function checkoutError(error: unknown, hint: string): unknown {
  if (!(error instanceof GitRevisionError)) return error;
  return new CheckoutError(`${hint} (${error.message})`);
}
